"""Forums, their people and their escalation ladders."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import gender_field
from config.crypto import EncryptedJSONField, EncryptedTextField, PartlyEncryptedJSONField


class Region(models.Model):
    """A province, or a district within one."""

    class Kind(models.TextChoices):
        PROVINCE = "province", _("Province")
        DISTRICT = "district", _("District")

    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("province"), null=True, blank=True, on_delete=models.PROTECT, related_name="districts"
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]
        constraints = [
            # A district sits in a province; a province sits in nothing.
            models.CheckConstraint(
                condition=(
                    models.Q(kind="province", parent__isnull=True) | models.Q(kind="district", parent__isnull=False)
                ),
                name="region_district_has_province",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Ladder(models.Model):
    """An escalation ladder: the responsive-regulation pyramid, rung 1 at the base."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    review_days = models.PositiveSmallIntegerField(
        _("review after (days)"), default=30, help_text=_("Every move sets a review date this many days ahead.")
    )

    class Meta:
        verbose_name = _("escalation ladder")
        verbose_name_plural = _("escalation ladders")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rung(models.Model):
    class MovableBy(models.TextChoices):
        FACILITATOR = "facilitator", _("The forum's facilitators")
        ADMINISTRATOR = "administrator", _("Administrators only")

    ladder = models.ForeignKey(Ladder, verbose_name=_("ladder"), on_delete=models.CASCADE, related_name="rungs")
    level = models.PositiveSmallIntegerField(_("level"), help_text=_("Level 1 is the base of the pyramid."))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    movable_by = models.CharField(
        _("who may move a case onto it"),
        max_length=16,
        choices=MovableBy.choices,
        default=MovableBy.FACILITATOR,
    )

    class Meta:
        verbose_name = _("rung")
        verbose_name_plural = _("rungs")
        ordering = ["ladder", "level"]
        constraints = [
            models.UniqueConstraint(fields=["ladder", "level"], name="rung_level_unique_per_ladder"),
            models.UniqueConstraint(fields=["ladder", "code"], name="rung_code_unique_per_ladder"),
            models.CheckConstraint(condition=models.Q(level__gte=1), name="rung_level_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.level}. {self.name}"


class Forum(models.Model):
    class Kind(models.TextChoices):
        JIRGA = "jirga", _("Jirga / shura")
        MUSLAHATHI = "muslahathi", _("Muslahathi committee / police DRC")
        SULHA = "sulha", _("Sulha")

    class Country(models.TextChoices):
        """Whose law a refusal cites (cases/screening/data/law.json), beside the international standard."""

        PAKISTAN = "PK", _("Pakistan")
        AFGHANISTAN = "AF", _("Afghanistan")
        JORDAN = "JO", _("Jordan")
        PALESTINE = "PS", _("Palestine")
        ISRAEL = "IL", _("Israel")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="forums")
    ladder = models.ForeignKey(
        Ladder, verbose_name=_("escalation ladder"), on_delete=models.PROTECT, related_name="forums"
    )
    country = models.CharField(
        _("country"), max_length=2, choices=Country.choices, default=Country.PAKISTAN, db_default=Country.PAKISTAN
    )
    is_active = models.BooleanField(_("active"), default=True)
    check_every_days = models.PositiveSmallIntegerField(
        _("check agreements every (days)"),
        default=30,
        help_text=_("A term of a final agreement is due for a compliance check this many days after its last one."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="forums", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("forum")
        verbose_name_plural = _("forums")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["jirga", "muslahathi", "sulha"]), name="forum_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one forum. A user may hold both roles in the same forum."""

    class Role(models.TextChoices):
        FACILITATOR = "facilitator", _("Facilitator")
        MONITOR = "monitor", _("Monitor")
        # Decides screened agreement terms held for review (e.g. the district's legal-aid lawyer, a DRC's lawyer
        # member): reads the forum's cases, attends no session, moves nothing.
        LEGAL_REVIEWER = "legal_reviewer", _("Legal reviewer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    forum = models.ForeignKey(Forum, verbose_name=_("forum"), on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "forum", "role"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["facilitator", "monitor", "legal_reviewer"]), name="membership_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.forum} · {self.get_role_display()}"


class DisputeType(models.TextChoices):
    LAND = "land", _("Land")
    WATER = "water", _("Water")
    PROPERTY = "property", _("Property")
    DEBT = "debt", _("Debt")
    FAMILY = "family", _("Family")
    MARRIAGE = "marriage", _("Marriage")
    HONOUR = "honour", _("Honour")
    INJURY = "injury", _("Injury")
    KILLING = "killing", _("Killing")
    THEFT = "theft", _("Theft")
    SECTARIAN = "sectarian", _("Sectarian")
    TRIBAL = "tribal", _("Tribal")
    POLICE_CONDUCT = "police_conduct", _("Police conduct")
    OTHER = "other", _("Other")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    IMMINENT = "imminent", _("Imminent (violence expected within days)")


class OffenceClass(models.TextChoices):
    CIVIL = "civil", _("Civil (no offence)")
    COMPOUNDABLE = "compoundable", _("Compoundable (the parties may settle it)")
    NON_COMPOUNDABLE = "non_compoundable", _("Not compoundable (only a court may decide it)")


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    PARTLY_RESOLVED = "partly_resolved", _("Partly resolved")
    BREAKDOWN = "breakdown", _("Breakdown")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REFERRED = "referred", _("Referred")


# How a case may close (`closed`); `withdrawn` and `referred` are their own outcomes.
CLOSING_OUTCOMES = (Outcome.RESOLVED, Outcome.PARTLY_RESOLVED, Outcome.BREAKDOWN)


class ReferenceCounter(models.Model):
    """The last case number given out per prefix and year (rows locked while a case is opened)."""

    prefix = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="reference_counter_unique")]


class Case(models.Model):
    """A dispute brought to a forum. Only cases.services writes state, rung, version and events."""

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    forum = models.ForeignKey(Forum, verbose_name=_("forum"), on_delete=models.PROTECT, related_name="cases")
    # The forum's kind, copied so that the database itself can hold "a state of this kind's workflow".
    kind = models.CharField(_("forum kind"), max_length=12, choices=Forum.Kind.choices, editable=False)
    title = models.CharField(_("title"), max_length=200)
    # Encrypted at rest (config/crypto.py); the title stays in clear: lists show it and search it, so the forms
    # ask for a title without names.
    summary = EncryptedTextField(_("summary"), blank=True)
    dispute_type = models.CharField(_("dispute type"), max_length=16, choices=DisputeType.choices)
    risk_level = models.CharField(_("risk level"), max_length=10, choices=RiskLevel.choices)
    offence_class = models.CharField(_("offence class"), max_length=16, choices=OffenceClass.choices)
    state = models.CharField(_("state"), max_length=24, default="intake")
    rung = models.ForeignKey(Rung, verbose_name=_("rung"), on_delete=models.PROTECT, related_name="cases")
    version = models.PositiveIntegerField(_("version"), default=1)
    last_seq = models.PositiveIntegerField(default=0, editable=False)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    opened_at = models.DateTimeField(_("opened"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    review_due = models.DateField(_("review due"), null=True, blank=True)
    truce_expires = models.DateField(_("truce expires"), null=True, blank=True)
    referral_source = models.CharField(_("referral source"), max_length=60, blank=True)
    fir_number = models.CharField(_("FIR number"), max_length=40, blank=True)
    # The number the case has in the forum's paper register, for cases brought in from it (cases.registers):
    # what makes a second import of the same register add nothing. Empty for cases opened in Sulh.
    register_no = models.CharField(_("register number"), max_length=40, null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The monitor who follows the agreement in the field; unassigned cases are every monitor's of the forum.
    monitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("monitor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="monitored_cases",
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["forum", "state"], name="case_forum_state"),
            models.Index(fields=["forum", "-opened_at", "-id"], name="case_forum_recent"),
            models.Index(fields=["state", "rung"], name="case_state_rung"),
            # The administrator's list (newest first) and filtered lists page without sorting the table.
            models.Index(fields=["-opened_at", "-id"], name="case_recent"),
            models.Index(fields=["forum", "dispute_type", "-opened_at"], name="case_forum_dispute_recent"),
            # Search by reference is case-insensitive (iexact → UPPER()).
            models.Index(Upper("reference"), name="case_reference_upper"),
        ]
        constraints = [
            models.CheckConstraint(
                name="case_state_belongs_to_kind",
                condition=(
                    models.Q(state__in=["intake", "closed", "withdrawn", "referred"])
                    | models.Q(
                        kind="sulha",
                        state__in=[
                            "jaha_appointed",
                            "truce",
                            "investigation",
                            "determination",
                            "ceremony",
                            "monitoring",
                        ],
                    )
                    | models.Q(
                        kind="jirga", state__in=["mandate", "hearings", "legality_review", "decision", "implementation"]
                    )
                    | models.Q(
                        kind="muslahathi",
                        state__in=["eligibility_check", "consent", "hearings", "compromise", "reported", "monitoring"],
                    )
                ),
            ),
            # A case that only a court may decide goes nowhere but back to the state.
            models.CheckConstraint(
                name="case_non_compoundable_only_exits",
                condition=~models.Q(offence_class="non_compoundable")
                | models.Q(state__in=["intake", "withdrawn", "referred"]),
            ),
            models.CheckConstraint(
                name="case_ended_has_outcome_and_date",
                condition=(
                    models.Q(state__in=["closed", "withdrawn", "referred"], closed_at__isnull=False)
                    & ~models.Q(outcome="")
                )
                | (
                    ~models.Q(state__in=["closed", "withdrawn", "referred"])
                    & models.Q(closed_at__isnull=True, outcome="")
                ),
            ),
            models.CheckConstraint(
                name="case_outcome_fits_end",
                condition=~models.Q(state="closed") | models.Q(outcome__in=[o.value for o in CLOSING_OUTCOMES]),
            ),
            models.CheckConstraint(name="case_version_positive", condition=models.Q(version__gte=1)),
            # One case per register number and forum; its index also finds the numbers already imported.
            models.UniqueConstraint(
                fields=["forum", "register_no"],
                condition=models.Q(register_no__isnull=False),
                name="case_register_no_unique_per_forum",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class Party(models.Model):
    """A person, family or group. The name stays inside the forum; everything else uses the pseudonym."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        FAMILY = "family", _("Family")
        GROUP = "group", _("Group")

    name = EncryptedTextField(_("name"), max_length=200)  # Encrypted at rest (config/crypto.py).
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    pseudonym = models.CharField(_("pseudonym"), max_length=12, unique=True)
    gender = gender_field()
    forum = models.ForeignKey(Forum, verbose_name=_("forum"), on_delete=models.PROTECT, related_name="parties")
    # The keyed hash (config.crypto.keyed_hash) of the name as compared when looking for an earlier case between
    # the same parties or searching by name (guardrails.normalise: one script per letter, no marks, no case), so
    # "Khan Family" and "khan  family" are one family. Equal names, equal hashes; the name itself does not show.
    name_key = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        # With the id, looking parties up by name reads the index alone (recurrences_find, and the synthetic
        # generator adding to a million cases).
        indexes = [models.Index(fields=["name_key"], include=["id"], name="party_name_key")]

    def __str__(self) -> str:
        return self.pseudonym


class CaseParty(models.Model):
    class Role(models.TextChoices):
        FIRST_PARTY = "first_party", _("First party")
        SECOND_PARTY = "second_party", _("Second party")
        VICTIM = "victim", _("Victim")
        GUARANTOR = "guarantor", _("Guarantor")
        WITNESS = "witness", _("Witness")
        REPRESENTATIVE = "representative", _("Representative")

    # No index of its own: the unique (case, party, role) constraint's index serves lookups by case.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_parties", db_index=False)
    # Its index (below) holds the case and the role: a party's cases are read from the index alone.
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="case_roles", db_index=False)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("party to a case")
        verbose_name_plural = _("parties to cases")
        constraints = [models.UniqueConstraint(fields=["case", "party", "role"], name="case_party_role_unique")]
        indexes = [models.Index(fields=["party"], include=["case", "role"], name="caseparty_party")]


class CaseEvent(models.Model):
    """The timeline. Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE."""

    # No index of its own: the unique (case, seq) constraint's index serves lookups by case.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", db_index=False)
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    # PROTECT: events never change, so a user who acted on a case is deactivated, never deleted.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    # The terms' descriptions an `agreement_recorded` event carries are encrypted at rest (config/crypto.py); the
    # rest stays jsonb in clear for the statistics that read it in SQL (pseudonyms, never names).
    data = PartlyEncryptedJSONField(default=dict, blank=True, encrypted_keys=("description",))

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["case", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["case", "seq"], name="case_event_seq_unique"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="case_event_seq_positive"),
        ]
        triggers = [
            pgtrigger.Protect(name="case_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]


class Agreement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        FINAL = "final", _("Final")

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="agreement")
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    recorded_at = models.DateTimeField(_("recorded"))
    finalised_at = models.DateTimeField(_("finalised"), null=True, blank=True)

    class Meta:
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        constraints = [
            models.CheckConstraint(
                name="agreement_final_has_date",
                condition=models.Q(status="draft", finalised_at__isnull=True)
                | models.Q(status="final", finalised_at__isnull=False),
            )
        ]


# How long a facilitator's reason for asking a legal reviewer may be (Term and Proposal.review_reason).
REVIEW_REASON_LENGTH = 500


class Term(models.Model):
    class Kind(models.TextChoices):
        APOLOGY = "apology", _("Apology")
        COMPENSATION = "compensation", _("Compensation")
        RESTITUTION = "restitution", _("Restitution")
        SERVICE = "service", _("Service")
        COMMITMENT = "commitment", _("Commitment")
        TRUCE = "truce", _("Truce")
        GUARANTEE = "guarantee", _("Guarantee")
        OTHER = "other", _("Other")

    class Screening(models.TextChoices):
        PASS = "pass", _("Nothing found")
        REVIEW = "review", _("Held for legal review")

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="terms")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    description = EncryptedTextField(_("description"))  # Encrypted at rest (config/crypto.py).
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    due = models.DateField(_("due"), null=True, blank=True)
    # What the screening found (cases.screening): `pass`, or `review` while a legal reviewer has not decided. A
    # term screened `block` is never stored, unless the facilitator asks a reviewer instead (`screening_refused`).
    # A reviewer's `lawful` keeps the term and makes it `pass`.
    screening_verdict = models.CharField(
        _("screening"), max_length=6, choices=Screening.choices, default=Screening.PASS, db_default=Screening.PASS
    )
    # Defaults in the database too: bulk writers (generate_synthetic's COPY) name only the columns they fill.
    screening_practice = models.CharField(_("practice it may be"), max_length=60, blank=True, db_default="")
    screening_detail = models.TextField(_("why it was held"), blank=True, db_default="")
    reviewed_decision = models.CharField(_("reviewer's decision"), max_length=10, blank=True, db_default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(_("reviewer's note"), blank=True, db_default="")
    # The screening refused the term and the facilitator asked a legal reviewer instead (TermInput.ask_review): held
    # for review like any other, and marked so, since a rule or the model found it prohibited.
    screening_refused = models.BooleanField(
        _("refused by the screening, sent to a reviewer"), default=False, db_default=False
    )
    # Why the facilitator who asked believes it lawful, for the reviewer. Encrypted at rest: it may name people.
    review_reason = EncryptedTextField(
        _("why the facilitator asked a reviewer"), max_length=REVIEW_REASON_LENGTH, blank=True, default="",
        db_default="",
    )  # fmt: skip

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["agreement", "position"]
        indexes = [
            models.Index(fields=["agreement"], condition=models.Q(screening_verdict="review"), name="term_under_review")
        ]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "position"], name="term_position_unique"),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0), name="term_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_kind_display()}"

    @property
    def refused_and_held(self) -> bool:
        """Refused by the screening and still with the legal reviewer the facilitator asked: recorded again (the
        draft re-recorded, a term added), it asks again, so that it stays held instead of being refused."""
        return self.screening_refused and self.screening_verdict == Term.Screening.REVIEW


class Instalment(models.Model):
    """One instalment of a compensation term: how much is due by when. What is paid is summed from the
    compliance checks' `paid` amounts and covers the instalments in order."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="instalments", db_index=False)
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["term", "number"]
        constraints = [
            models.UniqueConstraint(fields=["term", "number"], name="instalment_number_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="instalment_amount_positive"),
        ]


class ComplianceCheck(models.Model):
    """A monitor's observation of one term. The idempotency key makes a retried upload count once."""

    class Status(models.TextChoices):
        MET = "met", _("Met")
        PARTLY_MET = "partly_met", _("Partly met")
        NOT_MET = "not_met", _("Not met")
        BREACHED = "breached", _("Breached")

    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="checks", db_index=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="compliance_checks")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    notes = EncryptedTextField(_("notes"), blank=True)  # Encrypted at rest: a monitor's notes name people.
    observed_at = models.DateTimeField(_("observed"))
    recorded_at = models.DateTimeField(_("recorded"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.UUIDField(unique=True)
    # Money handed over towards a compensation term, seen by the monitor on this visit.
    paid = models.DecimalField(_("paid"), max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("compliance check")
        verbose_name_plural = _("compliance checks")
        ordering = ["observed_at", "id"]
        indexes = [models.Index(fields=["term", "-observed_at", "-id"], name="check_term_latest")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(paid__isnull=True) | models.Q(paid__gte=0), name="check_paid_not_negative"
            ),
        ]


class ComplianceConflict(models.Model):
    """Two checks of one term made without knowing of each other (one was waiting offline while the other
    was uploaded). Both are kept; the facilitator looks at them and marks the conflict reviewed."""

    # The check uploaded later, and the one already stored that it did not know of.
    later = models.ForeignKey(ComplianceCheck, on_delete=models.CASCADE, related_name="conflicts")
    earlier = models.ForeignKey(ComplianceCheck, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="compliance_conflicts")
    created_at = models.DateTimeField(_("found"))
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("compliance conflict")
        verbose_name_plural = _("compliance conflicts")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["later", "earlier"], name="compliance_conflict_unique"),
            models.CheckConstraint(condition=~models.Q(later=models.F("earlier")), name="compliance_conflict_two"),
        ]


class Recurrence(models.Model):
    """A later case between the same parties or families as an earlier one (within 24 months): one feud's
    history. Found when the case opens, or linked by a facilitator; a facilitator may confirm or reject it."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("Matched on the parties")
        CONFIRMED = "confirmed", _("Confirmed by a facilitator")
        REJECTED = "rejected", _("Rejected by a facilitator")

    class Basis(models.TextChoices):
        PARTY_RECORD = "party_record", _("The same party records")
        NAMES = "names", _("The same names")
        FACILITATOR = "facilitator", _("Linked by a facilitator")

    # Indexed by recurrence_unique (case, earlier) and recurrence_earlier below: no index of their own.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="recurrences", db_index=False)
    earlier = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="recurred_in", db_index=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.MATCHED)
    basis = models.CharField(_("matched on"), max_length=12, choices=Basis.choices)
    created_at = models.DateTimeField(_("linked"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("recurrence")
        verbose_name_plural = _("recurrences")
        ordering = ["case", "-earlier__opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "earlier"], name="recurrence_unique"),
            models.CheckConstraint(condition=~models.Q(case=models.F("earlier")), name="recurrence_two_cases"),
        ]
        indexes = [models.Index(fields=["earlier"], name="recurrence_earlier")]


class Survey(models.Model):
    """What one party said at closing: satisfaction and perceived fairness (1–5, as in the RISE
    experiments), whether they felt heard and would use the forum again."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="surveys", db_index=False)
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="surveys")
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"))
    fairness = models.PositiveSmallIntegerField(_("perceived fairness (1–5)"))
    felt_heard = models.BooleanField(_("felt heard"))
    would_use_again = models.BooleanField(_("would use the forum again"))
    recorded_at = models.DateTimeField(_("recorded"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("closing survey")
        verbose_name_plural = _("closing surveys")
        constraints = [
            models.UniqueConstraint(fields=["case", "party"], name="survey_once_per_party"),
            models.CheckConstraint(
                condition=models.Q(satisfaction__gte=1, satisfaction__lte=5, fairness__gte=1, fairness__lte=5),
                name="survey_scales_1_to_5",
            ),
        ]


class RiskFactor(models.IntegerChoices):
    """The 14 risk factors of the UN Framework of Analysis for Atrocity Crimes (2014), by their numbers."""

    ARMED_CONFLICT = 1, _("Armed conflict or instability")
    SERIOUS_VIOLATIONS = 2, _("Record of serious violations")
    WEAK_STATE = 3, _("Weakness of state structures")
    MOTIVES = 4, _("Motives or incentives")
    CAPACITY = 5, _("Capacity to commit atrocity crimes")
    NO_MITIGATION = 6, _("Absence of mitigating factors")
    PREPARATION = 7, _("Enabling circumstances or preparatory action")
    TRIGGERS = 8, _("Triggering factors")
    INTERGROUP_TENSIONS = 9, _("Intergroup tensions or discrimination")
    INTENT_TO_DESTROY = 10, _("Signs of intent to destroy a group")
    WIDESPREAD_ATTACK = 11, _("Signs of a widespread or systematic attack")
    PLAN_OR_POLICY = 12, _("Signs of a plan or policy")
    PROTECTED_POPULATIONS = 13, _("Threats to protected populations")
    HUMANITARIAN_OPERATIONS = 14, _("Threats to humanitarian or peacekeeping operations")


class CaseRiskFactor(models.Model):
    """A facilitator's judgement that a case shows one of the UN Framework's risk factors: an optional tag
    that the regulators' early warning counts (open cases per district and factor), never a finding."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="risk_factors", db_index=False)
    factor = models.PositiveSmallIntegerField(_("risk factor"), choices=RiskFactor.choices)
    tagged_at = models.DateTimeField(_("tagged"))
    tagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("risk factor tag")
        verbose_name_plural = _("risk factor tags")
        ordering = ["case", "factor"]
        constraints = [
            models.UniqueConstraint(fields=["case", "factor"], name="case_risk_factor_once"),
            models.CheckConstraint(condition=models.Q(factor__gte=1, factor__lte=14), name="case_risk_factor_1_to_14"),
        ]


class DueItem(models.Model):
    """Something a monitor should do soon: a term due for its next check, an instalment due or overdue, a
    truce about to expire. Computed by the beat task (services.due_items_refresh), once per thing and date;
    resolved when done or no longer relevant."""

    class Kind(models.TextChoices):
        CHECK = "check_due", _("Check due")
        INSTALMENT = "instalment_due", _("Instalment due")
        TRUCE = "truce_expiring", _("Truce about to expire")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="due_items")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    term = models.ForeignKey(Term, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    instalment = models.ForeignKey(Instalment, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # What the item is about, as one value the uniqueness can hold ("term:12", "instalment:5", "truce").
    subject = models.CharField(max_length=40)
    due_on = models.DateField(_("due on"))
    created_at = models.DateTimeField(_("created"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("due item")
        verbose_name_plural = _("due items")
        ordering = ["due_on", "id"]
        constraints = [
            # The task run twice (or retried) cannot list the same thing twice.
            models.UniqueConstraint(fields=["case", "kind", "subject", "due_on"], name="due_item_once"),
        ]
        indexes = [
            models.Index(fields=["case", "due_on"], condition=models.Q(resolved_at__isnull=True), name="due_item_open")
        ]


class ProhibitedPractice(models.Model):
    """A practice no agreement may contain, with the law that forbids it (shared/DOMAIN.md)."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    citations = models.TextField(_("law"), help_text=_("The statutes and rulings that forbid it, one per line."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("prohibited practice")
        verbose_name_plural = _("prohibited practices")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ProhibitedPhrase(models.Model):
    """A name or common description of a prohibited practice, in one language."""

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        URDU = "ur", _("Urdu")
        PASHTO = "ps", _("Pashto")
        DARI = "fa", _("Dari")
        ARABIC = "ar", _("Arabic")

    practice = models.ForeignKey(ProhibitedPractice, on_delete=models.CASCADE, related_name="phrases")
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    phrase = models.CharField(
        _("phrase"),
        max_length=300,
        help_text=_("Words that name or describe the practice; matched after normalising script, spelling and case."),
    )

    class Meta:
        verbose_name = _("prohibited phrase")
        verbose_name_plural = _("prohibited phrases")
        constraints = [
            models.UniqueConstraint(fields=["practice", "language", "phrase"], name="prohibited_phrase_unique")
        ]

    def __str__(self) -> str:
        return self.phrase


class Reminder(models.Model):
    """Something a facilitator should consider for a case: step down after a review date, step up after a
    breach. Reminders suggest; they never move a case."""

    class Kind(models.TextChoices):
        CONSIDER_STEP_DOWN = "consider_step_down", _("Consider stepping down the ladder")
        CONSIDER_STEP_UP = "consider_step_up", _("Consider stepping up the ladder")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    # What the reminder is about: the review date it follows, or the day of the breach.
    due_on = models.DateField(_("due on"))
    created_at = models.DateTimeField(_("created"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_on", "id"]
        constraints = [
            # Running the reminder task twice, or retrying it, cannot create the same reminder twice.
            models.UniqueConstraint(fields=["case", "kind", "due_on"], name="reminder_once_per_due_date"),
        ]
        indexes = [models.Index(fields=["resolved_at", "due_on"], name="reminder_open_due")]


# --- Escalation statistics, kept as running totals (cases.ladder_stats) --------------------------------


class LadderOpenCount(models.Model):
    """How many open cases of a forum sit on a rung now. Kept by the services as cases open, move and end."""

    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, related_name="+")
    rung = models.ForeignKey(Rung, on_delete=models.CASCADE, related_name="+")
    open_cases = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["forum", "rung"], name="ladder_open_count_unique")]


class LadderStat(models.Model):
    """One running count of the escalation statistics per forum and month: moves up or down onto a level
    (`up`, `down`), stays on a level that a move ended, by length in days (`stay`, bucket = the lower bound
    of the length's bucket), cases first escalated in the month (`escalated`) and, of those, the ones that
    have since stepped down (`returned`). The report sums these rows instead of reading every event."""

    class Metric(models.TextChoices):
        UP = "up"
        DOWN = "down"
        STAY = "stay"
        ESCALATED = "escalated"
        RETURNED = "returned"

    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # The first day of the month.
    metric = models.CharField(max_length=10, choices=Metric.choices)
    level = models.PositiveSmallIntegerField(default=0)
    bucket = models.PositiveSmallIntegerField(default=0)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["forum", "month", "metric", "level", "bucket"], name="ladder_stat_unique")
        ]


class LadderMove(models.Model):
    """One move along a ladder, narrowed to what the statistics read, so that a period cutting a month is
    summed from an index range: when, which way, from and to which level, how long the case had stayed (the
    stay's bucket), whether it was the case's first move up and, if so, whether the case has come down
    since. Kept with LadderStat by cases.ladder_stats."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    up = models.BooleanField()
    from_level = models.PositiveSmallIntegerField()
    to_level = models.PositiveSmallIntegerField()
    stay_bucket = models.PositiveSmallIntegerField(null=True)
    first_up = models.BooleanField(default=False)
    came_down = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["forum", "at"],
                include=["up", "from_level", "to_level", "stay_bucket", "first_up", "came_down"],
                name="ladder_move_forum_at",
            ),
            models.Index(fields=["case"], condition=models.Q(first_up=True), name="ladder_move_first_up"),
        ]


# --- Regulator summaries (reports.patterns): anonymised counts, folded in from the timelines -------------


class PatternMonth(models.Model):
    """The regulator summary at its finest grain: counts per month, district, forum kind and dispute type.
    Every other grouping the reports serve is a sum of these rows. Only reports.patterns writes them."""

    month = models.DateField()  # The first day of the month.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")  # The forum's district.
    forum_kind = models.CharField(max_length=12)
    dispute_type = models.CharField(max_length=16)
    opened = models.IntegerField(default=0)
    imminent = models.IntegerField(default=0)  # Opened with an imminent risk of violence.
    referred_in = models.IntegerField(default=0)  # Opened on a referral (police, court).
    closed = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    partly_resolved = models.IntegerField(default=0)
    breakdown = models.IntegerField(default=0)
    withdrawn = models.IntegerField(default=0)
    referred = models.IntegerField(default=0)
    agreements = models.IntegerField(default=0)  # Agreements that became final.
    escalations_up = models.IntegerField(default=0)
    escalations_down = models.IntegerField(default=0)
    breaches = models.IntegerField(default=0)
    checks = models.IntegerField(default=0)
    checks_met = models.IntegerField(default=0)
    recurrences = models.IntegerField(default=0)
    prohibited_blocked = models.IntegerField(default=0)
    sessions = models.IntegerField(default=0)  # Hearings held (live sessions started).
    surveys = models.IntegerField(default=0)
    satisfaction_sum = models.IntegerField(default=0)
    fairness_sum = models.IntegerField(default=0)
    felt_heard = models.IntegerField(default=0)
    deposits_forfeited = models.IntegerField(default=0)  # Guarantees called in after a breach (issue 19).
    guarantors_called = models.IntegerField(default=0)
    cases_with_ties = models.IntegerField(default=0)  # Cases whose first tie was declared that month (issue 19).
    # Sessions ended that month where a woman (self-declared) attended, and where one spoke (issue 19).
    sessions_with_women = models.IntegerField(default=0)
    sessions_women_spoke = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region", "forum_kind", "dispute_type"], name="pattern_month_unique"
            )
        ]


class PatternCloseDays(models.Model):
    """How many cases closed after how many days, per the same cells as PatternMonth: medians are read from
    these counts (a median cannot be summed)."""

    month = models.DateField()
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    forum_kind = models.CharField(max_length=12)
    dispute_type = models.CharField(max_length=16)
    days = models.IntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region", "forum_kind", "dispute_type", "days"], name="pattern_close_days_unique"
            )
        ]


class PatternWeek(models.Model):
    """Per district and week (Monday), what the early warning compares with its trailing baselines."""

    week = models.DateField()
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    breaches = models.IntegerField(default=0)
    escalations_up = models.IntegerField(default=0)
    imminent = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["week", "region"], name="pattern_week_unique")]


class PatternState(models.Model):
    """How far the summary has read the timelines: every event with an id up to `last_event_id` is folded
    into the tables above, in the same transaction that moved the mark. One row."""

    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True)
    full_at = models.DateTimeField(null=True)


class ScreeningExample(models.Model):
    """A labelled term for the screening: a legal reviewer's decision on a held term, or one an administrator
    added. An exact match (after normalising) decides a new term the same way; the next training of the
    screening model (`manage.py screening_train`) learns from all of them."""

    class Source(models.TextChoices):
        REVIEW = "review", _("Legal review")
        ADMIN = "admin", _("Added by an administrator")

    text = models.TextField(_("text"))
    text_key = models.CharField(_("normalised text's key"), max_length=64, db_index=True, editable=False)
    language = models.CharField(_("language"), max_length=10, blank=True)
    prohibited = models.BooleanField(_("prohibited"))
    practice = models.CharField(_("practice"), max_length=60, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.ADMIN)
    forum = models.ForeignKey(
        Forum, verbose_name=_("forum"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("screening example")
        verbose_name_plural = _("screening examples")
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return self.text[:80]


class Settlement(models.Model):
    """The written settlement: an agreement frozen when it became final (faisla, sulhnama or compromise deed).

    `content` holds everything the printed document shows; `sha256` is the hash of its canonical JSON, so the
    public verify page can tell whether the stored paper is unchanged. `code` is random (not derived from the
    content) and printed on the paper. On PostgreSQL a trigger refuses any change to the frozen columns and any
    DELETE; only `status` moves (final → attested)."""

    class Status(models.TextChoices):
        FINAL = "final", _("Final")
        ATTESTED = "attested", _("Read aloud and attested")

    agreement = models.OneToOneField(
        Agreement, verbose_name=_("agreement"), on_delete=models.PROTECT, related_name="settlement"
    )
    code = models.CharField(_("verification code"), max_length=10, unique=True)
    # Encrypted at rest (config/crypto.py): the paper names the parties and holds the terms.
    content = EncryptedJSONField(_("frozen content"))
    sha256 = models.CharField(_("SHA-256 of the content"), max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.FINAL)
    created_at = models.DateTimeField(_("frozen at"))

    class Meta:
        verbose_name = _("written settlement")
        verbose_name_plural = _("written settlements")
        triggers = [
            pgtrigger.Protect(
                name="settlement_frozen",
                operation=pgtrigger.Update,
                # Written out: the encrypted content refuses Django's lookups (config.crypto._OnlyIsNull).
                condition=pgtrigger.Condition(
                    'OLD."agreement_id" IS DISTINCT FROM NEW."agreement_id" OR OLD."code" IS DISTINCT FROM NEW."code"'
                    ' OR OLD."content" IS DISTINCT FROM NEW."content" OR OLD."sha256" IS DISTINCT FROM NEW."sha256"'
                    ' OR OLD."created_at" IS DISTINCT FROM NEW."created_at"'
                ),
            ),
            pgtrigger.Protect(name="settlement_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return self.code


class SettlementAttestation(models.Model):
    """That the settlement was read aloud, to whom, in which language, before which witnesses: recorded by a
    facilitator afterwards. Append-only: a correction is a new attestation."""

    settlement = models.ForeignKey(
        Settlement, verbose_name=_("settlement"), on_delete=models.PROTECT, related_name="attestations"
    )
    # Names, encrypted at rest (config/crypto.py).
    read_to = EncryptedTextField(_("read aloud to"), max_length=300)
    language = models.CharField(_("language"), max_length=10)
    witnesses = EncryptedJSONField(_("witnesses"), default=list)
    read_on = models.DateField(_("read on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("settlement attestation")
        verbose_name_plural = _("settlement attestations")
        ordering = ["settlement", "recorded_at", "id"]
        triggers = [
            pgtrigger.Protect(name="settlement_attestation_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]


# --- Guarantees: guarantors and deposits (issue 19, item 2) ----------------------------------------------


class GuaranteeSide(models.TextChoices):
    """The side a guarantor stands for or a deposit was lodged by."""

    FIRST_PARTY = "first_party", _("First party")
    SECOND_PARTY = "second_party", _("Second party")


class Guarantor(models.Model):
    """A kafil or zamin: a party of the case or a named person who stands for one side and answers for what the
    side promised. Called by the facilitator after a recorded breach (cases.services.guarantees)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CALLED = "called", _("Called")
        RELEASED = "released", _("Released")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="guarantors")
    # Either one of the case's parties, or a person named here (encrypted at rest, config/crypto.py).
    party = models.ForeignKey(
        Party, verbose_name=_("party"), null=True, blank=True, on_delete=models.PROTECT, related_name="guarantees"
    )
    name = EncryptedTextField(_("name"), max_length=200, blank=True)
    stands_for = models.CharField(_("stands for"), max_length=16, choices=GuaranteeSide.choices)
    guarantees = EncryptedTextField(_("what they guarantee"), max_length=1000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("guarantor")
        verbose_name_plural = _("guarantors")
        ordering = ["case", "recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stands_for__in=["first_party", "second_party"]), name="guarantor_side_known"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "called", "released"]), name="guarantor_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.get_stands_for_display()}"


class Deposit(models.Model):
    """Money or goods left with the forum (machalgha / nagha with a jirga, the atwa at a sulha's truce): held until
    the case ends, forfeited by the side that breaks the agreement, or returned (cases.services.guarantees)."""

    class Kind(models.TextChoices):
        MONEY = "money", _("Money")
        GOODS = "goods", _("Goods")

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        FORFEITED = "forfeited", _("Forfeited")
        RETURNED = "returned", _("Returned")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="deposits")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    description = EncryptedTextField(_("description"), max_length=1000, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    # Who keeps it, e.g. the jirga's elder: a name, encrypted at rest (config/crypto.py).
    held_by = EncryptedTextField(_("held by"), max_length=200)
    deposited_by = models.CharField(_("deposited by"), max_length=16, choices=GuaranteeSide.choices)
    received_at = models.DateField(_("received on"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.HELD)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        ordering = ["case", "received_at", "id"]
        indexes = [models.Index(fields=["case"], condition=models.Q(status="held"), name="deposit_held")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=["money", "goods"]), name="deposit_kind_known"),
            models.CheckConstraint(
                condition=models.Q(deposited_by__in=["first_party", "second_party"]), name="deposit_side_known"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gt=0), name="deposit_amount_positive"
            ),
            # Money has an amount and a currency; goods may have an estimated value.
            models.CheckConstraint(
                condition=~models.Q(kind="money") | models.Q(amount__isnull=False) & ~models.Q(currency=""),
                name="deposit_money_has_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(status="held", settled_at__isnull=True)
                | models.Q(status__in=["forfeited", "returned"], settled_at__isnull=False),
                name="deposit_settled_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.get_kind_display()}"


# --- Conflicts of interest: ties to the parties (issue 19, item 4) -----------------------------------------


class TieDeclaration(models.Model):
    """A forum member's declared tie to a party of the case: a facilitator or a session's elder who is kin, of the
    same tribe, or in business with one side. Until it is resolved — the person recused, or each side accepted
    them knowing of it — the person neither runs a session of the case nor moves the case (cases.services.conflicts).
    """

    class Kind(models.TextChoices):
        KIN = "kin", _("Kin")
        TRIBE = "tribe", _("Tribe or clan")
        BUSINESS = "business", _("Business")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        DECLARED = "declared", _("Awaiting both sides")
        RECUSED = "recused", _("Recused")
        ACCEPTED = "accepted", _("Accepted by both sides")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="ties")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person tied"), on_delete=models.PROTECT, related_name="+"
    )
    party = models.ForeignKey(Party, verbose_name=_("party"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind of tie"), max_length=10, choices=Kind.choices)
    note = EncryptedTextField(_("note"), max_length=1000, blank=True)  # May name people: encrypted at rest.
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DECLARED)
    declared_at = models.DateTimeField(_("declared at"))
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("declared by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recused_at = models.DateTimeField(_("recused at"), null=True, blank=True)
    recused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recusal recorded by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    # Each side's acceptance: who accepted for it (a name, encrypted at rest), when, and who recorded it.
    first_accepted_by = EncryptedTextField(_("accepted for the first party by"), max_length=200, blank=True)
    first_accepted_at = models.DateTimeField(_("first party accepted at"), null=True, blank=True)
    first_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("first party's acceptance recorded by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    second_accepted_by = EncryptedTextField(_("accepted for the second party by"), max_length=200, blank=True)
    second_accepted_at = models.DateTimeField(_("second party accepted at"), null=True, blank=True)
    second_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("second party's acceptance recorded by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("declared tie")
        verbose_name_plural = _("declared ties")
        ordering = ["case", "declared_at", "id"]
        constraints = [
            # One declaration per person and party of a case; its index also serves the check by (case, person).
            models.UniqueConstraint(fields=["case", "person", "party"], name="tie_once_per_person_and_party"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["kin", "tribe", "business", "other"]), name="tie_kind_known"
            ),
            models.CheckConstraint(
                condition=models.Q(status="declared")
                | models.Q(status="recused", recused_at__isnull=False)
                | models.Q(status="accepted", first_accepted_at__isnull=False, second_accepted_at__isnull=False),
                name="tie_status_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.get_kind_display()}"

    def side_accepted(self, side: str) -> bool:
        return getattr(self, f"{side.removesuffix('_party')}_accepted_at") is not None
