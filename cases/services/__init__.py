"""Writes for cases and forums: every change goes through a service here, whichever door asked.

A package by sub-domain; this module is its public face, so that callers write `services.case_open(...)`
whichever module holds it:

- common: the domain errors, access checks, the case row lock and the timeline's append (shared by all);
- forums: regions, forums, ladders, memberships;
- opening: opening a case, its parties and tagged facts;
- transitions: moving a case along its workflow (guards: cases.workflows);
- agreements: drafts, terms, instalments, screening;
- monitoring: compliance checks, payments, conflicts, monitors, surveys, what is due;
- recurrences: one feud, several cases;
- ladder: escalation and de-escalation, review reminders;
- settlements: the written settlement frozen when an agreement becomes final, and its attestations;
- registers: a forum's paper register brought in (the rows checked by cases.registers);
- guarantees: guarantors and deposits, called in or forfeited after a breach, deposits returned;
- conflicts: ties of facilitators and elders to the parties, recused or accepted by both sides (conflict_check).
"""

from ..instalments import instalments_split, month_later  # Arithmetic the services use; kept at hand.
from .agreements import (
    NotUnderReview,
    TermInput,
    agreement_record,
    agreement_term_add,
    review_reason,
    screening_decided,
    term_check,
    term_screening_decide,
    timeline_record,
)
from .common import (
    AgreementFinal,
    AgreementNotFinal,
    ProhibitedTermError,
    StaleVersion,
    TransitionNotAllowed,
    check_can_manage,
    check_can_see,
    event_append,
    lock_case,
)
from .conflicts import (
    ConflictRecused,
    ConflictUnresolved,
    conflict_check,
    tie_accept,
    tie_declare,
    tie_recuse,
)
from .forums import (
    forum_ensure,
    ladder_default,
    membership_grant,
    region_ensure,
)
from .guarantees import (
    deposit_add,
    deposit_forfeit,
    deposit_return,
    guarantor_add,
    guarantor_call,
)
from .ladder import (
    case_escalate,
    reminder_dismiss,
    reminders_create_for_due_reviews,
)
from .monitoring import (
    DUE_HORIZON,
    TRUCE_WARNING,
    case_monitor_assign,
    compliance_conflict_review,
    compliance_record,
    due_items_refresh,
    survey_record,
)
from .opening import (
    REFERENCE_PREFIX,
    PartyInput,
    case_open,
    case_risk_factors_set,
    party_name_key,
)
from .recurrences import (
    RECURRENCE_CANDIDATES,
    RECURRENCE_WINDOW,
    recurrence_decide,
    recurrence_link,
    recurrences_find,
)
from .registers import (
    ImportResult,
    register_import,
    register_numbers_known,
    register_preview,
)
from .settlements import (
    SPOKEN_LANGUAGES,
    SettlementNotFinal,
    settlement_attest,
    settlement_ensure,
    settlement_freeze,
)
from .transitions import (
    GUARD_MESSAGES,
    case_transition,
)

__all__ = [
    "StaleVersion",
    "TransitionNotAllowed",
    "ProhibitedTermError",
    "AgreementFinal",
    "check_can_see",
    "check_can_manage",
    "lock_case",
    "event_append",
    "AgreementNotFinal",
    "ladder_default",
    "region_ensure",
    "forum_ensure",
    "membership_grant",
    "REFERENCE_PREFIX",
    "PartyInput",
    "case_open",
    "party_name_key",
    "case_risk_factors_set",
    "GUARD_MESSAGES",
    "case_transition",
    "month_later",
    "instalments_split",
    "TermInput",
    "review_reason",
    "term_check",
    "screening_decided",
    "term_screening_decide",
    "NotUnderReview",
    "agreement_term_add",
    "timeline_record",
    "agreement_record",
    "compliance_record",
    "compliance_conflict_review",
    "case_monitor_assign",
    "survey_record",
    "DUE_HORIZON",
    "TRUCE_WARNING",
    "due_items_refresh",
    "RECURRENCE_WINDOW",
    "RECURRENCE_CANDIDATES",
    "recurrences_find",
    "recurrence_link",
    "recurrence_decide",
    "case_escalate",
    "reminders_create_for_due_reviews",
    "reminder_dismiss",
    "SPOKEN_LANGUAGES",
    "SettlementNotFinal",
    "settlement_freeze",
    "settlement_ensure",
    "settlement_attest",
    "ImportResult",
    "register_import",
    "register_preview",
    "register_numbers_known",
    "guarantor_add",
    "guarantor_call",
    "deposit_add",
    "deposit_forfeit",
    "deposit_return",
    "ConflictUnresolved",
    "ConflictRecused",
    "conflict_check",
    "tie_declare",
    "tie_recuse",
    "tie_accept",
]
