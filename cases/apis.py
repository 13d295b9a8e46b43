"""The HTTP API of forums and authentication. Thin: validate, call a service or selector, serialise."""

import uuid

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import services as audit
from config.errors import ForbiddenError, NotFoundError, SulhError
from config.pagination import PAGE_PARAMETERS, Pagination, paginated

from . import rules as case_rules
from . import selectors, services
from . import settlements as settlement_docs
from .serializers import (
    AgreementInputSerializer,
    AgreementSerializer,
    CaseCreateSerializer,
    CaseEventSerializer,
    CaseListItemSerializer,
    CaseListQuerySerializer,
    CaseSerializer,
    ComplianceCheckSerializer,
    ComplianceInputSerializer,
    DepositInputSerializer,
    DepositSerializer,
    DueItemSerializer,
    EscalationInputSerializer,
    ForumSerializer,
    GuaranteeReasonSerializer,
    GuarantorInputSerializer,
    GuarantorSerializer,
    MonitorAssignSerializer,
    RecurrenceDecisionSerializer,
    RecurrenceLinkInputSerializer,
    RecurrenceSerializer,
    ReminderSerializer,
    RiskFactorsSerializer,
    ScreeningReviewSerializer,
    SurveyInputSerializer,
    SurveySerializer,
    TermDecisionInputSerializer,
    TermSerializer,
    TieAcceptSerializer,
    TieInputSerializer,
    TieSerializer,
    TransitionInputSerializer,
)


class ForumListApi(APIView):
    """The caller's forums, with each forum's escalation ladder."""

    @extend_schema(responses={200: ForumSerializer(many=True)})
    def get(self, request):
        forums = selectors.forum_list_for_user(user=request.user)
        roles = selectors.membership_roles_for_user(user=request.user)
        return Response(ForumSerializer(forums, many=True, context={"roles": roles}).data)


# --- Cases ----------------------------------------------------------------------------------------


class CaseListCreateApi(APIView):
    """The caller's cases (filter by forum, state, dispute type; search with q), and opening a case."""

    @extend_schema(
        # The query serializer states the filters as they are checked (forum from 1, lengths); q: reference or words.
        parameters=[CaseListQuerySerializer, *PAGE_PARAMETERS],
        responses={200: paginated(CaseListItemSerializer)},
        operation_id="cases_list",  # A list, though its response is one object (the page).
    )
    def get(self, request):
        query = CaseListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        cases = selectors.case_list_for_user(
            user=request.user,
            forum=params.get("forum"),
            state=params.get("state") or None,
            dispute_type=params.get("dispute_type") or None,
            q=params.get("q") or None,
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(cases, request, view=self)
        # One read of the list, not one per case listed (audit: lists are recorded whole).
        audit.read_record(user=request.user, kind=audit.Kind.CASE_LIST, request=request, door=audit.Door.API)
        return paginator.get_paginated_response(CaseListItemSerializer(page, many=True).data)

    @extend_schema(request=CaseCreateSerializer, responses={201: CaseSerializer})
    def post(self, request):
        serializer = CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        forum = selectors.forum_get_for_user(user=request.user, forum_id=data.pop("forum"))
        if forum is None:
            raise SulhError(_("Unknown forum."), code="invalid", fields={"forum": [_("Not one of your forums.")]})
        case = services.case_open(user=request.user, forum=forum, **data)
        return Response(_case_body(request, case.pk), status=status.HTTP_201_CREATED)


def _case_body(request, case_id) -> dict:
    case = selectors.case_get_for_user(user=request.user, case_id=case_id)
    return CaseSerializer(case, context={"user": request.user}).data


class CaseDetailApi(APIView):
    @extend_schema(responses={200: CaseSerializer})
    def get(self, request, case_id: int):
        body = _case_body(request, case_id)
        audit.read_record(
            user=request.user, kind=audit.Kind.CASE, case_id=body["id"], object_id=body["id"], request=request,
            door=audit.Door.API,
        )  # fmt: skip
        return Response(body)


class CaseTransitionApi(APIView):
    """Move the case along its workflow: 409 stale_version, 422 transition_not_allowed or a guard's code."""

    @extend_schema(request=TransitionInputSerializer, responses={200: CaseSerializer})
    def post(self, request, case_id: int):
        serializer = TransitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.case_transition(user=request.user, case_id=case_id, **serializer.validated_data)
        return Response(_case_body(request, case_id))


class CaseTimelineApi(APIView):
    """Every event of the case, oldest first. Events are never changed or deleted."""

    @extend_schema(responses={200: CaseEventSerializer(many=True)})
    def get(self, request, case_id: int):
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        audit.read_record(
            user=request.user, kind=audit.Kind.TIMELINE, case_id=case.pk, object_id=case.pk, request=request,
            door=audit.Door.API,
        )  # fmt: skip
        return Response(CaseEventSerializer(selectors.case_timeline(case=case), many=True).data)


class CaseAgreementApi(APIView):
    """The case's agreement. A post replaces the draft; prohibited terms are refused with 422 prohibited_term."""

    @extend_schema(responses={200: AgreementSerializer})
    def get(self, request, case_id: int):
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        agreement = selectors.case_agreement(case=case)
        if agreement is None:
            raise NotFoundError(_("This case has no agreement yet."))
        audit.read_record(
            user=request.user, kind=audit.Kind.AGREEMENT, case_id=case.pk, object_id=agreement.pk, request=request,
            door=audit.Door.API,
        )  # fmt: skip
        # A final agreement made before settlements existed (or written by the generator) gets its settlement now.
        services.settlement_ensure(agreement=agreement)
        return Response(AgreementSerializer(agreement, context={"request": request}).data)

    @extend_schema(request=AgreementInputSerializer, responses={201: AgreementSerializer})
    def post(self, request, case_id: int):
        serializer = AgreementInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.agreement_record(user=request.user, case_id=case_id, **serializer.validated_data)
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        body = AgreementSerializer(selectors.case_agreement(case=case), context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class CaseComplianceApi(APIView):
    """Compliance checks of the case's final agreement. A post needs an Idempotency-Key header (a UUID)."""

    @extend_schema(responses={200: ComplianceCheckSerializer(many=True)})
    def get(self, request, case_id: int):
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        if not case_rules.can_read_compliance(request.user, case.forum):
            raise ForbiddenError()
        return Response(ComplianceCheckSerializer(selectors.case_compliance_checks(case=case), many=True).data)

    @extend_schema(
        request=ComplianceInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, location=OpenApiParameter.HEADER, required=True)],
        responses={201: ComplianceCheckSerializer, 200: ComplianceCheckSerializer},
    )
    def post(self, request, case_id: int):
        raw_key = request.headers.get("Idempotency-Key", "")
        try:
            key = uuid.UUID(raw_key)
        except ValueError:
            raise SulhError(
                _("Send an Idempotency-Key header holding a UUID."),
                code="invalid",
                fields={"Idempotency-Key": [_("A UUID, new for each check and the same for its retries.")]},
            ) from None
        serializer = ComplianceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        check, created = services.compliance_record(
            user=request.user,
            case_id=case_id,
            term_id=data["term"],
            status=data["status"],
            notes=data["notes"],
            observed_at=data["observed_at"],
            paid=data["paid"],
            idempotency_key=key,
        )
        check = selectors.case_compliance_checks(case=check.case).get(pk=check.pk)
        return Response(ComplianceCheckSerializer(check).data, status=201 if created else 200)


class ComplianceConflictReviewApi(APIView):
    """The facilitator has looked at two checks of one term that were made without knowing of each other."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request, conflict_id: int):
        services.compliance_conflict_review(user=request.user, conflict_id=conflict_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaseSurveyApi(APIView):
    """The closing survey: one per party (first, second party or victim), 1–5 scales and two yes/no answers."""

    def _case(self, request, case_id):
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        if not case_rules.can_read_compliance(request.user, case.forum):
            raise ForbiddenError()
        return case

    @extend_schema(responses={200: SurveySerializer(many=True)})
    def get(self, request, case_id: int):
        return Response(SurveySerializer(selectors.case_surveys(case=self._case(request, case_id)), many=True).data)

    @extend_schema(request=SurveyInputSerializer, responses={201: SurveySerializer})
    def post(self, request, case_id: int):
        serializer = SurveyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        survey = services.survey_record(user=request.user, case_id=case_id, party_id=data.pop("party"), **data)
        return Response(SurveySerializer(survey).data, status=status.HTTP_201_CREATED)


class CaseRecurrenceApi(APIView):
    """The feud's history: earlier cases this one repeats, later ones that repeat it. A post links an earlier
    case by its reference (the parties' names did not find it)."""

    @extend_schema(responses={200: RecurrenceSerializer(many=True)})
    def get(self, request, case_id: int):
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        return Response(RecurrenceSerializer(selectors.case_recurrences(case=case, user=request.user), many=True).data)

    @extend_schema(request=RecurrenceLinkInputSerializer, responses={201: RecurrenceSerializer(many=True)})
    def post(self, request, case_id: int):
        serializer = RecurrenceLinkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.recurrence_link(user=request.user, case_id=case_id, **serializer.validated_data)
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        rows = selectors.case_recurrences(case=case, user=request.user)
        return Response(RecurrenceSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)


class RecurrenceDecisionApi(APIView):
    """Confirm a matched link between two cases of one feud, or reject it (namesakes)."""

    @extend_schema(request=RecurrenceDecisionSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, recurrence_id: int):
        serializer = RecurrenceDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = services.recurrence_decide(
            user=request.user, recurrence_id=recurrence_id, status=serializer.validated_data["status"]
        )
        return Response({"id": link.pk, "status": link.status})


class CaseMonitorApi(APIView):
    """Hand the case to one of the forum's monitors ({"monitor": username}), or to none ({"monitor": null})."""

    @extend_schema(request=MonitorAssignSerializer, responses={200: CaseSerializer})
    def post(self, request, case_id: int):
        serializer = MonitorAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["monitor"]
        monitor = None
        if username:
            monitor = selectors.user_by_username(username=username)
            if monitor is None:
                raise SulhError(
                    _("Choose one of the forum's monitors."),
                    code="invalid",
                    fields={"monitor": [_("Not a monitor of this forum.")]},
                )
        services.case_monitor_assign(user=request.user, case_id=case_id, monitor=monitor)
        return Response(_case_body(request, case_id))


class CaseRiskFactorsApi(APIView):
    """Tag the case with the UN Framework's risk factors the facilitator sees in it ({"factors": [9, 13]})."""

    @extend_schema(request=RiskFactorsSerializer, responses={200: CaseSerializer})
    def put(self, request, case_id: int):
        serializer = RiskFactorsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.case_risk_factors_set(user=request.user, case_id=case_id, factors=serializer.validated_data["factors"])
        return Response(_case_body(request, case_id))


class DueItemListApi(APIView):
    """What the caller should look at this week: terms due for a check, instalments due or overdue, truces
    about to expire, in the cases they monitor (or facilitate)."""

    @extend_schema(responses={200: DueItemSerializer(many=True)})
    def get(self, request):
        return Response(DueItemSerializer(selectors.due_items_for_user(user=request.user), many=True).data)


class CaseEscalationApi(APIView):
    """Move the case up or down its forum's escalation ladder."""

    @extend_schema(request=EscalationInputSerializer, responses={200: CaseSerializer})
    def post(self, request, case_id: int):
        serializer = EscalationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.case_escalate(user=request.user, case_id=case_id, **serializer.validated_data)
        return Response(_case_body(request, case_id))


class ReminderListApi(APIView):
    """The caller's open reminders: cases to consider stepping down (review date passed) or up (a breach)."""

    @extend_schema(responses={200: ReminderSerializer(many=True)})
    def get(self, request):
        return Response(ReminderSerializer(selectors.reminder_list_for_user(user=request.user), many=True).data)


# --- Guarantees: guarantors and deposits (issue 19, item 2) ----------------------------------------------


class CaseGuarantorApi(APIView):
    """The case's guarantors (kafil, zamin); a post records one: a party of the case or a named person, the side
    they stand for and what they guarantee. Facilitators of the forum; 404 outside the caller's forums."""

    @extend_schema(responses={200: GuarantorSerializer(many=True)})
    def get(self, request, case_id: int):
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        return Response(GuarantorSerializer(selectors.case_guarantors(case=case), many=True).data)

    @extend_schema(request=GuarantorInputSerializer, responses={201: GuarantorSerializer})
    def post(self, request, case_id: int):
        serializer = GuarantorInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        guarantor = services.guarantor_add(user=request.user, case_id=case_id, party_id=data.pop("party"), **data)
        guarantor = selectors.case_guarantors_of(case_ids=[guarantor.case_id]).get(pk=guarantor.pk)
        return Response(GuarantorSerializer(guarantor).data, status=status.HTTP_201_CREATED)


class CaseDepositApi(APIView):
    """The case's deposits (machalgha / nagha, atwa); a post records one received: money (amount, currency) or
    goods (description), who holds it, which side lodged it, when. Facilitators of the forum."""

    @extend_schema(responses={200: DepositSerializer(many=True)})
    def get(self, request, case_id: int):
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        return Response(DepositSerializer(selectors.case_deposits(case=case), many=True).data)

    @extend_schema(request=DepositInputSerializer, responses={201: DepositSerializer})
    def post(self, request, case_id: int):
        serializer = DepositInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deposit = services.deposit_add(user=request.user, case_id=case_id, **serializer.validated_data)
        deposit = selectors.case_deposits_of(case_ids=[deposit.case_id]).get(pk=deposit.pk)
        return Response(DepositSerializer(deposit).data, status=status.HTTP_201_CREATED)


class DepositForfeitApi(APIView):
    """Declare a held deposit forfeited ({"reason"}): only after a breach is recorded on the case (422
    `breach_not_recorded`), with a reason (422 `reason_required`); 409 `deposit_settled` when no longer held."""

    @extend_schema(request=GuaranteeReasonSerializer, responses={200: DepositSerializer})
    def post(self, request, deposit_id: int):
        serializer = GuaranteeReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deposit = services.deposit_forfeit(user=request.user, deposit_id=deposit_id, **serializer.validated_data)
        deposit = selectors.case_deposits_of(case_ids=[deposit.case_id]).get(pk=deposit.pk)
        return Response(DepositSerializer(deposit).data)


class DepositReturnApi(APIView):
    """Record that a held deposit went back to the side that lodged it ({"reason"?}); 409 `deposit_settled`."""

    @extend_schema(request=GuaranteeReasonSerializer, responses={200: DepositSerializer})
    def post(self, request, deposit_id: int):
        serializer = GuaranteeReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deposit = services.deposit_return(user=request.user, deposit_id=deposit_id, **serializer.validated_data)
        deposit = selectors.case_deposits_of(case_ids=[deposit.case_id]).get(pk=deposit.pk)
        return Response(DepositSerializer(deposit).data)


class GuarantorCallApi(APIView):
    """Call a guarantor to answer for their side ({"reason"}): only after a recorded breach (422
    `breach_not_recorded`); 409 `guarantor_not_active` when already called or released."""

    @extend_schema(request=GuaranteeReasonSerializer, responses={200: GuarantorSerializer})
    def post(self, request, guarantor_id: int):
        serializer = GuaranteeReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guarantor = services.guarantor_call(user=request.user, guarantor_id=guarantor_id, **serializer.validated_data)
        guarantor = selectors.case_guarantors_of(case_ids=[guarantor.case_id]).get(pk=guarantor.pk)
        return Response(GuarantorSerializer(guarantor).data)


# --- Conflicts of interest: declared ties (issue 19, item 4) -----------------------------------------------


def _tie_body(user, case_id: int, tie_id: int) -> dict:
    case = selectors.case_get_for_user(user=user, case_id=case_id)
    return TieSerializer(selectors.case_ties(case=case).get(pk=tie_id)).data


class CaseTieApi(APIView):
    """The ties of the forum's members to the case's parties; a post declares one: {"party", "kind", "note"?,
    "person"?} — the caller's own tie (facilitators and monitors of the forum), or a member's, recorded by a
    facilitator. Until it is resolved the person may not start the case's sessions nor move it (422
    `conflict_unresolved`). 404 outside the caller's forums; 409 `tie_exists`."""

    @extend_schema(responses={200: TieSerializer(many=True)})
    def get(self, request, case_id: int):
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
        return Response(TieSerializer(selectors.case_ties(case=case), many=True).data)

    @extend_schema(request=TieInputSerializer, responses={201: TieSerializer})
    def post(self, request, case_id: int):
        serializer = TieInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tie = services.tie_declare(
            user=request.user, case_id=case_id, party_id=data["party"], kind=data["kind"], note=data["note"],
            person_id=data["person"],
        )  # fmt: skip
        return Response(_tie_body(request.user, case_id, tie.pk), status=status.HTTP_201_CREATED)


class TieRecuseApi(APIView):
    """The person tied steps aside from the case (themselves, or a facilitator of the forum records it): from then
    on 422 `conflict_recused` when they try to start its sessions or move it. 409 `tie_resolved` if already."""

    @extend_schema(request=None, responses={200: TieSerializer})
    def post(self, request, case_id: int, tie_id: int):
        services.tie_recuse(user=request.user, case_id=case_id, tie_id=tie_id)
        return Response(_tie_body(request.user, case_id, tie_id))


class TieAcceptApi(APIView):
    """One side accepts the person tied, knowing of the tie: {"side": "first_party"|"second_party", "accepted_by"}
    (who spoke for the side). Recorded by a facilitator of the forum other than the person tied (403 otherwise);
    with both sides the tie is resolved. 409 `side_accepted`, `tie_resolved`."""

    @extend_schema(request=TieAcceptSerializer, responses={200: TieSerializer})
    def post(self, request, case_id: int, tie_id: int):
        serializer = TieAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tie_accept(user=request.user, case_id=case_id, tie_id=tie_id, **serializer.validated_data)
        return Response(_tie_body(request.user, case_id, tie_id))


# --- Legal review of held terms (CONTRACT.md section 6) ---------------------------------------------------


class ScreeningReviewListApi(APIView):
    """The terms held for legal review that the caller may decide (administrators; legal reviewers of the
    term's forum). Others get 403."""

    @extend_schema(responses={200: ScreeningReviewSerializer(many=True)})
    def get(self, request):
        terms = selectors.screening_reviews_for_user(user=request.user)
        return Response(ScreeningReviewSerializer(terms, many=True).data)


class TermScreeningApi(APIView):
    """A legal reviewer's decision on a held term: `lawful` keeps it (200, the term), `prohibited` takes it out of
    the draft (200 {"removed": true}); 409 not_under_review for a term not waiting."""

    @extend_schema(
        request=TermDecisionInputSerializer,
        responses={
            200: inline_serializer(
                "TermScreeningResult",
                {"removed": serializers.BooleanField(required=False)},
            )
        },
    )
    def post(self, request, term_id: int):
        serializer = TermDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        term = services.term_screening_decide(user=request.user, term_id=term_id, **serializer.validated_data)
        if term is None:
            return Response({"removed": True})
        return Response(TermSerializer(term).data)


class SettlementVerifyApi(APIView):
    """Public (no login): is the written settlement with this code genuine and unchanged? The verify page's fields:
    forum, kind of document, date it became final, district, status — never a name, a term or a finer place.
    404 `not_found` for a code no settlement has; 429 `throttled` past a few lookups a minute from one address."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []  # Its own limit below, shared with the verify page.

    @extend_schema(
        responses={
            200: inline_serializer(
                name="SettlementVerification",
                fields={
                    "code": serializers.CharField(),
                    "genuine": serializers.BooleanField(),
                    "forum": serializers.CharField(),
                    "forum_kind": serializers.CharField(),
                    "document": serializers.CharField(),
                    "document_title": serializers.CharField(),
                    "district": serializers.CharField(),
                    "final_at": serializers.DateTimeField(allow_null=True),
                    "status": serializers.CharField(),
                },
            )
        }
    )
    def get(self, request, code: str):
        if not settlement_docs.verify_allowed(request):
            raise settlement_docs.VerifyThrottled()
        result = settlement_docs.settlement_verify(raw_code=code)
        if result is None:
            raise NotFoundError(_("No settlement has this code."))
        return Response(result.as_json(), headers={"Cache-Control": "no-store"})
