"""A paper register brought in from a phone, in a real browser: the facilitator uploads a CSV, reads the dry run's
report (every bad row with its line), confirms, and finds the imported case with its real dates."""

from __future__ import annotations

import csv

import pytest
from playwright.sync_api import expect

from cases.models import Case
from tests.cases.test_import_register import BAD, GOOD, HEADER
from tests.e2e.conftest import fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_facilitator_imports_a_register_from_a_phone(people, live, browser, phone, tmp_path):
    path = tmp_path / "register.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        writer.writerows(GOOD + BAD[:3])
    page = phone.new_page()
    log_in(page, live.url, "alice")
    page.click(f"a[href='/forums/{people.jirga.pk}/register/']")

    page.set_input_files("#register-upload input[type=file]", str(path))
    with page.expect_navigation():
        page.click("#register-upload button[type=submit]")

    expect(page.locator("#register-preview")).to_contain_text("4 rows would become cases.")
    expect(page.locator("#register-problems tr[data-line='7']")).to_contain_text("dispute_type")
    assert page.locator("#register-problems tbody tr").count() == 3
    assert fits_the_screen(page)
    shot(page, "register-dry-run-phone")
    assert Case.objects.count() == 0

    with page.expect_navigation():
        page.click("#register-confirm button[type=submit]")

    expect(page.locator("#register-counts")).to_have_text("4 imported, 0 already there, 3 rejected")
    case = Case.objects.get(register_no="R-1")
    page.goto(f"{live.url}/cases/{case.pk}/")
    expect(page.locator("#case-register-no")).to_contain_text("R-1")
    expect(page.locator("body")).to_contain_text("From the paper register (number R-1).")
    assert fits_the_screen(page)
