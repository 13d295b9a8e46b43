import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # Nothing listens on port 1.


def test_it_reports_every_part_ok(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["channel_layer"] == "ok"
    assert body["broker"] == ("eager" if settings.CELERY_TASK_ALWAYS_EAGER else "ok")
    assert body["degraded"] is False
    assert set(body) == {"status", "database", "channel_layer", "broker", "degraded"}


def test_it_needs_no_login_and_reveals_nothing_else(client, world):
    body = client.get("/healthz").content.decode()
    for secret in ("alice", "Swat", "postgres", "redis://", "sqlite"):
        assert secret not in body


def test_real_redis_and_broker_are_ok(client, redis_url, settings):
    assert settings.REDIS_URL, "REDIS_URL must configure the app, not just the test"
    body = client.get("/healthz").json()
    assert body["channel_layer"] == "ok"
    assert body["broker"] == "ok"


@pytest.mark.parametrize("backend", ["config.layers.PubSubChannelLayer", "channels_redis.core.RedisChannelLayer"])
def test_a_down_redis_is_reported_but_still_200(client, redis_url, settings, backend):
    from channels.layers import channel_layers

    from config.celery import app

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": backend,
            "CONFIG": {"hosts": [{"address": CLOSED_PORT_URL, "socket_timeout": None}]},
        }
    }
    channel_layers.backends.clear()
    old_broker = app.conf.broker_url
    app.conf.broker_url = CLOSED_PORT_URL
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = old_broker
        channel_layers.backends.clear()
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "channel_layer": "down",
        "broker": "down",
        "degraded": True,
    }


def test_a_down_database_is_503(client, postgres):
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert response.json()["status"] == "down"


def test_other_methods_get_a_json_405(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
