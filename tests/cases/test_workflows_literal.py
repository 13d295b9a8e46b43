"""The forum kinds' workflows, written out literally from shared/DOMAIN.md and CONTRACT.md section 4.

Nothing here is read from cases.workflows to build the expectation: every state of each kind in order,
every forward, back and exit move, the state whose entry needs an agreement and the guards of each move are
spelled out below, and the engine (the declarations, `Workflow.transitions_from`, `transition`, `check`,
`is_after`) and the API (`allowed_transitions`, the 422 codes) are held to them.

The guards, per CONTRACT.md section 4:
- every forward move and every back move says `offence_not_compoundable` for a case only a court may decide
  ("the case can go nowhere but `referred` or `withdrawn`"); the exits never do;
- entering the state where the forum decides or the parties settle needs an agreement (`agreement_missing`);
- leaving it forward makes the agreement final, which waits while a term is under legal review
  (`screening_pending`, CONTRACT.md section 6);
- closing needs an outcome (`outcome_required`), and closing as resolved needs every term met
  (`compliance_open`) and no deposit still held (`deposit_open`, issue 19);
- the exits need a reason (`reason_required`), and so do the back moves (a truce renewed or breached, a
  re-hearing on appeal: the move names why).
"""

from __future__ import annotations

import dataclasses

import pytest
from django.utils import translation

from cases import services
from cases.workflows import WORKFLOWS, Workflow, state_label, workflow_for

OFFENCE = "offence_not_compoundable"
REASON = "reason_required"
AGREEMENT = "agreement_missing"
OUTCOME = "outcome_required"
COMPLIANCE = "compliance_open"
SCREENING = "screening_pending"
DEPOSIT = "deposit_open"

FORWARD = ("forward", frozenset({OFFENCE}))
INTO_AGREEMENT = ("forward", frozenset({OFFENCE, AGREEMENT}))
FINALISING = ("forward", frozenset({OFFENCE, SCREENING}))
CLOSING = ("forward", frozenset({OFFENCE, OUTCOME, COMPLIANCE, DEPOSIT}))
BACK = ("back", frozenset({OFFENCE, REASON}))
EXIT = ("exit", frozenset({REASON}))

STATES = {
    "sulha": (
        "intake",
        "jaha_appointed",
        "truce",
        "investigation",
        "determination",
        "ceremony",
        "monitoring",
        "closed",
    ),
    "jirga": ("intake", "mandate", "hearings", "legality_review", "decision", "implementation", "closed"),
    "muslahathi": (
        "intake",
        "eligibility_check",
        "consent",
        "hearings",
        "compromise",
        "reported",
        "monitoring",
        "closed",
    ),
}

AGREEMENT_STATE = {"sulha": "determination", "jirga": "legality_review", "muslahathi": "compromise"}

# Every move out of every open state, in the order the engine offers them: forward, back, then the exits.
# (source: [(target, (kind, guards)), …]); the exits are added to every source below.
MOVES = {
    "sulha": {
        "intake": [("jaha_appointed", FORWARD)],
        "jaha_appointed": [("truce", FORWARD)],
        "truce": [("investigation", FORWARD)],
        "investigation": [("determination", INTO_AGREEMENT), ("truce", BACK)],
        "determination": [("ceremony", FINALISING), ("investigation", BACK)],
        "ceremony": [("monitoring", FORWARD)],
        "monitoring": [("closed", CLOSING)],
    },
    "jirga": {
        "intake": [("mandate", FORWARD)],
        "mandate": [("hearings", FORWARD)],
        "hearings": [("legality_review", INTO_AGREEMENT)],
        "legality_review": [("decision", FINALISING), ("hearings", BACK)],
        "decision": [("implementation", FORWARD), ("hearings", BACK)],
        "implementation": [("closed", CLOSING)],
    },
    "muslahathi": {
        "intake": [("eligibility_check", FORWARD)],
        "eligibility_check": [("consent", FORWARD)],
        "consent": [("hearings", FORWARD)],
        "hearings": [("compromise", INTO_AGREEMENT)],
        "compromise": [("reported", FINALISING)],
        "reported": [("monitoring", FORWARD)],
        "monitoring": [("closed", CLOSING)],
    },
}
for _moves in MOVES.values():
    for _source in _moves:
        _moves[_source] += [("withdrawn", EXIT), ("referred", EXIT)]
    _moves.update({"closed": [], "withdrawn": [], "referred": []})

LABELS = {
    "intake": "Intake",
    "jaha_appointed": "Jaha appointed",
    "truce": "Truce",
    "investigation": "Investigation",
    "determination": "Determination",
    "ceremony": "Ceremony",
    "monitoring": "Monitoring",
    "mandate": "Mandate",
    "hearings": "Hearings",
    "legality_review": "Legality review",
    "decision": "Decision",
    "implementation": "Implementation",
    "eligibility_check": "Eligibility check",
    "consent": "Consent",
    "compromise": "Compromise",
    "reported": "Reported",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
    "referred": "Referred",
}

KINDS = ["sulha", "jirga", "muslahathi"]
NOWHERE = "nowhere"


def every_state(kind: str) -> tuple[str, ...]:
    return STATES[kind] + ("withdrawn", "referred")


def rebuilt(kind: str) -> Workflow:
    """The kind's declaration built again by the engine now, not at import: the table must come out the same."""
    return dataclasses.replace(WORKFLOWS[kind])


def engines(kind: str) -> list[Workflow]:
    return [workflow_for(kind), rebuilt(kind)]


def table(workflow: Workflow, state: str) -> list[tuple[str, tuple[str, frozenset]]]:
    return [(t.target, (t.kind, frozenset(t.guards))) for t in workflow.transitions_from(state)]


# --- The declarations ------------------------------------------------------------------------------------


def test_there_are_exactly_three_forum_kinds():
    assert set(WORKFLOWS) == set(KINDS)
    for kind in KINDS:
        assert workflow_for(kind).kind == kind
    with pytest.raises(KeyError):
        workflow_for("shura_of_nowhere")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_has_its_states_in_order(kind):
    for workflow in engines(kind):
        assert workflow.states == STATES[kind]
        assert workflow.open_states == STATES[kind][:-1]
        assert workflow.all_states == STATES[kind] + ("withdrawn", "referred")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_needs_its_agreement_where_the_domain_says(kind):
    assert workflow_for(kind).agreement_state == AGREEMENT_STATE[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_every_move_of_every_state_with_its_guards(kind):
    for workflow in engines(kind):
        for state in every_state(kind):
            assert table(workflow, state) == MOVES[kind][state], (workflow, state)
            assert all(t.source == state for t in workflow.transitions_from(state))
        assert workflow.transitions_from(NOWHERE) == ()


@pytest.mark.parametrize("kind", KINDS)
def test_transition_finds_exactly_the_declared_moves(kind):
    for workflow in engines(kind):
        for source in (*every_state(kind), NOWHERE):
            expected = dict(MOVES[kind].get(source, []))
            for target in (*every_state(kind), NOWHERE):
                found = workflow.transition(source, target)
                if target in expected:
                    assert found is not None, (source, target)
                    assert (found.source, found.target) == (source, target)
                    assert (found.kind, frozenset(found.guards)) == expected[target]
                else:
                    assert found is None, (source, target)


@pytest.mark.parametrize("kind", KINDS)
def test_is_after_follows_the_forward_path(kind):
    states = STATES[kind]
    for workflow in engines(kind):
        for state in (*every_state(kind), NOWHERE):
            for other in (*every_state(kind), NOWHERE):
                expected = state in states and other in states and states.index(state) > states.index(other)
                assert workflow.is_after(state, other) is expected, (state, other)


def test_labels_are_the_states_names_for_people():
    with translation.override("en"):
        for kind in KINDS:
            for state in every_state(kind):
                assert state_label(state) == LABELS[state]
                for transition in workflow_for(kind).transitions_from(state):
                    assert transition.label == LABELS[transition.target]
        assert state_label(NOWHERE) == NOWHERE


# --- The guard engine ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Facts:
    offence_class: str = "compoundable"
    reason: str = "because"
    outcome: str = "resolved"
    terms: bool = True
    met: bool = True
    pending: bool = False
    deposits: bool = False

    def deposits_open(self) -> bool:
        return self.deposits

    def has_agreement_terms(self) -> bool:
        return self.terms

    def screening_pending(self) -> bool:
        return self.pending

    def all_terms_met(self) -> bool:
        return self.met


# Each guard, and facts that fail it and only it.
FAILING = {
    OFFENCE: Facts(offence_class="non_compoundable"),
    REASON: Facts(reason=""),
    AGREEMENT: Facts(terms=False),
    SCREENING: Facts(pending=True),
    OUTCOME: Facts(outcome=""),
    COMPLIANCE: Facts(met=False),
    DEPOSIT: Facts(deposits=True),
}
# The order in which a move's guards are asked: the first refusal is the one a client sees.
ORDER = [OFFENCE, REASON, AGREEMENT, SCREENING, OUTCOME, COMPLIANCE, DEPOSIT]


@pytest.mark.parametrize("kind", KINDS)
def test_check_refuses_each_move_with_exactly_its_guards(kind):
    workflow = workflow_for(kind)
    for source, moves in MOVES[kind].items():
        for target, (_kind, guards) in moves:
            assert workflow.check(source, target, Facts()) == []
            for guard, facts in FAILING.items():
                assert workflow.check(source, target, facts) == ([guard] if guard in guards else []), (
                    source,
                    target,
                    guard,
                )
            # Everything wrong at once: the refusals come in ORDER. Without an outcome there is nothing to
            # be compliant for; with "resolved" the outcome is fine and compliance is what is missing.
            no_outcome = Facts(
                offence_class="non_compoundable",
                reason="",
                outcome="",
                terms=False,
                met=False,
                pending=True,
                deposits=True,
            )
            assert workflow.check(source, target, no_outcome) == [
                g for g in ORDER if g in guards - {COMPLIANCE, DEPOSIT}
            ]
            resolved = dataclasses.replace(no_outcome, outcome="resolved")
            assert workflow.check(source, target, resolved) == [g for g in ORDER if g in guards - {OUTCOME}]


def test_check_outcomes_other_than_resolved_close_without_compliance():
    workflow = workflow_for("jirga")
    for outcome in ("partly_resolved", "breakdown"):
        assert workflow.check("implementation", "closed", Facts(outcome=outcome, met=False, deposits=True)) == []
    assert workflow.check("implementation", "closed", Facts(outcome="resolved", met=False)) == [COMPLIANCE]
    # An exit's outcome is its own: "withdrawn" is no closing outcome.
    assert workflow.check("implementation", "closed", Facts(outcome="withdrawn")) == [OUTCOME]
    assert workflow.check("implementation", "withdrawn", Facts(outcome="")) == []
    assert workflow.check("hearings", "legality_review", Facts(offence_class="civil")) == []


def test_check_can_be_asked_about_some_guards_only():
    workflow = workflow_for("jirga")
    wrong = Facts(offence_class="non_compoundable", terms=False)
    assert workflow.check("hearings", "legality_review", wrong, only=[AGREEMENT]) == [AGREEMENT]
    assert workflow.check("hearings", "legality_review", wrong, only=[OFFENCE, AGREEMENT]) == [OFFENCE, AGREEMENT]
    # A guard the move does not have is not asked, even when named.
    assert workflow.check("intake", "mandate", wrong, only=[AGREEMENT]) == []
    assert workflow.check("intake", "withdrawn", Facts(reason=""), only=[OFFENCE]) == []


def test_check_of_a_move_the_workflow_does_not_have_is_an_error():
    with pytest.raises(ValueError, match="sulha"):
        workflow_for("sulha").check("intake", "truce", Facts())


# --- The engine reads any declaration --------------------------------------------------------------------


def test_a_new_declaration_gets_forward_back_and_exit_moves():
    workflow = Workflow(kind="test", states=("intake", "talks", "deed", "closed"), back=(("deed", "talks"),))
    assert workflow.agreement_state == ""
    assert table(workflow, "intake") == [("talks", FORWARD), ("withdrawn", EXIT), ("referred", EXIT)]
    assert table(workflow, "talks") == [("deed", FORWARD), ("withdrawn", EXIT), ("referred", EXIT)]
    assert table(workflow, "deed") == [("closed", CLOSING), ("talks", BACK), ("withdrawn", EXIT), ("referred", EXIT)]
    for ended in ("closed", "withdrawn", "referred"):
        assert table(workflow, ended) == []
    with_agreement = Workflow(kind="test", states=("intake", "talks", "deed", "closed"), agreement_state="deed")
    assert table(with_agreement, "talks")[0] == ("deed", INTO_AGREEMENT)
    # Closing straight from the agreement's state makes the agreement final too.
    assert table(with_agreement, "deed")[0] == (
        "closed",
        ("forward", frozenset({OFFENCE, SCREENING, OUTCOME, COMPLIANCE, DEPOSIT})),
    )


# --- Through the API -------------------------------------------------------------------------------------


@pytest.fixture
def forum_of(world):
    services.membership_grant(user=world.alice, forum=world.other, role="facilitator")
    return {"sulha": world.sulha, "jirga": world.jirga, "muslahathi": world.other}


def offered(case) -> list[tuple[str, str]]:
    return [(t["to"], t["kind"]) for t in case.case["allowed_transitions"]]


def literal_offer(kind: str, state: str) -> list[tuple[str, str]]:
    return [(target, move_kind) for target, (move_kind, _guards) in MOVES[kind][state]]


def assert_offers_the_literal_moves(case, kind: str, *, agreed: bool) -> None:
    state = case.case["state"]
    assert offered(case) == literal_offer(kind, state), state
    for move in case.case["allowed_transitions"]:
        guards = dict(MOVES[kind][state])[move["to"]][1]
        assert move["reason_required"] is (REASON in guards)
        assert move["outcome_required"] is (OUTCOME in guards)
        assert move["blocked_by"] == ([AGREEMENT] if AGREEMENT in guards and not agreed else []), (state, move)


def code(response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_case_walks_the_literal_path_and_is_offered_the_literal_moves_in_each_state(forum_of, open_case, kind):
    case = open_case(forum=forum_of[kind])
    states = STATES[kind]
    assert case.case["state"] == "intake"
    agreed = False
    for target in states[1:]:
        assert_offers_the_literal_moves(case, kind, agreed=agreed)
        # Skipping the next state is never a move.
        for skipped in states[states.index(target) + 1 :]:
            assert code(case.move(skipped, expect=422)) == "transition_not_allowed"
        if target == AGREEMENT_STATE[kind]:
            assert code(case.move(target, expect=422)) == AGREEMENT
            case.agree()
            agreed = True
        if target == "closed":
            assert code(case.move(target, expect=422)) == OUTCOME
            assert code(case.move(target, expect=422, outcome="resolved")) == COMPLIANCE
            case.check_all_terms("met")
            case.move(target, outcome="resolved", reason="Agreement kept")
        else:
            case.move(target)
        assert case.case["state"] == target
    assert case.case["allowed_transitions"] == []
    assert code(case.move("withdrawn", expect=422, reason="Too late")) == "transition_not_allowed"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_each_back_move_needs_a_reason_and_goes_back(forum_of, open_case, kind):
    back_moves = [(s, t) for s, moves in MOVES[kind].items() for t, (k, _g) in moves if k == "back"]
    assert len(back_moves) == {"sulha": 2, "jirga": 2, "muslahathi": 0}[kind]
    for source, target in back_moves:
        case = open_case(forum=forum_of[kind])
        for state in STATES[kind][1 : STATES[kind].index(source) + 1]:
            if state == AGREEMENT_STATE[kind]:
                case.agree()
            case.move(state)
        assert code(case.move(target, expect=422)) == REASON
        case.move(target, reason="The truce was breached; the hearing starts again")
        assert case.case["state"] == target
        assert_offers_the_literal_moves(
            case, kind, agreed=STATES[kind].index(source) >= STATES[kind].index(AGREEMENT_STATE[kind])
        )


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("exit_to", ["withdrawn", "referred"])
def test_an_open_case_exits_with_a_reason_from_the_middle_of_its_path(forum_of, open_case, kind, exit_to):
    case = open_case(forum=forum_of[kind])
    middle = STATES[kind][2]
    for state in STATES[kind][1:3]:
        case.move(state)
    assert case.case["state"] == middle
    assert code(case.move(exit_to, expect=422)) == REASON
    case.move(exit_to, reason="The families went to court")
    assert (case.case["state"], case.case["outcome"]) == (exit_to, exit_to)
    assert case.case["allowed_transitions"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_case_only_a_court_may_decide_is_offered_only_the_exits(forum_of, open_case, kind):
    case = open_case(forum=forum_of[kind], offence_class="non_compoundable", dispute_type="killing")
    assert offered(case) == [("withdrawn", "exit"), ("referred", "exit")]
    assert code(case.move(STATES[kind][1], expect=422)) == OFFENCE
    case.move("referred", reason="Only a court may decide a killing")
    assert case.case["state"] == "referred"
