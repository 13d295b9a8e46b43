"""generate_synthetic adding cases to a big database: the earlier cases a new case may be linked to are read by
name key when an opening first asks for them, rather than all of them before the run, and the run links
exactly what it would have linked with all of them read first (the same seed on the same database still gives
the same data, whichever way they are read)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from cases import services
from cases.models import Case, Party
from devdata.synthetic import register
from devdata.synthetic.run import Run
from devdata.synthetic.world import world_ensure

UNTIL = "2026-06-01"
UNTIL_AT = datetime(2026, 6, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def drafted(monkeypatch, *, lazily: bool, highest: int) -> tuple[list, Run]:
    """300 new cases drafted (not written) after the database's: what each is, what it is linked to (an earlier
    case by id, one of the run's own by its place in the run) and its history. They are drafted from the
    stream that made the database's (salt 0), so their parties bear the names of earlier ones: many links."""
    monkeypatch.setattr(register, "LAZY_FROM", 1 if lazily else 10**9)
    run = Run(cases=1500, seed=4, until=UNTIL_AT, forums=world_ensure(), salt=0)
    run.register.preload(run.start)  # What a run with a salt (cases there before it) does.
    drafts = [run.case(index) for index in range(300)]
    run.link_batch()  # As a batch's end does: what each opening links to.
    own = {draft.id: index for index, draft in enumerate(drafts)}
    found = []
    for draft in drafts:
        links = [(known.id if known.id <= highest else ("own", own[known.id]), basis) for known, basis in draft.links]
        found.append((draft.forum.id, draft.dispute_type, draft.opened_at, links, [event[1] for event in draft.events]))
    return found, run


@pytest.mark.parametrize("candidates", [services.RECURRENCE_CANDIDATES, 6])
def test_reading_earlier_cases_by_key_links_them_as_reading_them_all_first(monkeypatch, candidates):
    """With the service's limit on rows read, and with one so low that common names reach it (matches())."""
    monkeypatch.setattr(services, "RECURRENCE_CANDIDATES", candidates)
    calls = []
    matches = register.Register.matches
    monkeypatch.setattr(register.Register, "matches", lambda self, *args: calls.append(1) or matches(self, *args))
    call_command("generate_synthetic", "--cases", "1500", "--until", UNTIL, "--seed", "4")
    highest = max(Case.objects.values_list("id", flat=True))

    all_first, eager = drafted(monkeypatch, lazily=False, highest=highest)
    by_key, lazy = drafted(monkeypatch, lazily=True, highest=highest)

    assert eager.register.lazy is None
    assert lazy.register.lazy is not None
    assert len(lazy.register.lazy.cases) < Case.objects.count()  # Only what the openings asked for.
    assert by_key == all_first
    # The runs do link new cases to the database's: the comparison has teeth.
    earlier = [case for *_case, links, _events in all_first for case, _basis in links if isinstance(case, int)]
    assert len(earlier) >= 5
    assert bool(calls) == (candidates < 100)  # The low limit does take the other road.


@pytest.mark.django_db(transaction=True)
def test_names_read_in_halves_on_two_connections_link_the_same(monkeypatch):
    """Outside a transaction a run reads which cases hold its openings' names in two halves side by side, the second
    on a connection of its own; it links exactly as reading everything first."""
    monkeypatch.setattr(register, "_HOLDERS_SPLIT_FROM", 2)
    halves = []
    holder_ids = register._holder_ids
    monkeypatch.setattr(
        register, "_holder_ids", lambda keys, highest: halves.append(len(keys)) or holder_ids(keys, highest)
    )
    call_command("generate_synthetic", "--cases", "1500", "--until", UNTIL, "--seed", "4")
    highest = max(Case.objects.values_list("id", flat=True))

    all_first, eager = drafted(monkeypatch, lazily=False, highest=highest)
    by_key, lazy = drafted(monkeypatch, lazily=True, highest=highest)

    assert by_key == all_first
    assert len(halves) >= 2  # the batch's names were read in halves
    assert halves[0] > 1
    earlier = [case for *_case, links, _events in all_first for case, _basis in links if isinstance(case, int)]
    assert len(earlier) >= 5


def test_a_small_database_is_still_read_first(monkeypatch):
    call_command("generate_synthetic", "--cases", "30", "--until", UNTIL)
    run = Run(cases=10, seed=3, until=UNTIL_AT, forums=world_ensure(), salt=Case.objects.count())
    assert run.register.lazy is None
    assert run.register.size == Case.objects.count()


def test_a_new_party_whose_pseudonym_is_taken_keeps_its_gender_and_name():
    """A new party's pseudonym that a party already in the database bears is replaced by a spare; the party is
    written with every other column it had (its gender was once dropped, and the batch failed to be written)."""
    call_command("generate_synthetic", "--cases", "30", "--until", UNTIL)
    probe = Run(cases=5, seed=9, until=UNTIL_AT, forums=world_ensure(), salt=Case.objects.count())
    probe.case(0)
    _id, name, kind, pseudonym, forum_id, key, gender = probe.rows["party"][0]
    taken = Party.objects.order_by("pk").first()
    Party.objects.filter(pk=taken.pk).update(pseudonym=pseudonym)  # What the run will draw first is taken.

    call_command("generate_synthetic", "--cases", "5", "--until", UNTIL, "--seed", "9")

    written = Party.objects.filter(forum_id=forum_id, name_key=key).latest("pk")
    assert written.pseudonym != pseudonym
    assert (written.name, written.kind, written.gender) == (name, kind, gender)
    assert Party.objects.filter(pseudonym=pseudonym).count() == 1
