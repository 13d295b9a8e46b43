"""schemathesis against the OpenAPI document of a live server (uvicorn on the test database, Redis): a bounded
number of generated requests per operation, as an administrator, and the run fails on any 5xx, any status code
or content type the document does not list, and any response that does not match its documented schema.

The checks that judge requests rather than responses (`positive_data_acceptance`, `negative_data_rejection`) are
left out: the API refuses input the schema cannot express (a reason a move needs, a monitor of another forum, an
empty `to=` read as absent), and those refusals are 4xx answers in the error shape, which the response checks do
cover. Logging out and revoking tokens are left out too: a generated call would revoke the run's own token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from accounts import services as account_services
from cases.models import Case, Term
from tests.conftest import ROOT, db_url_for_subprocess, start_server, stop_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
EXAMPLES_PER_OPERATION = 5  # The coverage phase adds its own (~40 per operation): ~1,700 requests in all.


@pytest.fixture
def server(postgres, redis_url):
    server = start_server({"DATABASE_URL": db_url_for_subprocess(), "REDIS_URL": redis_url})
    yield server
    stop_server(server)


def test_the_api_keeps_to_its_openapi_document(server, tmp_path):
    from django.contrib.auth import get_user_model

    # Realistic data for the generated ids to find: the demo's forums, cases, agreements and sessions.
    call_command("seed_demo", "--password", "not-the-demo-password-1", stdout=open(os.devnull, "w"))  # noqa: SIM115
    token = account_services.token_issue(user=get_user_model().objects.get(username="admin")).key
    # Ids that exist, so that the operations on a case or a term get past the 404 to their logic (sessions are
    # closed to administrators: theirs stay 404s).
    known = {
        "case_id": Case.objects.order_by("pk").values_list("pk", flat=True).first(),
        "term_id": Term.objects.order_by("pk").values_list("pk", flat=True).first(),
    }
    assert all(known.values()), known
    config = tmp_path / "schemathesis.toml"
    config.write_text("[parameters]\n" + "".join(f'"path.{name}" = {pk}\n' for name, pk in known.items()))
    connection.close()  # The server's process works on the same database; no transaction of ours holds it.

    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis),
        "--config-file",
        str(config),
        "run",
        f"{server.url}/api/schema/",
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--exclude-path",
        "/api/auth/logout/",
        "--exclude-path",
        "/api/auth/tokens/{token_id}/",
        # One worker: schemathesis compiles patterns in its threads, and CPython 3.11 can fail that under
        # concurrency ("AST constructor recursion depth mismatch"), which would fail the run for nothing of ours.
        "--workers",
        "1",
        "--seed",
        "20261206",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:] + "\n--- server log ---\n" + server.output()[-4000:]
    assert "Tested: " in output, output[-3000:]
