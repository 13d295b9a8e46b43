"""Settings in both modes, read by a fresh process exactly as `make run` would start it."""

import json
import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.conftest import ROOT

PROBE = """
import json, django
django.setup()
from django.conf import settings
layer = settings.CHANNEL_LAYERS["default"]
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "layer": layer["BACKEND"],
    "layer_config": layer.get("CONFIG", {}),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "acks_late": settings.CELERY_TASK_ACKS_LATE,
    "reject_on_lost": settings.CELERY_TASK_REJECT_ON_WORKER_LOST,
    "visibility_timeout": settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"],
    "debug": settings.DEBUG,
}))
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "DJANGO_", "SULH_", "CHANNEL_LAYER_"))
    }
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(extra)
    return env


def read_settings(**extra: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean_env(**extra),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_core_channel_layer_can_be_chosen_and_a_wrong_name_is_refused():
    found = read_settings(REDIS_URL="redis://127.0.0.1:6379/0", CHANNEL_LAYER_BACKEND="core")
    assert found["layer"] == "channels_redis.core.RedisChannelLayer"
    with pytest.raises(subprocess.CalledProcessError) as refused:
        read_settings(REDIS_URL="redis://127.0.0.1:6379/0", CHANNEL_LAYER_BACKEND="rabbit")
    assert "CHANNEL_LAYER_BACKEND must be pubsub or core" in refused.value.stderr


def test_the_default_is_embedded():
    found = read_settings()
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["layer"] == "channels.layers.InMemoryChannelLayer"
    assert found["eager"] is True
    assert found["debug"] is True


def test_database_and_redis_urls_give_the_production_shape():
    found = read_settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/sulh", REDIS_URL="redis://127.0.0.1:6379/0")
    assert found["engine"] == "django.db.backends.postgresql"
    # One publication per event for each process that has the session's sockets, not one copy per socket.
    assert found["layer"] == "config.layers.PubSubChannelLayer"
    assert found["eager"] is False
    # Configured against the stack's known failures (PITFALLS.md).
    host = found["layer_config"]["hosts"][0]
    assert host["socket_timeout"] is None
    assert found["layer_config"]["capacity"] >= 1000
    assert found["acks_late"] is True
    assert found["reject_on_lost"] is True
    assert found["visibility_timeout"] <= 600


def test_production_needs_a_secret_key():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean_env(DJANGO_DEBUG="0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_in_production_settings():
    env = clean_env(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="sulh.example.org",
        # Encryption at rest needs its own keys in production (config/crypto.py; tests/config/test_encryption.py).
        SULH_ENCRYPTION_KEYS=Fernet.generate_key().decode(), SULH_HASH_KEY=secrets.token_hex(32),
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("bad", [{"PORT": "eighty"}, {"DJANGO_DEBUG": "maybe"}, {"CELERY_VISIBILITY_TIMEOUT": "lots"}])
def test_a_bad_value_is_refused_by_name(bad):
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean_env(**bad), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert next(iter(bad)) in result.stderr
