"""The HTTP API of live dialogue sessions. Thin: validate, call a service or selector, serialise."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import services as audit

from . import selectors, services
from .serializers import (
    CaucusCreateSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    SessionCreateSerializer,
    SessionSerializer,
)


def _body(request, session) -> dict:
    return SessionSerializer(session, context={"request": request}).data


class CaseSessionListCreateApi(APIView):
    """A case's dialogue sessions, and scheduling one (facilitators of the case's forum)."""

    @extend_schema(responses={200: SessionSerializer(many=True)})
    def get(self, request, case_id: int):
        sessions = selectors.session_list_for_case(user=request.user, case_id=case_id)
        return Response(SessionSerializer(sessions, many=True, context={"request": request}).data)

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer})
    def post(self, request, case_id: int):
        serializer = SessionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_schedule(user=request.user, case_id=case_id, **serializer.validated_data)
        return Response(_body(request, session), status=status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    @extend_schema(responses={200: SessionSerializer})
    def get(self, request, session_id: int):
        return Response(_body(request, selectors.session_get_for_attendee(user=request.user, session_id=session_id)))


class SessionStartApi(APIView):
    """Open the session (its facilitator): 409 session_not_scheduled if it already started."""

    @extend_schema(request=None, responses={200: SessionSerializer})
    def post(self, request, session_id: int):
        return Response(_body(request, services.session_start(user=request.user, session_id=session_id)))


class SessionEndApi(APIView):
    """Close the session (its facilitator): 422 session_not_live unless it is live."""

    @extend_schema(request=None, responses={200: SessionSerializer})
    def post(self, request, session_id: int):
        return Response(_body(request, services.session_end(user=request.user, session_id=session_id)))


class SessionTranscriptApi(APIView):
    """Every event of the session in seq order: the same objects the websocket sent."""

    @extend_schema(responses={200: dict})
    def get(self, request, session_id: int):
        session = selectors.session_get_for_attendee(user=request.user, session_id=session_id)
        audit.read_record(
            user=request.user, kind=audit.Kind.TRANSCRIPT, case_id=session.case_id, object_id=session.pk,
            request=request, door=audit.Door.API,
        )  # fmt: skip
        return Response(selectors.transcript(session=session))


class SessionInvitationApi(APIView):
    """A one-time link for a party representative or an elder (the session's facilitator). The link is
    shown once: only its hash is stored."""

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer})
    def post(self, request, session_id: int):
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invitation, token = services.invitation_create(
            user=request.user, session_id=session_id, display_name=data["name"], role=data["role"],
            priority=data["priority"], gender=data["gender"], side=data["side"],
        )  # fmt: skip
        body = {
            "url": request.build_absolute_uri(reverse("session-join", args=[token])),
            "expires_at": invitation.expires_at,
            "name": invitation.display_name,
            "role": invitation.role,
            "side": invitation.side,
        }
        return Response(InvitationSerializer(body).data, status=status.HTTP_201_CREATED)


class SessionCaucusListCreateApi(APIView):
    """Shuttle mediation. GET: the side rooms (caucuses) of the joint session that the caller may attend (of its
    joint session, given a caucus): a side's guest sees only their side's. POST `{"side"}`: open one (the session's
    facilitator, while it is live): 201 with its id and ws_url; 409 caucus_already_open; 422 session_not_live,
    not_a_joint_session. A caucus closes with `POST /api/sessions/{caucus}/end/`."""

    @extend_schema(responses={200: SessionSerializer(many=True)})
    def get(self, request, session_id: int):
        caucuses = selectors.caucus_list(user=request.user, session_id=session_id)
        return Response(SessionSerializer(caucuses, many=True, context={"request": request}).data)

    @extend_schema(request=CaucusCreateSerializer, responses={201: SessionSerializer})
    def post(self, request, session_id: int):
        serializer = CaucusCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        caucus = services.caucus_open(user=request.user, session_id=session_id, side=serializer.validated_data["side"])
        return Response(_body(request, caucus), status=status.HTTP_201_CREATED)
