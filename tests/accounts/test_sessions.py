"""Browser sessions end after SULH_SESSION_IDLE_MINUTES without a request and SESSION_COOKIE_AGE after the login
(issue 16, item 8)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_a_session_in_use_stays_open(client, world, settings):
    settings.SULH_SESSION_IDLE_MINUTES = 30
    client.force_login(world.alice)
    start = timezone.now()
    for minutes in (10, 25, 45, 70):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert client.get("/").status_code == 200, minutes


def test_an_idle_session_is_logged_out(client, world, settings):
    settings.SULH_SESSION_IDLE_MINUTES = 30
    client.force_login(world.alice)
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = client.get("/cases/")
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
        login_page = client.get(response["Location"]).content.decode()
    assert "Your session ended" in login_page
    # Logged out for good, not only for that request.
    assert client.get("/cases/").status_code == 302


def test_an_idle_session_gets_401_from_the_api(client, world, settings):
    settings.SULH_SESSION_IDLE_MINUTES = 30
    client.force_login(world.alice)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response = client.get("/api/forums/")
    assert response.status_code == 401


def test_a_session_ends_at_its_absolute_lifetime_however_busy(client, world, settings):
    settings.SULH_SESSION_IDLE_MINUTES = 30
    settings.SESSION_COOKIE_AGE = 12 * 3600
    client.force_login(world.alice)
    start = timezone.now()
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert client.get("/api/forums/").status_code == 200, minutes
    with time_machine.travel(start + timedelta(hours=12, minutes=1)):
        assert client.get("/api/forums/").status_code == 401
