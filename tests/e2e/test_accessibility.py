"""Accessibility in CI (issue 18): axe-core, vendored in tests/e2e/vendor/, runs its WCAG 2.1 A and AA rules on
every kind of page a person meets — the home and login pages, the case list, a case with its parties and agreement,
the live room as the facilitator and as an invited party, the invitation and join pages, the monitor's page, the
reports, the Django admin and the account pages — in English and in Urdu (right to left). No critical and no
serious violation is allowed; a failure lists each violation's rule, impact, elements and help.

One server and one set of people for every page (a page reads what the fixtures made, or adds a line or a link to
the live session), each person logged in once and their browser kept: each page and language is a subtest.
What folds away (<details>) is opened first, so that its forms are checked too. The live room's transcript must
also scroll by keyboard, and every input of every page have a label of its own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import REAL_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
ARTIFACTS = Path(__file__).parent / "artifacts"
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FORBIDDEN = {"critical", "serious"}
LANGUAGES = ["en", "ur"]
PROPOSAL = "The Yousaf family apologises publicly at the mosque after Friday prayers."


@dataclass
class Site:
    url: str
    browser: Browser
    case_draft: int
    case_final: int
    session: int
    forum: int
    tokens: dict[str, str]  # One-time links not yet used: "join-<lang>" shown only, "party-<lang>" redeemed.
    logins: dict[str, dict] = field(default_factory=dict)  # A user's storage state (their session cookie).
    contexts: dict[tuple[str, str], BrowserContext] = field(default_factory=dict)

    def context(self, user: str | None, lang: str) -> BrowserContext:
        """A desktop browser of `user` (None: nobody logged in) reading `lang`, opened once for the test."""
        key = (user or "", lang)
        if key not in self.contexts:
            state = self.logins.get(user) if user else None
            if user and state is None:
                state = self.logins[user] = self._log_in(user)
            context = self.browser.new_context(viewport={"width": 1280, "height": 900}, storage_state=state)
            # The switcher's choice, as Django's set_language view keeps it.
            host = urlsplit(self.url).hostname
            context.add_cookies([{"name": "django_language", "value": lang, "domain": host, "path": "/"}])
            self.contexts[key] = context
        return self.contexts[key]

    def _log_in(self, user: str) -> dict:
        context = self.browser.new_context()
        page = context.new_page()
        page.goto(f"{self.url}/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", REAL_PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        assert "/login/" not in page.url, f"{user} could not log in"
        state = context.storage_state()
        context.close()
        return state

    def page(self, user: str | None, lang: str, path: str) -> Page:
        page = self.context(user, lang).new_page()
        response = page.goto(f"{self.url}{path}")
        assert response is not None, path
        assert response.ok, f"{path} as {user}: {response.status}"
        return page


def _make_the_world() -> dict:
    """The people, a case being drafted, a case whose agreement is final and monitored, a live session with
    one-time links: through the services, as the other browser tests make them."""
    from accounts import services as account_services
    from accounts.roles import ADMINISTRATOR, REGULATOR
    from cases import services
    from cases.models import Case, Membership
    from deliberation import services as session_services
    from tests.cases.final_cases import case_with_final_agreement
    from tests.e2e.conftest import give_real_password
    from tests.factories import ForumFactory, UserFactory

    account_services.role_groups_ensure()
    jirga = ForumFactory(name="Swat Jirga", kind="jirga", check_every_days=5)
    alice, bob, carol, dave = (UserFactory(username=name) for name in ("alice", "bob", "carol", "dave"))
    alice.first_name, alice.last_name = "Alice", "Yusufzai"
    alice.save()
    for user in (alice, bob, carol, dave):
        give_real_password(user)
    services.membership_grant(user=alice, forum=jirga, role=Membership.Role.FACILITATOR)
    services.membership_grant(user=bob, forum=jirga, role=Membership.Role.MONITOR)
    account_services.role_grant(user=carol, role=ADMINISTRATOR)
    account_services.role_grant(user=dave, role=REGULATOR)

    draft = services.case_open(
        user=alice, forum=jirga, title="Water dispute over the irrigation channel", dispute_type="water",
        risk_level="medium", offence_class="compoundable",
        parties=[{"name": "Khan family", "kind": "family", "role": "first_party"},
                 {"name": "Yousaf family", "kind": "family", "role": "second_party"}],
    )  # fmt: skip
    for to in ("mandate", "hearings"):
        draft.refresh_from_db()
        services.case_transition(user=alice, case_id=draft.pk, to=to, version=draft.version)
    services.agreement_record(
        user=alice, case_id=draft.pk,
        terms=[{"kind": "apology", "description": "The Yousaf family apologises publicly at the mosque."},
               {"kind": "compensation", "description": "Repair the channel.", "amount": 150000, "currency": "PKR"}],
    )  # fmt: skip
    final = case_with_final_agreement(user=alice, forum=jirga, title="Boundary wall between two houses")
    Case.objects.filter(pk=final.pk).update(truce_expires=final.opened_at.date() + timedelta(days=3))
    services.due_items_refresh()

    session = session_services.session_schedule(user=alice, case_id=draft.pk, scheduled_for=timezone.now())
    session_services.session_start(user=alice, session_id=session.pk)
    # A proposal open for the parties to answer (made as the room's socket would make it, then gone again).
    participant, _session = session_services.participant_connect(user=alice, session_id=session.pk, announce=False)
    session_services.propose(session_id=session.pk, participant_id=participant.pk, text=PROPOSAL)
    session_services.participant_disconnect(participant_id=participant.pk, announce=False)
    tokens = {}
    for lang in LANGUAGES:
        for use in ("join", "party"):
            _invitation, tokens[f"{use}-{lang}"] = session_services.invitation_create(
                user=alice, session_id=session.pk, display_name=f"Khan family's representative ({use}, {lang})"
            )
    return {"case_draft": draft.pk, "case_final": final.pk, "session": session.pk, "forum": jirga.pk,
            "tokens": tokens}  # fmt: skip


@pytest.fixture
def made(transactional_db) -> dict:
    """Made before the browser starts (ORM calls belong before Playwright's loop: see tests/e2e/conftest.py)."""
    return _make_the_world()


@pytest.fixture
def site(made: dict, live, browser: Browser) -> Iterator[Site]:
    site = Site(url=live.url, browser=browser, **made)
    yield site
    for context in site.contexts.values():
        context.close()


# --- The pages ------------------------------------------------------------------------------------------------


def in_the_room(page: Page) -> None:
    expect(page.locator("#connection")).to_have_attribute("data-state", "open")


def room_as_facilitator(site: Site, lang: str) -> Page:
    """Alice in the live room with a proposal open, the invitation panel open with a link made."""
    page = site.page("alice", lang, f"/sessions/{site.session}/")
    in_the_room(page)
    expect(page.locator("#proposals .proposal", has_text=PROPOSAL)).to_have_count(1)
    page.click("#invite-panel summary")
    page.fill("#id_name", f"An elder ({lang})")
    page.click("#invite-form button[type=submit]")
    expect(page.locator("#invitation-qr svg")).to_be_visible()
    return page


def room_as_party(site: Site, lang: str) -> Page:
    """An invited party, joined with their one-time link, with the proposal to answer and a line said."""
    page = site.page(None, lang, f"/join/{site.tokens[f'party-{lang}']}/")
    with page.expect_navigation():
        page.click("#join")
    in_the_room(page)
    expect(page.locator("#proposals .proposal", has_text=PROPOSAL).locator("button[data-stance]")).to_have_count(3)
    page.fill("#say-text", f"We accept to talk ({lang}).")
    page.click("#say-button")
    expect(page.locator("#transcript li[data-kind=said]", has_text=f"We accept to talk ({lang}).")).to_be_visible()
    return page


def invitation_page(site: Site, lang: str) -> Page:
    """The page a facilitator without JavaScript's fetch reaches: the link, its share buttons and QR code."""
    page = site.page("alice", lang, f"/sessions/{site.session}/")
    page.click("#invite-panel summary")
    page.fill("#id_name", f"A neighbour ({lang})")
    with page.expect_navigation():
        page.evaluate("document.getElementById('invite-form').submit()")  # No submit event: the plain post.
    expect(page.locator("#invitation-qr svg")).to_be_visible()
    return page


def simple(
    user: str | None, path: str | Callable[[Site, str], str], ready: str = "main"
) -> Callable[[Site, str], Page]:
    def visit(site: Site, lang: str) -> Page:
        page = site.page(user, lang, path(site, lang) if callable(path) else path)
        expect(page.locator(ready).first).to_be_visible()
        return page

    return visit


PAGES: dict[str, Callable[[Site, str], Page]] = {
    "home": simple("alice", "/"),
    "login": simple(None, "/login/", "#id_username"),
    "case-list": simple("alice", "/cases/"),
    "case-drafting": simple("alice", lambda site, _lang: f"/cases/{site.case_draft}/", "#agreement-terms"),
    "case-final": simple("alice", lambda site, _lang: f"/cases/{site.case_final}/", "#agreement-terms"),
    "case-new": simple("alice", "/cases/new/", "form"),
    "room-facilitator": room_as_facilitator,
    "room-party": room_as_party,
    "invitation": invitation_page,
    "join": simple(None, lambda site, lang: f"/join/{site.tokens[f'join-{lang}']}/", "#join"),
    "transcript": simple("alice", lambda site, _lang: f"/sessions/{site.session}/transcript/"),
    "monitor": simple("bob", "/monitor/", "h1"),
    "patterns": simple("dave", "/reports/patterns/"),
    "patterns-administrator": simple("carol", "/reports/patterns/"),
    "escalations": simple("alice", "/reports/escalations/"),
    "admin-index": simple("carol", "/admin/", "#content"),
    "admin-change": simple("carol", lambda site, _lang: f"/admin/cases/forum/{site.forum}/change/", "#content form"),
    "account": simple("alice", "/account/"),
    "password-change": simple("alice", "/account/password/", "form"),
    "two-factor": simple("alice", "/account/two-factor/"),
}


# --- axe ------------------------------------------------------------------------------------------------------


def axe_violations(page: Page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it stands (injected through the DevTools protocol,
    which the page's Content-Security-Policy does not govern: the site itself never serves axe)."""
    # What folds away is checked too: every <details> opened (axe skips what is not shown).
    page.evaluate("document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; })")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE)
    return page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
                     .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        helpUrl: v.helpUrl, targets: v.nodes.map(n => n.target.join(' ')),
                        summaries: v.nodes.map(n => n.failureSummary)})))""",
        WCAG21_AA,
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for target, summary in zip(v["targets"][:8], v["summaries"][:8], strict=False):
            first = (summary or "").splitlines()[1:2]
            lines.append(f"    {target}" + (f" — {first[0].strip()}" if first else ""))
        if len(v["targets"]) > 8:
            lines.append(f"    … and {len(v['targets']) - 8} more")
    return "\n".join(lines)


def test_no_page_has_a_critical_or_serious_violation(site: Site, subtests) -> None:
    """Every page in English and in Urdu, each a subtest of its own: one failing page does not hide the others."""
    for lang in LANGUAGES:
        for name, visit in PAGES.items():
            with subtests.test(page=name, lang=lang):
                check(site, name, lang, visit)


def check(site: Site, name: str, lang: str, visit: Callable[[Site, str], Page]) -> None:
    page = visit(site, lang)
    try:
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ur" else "ltr")
        violations = axe_violations(page)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"axe-{name}-{lang}.json").write_text(json.dumps(violations, indent=1, ensure_ascii=False))
        bad = [v for v in violations if v["impact"] in FORBIDDEN]
        assert not bad, f"{name} ({lang}): {len(bad)} critical or serious axe violations\n{describe(bad)}"
        every_input_is_labelled(page)
        if name.startswith("room-"):
            transcript_scrolls_by_keyboard(page)
    finally:
        page.close()


def transcript_scrolls_by_keyboard(page: Page) -> None:
    """The transcript scrolls inside the room: it takes the keyboard's focus and says what it is."""
    transcript = page.locator("#transcript")
    expect(transcript).to_have_attribute("tabindex", "0")
    name = transcript.evaluate(
        """el => el.getAttribute('aria-label') ||
                 (el.getAttribute('aria-labelledby') || '').split(' ')
                   .map(id => document.getElementById(id)?.textContent.trim() || '').join(' ').trim()"""
    )
    assert name, "the transcript's scroll region has no name"
    transcript.focus()
    assert page.evaluate("document.activeElement.id") == "transcript"


def every_input_is_labelled(page: Page) -> None:
    """Each field has a label of its own, as the browser pairs them (input.labels). axe takes `label[for=id]` for
    the field's label even when two fields share the id, so two forms' `id_party` on one page pass axe, while
    the second field has no label at all."""
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
              .filter(el => !['hidden', 'submit', 'button', 'reset'].includes(el.type))  // Named by their value.
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                            && !el.getAttribute('aria-labelledby'))
              .map(el => el.id || el.name || el.outerHTML.slice(0, 80))"""
    )
    assert not unlabelled, f"inputs without a label: {unlabelled}"
