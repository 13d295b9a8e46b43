"""The forum kinds' workflows, declared as data and read by one engine, and the one guard engine.

Each kind lists its states in order; the engine derives the forward path from that order, adds the
kind's own back transitions, and lets every open state exit to `withdrawn` or `referred`. Guards are
named checks in GUARD_CHECKS, evaluated by `Workflow.check` against the facts of a move (`MoveFacts`):
the services (a real move), the allowed-transitions selector (what to offer) and the synthetic generator
(drafted histories) all ask it, each supplying the facts from where it keeps them.
Adding a forum kind adds a declaration here, not code paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from django.utils.translation import gettext_lazy as _

from .models import CLOSING_OUTCOMES, OffenceClass, Outcome

INTAKE = "intake"
CLOSED = "closed"
WITHDRAWN = "withdrawn"
REFERRED = "referred"
ENDED = (CLOSED, WITHDRAWN, REFERRED)
EXITS = (WITHDRAWN, REFERRED)

# Guard names are the API's 422 codes.
REASON_REQUIRED = "reason_required"
OFFENCE_NOT_COMPOUNDABLE = "offence_not_compoundable"
AGREEMENT_MISSING = "agreement_missing"
COMPLIANCE_OPEN = "compliance_open"
SCREENING_PENDING = "screening_pending"
# Closing as resolved while a deposit is still held (neither returned nor forfeited: cases.services.guarantees).
DEPOSIT_OPEN = "deposit_open"
OUTCOME_REQUIRED = "outcome_required"


class MoveFacts(Protocol):
    """What the guards read about a move. `has_agreement_terms` and `all_terms_met` are methods so that a
    caller reads agreements and checks only when a guard asks. The guards only read the facts: read-only
    properties, so that a frozen dataclass or a property satisfies them."""

    @property
    def offence_class(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    def has_agreement_terms(self) -> bool: ...

    def all_terms_met(self) -> bool: ...

    def screening_pending(self) -> bool:
        """Whether a term of the draft agreement waits for a legal reviewer (CONTRACT.md section 6)."""
        ...

    def deposits_open(self) -> bool:
        """Whether a deposit of the case is still held: neither returned nor forfeited."""
        ...


# Each guard passes when its check is true. The order is the order of evaluation: the first that fails is the
# refusal a client sees.
GUARD_CHECKS: dict[str, Callable[[MoveFacts], bool]] = {
    OFFENCE_NOT_COMPOUNDABLE: lambda facts: facts.offence_class != OffenceClass.NON_COMPOUNDABLE,
    REASON_REQUIRED: lambda facts: bool(facts.reason),
    AGREEMENT_MISSING: lambda facts: facts.has_agreement_terms(),
    SCREENING_PENDING: lambda facts: not facts.screening_pending(),
    OUTCOME_REQUIRED: lambda facts: facts.outcome in CLOSING_OUTCOMES,
    COMPLIANCE_OPEN: lambda facts: facts.outcome != Outcome.RESOLVED or facts.all_terms_met(),
    DEPOSIT_OPEN: lambda facts: facts.outcome != Outcome.RESOLVED or not facts.deposits_open(),
}
# Guards decided by what the case holds, not by what the request brings (a reason, an outcome): these are the
# ones a page can know before anyone asks for the move.
CASE_GUARDS = (OFFENCE_NOT_COMPOUNDABLE, AGREEMENT_MISSING, SCREENING_PENDING)

STATE_LABELS = {
    "intake": _("Intake"),
    "jaha_appointed": _("Jaha appointed"),
    "truce": _("Truce"),
    "investigation": _("Investigation"),
    "determination": _("Determination"),
    "ceremony": _("Ceremony"),
    "monitoring": _("Monitoring"),
    "mandate": _("Mandate"),
    "hearings": _("Hearings"),
    "legality_review": _("Legality review"),
    "decision": _("Decision"),
    "implementation": _("Implementation"),
    "eligibility_check": _("Eligibility check"),
    "consent": _("Consent"),
    "compromise": _("Compromise"),
    "reported": _("Reported"),
    "closed": _("Closed"),
    "withdrawn": _("Withdrawn"),
    "referred": _("Referred"),
}


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    kind: str  # "forward" | "back" | "exit"
    guards: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.target])


@dataclass(frozen=True)
class Workflow:
    kind: str
    states: tuple[str, ...]  # intake … closed, in order
    back: tuple[tuple[str, str], ...] = ()
    # The state where the forum decides or the parties settle: entering it needs an agreement, and
    # leaving it forward makes the agreement final.
    agreement_state: str = ""
    transitions: dict[str, tuple[Transition, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table: dict[str, list[Transition]] = {state: [] for state in self.states + EXITS}
        forward = list(zip(self.states, self.states[1:], strict=False))
        for source, target in forward:
            guards = [OFFENCE_NOT_COMPOUNDABLE]
            if target == self.agreement_state:
                guards.append(AGREEMENT_MISSING)
            if source == self.agreement_state:
                # Leaving the agreement's state forward makes the agreement final: no term may still wait for review.
                guards.append(SCREENING_PENDING)
            if target == CLOSED:
                guards += [OUTCOME_REQUIRED, COMPLIANCE_OPEN, DEPOSIT_OPEN]
            table[source].append(Transition(source, target, "forward", tuple(guards)))
        for source, target in self.back:
            table[source].append(Transition(source, target, "back", (OFFENCE_NOT_COMPOUNDABLE, REASON_REQUIRED)))
        for state in self.open_states:
            for target in EXITS:
                table[state].append(Transition(state, target, "exit", (REASON_REQUIRED,)))
        object.__setattr__(self, "transitions", {state: tuple(ts) for state, ts in table.items()})

    @property
    def open_states(self) -> tuple[str, ...]:
        return tuple(s for s in self.states if s not in ENDED)

    @property
    def all_states(self) -> tuple[str, ...]:
        return self.states + EXITS

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        return self.transitions.get(state, ())

    def transition(self, source: str, target: str) -> Transition | None:
        return next((t for t in self.transitions_from(source) if t.target == target), None)

    def check(self, source: str, target: str, facts: MoveFacts, *, only: Iterable[str] | None = None) -> list[str]:
        """The guards of the move `source` → `target` that refuse it, in order of evaluation (empty: allowed).
        `only` limits the evaluation to those guards. The move must be declared (see `transition`)."""
        transition = self.transition(source, target)
        if transition is None:
            raise ValueError(f"{source} → {target} is not a move of the {self.kind} workflow")
        wanted = set(transition.guards if only is None else set(only) & set(transition.guards))
        return [name for name, passes in GUARD_CHECKS.items() if name in wanted and not passes(facts)]

    def is_after(self, state: str, other: str) -> bool:
        """Whether `state` comes after `other` on the forward path."""
        return state in self.states and other in self.states and self.states.index(state) > self.states.index(other)


WORKFLOWS: dict[str, Workflow] = {
    wf.kind: wf
    for wf in (
        Workflow(
            kind="sulha",
            states=(
                "intake",
                "jaha_appointed",
                "truce",
                "investigation",
                "determination",
                "ceremony",
                "monitoring",
                "closed",
            ),
            back=(("investigation", "truce"), ("determination", "investigation")),
            agreement_state="determination",
        ),
        Workflow(
            kind="jirga",
            states=("intake", "mandate", "hearings", "legality_review", "decision", "implementation", "closed"),
            back=(("decision", "hearings"), ("legality_review", "hearings")),
            agreement_state="legality_review",
        ),
        Workflow(
            kind="muslahathi",
            states=(
                "intake",
                "eligibility_check",
                "consent",
                "hearings",
                "compromise",
                "reported",
                "monitoring",
                "closed",
            ),
            agreement_state="compromise",
        ),
    )
}


def workflow_for(kind: str) -> Workflow:
    return WORKFLOWS[kind]


def state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, state))
