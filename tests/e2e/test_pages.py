"""A person on a phone logs in, finds their forums and switches to a right-to-left language."""

import pytest

from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_facilitator_logs_in_on_a_phone_and_reads_urdu(people, live, phone):
    page = phone.new_page()
    log_in(page, live.url, "alice")

    assert page.locator("h1").inner_text() == "Welcome, alice"
    forums = page.locator("#facilitator-home").inner_text()
    assert "Swat Jirga" in forums
    assert "Irbid Sulha" in forums
    assert "Elsewhere Committee" not in page.content()
    assert fits_the_screen(page)
    shot(page, "home-en")

    # Choosing a language submits the switcher; wait for the page it leads to, not the one we are on.
    with page.expect_navigation():
        page.select_option("#language", "ur")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ur"
    assert "Welcome" not in page.locator("h1").inner_text()  # Translated, not the English source.
    assert fits_the_screen(page)
    # The shipped Nastaliq font is what renders the page, so ہ and ے are never boxes.
    assert page.evaluate("document.fonts.ready.then(() => document.fonts.check('16px \"Noto Nastaliq Urdu\"', 'ہے'))")
    loaded = page.evaluate("[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert any("Nastaliq" in family for family in loaded)
    # In right-to-left the brand sits at the right edge.
    box = page.locator(".brand").bounding_box()
    assert box["x"] > 390 / 2
    shot(page, "home-ur")


def test_a_wrong_password_is_refused_in_the_page(people, live, phone):
    page = phone.new_page()
    page.goto(f"{live.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "not it")
    page.click("button[type=submit].primary")
    assert page.locator("[role=alert]").inner_text() == "The username or password is not right."
    assert "/login/" in page.url


def test_an_administrator_reaches_the_admin(people, live, browser):
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live.url, "carol")
    with page.expect_navigation():
        page.click("text=Administration")
    assert "/admin/" in page.url
    assert page.locator("text=Forums").first.is_visible()
    context.close()
