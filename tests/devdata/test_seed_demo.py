import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

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


def test_a_second_run_keeps_a_changed_password():
    """An operator who changed admin's password does not get the demo's back at the next start."""
    call_command("seed_demo")
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("the operator's own 9")
    admin.save()
    call_command("seed_demo")
    assert authenticate(username="admin", password="the operator's own 9")
    assert not authenticate(username="admin", password="sulh-demo-2026")


def test_it_says_which_passwords_it_did_not_touch(capsys):
    call_command("seed_demo")
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("the operator's own 9")
    admin.save()
    capsys.readouterr()
    call_command("seed_demo")
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "sulh-demo-2026" not in lines["admin"]
    assert "sulh-demo-2026" in lines["facilitator"]


def test_production_never_seeds(settings, capsys):
    settings.DEMO_DATA_ALLOWED = False
    call_command("seed_demo")
    assert "not loaded" in capsys.readouterr().out
    assert not get_user_model().objects.filter(username="admin").exists()
    with pytest.raises(CommandError):
        call_command("seed_demo", "--password", "sulh-demo-2026")
    call_command("seed_demo", "--password", "an operator's choice 7")
    assert authenticate(username="admin", password="an operator's choice 7")


def test_production_refuses_to_start_while_a_demo_login_has_the_published_password(settings):
    from django.core import checks

    call_command("seed_demo")
    settings.DEMO_DATA_ALLOWED = False
    [error] = checks.run_checks(tags=["demo_passwords"], include_deployment_checks=True, databases=["default"])
    assert error.id == "sulh.E001"
    assert "admin" in error.msg
    call_command("seed_demo", "--password", "an operator's choice 7")
    assert checks.run_checks(tags=["demo_passwords"], include_deployment_checks=True, databases=["default"]) == []


@pytest.mark.django_db(transaction=True)
def test_a_production_process_will_not_serve_with_the_published_password(settings):
    """The ASGI application itself refuses to load (so uvicorn exits) while a demo login keeps the password the
    README prints; once the operator has changed them it loads."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import db_url_for_subprocess

    # The other process checks passwords with the production hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    call_command("seed_demo")
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-long-random-production-key-for-this-test-only-0123456789abcdef",
        "DATABASE_URL": db_url_for_subprocess(),
    }
    load = [sys.executable, "-c", "import config.asgi"]
    root = Path(__file__).resolve().parents[2]
    refused = subprocess.run(load, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "published demo password" in refused.stderr
    call_command("seed_demo", "--password", "an operator's choice 7")
    served = subprocess.run(load, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert served.returncode == 0, served.stderr[-2000:]
