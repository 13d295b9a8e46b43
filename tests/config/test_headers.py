"""Response headers: Content-Security-Policy without inline script, Permissions-Policy, Referrer-Policy, and
`Cache-Control: no-store` on everything that may carry names (issue 16, item 8)."""

from html.parser import HTMLParser

import pytest
from django.utils import timezone

from cases import services as case_services
from deliberation import services as session_services

pytestmark = pytest.mark.django_db

PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Gul family", "kind": "family", "role": "second_party"},
]


class Scripts(HTMLParser):
    """Every <script> and every on…= handler attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        self.handlers += [f"<{tag} {name}>" for name in attributes if name.startswith("on")]


def policy(response) -> dict[str, str]:
    directives = [d.strip() for d in response["Content-Security-Policy"].split(";") if d.strip()]
    return {d.split()[0]: " ".join(d.split()[1:]) for d in directives}


def assert_no_inline_script(response) -> None:
    csp = policy(response)
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    nonce = csp["script-src"].split("'nonce-")[1].rstrip("'")
    parser = Scripts()
    parser.feed(response.content.decode())
    assert parser.handlers == []
    for script in parser.scripts:
        # A script is a file, a JSON data block (never run), or the import map carrying this response's nonce.
        assert (
            script.get("src")
            or script.get("type") == "application/json"
            or (script.get("type") == "importmap" and script.get("nonce") == nonce)
        ), script


@pytest.fixture
def case(world):
    return case_services.case_open(
        user=world.alice, forum=world.jirga, title="Water channel", dispute_type="water", risk_level="medium",
        offence_class="compoundable", parties=PARTIES,
    )  # fmt: skip


def test_the_pages_hold_no_inline_script(client, world, case):
    session = session_services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    client.force_login(world.alice)
    pages = ["/", "/cases/", f"/cases/{case.pk}/", f"/sessions/{session.pk}/", "/account/", "/account/two-factor/"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_inline_script(response)
    client.force_login(world.bob)
    response = client.get("/monitor/")
    assert response.status_code == 200
    assert_no_inline_script(response)


def test_the_login_admin_and_api_docs_pages_hold_no_inline_script(client, world):
    assert_no_inline_script(client.get("/login/"))
    client.force_login(world.carol)
    for path in ("/admin/", "/admin/cases/case/", "/admin/auth/user/add/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_inline_script(response)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert_no_inline_script(docs)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_each_nonce_is_used_once(client, world):
    client.force_login(world.bob)
    first = policy(client.get("/monitor/"))["script-src"]
    second = policy(client.get("/monitor/"))["script-src"]
    assert first != second


def test_the_policies_on_every_response(client, world):
    for response in (client.get("/login/"), client.get("/api/forums/"), client.get("/healthz")):
        csp = policy(response)
        assert csp["default-src"] == "'self'"
        assert csp["object-src"] == "'none'"
        assert csp["frame-ancestors"] == "'none'"
        permissions = response["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()"):
            assert feature in permissions
        assert response["Referrer-Policy"] == "same-origin"


def test_nothing_with_names_is_stored_by_a_cache(client, as_user, world, case):
    client.force_login(world.alice)
    for path in ("/", "/cases/", f"/cases/{case.pk}/", "/account/", "/api/cases/"):
        assert "no-store" in client.get(path)["Cache-Control"], path
    token_client = as_user(world.alice)
    for path in (f"/api/cases/{case.pk}/", f"/api/cases/{case.pk}/timeline/"):
        assert "no-store" in token_client.get(path)["Cache-Control"], path


def test_static_files_stay_cacheable(client):
    response = client.get("/static/js/page.js")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Content-Security-Policy" not in response
