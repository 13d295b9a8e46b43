"""A jirga case with an agreement and a live session, for reading through every door."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from audit.models import ReadRecord
from cases import services as case_services
from deliberation import services as session_services

PARTIES = [
    {"name": "Khan family", "kind": "family", "role": "first_party"},
    {"name": "Gul family", "kind": "family", "role": "second_party"},
]
TERMS = [{"kind": "apology", "description": "The second family apologises publicly at the mosque."}]


@dataclass
class Scene:
    world: object
    case: object
    agreement: object
    session: object


@pytest.fixture
def scene(world) -> Scene:
    case = case_services.case_open(
        user=world.alice, forum=world.jirga, title="Water rights", dispute_type="water", risk_level="medium",
        offence_class="civil", parties=PARTIES,
    )  # fmt: skip
    agreement = case_services.agreement_record(user=world.alice, case_id=case.pk, terms=TERMS)
    session = session_services.session_schedule(user=world.alice, case_id=case.pk, scheduled_for=timezone.now())
    session_services.session_start(user=world.alice, session_id=session.pk)
    return Scene(world, case, agreement, session)


def only_read() -> ReadRecord:
    """The one read in the log (fails if there are none or several)."""
    reads = list(ReadRecord.objects.all())
    assert len(reads) == 1, [(r.kind, r.door) for r in reads]
    return reads[0]
