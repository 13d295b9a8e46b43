"""The history validator: a forum kind's workflow as the drafting reads it (Route), and the check of every move
a draft makes against it, as the move is made (check_move): the transition declared for the kind
(cases.workflows), its guards honoured as services.case_transition honours them, and never before the case's
last event. A refusal is a bug in the generator, never bad input: it stops the run (GenerationError) instead
of writing a history the services would refuse.

The workflow guards are evaluated by cases.workflows (the one guard engine), asked here and nowhere else in
devdata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cases import workflows

if TYPE_CHECKING:
    from .drafts import CaseDraft


class GenerationError(RuntimeError):
    """The generator tried to write a history the services would refuse: a bug here, never bad input."""


@dataclass(frozen=True)
class Route:
    """A forum kind's workflow, read once into the lookups the walk makes at every step."""

    workflow: workflows.Workflow
    transitions: dict[tuple[str, str], workflows.Transition]
    forward: dict[str, str]
    back: dict[str, tuple[str, ...]]
    watch_state: str  # Monitoring / implementation: where compliance is checked before closing.

    @classmethod
    def of(cls, kind: str) -> Route:
        workflow = workflows.workflow_for(kind)
        transitions = {(t.source, t.target): t for ts in workflow.transitions.values() for t in ts}
        return cls(
            workflow=workflow,
            transitions=transitions,
            forward={t.source: t.target for t in transitions.values() if t.kind == "forward"},
            back={
                s: tuple(t.target for t in workflow.transitions_from(s) if t.kind == "back") for s in workflow.states
            },
            watch_state=workflow.states[-2],
        )


@dataclass(frozen=True)
class _DraftFacts:
    """A drafted move's facts for the guard engine (cases.workflows.MoveFacts), read from the draft in memory."""

    draft: CaseDraft
    reason: str
    outcome: str

    @property
    def offence_class(self) -> str:
        return self.draft.offence_class

    def has_agreement_terms(self) -> bool:
        return self.draft.agreement is not None and bool(self.draft.agreement.terms)

    def all_terms_met(self) -> bool:
        agreement = self.draft.agreement
        return agreement is None or all(term.latest == "met" for term in agreement.terms)

    def screening_pending(self) -> bool:
        return False  # Drafted terms are lawful by construction: none is ever held for review.

    def deposits_open(self) -> bool:
        # Deposits are drafted after the workflow (drafting.history_guarantees), each one still held at the end
        # returned just before it: that step refuses a resolved case left with a deposit held.
        return False


def check_move(draft: CaseDraft, to: str, *, at: int, reason: str, outcome: str) -> workflows.Transition:
    """The transition of the draft's forum kind from its state to `to`, if services.case_transition would
    make it now: declared, its guards honoured (the one guard engine, cases.workflows), and not before the
    draft's last event; else GenerationError."""
    source = draft.state
    transition = draft.route.transitions.get((source, to))
    if transition is None:
        raise GenerationError(f"{source} → {to} is not declared for {draft.forum.kind}")
    refused = draft.route.workflow.check(source, to, _DraftFacts(draft, reason, outcome))
    if refused or at < draft.last_at:
        raise GenerationError(f"{source} → {to} at {at} breaks a guard of {draft.forum.kind} ({refused}): {draft}")
    return transition
