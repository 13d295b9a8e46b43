# Sulh. `make run` serves the demo; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?= -n 2 --dist worksteal
export HOST PORT

.PHONY: install run test lint mutation migrate messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when requirements.txt changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

# The demo (and its published passwords) only in development: DJANGO_DEBUG=0 never seeds (CONTRACT.md section 2).
# Static files collected with hashed names and served as immutable (config/settings.py, STATIC_HASHED).
run: export SULH_STATIC_HASHED = 1
run: migrate
	@if [ "$${DJANGO_DEBUG:-1}" != "0" ]; then $(BIN)/python manage.py seed_demo --history 3000; fi
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@if [ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ]; then \
		echo "Production shape: web (uvicorn), Celery worker and Celery beat on http://$(HOST):$(PORT), supervised (a process that dies is restarted; Ctrl-C stops all)"; \
		exec $(BIN)/python deploy/procfile.py supervise; \
	else \
		echo "Embedded mode (SQLite, in-memory channel layer, eager Celery) on http://$(HOST):$(PORT)"; \
		exec $(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --no-access-log --no-proxy-headers --lifespan off; \
	fi

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Mutation testing of the domain's rules (docs/mutation.md): reports/disclosure.py, cases/workflows.py and
# cases/guardrails.py, against the tests [tool.mutmut] in pyproject.toml selects. Starts from a fresh ./mutants/
# (results cached there would stand even when the tests changed). Set DATABASE_URL to PostgreSQL: each mutant
# then clones a migrated template database instead of migrating its own.
MUTATION_JOBS ?= 2
mutation: install
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS)
	$(BIN)/python -m tests.mutmut_plugin

messages: install
	$(BIN)/python manage.py makemessages --all --ignore=.venv --ignore=staticfiles --ignore=mutants --ignore=tools --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=mutants

clean:
	rm -rf $(VENV) staticfiles .pytest_cache mutants
