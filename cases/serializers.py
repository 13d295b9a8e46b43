from decimal import Decimal

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from accounts.models import Gender

from .models import (
    CLOSING_OUTCOMES,
    REVIEW_REASON_LENGTH,
    Agreement,
    Case,
    CaseEvent,
    CaseParty,
    ComplianceCheck,
    Deposit,
    DisputeType,
    DueItem,
    Forum,
    GuaranteeSide,
    Guarantor,
    Instalment,
    Ladder,
    OffenceClass,
    Party,
    Region,
    RiskLevel,
    Rung,
    Settlement,
    Survey,
    Term,
    TieDeclaration,
)
from .workflows import state_label


class RungSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rung
        fields = ["level", "code", "name", "description"]


class LadderSerializer(serializers.ModelSerializer):
    rungs = RungSerializer(many=True, read_only=True)

    class Meta:
        model = Ladder
        fields = ["id", "name", "review_days", "rungs"]


class RegionSerializer(serializers.ModelSerializer):
    province = serializers.SerializerMethodField()

    class Meta:
        model = Region
        fields = ["id", "code", "name", "kind", "province"]

    def get_province(self, region: Region) -> str | None:
        return region.parent.code if region.parent is not None else None


class ForumSerializer(serializers.ModelSerializer):
    region = RegionSerializer(read_only=True)
    ladder = LadderSerializer(read_only=True)
    roles = serializers.SerializerMethodField(help_text=_("The caller's roles in this forum."))

    class Meta:
        model = Forum
        fields = ["id", "name", "kind", "region", "ladder", "roles"]

    def get_roles(self, forum: Forum) -> list[str]:
        roles = self.context.get("roles", {})
        return sorted(roles.get(forum.pk, set()))


# --- Cases ----------------------------------------------------------------------------------------


TRANSITION_KINDS = [("forward", "forward"), ("back", "back"), ("exit", "exit")]


class PartyInputSerializer(serializers.Serializer):
    """A new party ({"name", "kind", "role"}), or one on the forum's records ({"party": id, "role"})."""

    party = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=Party.Kind.choices, required=False)
    role = serializers.ChoiceField(choices=CaseParty.Role.choices)
    gender = serializers.ChoiceField(
        choices=["", *Gender.values], required=False, help_text="Optional, as the person says of themselves."
    )

    def validate(self, attrs):
        if attrs.get("party") is None:
            missing = {name: [_("This field is required.")] for name in ("name", "kind") if not attrs.get(name)}
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class CaseCreateSerializer(serializers.Serializer):
    forum = serializers.IntegerField(min_value=1)
    title = serializers.CharField(min_length=1, max_length=200)
    summary = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    dispute_type = serializers.ChoiceField(choices=DisputeType.choices)
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices)
    offence_class = serializers.ChoiceField(choices=OffenceClass.choices)
    # The stubs miss max_length on a many=True serializer (rest_framework.serializers.LIST_SERIALIZER_KWARGS).
    parties = PartyInputSerializer(many=True, allow_empty=False, max_length=50)  # type: ignore[call-arg]
    referral_source = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    fir_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class RungRefSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class CaseListItemSerializer(serializers.ModelSerializer):
    state_label = serializers.SerializerMethodField()
    rung = RungRefSerializer()
    forum_kind = serializers.CharField(source="kind")

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "forum",
            "forum_kind",
            "title",
            "dispute_type",
            "risk_level",
            "offence_class",
            "state",
            "state_label",
            "rung",
            "version",
            "outcome",
            "opened_at",
            "closed_at",
        ]

    def get_state_label(self, case: Case) -> str:
        return state_label(case.state)


class CasePartySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="party.id")
    pseudonym = serializers.CharField(source="party.pseudonym")
    name = serializers.CharField(source="party.name")
    kind = serializers.CharField(source="party.kind")
    gender = serializers.CharField(source="party.gender")
    role = serializers.CharField()


class AllowedTransitionSerializer(serializers.Serializer):
    to = serializers.CharField()
    # A declared field, which the serializer's metaclass takes out of the class: it does not replace
    # Field.label, as the stubs (which cannot see the metaclass) think.
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=TRANSITION_KINDS)
    reason_required = serializers.BooleanField()
    outcome_required = serializers.BooleanField()
    blocked_by = serializers.ListField(child=serializers.CharField())


class CaseSerializer(CaseListItemSerializer):
    parties = CasePartySerializer(source="case_parties", many=True)
    # null while the case has no monitor (the OpenAPI document says so).
    monitor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    allowed_transitions = serializers.SerializerMethodField()
    risk_factors = serializers.SerializerMethodField()
    forum_name = serializers.CharField(source="forum.name")

    class Meta(CaseListItemSerializer.Meta):
        fields = CaseListItemSerializer.Meta.fields + [
            "forum_name",
            "summary",
            "parties",
            "allowed_transitions",
            "truce_expires",
            "review_due",
            "referral_source",
            "fir_number",
            "monitor",
            "risk_factors",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_risk_factors(self, case: Case) -> list[int]:
        return sorted(tag.factor for tag in case.risk_factors.all())

    @extend_schema_field(AllowedTransitionSerializer(many=True))
    def get_allowed_transitions(self, case: Case) -> list[dict]:
        from .selectors import allowed_transitions

        return allowed_transitions(case=case, user=self.context["user"])


class TransitionInputSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=40)
    version = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    outcome = serializers.ChoiceField(
        choices=[o.value for o in CLOSING_OUTCOMES], required=False, allow_blank=True, default=""
    )
    truce_expires = serializers.DateField(required=False, allow_null=True, default=None)


class InstalmentInputSerializer(serializers.Serializer):
    due = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))


class TermInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Term.Kind.choices)
    description = serializers.CharField(max_length=4000)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True)
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": _("A three-letter ISO code such as PKR.")},
    )
    due = serializers.DateField(required=False, allow_null=True)
    instalments = InstalmentInputSerializer(many=True, required=False, max_length=120)  # type: ignore[call-arg]  # As above.
    # If the screening refuses the term, hold it for a legal reviewer instead (CONTRACT.md section 6, README).
    ask_review = serializers.BooleanField(required=False, default=False)
    ask_review_reason = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=REVIEW_REASON_LENGTH, trim_whitespace=True,
        help_text="Why the facilitator believes the term lawful, for the legal reviewer (kept only with ask_review).",
    )  # fmt: skip


class AgreementInputSerializer(serializers.Serializer):
    terms = TermInputSerializer(many=True, allow_empty=False, max_length=100)  # type: ignore[call-arg]  # As above.


class InstalmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instalment
        fields = ["number", "due_on", "amount"]


class ReviewedSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["lawful", "prohibited"])
    by = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()


class ScreeningSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["pass", "review"])
    practice = serializers.CharField(allow_null=True)
    detail = serializers.CharField(allow_blank=True)
    refused = serializers.BooleanField(
        required=False,
        help_text="Present (true) when the screening refused the term and the facilitator asked a legal reviewer.",
    )
    ask_review_reason = serializers.CharField(
        required=False, help_text="With `refused`: why the facilitator believes the term lawful, when they said."
    )
    reviewed = ReviewedSerializer(required=False)


def _reviewed(term: Term) -> dict | None:
    if not term.reviewed_decision or term.reviewed_at is None:
        return None
    reviewer = term.reviewed_by
    return {
        "decision": term.reviewed_decision,
        "by": reviewer.get_username() if reviewer is not None else None,  # None once the account is deleted.
        "at": serializers.DateTimeField().to_representation(term.reviewed_at),
    }


class TermSerializer(serializers.ModelSerializer):
    instalments = InstalmentSerializer(many=True, read_only=True)
    screening = serializers.SerializerMethodField()
    reviewed = serializers.SerializerMethodField()

    class Meta:
        model = Term
        fields = [
            "id", "position", "kind", "description", "amount", "currency", "due", "instalments", "screening",
            "reviewed",
        ]  # fmt: skip

    @extend_schema_field(ScreeningSerializer)
    def get_screening(self, term: Term) -> dict:
        """What the screening found (CONTRACT.md section 6); a reviewer's decision is in `reviewed` too."""
        data: dict = {
            "verdict": term.screening_verdict,
            "practice": term.screening_practice or None,
            "detail": term.screening_detail,
        }
        if term.screening_refused:
            data["refused"] = True
            if term.review_reason:
                data["ask_review_reason"] = term.review_reason
        reviewed = _reviewed(term)
        if reviewed is not None:
            data["reviewed"] = reviewed
        return data

    @extend_schema_field(ReviewedSerializer(allow_null=True))
    def get_reviewed(self, term: Term) -> dict | None:
        return _reviewed(term)


class ScreeningReviewSerializer(TermSerializer):
    """A term waiting for legal review, with its case and forum, and the law of the practice it may be, in the
    forum's country and the reader's language."""

    case = serializers.SerializerMethodField()
    law = serializers.SerializerMethodField()

    class Meta(TermSerializer.Meta):
        fields = [*TermSerializer.Meta.fields, "case", "law"]

    @extend_schema_field(
        inline_serializer(
            "ScreeningReviewCase",
            {
                "id": serializers.IntegerField(),
                "reference": serializers.CharField(),
                "forum": serializers.IntegerField(),
            },
        )
    )
    def get_case(self, term: Term) -> dict:
        case = term.agreement.case
        return {"id": case.pk, "reference": case.reference, "forum": case.forum_id}

    @extend_schema_field(
        inline_serializer(
            "ScreeningReviewLaw",
            {"name": serializers.CharField(), "citations": serializers.ListField(child=serializers.CharField())},
        )
    )
    def get_law(self, term: Term) -> dict | None:
        from .screening.law import law_for

        if not term.screening_practice:
            return None
        law = law_for(term.screening_practice, country=term.agreement.case.forum.country)
        return {"name": law.name, "citations": law.citations}


class TermDecisionInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["lawful", "prohibited"])
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class SettlementRefSerializer(serializers.Serializer):
    """The written settlement of a final agreement (CONTRACT.md section 7). Needs the request in the context."""

    code = serializers.CharField()
    verify_url = serializers.SerializerMethodField()
    sha256 = serializers.CharField()

    def get_verify_url(self, settlement: Settlement) -> str:
        path = reverse("settlement-verify", kwargs={"code": settlement.code})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class AgreementSerializer(serializers.ModelSerializer):
    terms = TermSerializer(many=True)
    # Only once the agreement is final (and its settlement frozen): a draft's body has no `settlement` key. Not
    # read-only, so that the schema does not list it as always present; the serializer is never used for input.
    settlement = SettlementRefSerializer(required=False)

    class Meta:
        model = Agreement
        fields = ["id", "status", "revision", "recorded_at", "finalised_at", "terms", "settlement"]

    def to_representation(self, instance: Agreement) -> dict:
        data = super().to_representation(instance)
        if data.get("settlement") is None:
            data.pop("settlement", None)
        return data


class CaseEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvent
        fields = ["seq", "kind", "at", "actor", "data"]

    def get_actor(self, event: CaseEvent) -> str | None:
        return event.actor.get_username() if event.actor is not None else None


class ComplianceInputSerializer(serializers.Serializer):
    term = serializers.IntegerField(min_value=1)
    status = serializers.ChoiceField(choices=ComplianceCheck.Status.choices)
    notes = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
    observed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    paid = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Money handed over towards a compensation term on this visit."),
    )


class ComplianceCheckSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SerializerMethodField()
    conflicts_with = serializers.SerializerMethodField(
        help_text=_("Checks of the same term made without knowing of this one (or it of them).")
    )

    class Meta:
        model = ComplianceCheck
        fields = [
            "id",
            "term",
            "status",
            "notes",
            "observed_at",
            "recorded_at",
            "recorded_by",
            "idempotency_key",
            "paid",
            "conflicts_with",
        ]

    def get_recorded_by(self, check: ComplianceCheck) -> str | None:
        return check.recorded_by.get_username() if check.recorded_by is not None else None

    def get_conflicts_with(self, check: ComplianceCheck) -> list[int]:
        return [conflict.earlier_id for conflict in check.conflicts.all()]


class SurveyInputSerializer(serializers.Serializer):
    party = serializers.IntegerField(min_value=1)
    satisfaction = serializers.IntegerField(min_value=1, max_value=5)
    fairness = serializers.IntegerField(min_value=1, max_value=5)
    felt_heard = serializers.BooleanField()
    would_use_again = serializers.BooleanField()


class SurveySerializer(serializers.ModelSerializer):
    party = serializers.IntegerField(source="party_id")
    pseudonym = serializers.CharField(source="party.pseudonym")

    class Meta:
        model = Survey
        fields = [
            "id",
            "party",
            "pseudonym",
            "satisfaction",
            "fairness",
            "felt_heard",
            "would_use_again",
            "recorded_at",
        ]


class RecurrenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="link.id")
    direction = serializers.ChoiceField(choices=[("earlier", "earlier"), ("later", "later"), ("rejected", "rejected")])
    case = serializers.IntegerField(source="case.id")
    reference = serializers.CharField(source="case.reference")
    forum_kind = serializers.CharField(source="case.kind")
    opened_at = serializers.DateTimeField(source="case.opened_at")
    closed_at = serializers.DateTimeField(source="case.closed_at", allow_null=True)  # null while open
    outcome = serializers.CharField(source="case.outcome")
    status = serializers.CharField(source="link.status")
    basis = serializers.CharField(source="link.basis")


class RecurrenceLinkInputSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=20)


class RecurrenceDecisionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("confirmed", "confirmed"), ("rejected", "rejected")])


class MonitorAssignSerializer(serializers.Serializer):
    monitor = serializers.CharField(max_length=150, allow_null=True, help_text=_("A username, or null for none."))


class RiskFactorsSerializer(serializers.Serializer):
    factors = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=14,
        help_text=_("The UN Framework of Analysis's risk factors the case shows, by number (1–14); [] for none."),
    )


class DueItemSerializer(serializers.ModelSerializer):
    case = serializers.IntegerField(source="case_id")
    case_reference = serializers.CharField(source="case.reference")
    term = serializers.IntegerField(source="term_id", allow_null=True)
    term_kind = serializers.CharField(source="term.kind", allow_null=True, default=None)
    instalment = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = DueItem
        fields = ["id", "kind", "case", "case_reference", "term", "term_kind", "instalment", "due_on", "overdue"]

    def get_instalment(self, item: DueItem) -> dict | None:
        instalment = item.instalment
        if instalment is None:
            return None
        return {"number": instalment.number, "amount": str(instalment.amount)}

    def get_overdue(self, item: DueItem) -> bool:
        return item.due_on < timezone.localdate()


class EscalationInputSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=[("up", "up"), ("down", "down")])
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(min_value=1)
    to_level = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True, default=None)
    justification = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ReminderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    due_on = serializers.DateField()
    case = serializers.IntegerField(source="case_id")
    case_reference = serializers.CharField(source="case.reference")
    rung = serializers.IntegerField(source="case.rung.level")


class CaseListQuerySerializer(serializers.Serializer):
    forum = serializers.IntegerField(min_value=1, required=False)
    state = serializers.CharField(max_length=40, required=False, allow_blank=True)
    dispute_type = serializers.CharField(max_length=40, required=False, allow_blank=True)
    q = serializers.CharField(max_length=200, required=False, allow_blank=True)


# --- Guarantees (issue 19, item 2) ------------------------------------------------------------------------


class GuarantorInputSerializer(serializers.Serializer):
    stands_for = serializers.ChoiceField(choices=GuaranteeSide.choices)
    guarantees = serializers.CharField(max_length=1000)
    party = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class GuarantorSerializer(serializers.ModelSerializer):
    party = serializers.IntegerField(source="party_id", allow_null=True)
    pseudonym = serializers.SerializerMethodField()
    recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Guarantor
        fields = [
            "id", "case", "party", "pseudonym", "name", "stands_for", "guarantees", "status", "reason",
            "recorded_by", "recorded_at", "called_at",
        ]  # fmt: skip

    def get_pseudonym(self, obj: Guarantor) -> str | None:
        return obj.party.pseudonym if obj.party is not None else None


class DepositInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Deposit.Kind.choices)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True, default=None
    )
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": _("A three-letter ISO code such as PKR.")},
    )
    held_by = serializers.CharField(max_length=200)
    deposited_by = serializers.ChoiceField(choices=GuaranteeSide.choices)
    received_at = serializers.DateField()


class DepositSerializer(serializers.ModelSerializer):
    recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Deposit
        fields = [
            "id", "case", "kind", "description", "amount", "currency", "held_by", "deposited_by", "received_at",
            "status", "settled_at", "reason", "recorded_by", "recorded_at",
        ]  # fmt: skip


class GuaranteeReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


# --- Conflicts of interest: declared ties (issue 19, item 4) -----------------------------------------------


class TieInputSerializer(serializers.Serializer):
    party = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=TieDeclaration.Kind.choices)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    person = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class TieAcceptSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=GuaranteeSide.choices)
    accepted_by = serializers.CharField(max_length=200)


class TieSerializer(serializers.ModelSerializer):
    person: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    party = serializers.IntegerField(source="party_id")
    pseudonym = serializers.CharField(source="party.pseudonym")
    declared_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    recused_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    first_recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    second_recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = TieDeclaration
        fields = [
            "id", "case", "person", "party", "pseudonym", "kind", "note", "status", "declared_by", "declared_at",
            "recused_by", "recused_at", "first_accepted_by", "first_accepted_at", "first_recorded_by",
            "second_accepted_by", "second_accepted_at", "second_recorded_by",
        ]  # fmt: skip
