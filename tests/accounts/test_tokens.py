"""API tokens: stored as hashes, expiring, listed and revoked by their owner (issue 16, item 8)."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def login(api, username="alice", **extra):
    return api.post("/api/auth/token/", {"username": username, "password": PASSWORD, **extra}, format="json")


def test_it_issues_a_token_with_its_expiry(api, world, settings):
    settings.SULH_TOKEN_TTL = 30
    response = login(api)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires"}
    expires = datetime.fromisoformat(body["expires"])
    assert timedelta(days=29, hours=23) < expires - timezone.now() <= timedelta(days=30)


def test_the_database_holds_no_usable_key(api, world):
    key = login(api).json()["token"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        dump = repr(cursor.fetchall())
    assert key not in dump
    secret = key.split(".", 1)[1]
    assert secret not in dump
    token = ApiToken.objects.get()
    assert token.digest == services.token_digest(key)
    assert key.startswith(token.prefix)


def test_an_expired_token_stops_working(api, world):
    key = login(api).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/forums/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        response = api.get("/api/forums/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_it_records_when_a_token_was_last_used_at_most_once_a_minute(as_user, world):
    client = as_user(world.alice)
    token = ApiToken.objects.get(user=world.alice)
    assert token.last_used is None
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get("/api/forums/")
    token.refresh_from_db()
    assert token.last_used == start
    with time_machine.travel(start + timedelta(seconds=20), tick=False):
        client.get("/api/forums/")
    token.refresh_from_db()
    assert token.last_used == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get("/api/forums/")
    token.refresh_from_db()
    assert token.last_used == start + timedelta(seconds=61)


def test_owners_list_their_own_live_tokens_only(api, world):
    login(api, name="laptop")
    services.token_issue(user=world.bob)
    old = services.token_issue(user=world.alice)
    services.token_revoke(user=world.alice, token=old.token)
    key = login(api, name="phone").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = api.get("/api/auth/tokens/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [t["name"] for t in results] == ["phone", "laptop"]
    assert set(results[0]) == {"id", "name", "prefix", "created", "expires", "last_used"}
    assert key.startswith(results[0]["prefix"])
    assert all("token" not in t and "digest" not in t for t in results)


def test_an_owner_revokes_one_token_and_it_stops_working(api, world):
    laptop = login(api).json()["token"]
    phone = login(api).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {phone}")
    laptop_id = ApiToken.objects.get(digest=services.token_digest(laptop)).pk

    assert api.delete(f"/api/auth/tokens/{laptop_id}/").status_code == 204

    api.credentials(HTTP_AUTHORIZATION=f"Token {laptop}")
    assert api.get("/api/forums/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {phone}")
    assert api.get("/api/forums/").status_code == 200
    assert laptop_id not in [t["id"] for t in api.get("/api/auth/tokens/").json()["results"]]


def test_someone_elses_token_is_not_found(as_user, world):
    bobs = services.token_issue(user=world.bob)
    response = as_user(world.alice).delete(f"/api/auth/tokens/{bobs.token.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    bob = as_user(world.bob)
    bob.credentials(HTTP_AUTHORIZATION=f"Token {bobs.key}")
    assert bob.get("/api/forums/").status_code == 200


def test_logout_revokes_only_the_token_it_was_called_with(api, world):
    laptop = login(api).json()["token"]
    phone = login(api).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {phone}")
    assert api.post("/api/auth/logout/").status_code == 204
    assert api.get("/api/forums/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {laptop}")
    assert api.get("/api/forums/").status_code == 200


def test_deactivating_a_user_revokes_their_tokens(as_user, world):
    client = as_user(world.alice)
    services.user_deactivate(user=world.alice)
    assert client.get("/api/forums/").status_code == 401
    assert not services.tokens_of(user=world.alice).exists()


def test_the_account_page_lists_tokens_with_revoke_buttons(client, world):
    issued = services.token_issue(user=world.alice, name="field laptop")
    services.token_issue(user=world.bob, name="bobs phone")
    client.force_login(world.alice)

    page = client.get("/account/").content.decode()
    assert "field laptop" in page
    assert issued.token.prefix in page
    assert "bobs phone" not in page
    assert issued.key not in page

    response = client.post(f"/account/tokens/{issued.token.pk}/revoke/")
    assert response.status_code == 302
    assert not services.tokens_of(user=world.alice).exists()
    assert "field laptop" not in client.get("/account/").content.decode()


def test_the_account_page_cannot_revoke_someone_elses_token(client, world):
    bobs = services.token_issue(user=world.bob)
    client.force_login(world.alice)
    assert client.post(f"/account/tokens/{bobs.token.pk}/revoke/").status_code == 404
    assert services.tokens_of(user=world.bob).exists()


def test_an_administrator_sees_and_revokes_tokens_in_the_admin_without_their_keys(client, world):
    issued = services.token_issue(user=world.alice, name="field laptop")
    client.force_login(world.carol)
    page = client.get("/admin/accounts/apitoken/")
    assert page.status_code == 200
    assert issued.token.prefix in page.content.decode()
    assert issued.key not in page.content.decode()
    assert issued.token.digest not in client.get(f"/admin/accounts/apitoken/{issued.token.pk}/change/").content.decode()

    response = client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [issued.token.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not services.tokens_of(user=world.alice).exists()
