"""The default escalation ladder of shared/DOMAIN.md, rung 1 at the base: (level, code, name, description).

Migration 0002 creates it with its own frozen copy; services.ladder_default() restores it from this one
if it was ever deleted, and reports fall back to its names. The names are marked for translation and
translated when shown.
"""

from django.utils.translation import gettext_noop

DEFAULT_LADDER_NAME = gettext_noop("Default ladder")

DEFAULT_RUNGS = [
    (1, "dialogue", gettext_noop("Dialogue"), "Restorative dialogue between the parties, facilitated by the forum."),
    (2, "mediation", gettext_noop("Mediation"), "Shuttle mediation by elders or the jaha; guarantors engaged."),
    (3, "decision", gettext_noop("Decision"), "A binding forum decision (arbitration, faisla) the parties mandated."),
    (
        4,
        "guarantees",
        gettext_noop("Guarantees"),
        "Guarantees called in: deposit forfeited, guarantors act, written compliance plan.",
    ),
    (5, "police", gettext_noop("Police"), "Referral to the police or a state-linked council (DRC, SHO, FIR)."),
    (6, "court", gettext_noop("Court"), "Court proceedings, protective orders (incapacitation)."),
]
