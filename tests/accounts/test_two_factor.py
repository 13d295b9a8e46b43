"""Two-factor authentication (TOTP, django-otp): enrolling from one's own page, the login's second step, the token
endpoint's `otp`, and the SULH_REQUIRE_2FA policy (issue 16, item 8)."""

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def code(device, steps_ahead: int = 0) -> str:
    """The code the user's app shows now (or that many 30-second steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def enrolled(user) -> TOTPDevice:
    services.totp_enrol_start(user=user)
    pending = services.totp_enrol_pending(user=user)
    return services.totp_enrol_confirm(user=user, code=code(pending))


def test_a_user_enrols_from_their_own_page(client, world):
    client.force_login(world.alice)
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    device = services.totp_enrol_pending(user=world.alice)
    assert device is not None
    secret = re.search(r'id="otp-secret"[^>]*value="([A-Z2-7]+=*)"', html).group(1)
    assert len(secret.rstrip("=")) >= 32

    wrong = client.post("/account/two-factor/", {"otp": "000000" if code(device) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "The code is not right" in wrong.content.decode()
    assert services.totp_device(user=world.alice) is None

    # Right away, even the right code waits: each wrong one slows the next try down.
    hurried = client.post("/account/two-factor/", {"otp": code(device)})
    assert "Too many wrong codes" in hurried.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        assert client.post("/account/two-factor/", {"otp": code(device)}).status_code == 302
    assert services.totp_device(user=world.alice) == device
    assert "Two-factor authentication is on" in client.get("/account/").content.decode()


def test_login_asks_for_the_code_after_the_password(client, world):
    device = enrolled(world.alice)
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "/cases/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/code/"
    # Not logged in yet: the password alone opens nothing.
    assert client.get("/cases/")["Location"].startswith("/login/")

    refused = client.post("/login/code/", {"otp": "12345x"})
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session

    response = client.post("/login/code/", {"otp": code(device, 1)})
    assert response.status_code == 302
    assert response["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200


def test_a_wrong_code_does_not_log_in(client, world):
    device = enrolled(world.alice)
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    wrong = str((int(code(device, 1)) + 1) % 1_000_000).zfill(6)
    response = client.post("/login/code/", {"otp": wrong})
    assert response.status_code == 200
    assert "The code is not right" in response.content.decode()
    assert client.get("/")["Location"].startswith("/login/")


def test_the_code_step_expires(client, world):
    device = enrolled(world.alice)
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = client.post("/login/code/", {"otp": code(device)})
    assert response["Location"] == "/login/"
    assert client.get("/")["Location"].startswith("/login/")


def test_a_user_without_a_device_logs_in_with_the_password_alone(client, world):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_the_admin_logs_in_through_the_same_two_steps(client, world):
    response = client.get("/admin/")
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow.status_code == 302
    assert follow["Location"] == "/login/?next=/admin/"


def test_the_token_endpoint_needs_the_code_of_an_enrolled_account(api, world):
    device = enrolled(world.alice)
    body = {"username": "alice", "password": PASSWORD}

    missing = api.post("/api/auth/token/", body, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "otp_required"

    wrong = str((int(code(device, 1)) + 1) % 1_000_000).zfill(6)
    invalid = api.post("/api/auth/token/", {**body, "otp": wrong}, format="json")
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "otp_invalid"

    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        ok = api.post("/api/auth/token/", {**body, "otp": code(device, 1)}, format="json")
        assert ok.status_code == 200
        assert "token" in ok.json()
        # The same code again (a replay) is refused.
        replay = api.post("/api/auth/token/", {**body, "otp": code(device, 1)}, format="json")
        assert replay.json()["error"]["code"] == "otp_invalid"


def test_an_account_without_a_device_still_gets_a_token_with_its_password(api, world):
    response = api.post("/api/auth/token/", {"username": "bob", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_a_user_turns_two_factor_off_with_a_code(client, world):
    device = enrolled(world.alice)
    client.force_login(world.alice)
    client.post("/account/two-factor/disable/", {"otp": "99999"})
    assert services.totp_device(user=world.alice) is not None
    client.post("/account/two-factor/disable/", {"otp": code(device, 1)})
    assert services.totp_device(user=world.alice) is None


class TestThePolicy:
    """SULH_REQUIRE_2FA = ["facilitator"]: alice facilitates, bob monitors."""

    @pytest.fixture(autouse=True)
    def _policy(self, settings):
        settings.SULH_REQUIRE_2FA = ["facilitator"]

    def test_a_facilitator_without_a_device_is_sent_to_enrol_before_any_page(self, client, world):
        client.force_login(world.alice)
        for path in ("/", "/cases/", "/account/"):
            response = client.get(path)
            assert response.status_code == 302, path
            assert response["Location"] == "/account/two-factor/"
        assert client.get("/account/two-factor/").status_code == 200

    def test_their_browser_api_calls_are_refused(self, client, world):
        client.force_login(world.alice)
        response = client.get("/api/forums/")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "otp_enrolment_required"

    def test_their_token_calls_are_refused(self, as_user, api, world):
        response = as_user(world.alice).get("/api/forums/")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "otp_enrolment_required"
        issue = api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
        assert issue.status_code == 403
        assert issue.json()["error"]["code"] == "otp_enrolment_required"

    def test_once_enrolled_they_go_on(self, client, as_user, world):
        enrolled(world.alice)
        client.force_login(world.alice)
        assert client.get("/").status_code == 200
        assert as_user(world.alice).get("/api/forums/").status_code == 200

    def test_they_cannot_turn_it_off(self, client, world):
        device = enrolled(world.alice)
        client.force_login(world.alice)
        client.post("/account/two-factor/disable/", {"otp": code(device, 1)})
        assert services.totp_device(user=world.alice) is not None

    def test_other_roles_are_not_asked(self, client, as_user, world):
        client.force_login(world.bob)
        assert client.get("/").status_code == 200
        assert as_user(world.bob).get("/api/forums/").status_code == 200

    def test_global_roles_count(self, client, world, settings):
        settings.SULH_REQUIRE_2FA = ["administrator"]
        client.force_login(world.carol)
        assert client.get("/")["Location"] == "/account/two-factor/"
