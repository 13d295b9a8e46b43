"""Every error, on every endpoint, is JSON in the contract's shape, and nothing a client sends is a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

# Every endpoint the API has, with the methods it answers. Later issues add theirs here.
ENDPOINTS = [
    ("/api/auth/token/", "post"),
    ("/api/auth/logout/", "post"),
    ("/api/forums/", "get"),
    ("/api/schema/", "get"),
    ("/healthz", "get"),
    ("/api/cases/", "post"),
    ("/api/cases/{case}/", "get"),
    ("/api/cases/{case}/transitions/", "post"),
    ("/api/cases/{case}/timeline/", "get"),
    ("/api/cases/{case}/agreement/", "post"),
    ("/api/cases/{case}/compliance-checks/", "post"),
    ("/api/cases/999999/transitions/", "post"),
    ("/api/cases/{case}/escalations/", "post"),
    ("/api/reminders/", "get"),
    ("/api/reports/escalations/", "get"),
]
METHODS = ["get", "post", "put", "patch", "delete"]


def assert_error_shape(response, status: int | None = None) -> dict:
    if status is not None:
        assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error["code"], str)
    assert error["code"] == error["code"].lower()
    assert isinstance(error["detail"], str)
    assert error["detail"]
    assert set(error) <= {"code", "detail", "fields"}
    return error


@pytest.fixture
def a_case(world):
    from cases import services

    return services.case_open(
        user=world.alice,
        forum=world.jirga,
        title="A case",
        dispute_type="land",
        risk_level="low",
        offence_class="civil",
        parties=[
            {"name": "A", "kind": "person", "role": "first_party"},
            {"name": "B", "kind": "person", "role": "second_party"},
        ],
    )


def test_an_unknown_api_path_is_a_json_404(as_user, world):
    assert_error_shape(as_user(world.alice).get("/api/no/such/thing/"), 404)
    assert_error_shape(as_user(world.alice).get("/api/forums/123/nope"), 404)


def test_a_wrong_method_is_a_json_405(as_user, world):
    error = assert_error_shape(as_user(world.alice).delete("/api/forums/"), 405)
    assert error["code"] == "method_not_allowed"


def test_a_wrong_media_type_is_a_json_415(api, world):
    response = api.post("/api/auth/token/", data="username=alice", content_type="application/x-www-form-urlencoded")
    assert assert_error_shape(response, 415)["code"] == "unsupported_media_type"


def test_malformed_json_is_a_json_400(api, world):
    response = api.post("/api/auth/token/", data="{not json", content_type="application/json")
    error = assert_error_shape(response, 400)
    assert error["code"] == "malformed"
    assert "JSON" in error["detail"]


def test_throttling_is_a_json_429(api, world):
    responses = [api.post("/api/auth/token/", {}, format="json") for _ in range(70)]
    throttled = [r for r in responses if r.status_code == 429]
    assert throttled, "60 anonymous requests a minute must be the limit"
    assert assert_error_shape(throttled[0])["code"] == "throttled"
    assert throttled[0].has_header("Retry-After")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(lambda v: (json.dumps(v).encode(), "application/json")),
    st.fixed_dictionaries(
        {
            "username": st.one_of(st.text(max_size=200), st.integers(), st.none(), json_values),
            "password": st.one_of(st.text(max_size=200), st.integers(), st.none(), json_values),
        }
    ).map(lambda v: (json.dumps(v).encode(), "application/json")),
    st.binary(max_size=200).map(lambda b: (b, "application/json")),
    st.tuples(st.binary(max_size=100), st.sampled_from(["text/plain", "multipart/form-data", "application/xml", ""])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    method=st.sampled_from(METHODS),
    body=bodies,
    authenticated=st.booleans(),
    accept=st.sampled_from(["", "*/*", "application/json", "text/html", "image/png"]),
)
def test_garbage_never_makes_a_500(world, a_case, endpoint, method, body, authenticated, accept):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    from accounts import services as account_services

    cache.clear()  # Keep the throttle out of it: this test is about the shape, not the rate.
    client = APIClient()
    if authenticated:
        client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=world.alice).key}")
    path = endpoint[0].format(case=a_case.pk)
    data, content_type = body
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    if "compliance" in path:
        extra["HTTP_IDEMPOTENCY_KEY"] = "6f1c1b8e-2f7a-4a53-9a3e-3c2f1d1e0b7a"
    response = client.generic(method.upper(), path, data, content_type=content_type, **extra)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_error_shape(response)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/api/cases/", "/api/reports/escalations/", "/api/forums/", "/api/reminders/"]),
    params=st.dictionaries(
        st.sampled_from(["forum", "state", "dispute_type", "q", "region", "from", "to", "page", "page_size"]),
        st.text(max_size=30),
        max_size=4,
    ),
    who=st.sampled_from(["alice", "carol", "dave"]),
)
def test_garbage_query_strings_never_make_a_500(world, path, params, who):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    from accounts import services as account_services

    cache.clear()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=getattr(world, who)).key}")
    response = client.get(path, params)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_error_shape(response)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/cases/", "?q=a%00b"),
        ("/api/cases/", "?state=%00"),
        ("/api/cases/", "?dispute_type=x%00"),
        ("/api/cases/", "?forum=%00"),
        ("/api/reports/escalations/", "?region=%00"),
        ("/api/reports/escalations/", "?forum=1%00"),
    ],
)
def test_a_nul_byte_in_a_query_is_a_400_not_a_database_error(as_user, world, client, path, query):
    # PostgreSQL refuses NUL in text; it must be refused at the door, not surface as a 500.
    response = as_user(world.carol).get(path + query)
    assert response.status_code == 400, response.content[:200]
    assert_error_shape(response)
    client.force_login(world.alice)
    assert client.get("/cases/" + query).status_code < 500


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/cases/"])
def test_json_nested_thousands_deep_is_a_400_not_a_500(world, path):
    from rest_framework.test import APIClient

    from accounts import services as account_services

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=world.alice).key}")
    if path == "/api/auth/token/":
        client = APIClient()  # The one endpoint anyone may call, logged in or not.
    body = '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"]["code"] == "malformed"


def test_the_api_keeps_answering_when_the_throttles_cache_is_down(world, settings, caplog):
    """Throttle counts live in the cache (Redis in production): with it unreachable, requests go through
    unthrottled and the outage is logged, instead of every request being a 500."""
    from rest_framework.test import APIClient

    from accounts import services as account_services
    from tests.factories import PASSWORD

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    anonymous = APIClient().post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert anonymous.status_code == 200, anonymous.content[:300]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=world.alice).key}")
    assert client.get("/api/forums/").status_code == 200
    assert "throttling is off" in caplog.text
