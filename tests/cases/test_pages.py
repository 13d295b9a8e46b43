import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_home_page_needs_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_logging_in_through_the_form_lands_on_home(client, world):
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'name="viewport"' in page.content.decode()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "Welcome, alice" in response.content.decode()


def test_a_wrong_password_shows_an_error_not_a_name(client, world):
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "The username or password is not right." in response.content.decode()


def test_repeated_failures_lock_the_form(client, world):
    for _ in range(5):
        client.post("/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "shown", "hidden"),
    [
        (
            "alice",
            ["facilitator-home", "Swat Jirga", "Irbid Sulha"],
            ["monitor-home", "administrator-home", "Elsewhere"],
        ),
        ("bob", ["monitor-home", "Checks due", "Swat Jirga"], ["facilitator-home", "Irbid Sulha", "regulator-home"]),
        ("carol", ["administrator-home", "Elsewhere Committee", "Escalation statistics"], ["facilitator-home"]),
        ("dave", ["regulator-home", "Reports"], ["Swat Jirga", "administrator-home", "facilitator-home"]),
        ("eve", ["no-role"], ["Swat Jirga", "facilitator-home", "regulator-home"]),
    ],
)
def test_each_role_has_its_home(client, world, who, shown, hidden):
    client.force_login(getattr(world, who))
    html = client.get("/").content.decode()
    for text in shown:
        assert text in html, text
    for text in hidden:
        assert text not in html, text


def test_logout_is_a_post(client, world):
    client.force_login(world.alice)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_an_unknown_page_is_a_page_not_json(client, world, settings):
    settings.DEBUG = False
    client.force_login(world.alice)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


def test_the_api_docs_work_offline(client, world):
    client.force_login(world.alice)
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/forums/" in schema["paths"]
