"""Cases whose agreement is final, built through the services as a facilitator would: what the monitor's
pages and tests start from."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from cases import services, workflows
from cases.models import Case


def monitored_terms(*, today=None) -> list[dict]:
    """An apology, 25,000 PKR in three monthly instalments (the first a week overdue) and a truce."""
    today = today or timezone.localdate()
    first = today - timedelta(days=7)
    return [
        {"kind": "apology", "description": "The Yousaf family apologises publicly at the mosque."},
        {
            "kind": "compensation",
            "description": "Repair the channel and pay 25,000 PKR.",
            "amount": Decimal("25000.00"),
            "currency": "PKR",
            "instalments": [
                {"due": first, "amount": Decimal("10000.00")},
                {"due": first + timedelta(days=30), "amount": Decimal("10000.00")},
                {"due": first + timedelta(days=60), "amount": Decimal("5000.00")},
            ],
        },
        {"kind": "truce", "description": "A one-year truce between the two families."},
    ]


def case_with_final_agreement(
    *, user, forum, title: str = "Water dispute over the irrigation channel", terms=None
) -> Case:
    """A case of `forum` opened by `user` (a facilitator) and walked just past the state whose agreement then
    becomes final."""
    case = services.case_open(
        user=user,
        forum=forum,
        title=title,
        dispute_type="water",
        risk_level="medium",
        offence_class="compoundable",
        parties=[
            {"name": "Khan family", "kind": "family", "role": "first_party"},
            {"name": "Yousaf family", "kind": "family", "role": "second_party"},
        ],
    )
    workflow = workflows.workflow_for(forum.kind)
    for state in workflow.states[1:]:
        if state == workflow.agreement_state:
            services.agreement_record(user=user, case_id=case.pk, terms=terms or monitored_terms())
        case = services.case_transition(user=user, case_id=case.pk, to=state, version=case.version)
        if case.state == workflow.states[workflow.states.index(workflow.agreement_state) + 1]:
            return case
    raise AssertionError("the workflow has no agreement state")
