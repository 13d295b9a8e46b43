import pytest

from accounts.models import ApiToken
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_issues_a_token_that_opens_the_api(api, world):
    response = api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]

    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/forums/").status_code == 200


def test_it_refuses_a_wrong_password_in_the_error_shape(api, world):
    response = api.post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "token" not in response.json()


def test_it_names_missing_fields(api, world):
    response = api.post("/api/auth/token/", {"username": "alice"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "password" in error["fields"]


def test_it_locks_out_password_guessing(api, world):
    for _ in range(5):
        api.post("/api/auth/token/", {"username": "alice", "password": "guess"}, format="json")
    # Even the right password is refused while the lockout lasts.
    response = api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_attempts"
    assert "alice" not in response.content.decode()


def test_a_lockout_of_one_user_leaves_others_alone(api, world):
    for _ in range(6):
        api.post("/api/auth/token/", {"username": "alice", "password": "guess"}, format="json")
    response = api.post("/api/auth/token/", {"username": "bob", "password": PASSWORD}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("header", ["Token nonsense", "Token ", "Bearer abc", "Token a b c", "Token \u00e9\u00e9"])
def test_bad_tokens_get_401_in_the_error_shape(api, world, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/forums/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"authentication_failed", "not_authenticated"}


def test_no_credentials_is_401(api, world):
    response = api.get("/api/forums/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_deactivated_user_cannot_log_in(api, world):
    world.alice.is_active = False
    world.alice.save()
    response = api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 400


def test_logout_revokes_the_token(as_user, world):
    client = as_user(world.alice)
    assert client.post("/api/auth/logout/").status_code == 204
    assert not ApiToken.objects.filter(user=world.alice, revoked__isnull=True).exists()
    assert client.get("/api/forums/").status_code == 401


def test_a_browser_session_works_with_csrf(world, client):
    from rest_framework.test import APIClient

    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(world.alice)
    # Reads need no token; writes without the CSRF token are refused.
    assert browser.get("/api/forums/").status_code == 200
    response = browser.post("/api/auth/logout/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
