"""Browser tests: Debian's Chromium driven by Playwright against a real server process."""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.conftest import IN_CI, db_url_for_subprocess, start_server, stop_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
REAL_PASSWORD = "a real password 42"

# Playwright's sync API keeps an event loop running in this thread, which makes Django refuse ORM
# calls as "async unsafe"; nothing of Django runs on that loop, so the refusal is a false alarm here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("Chromium is required under CI=true (.ci/run installs it)")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live(transactional_db):
    """A uvicorn process serving the test database (and Redis when the suite has it)."""
    env = {"DATABASE_URL": db_url_for_subprocess()}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    server = start_server(env)
    yield server
    stop_server(server)


@pytest.fixture
def people(world):
    """The named world with passwords the server process accepts (it uses the production hashers,
    not the tests' fast one). Ask for it before `browser`: ORM calls made once Playwright's loop runs
    would open connections in another context that nobody closes."""
    for user in (world.alice, world.bob, world.carol, world.dave, world.eve, world.frank):
        give_real_password(user)
    return world


def give_real_password(user) -> None:
    """REAL_PASSWORD, hashed as the server process (production hashers) checks it."""
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(REAL_PASSWORD, hasher.salt())
    user.save(update_fields=["password"])


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    yield context
    context.close()


SHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, name: str) -> None:
    """A full-page screenshot, when SCREENSHOT_DIR asks for them (to look at the layout by eye)."""
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/")
    assert "/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", REAL_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit].primary")
