"""Presentation helpers of the case pages: state labels and each timeline event as a readable sentence.

The sentences are plain text (the template escapes them): reasons and descriptions are typed by people.
"""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases import workflows
from cases.models import ComplianceCheck, Deposit, DisputeType, GuaranteeSide, Outcome, RiskLevel, TieDeclaration
from cases.screening.law import law_for

register = template.Library()


@register.filter
def data_label(value) -> str:
    """A name stored as data (a rung of the default ladder) in the reader's language when the catalog has it;
    names an administrator typed in stay as typed."""
    return _(str(value)) if value else ""


@register.filter
def state_label(state: str) -> str:
    return workflows.state_label(state)


def _choice(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _practice(data: dict) -> str:
    # The practice's name in the reader's language when the law file knows its code; else the name the event
    # kept when the term was refused (in the refuser's language), or the code of older events.
    code = data.get("practice")
    if code:
        name = law_for(str(code)).name
        if name and name != code:
            return name
    return str(data.get("practice_name") or code or "").replace("_", " ")


@register.filter
def practice_name(code: str) -> str:
    """A prohibited practice's name in the reader's language."""
    return law_for(code).name if code else ""


def _transitioned(data: dict) -> str:
    names = {"from": workflows.state_label(data.get("from", "")), "to": workflows.state_label(data.get("to", ""))}
    reason = data.get("reason")
    if reason:
        sentence = _("Moved from %(from)s to %(to)s — reason: %(reason)s") % {**names, "reason": reason}
    else:
        sentence = _("Moved from %(from)s to %(to)s.") % names
    parts = [sentence]
    outcome = data.get("outcome")
    if outcome and data.get("to") == workflows.CLOSED:
        parts.append(_("Outcome: %(outcome)s.") % {"outcome": _choice(Outcome, outcome)})
    if data.get("truce_expires"):
        parts.append(_("The truce runs until %(date)s.") % {"date": data["truce_expires"]})
    return " ".join(parts)


def _imported(sentence: str, data: dict) -> str:
    """An event brought in from a paper register (cases.services.registers) says so."""
    if not data.get("imported"):
        return sentence
    note = _("From the paper register (number %(number)s).") % {"number": data.get("register_no", "")}
    return f"{sentence} {note}"


def _rung_label(level, code, names: dict) -> str:
    """“rung 2 (Mediation)”: the ladder's name for the level, else the code the event kept."""
    name = names.get(level) or str(code or "").replace("_", " ")
    if name:
        return _("rung %(level)s (%(name)s)") % {"level": level, "name": name}
    return _("rung %(level)s") % {"level": level}


def _rung_move(data: dict, up: bool, names: dict) -> str:
    values = {
        "from": _rung_label(data.get("from", "?"), data.get("from_code"), names),
        "to": _rung_label(data.get("to", "?"), data.get("to_code"), names),
        "reason": data.get("reason", ""),
    }
    if up:
        sentence = _("Moved up from %(from)s to %(to)s — reason: %(reason)s") % values
    else:
        sentence = _("Moved down from %(from)s to %(to)s — reason: %(reason)s") % values
    if data.get("justification"):
        sentence += _("; justification: %(text)s") % {"text": data["justification"]}
    return sentence


@register.filter
def event_sentence(event, rung_names=None) -> str:
    """The event as a sentence. `rung_names` ({level: name}, the case's ladder) names the rungs of a move."""
    data = event.data if isinstance(event.data, dict) else {}
    names = rung_names if isinstance(rung_names, dict) else {}
    kind = event.kind
    if kind == "opened":
        sentence = _("Case opened: %(dispute)s dispute, risk %(risk)s, at rung %(rung)s.") % {
            "dispute": _choice(DisputeType, data.get("dispute_type", "")),
            "risk": _choice(RiskLevel, data.get("risk_level", "")),
            "rung": data.get("rung", 1),
        }
        return _imported(sentence, data)
    if kind == "transitioned":
        return _imported(_transitioned(data), data)
    if kind == "agreement_recorded":
        count = len(data.get("terms") or [])
        return ngettext(
            "Agreement recorded (revision %(revision)s) with %(count)s term.",
            "Agreement recorded (revision %(revision)s) with %(count)s terms.",
            count,
        ) % {"revision": data.get("revision", 1), "count": count}
    if kind == "agreement_finalised":
        return _("The agreement became final (revision %(revision)s).") % {"revision": data.get("revision", 1)}
    if kind == "settlement_attested":
        return ngettext(
            "The written settlement was read aloud before %(count)s witness.",
            "The written settlement was read aloud before %(count)s witnesses.",
            int(data.get("witnesses") or 0),
        ) % {"count": int(data.get("witnesses") or 0)}
    if kind == "prohibited_term_blocked":
        return _("A prohibited term was refused: %(practice)s (term %(number)s; law: %(law)s).") % {
            "practice": _practice(data),
            "number": int(data.get("term_index", 0)) + 1,
            "law": "; ".join(data.get("citations") or []) or "—",
        }
    if kind == "screening_reviewed":
        values = {"number": data.get("position", "?"), "practice": _practice(data) or "—"}
        if data.get("decision") == "lawful":
            sentence = _("A legal reviewer found term %(number)s lawful (it was held as possibly: %(practice)s).")
        else:
            sentence = _("A legal reviewer found term %(number)s prohibited (%(practice)s); it left the draft.")
        sentence = sentence % values
        if data.get("note"):
            sentence += " " + _("Note: %(note)s") % {"note": data["note"]}
        return sentence
    if kind == "compliance_checked":
        return _("Compliance check recorded: %(status)s.") % {
            "status": _choice(ComplianceCheck.Status, data.get("status", ""))
        }
    if kind == "breach_recorded":
        return _("Breach recorded. A step up the ladder may be needed.")
    if kind in GUARANTEE_SENTENCES:
        return _guarantee_sentence(kind, data)
    if kind in TIE_SENTENCES:
        return _tie_sentence(kind, data)
    if kind == "risk_factors_tagged":
        factors = ", ".join(str(factor) for factor in data.get("factors") or []) or _("none")
        return _("Risk factors of the UN Framework now tagged: %(factors)s.") % {"factors": factors}
    if kind == "escalated":
        return _rung_move(data, up=True, names=names)
    if kind == "de_escalated":
        return _rung_move(data, up=False, names=names)
    if kind in OTHER_SENTENCES:
        return _other_sentence(kind, data)
    return _("Event: %(kind)s.") % {"kind": kind.replace("_", " ")}


OTHER_SENTENCES = frozenset(
    (
        "session_started",
        "session_ended",
        "caucus_held",
        "monitor_assigned",
        "survey_recorded",
        "recurrence_linked",
        "recurrence_confirmed",
        "compliance_conflict",
        "compliance_conflict_reviewed",
    )
)


def _other_sentence(kind: str, data: dict) -> str:
    if kind == "session_started":
        return _("A dialogue session began.")
    if kind == "session_ended":
        count = int(data.get("accepted_proposals") or 0)
        return ngettext(
            "The dialogue session ended; %(count)s proposal was accepted.",
            "The dialogue session ended; %(count)s proposals were accepted.",
            count,
        ) % {"count": count}
    if kind == "caucus_held":
        # A private side room of a session (shuttle mediation): which side, and how many took part; never who or what.
        count = int(data.get("participants") or 0)
        return ngettext(
            "The %(side)s met privately with the facilitator in a side room; %(count)s person took part.",
            "The %(side)s met privately with the facilitator in a side room; %(count)s people took part.",
            count,
        ) % {"side": _choice(GuaranteeSide, data.get("side", "")).lower(), "count": count}
    if kind == "monitor_assigned":
        if data.get("monitor"):
            return _("A monitor was assigned to the case.")
        return _("The case's monitor was removed; every monitor of the forum follows it.")
    if kind == "survey_recorded":
        return _("A party answered the closing survey.")
    if kind == "recurrence_linked":
        references = ", ".join(str(e.get("reference", "")) for e in data.get("earlier") or [] if isinstance(e, dict))
        return _("Linked to earlier cases between the same parties: %(references)s.") % {
            "references": references or "—"
        }
    if kind == "recurrence_confirmed":
        return _("Confirmed as a recurrence of %(reference)s.") % {"reference": data.get("reference", "—")}
    if kind == "compliance_conflict":
        return _("Two checks of the same term disagree; a facilitator should look at them.")
    return _("The disagreeing checks were reviewed.")


# The guarantees ledger's events (cases.services.guarantees): sides, kinds and amounts, never a name.
GUARANTEE_SENTENCES = frozenset(
    ("guarantor_added", "guarantor_called", "deposit_received", "deposit_forfeited", "deposit_returned")
)


def _guarantee_sentence(kind: str, data: dict) -> str:
    side = _choice(GuaranteeSide, data.get("stands_for") or data.get("deposited_by") or "").lower()
    what = _choice(Deposit.Kind, data.get("kind", "")).lower()
    if data.get("amount"):
        what = f"{data['amount']} {data.get('currency', '')}".strip()
    values = {"side": side, "what": what, "reason": data.get("reason", "")}
    return {
        "guarantor_added": _("A guarantor now stands for the %(side)s."),
        "guarantor_called": _("The guarantor for the %(side)s was called: %(reason)s"),
        "deposit_received": _("Deposit received from the %(side)s: %(what)s."),
        "deposit_forfeited": _("Deposit of the %(side)s declared forfeited (%(what)s): %(reason)s"),
        "deposit_returned": _("Deposit returned to the %(side)s (%(what)s)."),
    }[kind] % values


# Conflicts of interest (cases.services.conflicts): the kind, the party's pseudonym and the side, never a name.
TIE_SENTENCES = frozenset(("tie_declared", "tie_recused", "tie_accepted"))


def _tie_sentence(kind: str, data: dict) -> str:
    values = {
        "kind": _choice(TieDeclaration.Kind, data.get("kind", "")).lower(),
        "party": data.get("pseudonym", ""),
        "side": _choice(GuaranteeSide, data.get("side", "")).lower(),
    }
    if kind == "tie_declared":
        return _("A tie (%(kind)s) to party %(party)s was declared.") % values
    if kind == "tie_recused":
        return _("The person with a declared tie (%(kind)s) recused themselves from the case.") % values
    if data.get("resolved"):
        return _("The %(side)s accepted the person with a declared tie; both sides have now accepted.") % values
    return _("The %(side)s accepted the person with a declared tie.") % values
