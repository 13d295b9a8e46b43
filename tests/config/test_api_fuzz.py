"""The API fuzzed: every operation of the OpenAPI document (so a new endpoint cannot escape), called with random
path ids, query parameters and JSON bodies (their fields named from the document, their values anything at all),
as each kind of caller. Never a 5xx; every error in the contract's shape.

Also the API's edges: unknown paths are 404 for everyone, oversized bodies 413.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts import services as account_services
from tests.config.test_errors import assert_error_shape

pytestmark = pytest.mark.django_db

nasty_text = st.sampled_from(["", "a\x00b", "\ud800", "ہے", "x" * 5000, "0001-01-01", "9999-12-31", "2026-13", "-1"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    nasty_text,
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


def _operations() -> list[tuple[str, str, list[str], list[str]]]:
    """(path, method, query parameter names, body field names) of every operation in the schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})

    def fields(body: dict) -> list[str]:
        ref = body.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        return sorted(components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))

    operations = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            query = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
            operations.append((path, method, query, fields(operation.get("requestBody", {}))))
    return operations


@pytest.fixture(scope="module")
def operations(django_db_blocker) -> list[tuple[str, str, list[str], list[str]]]:
    with django_db_blocker.unblock():
        return _operations()


@pytest.fixture
def callers(world) -> dict[str, Any]:
    from cases import services

    # Something for the ids in paths to find.
    services.case_open(
        user=world.alice, forum=world.jirga, title="Water rights", dispute_type="water", risk_level="low",
        offence_class="civil", parties=[{"name": "A", "kind": "person", "role": "first_party"},
                                        {"name": "B", "kind": "person", "role": "second_party"}],
    )  # fmt: skip
    return {"anonymous": None, "alice": world.alice, "carol": world.carol, "dave": world.dave}


def client_for(user) -> APIClient:
    client = APIClient()
    client.raise_request_exception = False  # A fault is a 500 to assert on, as a client would see it.
    if user is not None:
        # A fresh token each time: an example may have logged the last one out.
        client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=user).key}")
    return client


def known_ids() -> list[int]:
    from cases.models import Case

    return list(Case.objects.values_list("pk", flat=True)[:3])


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_request_is_a_500_and_every_error_has_the_shape(operations, callers, data):
    path, method, query_names, body_names = data.draw(st.sampled_from(operations), label="operation")
    caller = data.draw(st.sampled_from(sorted(callers)), label="caller")
    ids = st.one_of(
        st.sampled_from(known_ids() or [1]), st.integers(min_value=0, max_value=10**25), st.text(max_size=8)
    )
    url = re.sub(r"\{[^}]+\}", lambda _m: str(data.draw(ids, label="id")), path)
    query = data.draw(st.dictionaries(st.sampled_from(query_names or ["x"]), values.map(str), max_size=3))
    if body_names:
        body: Any = data.draw(
            st.one_of(st.dictionaries(st.sampled_from(body_names), values, max_size=len(body_names)), values)
        )
    else:
        body = data.draw(values)
    payload = json.dumps(body)
    client = client_for(callers[caller])
    if method == "get":
        response = client.get(url, query)
    else:
        target = url + "?" + "&".join(f"{k}=x" for k in query)
        response = getattr(client, method)(target, payload, content_type="application/json")
    assert response.status_code < 500, (method, url, query, payload[:300], response.content[:500])
    if response.status_code >= 400:
        assert_error_shape(response)


# --- The edges --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
@pytest.mark.parametrize(
    "path", ["/api/nothing/", "/api/cases/1/nothing/", "/api/forums/x/", "/api/", "/api/cases/%0Ax/sessions/"]
)
def test_an_unknown_api_path_is_a_404_for_everyone(world, client, method, path):
    anonymous = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert_error_shape(anonymous, 404)
    # A browser session without a CSRF token: still a 404, not a 403.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.alice)
    assert_error_shape(getattr(browser, method)(path), 404)
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=world.carol).key}")
    assert_error_shape(getattr(token, method)(path), 404)


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/cases/"])
def test_a_body_over_the_limit_is_a_413(world, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account_services.token_issue(user=world.alice).key}")
    body = json.dumps({"title": "x" * 20_000})
    error = assert_error_shape(client.post(path, body, content_type="application/json"), 413)
    assert error["code"] == "payload_too_large"
    # Under the limit, the same endpoint answers as usual.
    assert client.post(path, json.dumps({"title": "x"}), content_type="application/json").status_code == 400


def test_a_form_over_the_limit_is_a_413_page(world, settings, client):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = client.post("/login/", {"username": "alice", "password": "x" * 20_000})
    assert response.status_code == 413


def test_the_default_limit_is_one_mebibyte(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
