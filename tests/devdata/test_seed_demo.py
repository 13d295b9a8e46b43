import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from cases.models import Forum, Membership

pytestmark = pytest.mark.django_db


def authenticate(*, username: str, password: str) -> bool:
    return get_user_model().objects.get(username=username).check_password(password)


SULH_MODELS = [m for m in apps.get_models() if m._meta.app_label in {"cases", "deliberation", "auth"}]


def counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in SULH_MODELS}


def test_it_creates_the_demo_world(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert {f.name: f.kind for f in Forum.objects.all()} == {
        "Demo Jirga": "jirga",
        "Demo Muslahathi Committee": "muslahathi",
        "Demo Sulha": "sulha",
    }
    for username in ("facilitator", "monitor", "admin", "regulator", "outsider"):
        assert authenticate(username=username, password="sulh-demo-2026"), username
        assert username in out
    assert "sulh-demo-2026" in out
    assert Membership.objects.filter(user__username="facilitator", role="facilitator").count() == 3
    assert Membership.objects.filter(user__username="monitor", role="monitor").count() == 3
    assert not Membership.objects.filter(user__username__in=["admin", "regulator", "outsider"]).exists()
    assert get_user_model().objects.get(username="admin").groups.filter(name="administrator").exists()
    assert get_user_model().objects.get(username="regulator").groups.filter(name="regulator").exists()


def test_running_it_twice_adds_nothing_and_only_resets_passwords():
    call_command("seed_demo")
    before = counts()
    call_command("seed_demo", "--password", "another-pass-42")
    assert counts() == before
    assert authenticate(username="facilitator", password="another-pass-42")
    assert not authenticate(username="facilitator", password="sulh-demo-2026")


def test_the_demo_logins_see_what_their_role_allows():
    from rest_framework.test import APIClient

    call_command("seed_demo", "--password", "pw-for-test-1")
    seen = {}
    for username in ("facilitator", "monitor", "admin", "regulator", "outsider"):
        client = APIClient()
        token = client.post("/api/auth/token/", {"username": username, "password": "pw-for-test-1"}, format="json")
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
        seen[username] = len(client.get("/api/forums/").json())
    assert seen == {"facilitator": 3, "monitor": 3, "admin": 3, "regulator": 0, "outsider": 0}
