"""Random sequences of moves, agreements and checks never take a case where its declaration does not allow."""

import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from cases import services
from cases.models import Case, CaseEvent, ComplianceCheck
from cases.workflows import ENDED, WORKFLOWS
from config.errors import SulhError

pytestmark = pytest.mark.django_db

REACHED: set[tuple[str, str]] = set()
ALL_STATES = sorted({s for wf in WORKFLOWS.values() for s in wf.all_states} | {"nowhere"})
PARTIES = [
    {"name": "First family", "kind": "family", "role": "first_party"},
    {"name": "Second family", "kind": "family", "role": "second_party"},
]


def refusal_code(action, **kwargs) -> str | None:
    """Run a service; the code it refused with, or None when it went through. (A random walk cannot know
    beforehand which calls will be refused, so pytest.raises does not fit.)"""
    try:
        action(**kwargs)
    except SulhError as refusal:
        return refusal.code
    return None


def machine_for(forum, user):
    workflow = WORKFLOWS[forum.kind]

    class CaseMachine(RuleBasedStateMachine):
        @initialize(offence=st.sampled_from(["civil", "compoundable", "compoundable", "non_compoundable"]))
        def open(self, offence):
            self.case = services.case_open(
                user=user,
                forum=forum,
                title="A dispute",
                dispute_type="land",
                risk_level="low",
                offence_class=offence,
                parties=PARTIES,
            )
            self.moves = 0

        @rule(
            data=st.data(),
            reason=st.sampled_from(["", "because", "because"]),
            outcome=st.sampled_from(["", "resolved", "partly_resolved", "breakdown"]),
            stale=st.sampled_from([False] * 7 + [True]),
        )
        def move(self, data, reason, outcome, stale):
            before = Case.objects.get(pk=self.case.pk)
            # Mostly forward (so walks get deep), sometimes another declared move, sometimes any state at all.
            declared = workflow.transitions_from(before.state)
            forward = [t.target for t in declared if t.kind == "forward"]
            roll = data.draw(st.integers(0, 19))
            if forward and roll < 17:
                to = forward[0]
            elif declared and roll < 19:
                to = data.draw(st.sampled_from([t.target for t in declared]))
            else:
                to = data.draw(st.sampled_from(ALL_STATES))
            version = before.version - 1 if stale else before.version
            code = refusal_code(
                services.case_transition,
                user=user,
                case_id=self.case.pk,
                to=to,
                version=version,
                reason=reason,
                outcome=outcome,
            )
            if code is not None:
                after = Case.objects.get(pk=self.case.pk)
                assert (after.state, after.version) == (before.state, before.version)
                assert code in {
                    "stale_version",
                    "transition_not_allowed",
                    "reason_required",
                    "offence_not_compoundable",
                    "agreement_missing",
                    "compliance_open",
                    "outcome_required",
                }
                return
            assert not stale
            declared = workflow.transition(before.state, to)
            assert declared is not None, f"{before.state} -> {to} is not declared"
            if before.offence_class == "non_compoundable":
                assert to in ("withdrawn", "referred")
            self.moves += 1

        @rule(outcome=st.sampled_from(["resolved", "partly_resolved", "breakdown"]))
        def advance(self, outcome):
            """What a facilitator does most: take the next forward step, recording what it needs first."""
            case = Case.objects.get(pk=self.case.pk)
            forward = [t for t in workflow.transitions_from(case.state) if t.kind == "forward"]
            if not forward or case.offence_class == "non_compoundable":
                return
            target = forward[0].target
            if target == workflow.agreement_state:
                refusal_code(
                    services.agreement_record,
                    user=user,
                    case_id=case.pk,
                    terms=[{"kind": "apology", "description": "A public apology"}],
                )
            code = refusal_code(
                services.case_transition,
                user=user,
                case_id=case.pk,
                to=target,
                version=case.version,
                outcome=outcome,
                reason="next step",
            )
            assert code in {None, "compliance_open"}
            if code is None:
                self.moves += 1

        @rule(prohibited=st.sampled_from([False, False, True]))
        def agree(self, prohibited):
            description = "give a girl in marriage as swara" if prohibited else "A public apology"
            code = refusal_code(
                services.agreement_record,
                user=user,
                case_id=self.case.pk,
                terms=[{"kind": "apology", "description": description}],
            )
            if prohibited:
                assert code in {"prohibited_term", "agreement_final", "case_not_open"}
            else:
                assert code in {None, "agreement_final", "case_not_open"}

        @rule(status=st.sampled_from(["met", "not_met", "breached"]))
        def check(self, status):
            case = Case.objects.get(pk=self.case.pk)
            agreement = getattr(case, "agreement", None)
            if agreement is None or not agreement.terms.exists():
                return
            for term in agreement.terms.all():
                code = refusal_code(
                    services.compliance_record,
                    user=user,
                    case_id=case.pk,
                    term_id=term.pk,
                    status=status,
                    idempotency_key=uuid.uuid4(),
                )
                assert code in {None, "agreement_not_final"}

        def teardown(self):
            if hasattr(self, "case"):
                REACHED.add((forum.kind, Case.objects.get(pk=self.case.pk).state))

        @invariant()
        def state_is_declared(self):
            if not hasattr(self, "case"):
                return
            case = Case.objects.get(pk=self.case.pk)
            assert case.state in workflow.all_states
            assert case.version == 1 + self.moves
            assert (case.closed_at is not None) == (case.state in ENDED)
            if case.state == "closed" and case.outcome == "resolved":
                # Monitors go on checking after closing; what counts is what was known when it closed.
                latest = {}
                known = ComplianceCheck.objects.filter(case=case, recorded_at__lte=case.closed_at)
                for check in known.order_by("observed_at", "id"):
                    latest[check.term_id] = check.status
                assert set(latest.values()) == {"met"}

        @invariant()
        def timeline_is_contiguous(self):
            if not hasattr(self, "case"):
                return
            seqs = list(CaseEvent.objects.filter(case_id=self.case.pk).order_by("seq").values_list("seq", flat=True))
            assert seqs == list(range(1, len(seqs) + 1))

    return CaseMachine


@pytest.mark.parametrize("kind", ["jirga", "sulha", "muslahathi"])
def test_random_walks_stay_inside_the_workflow(world, kind):
    forum = {"jirga": world.jirga, "sulha": world.sulha, "muslahathi": world.other}[kind]
    services.membership_grant(user=world.alice, forum=forum, role="facilitator")
    run_state_machine_as_test(
        machine_for(forum, world.alice),
        settings=settings(
            max_examples=60,
            stateful_step_count=50,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    # The walks must have gone the whole way, or the test proved little.
    assert (kind, "closed") in REACHED, sorted(REACHED)
