"""Password validators on every path that sets a password, and users changing their own (issue 16, item 1)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts import services
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

WEAK = "password1"
STRONG = "a new and long one 73"


def password_is(username: str, password: str) -> bool:
    return get_user_model().objects.get(username=username).check_password(password)


def test_the_account_page_links_to_changing_the_password(client, world):
    client.force_login(world.alice)
    assert 'href="/account/password/"' in client.get("/account/").content.decode()
    assert 'href="/account/"' in client.get("/").content.decode()


def test_a_user_changes_their_own_password(client, world):
    client.force_login(world.alice)
    page = client.get("/account/password/")
    assert page.status_code == 200
    response = client.post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": STRONG, "new_password2": STRONG}
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert password_is("alice", STRONG)
    # Still logged in on this browser.
    assert client.get("/account/").status_code == 200


def test_changing_the_password_revokes_the_users_api_tokens(client, world):
    token = services.token_issue(user=world.alice).key
    others = services.token_issue(user=world.bob).key
    client.force_login(world.alice)
    client.post("/account/password/", {"old_password": PASSWORD, "new_password1": STRONG, "new_password2": STRONG})
    client.logout()
    assert client.get("/api/forums/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert client.get("/api/forums/", HTTP_AUTHORIZATION=f"Token {others}").status_code == 200


def test_a_weak_new_password_is_refused_with_the_reason(client, world):
    client.force_login(world.alice)
    response = client.post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": WEAK, "new_password2": WEAK}
    )
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert password_is("alice", PASSWORD)


def test_the_old_password_must_be_right(client, world):
    client.force_login(world.alice)
    response = client.post(
        "/account/password/", {"old_password": "nope", "new_password1": STRONG, "new_password2": STRONG}
    )
    assert response.status_code == 200
    assert password_is("alice", PASSWORD)


def test_the_page_needs_a_login(client):
    assert client.get("/account/password/")["Location"].startswith("/login/")


def test_user_ensure_refuses_a_weak_password():
    with pytest.raises(ValidationError):
        services.user_ensure(username="zoe", password=WEAK)
    assert not get_user_model().objects.filter(username="zoe").exists()


def test_seed_demo_refuses_a_weak_password():
    with pytest.raises(CommandError, match="too common"):
        call_command("seed_demo", "--password", WEAK)


def test_the_admins_user_form_applies_the_validators(client, world):
    client.force_login(world.carol)
    response = client.post(
        "/admin/auth/user/add/",
        {"username": "zoe", "usable_password": "true", "password1": WEAK, "password2": WEAK},
    )
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert not get_user_model().objects.filter(username="zoe").exists()


def test_createsuperuser_from_the_environment_applies_the_validators(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", WEAK)
    with pytest.raises(CommandError, match="too common"):
        call_command("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org")
    assert not get_user_model().objects.filter(username="root").exists()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", STRONG)
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org")
    assert get_user_model().objects.get(username="root").is_superuser
