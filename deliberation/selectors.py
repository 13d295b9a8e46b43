"""Reads for live dialogue sessions: who may attend, the room's state, the transcript."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from cases import rules as case_rules
from cases import selectors as case_selectors
from cases import workflows
from cases.models import Membership
from config import crypto
from config.errors import NotFoundError

from . import rules
from .events import EventFrame, event_payload
from .models import AgendaItem, DialogueSession, Invitation, Participant, Proposal, Response, SessionEvent


def may_attend(*, user, session_id) -> bool:
    session = DialogueSession.objects.select_related("case__forum").filter(pk=session_id).first()
    return session is not None and rules.attends(user, session)


def session_get_for_attendee(*, user, session_id) -> DialogueSession:
    try:
        session_id = int(session_id)
    except (TypeError, ValueError):
        raise NotFoundError() from None
    if not may_attend(user=user, session_id=session_id):
        raise NotFoundError()
    return DialogueSession.objects.select_related("case", "case__forum", "facilitator").get(pk=session_id)


def invitation_preview(*, token: str) -> Invitation | None:
    """The invitation a one-time link holds, for the join page to say what it is (forum, time, who invited,
    under what name) before it is used; None when it is used, expired, unknown, or its session has ended.
    Reading it uses nothing up (link previews open it too)."""
    invitation = (
        Invitation.objects.select_related("session__case__forum", "created_by")
        .filter(token_hash=hashlib.sha256((token or "").encode()).hexdigest(), used_at__isnull=True,
                expires_at__gt=timezone.now())
        .first()
    )  # fmt: skip
    if invitation is None or invitation.session.status == DialogueSession.Status.ENDED:
        return None
    return invitation


def session_get_for_printing(*, user, session_id) -> DialogueSession:
    """The session whose transcript the caller may print (its forum's facilitators); NotFoundError for others,
    who are not told it exists."""
    try:
        session = DialogueSession.objects.select_related("case", "case__forum").get(pk=int(session_id))
    except (DialogueSession.DoesNotExist, TypeError, ValueError):
        raise NotFoundError() from None
    if not rules.may_print_transcript(user, session):
        raise NotFoundError()
    return session


def transcript_lines(*, session: DialogueSession) -> list[dict]:
    """The transcript as a page shows it: each event with the name of who acted ("" for the session's own)."""
    names: dict[int | None, str] = dict(Participant.objects.filter(session=session).values_list("id", "display_name"))
    return [{**event, "actor_name": names.get(event["actor"], "")} for event in transcript(session=session)]


def session_people(*, session: DialogueSession) -> list[Participant]:
    """Everyone who took part, in the order they came (the printable transcript lists them)."""
    return list(Participant.objects.filter(session=session).order_by("id"))


def session_list_for_case(*, user, case_id) -> QuerySet[DialogueSession]:
    """The case's sessions, for those who may see the case (NotFoundError otherwise). Its caucuses are listed under
    their joint session (caucus_list), to those who may attend them."""
    case = case_selectors.case_get_for_user(user=user, case_id=case_id)
    return (
        DialogueSession.objects.filter(case=case, joint__isnull=True)
        .select_related("case")
        .order_by("-scheduled_for", "-id")
    )


def sessions_panel(*, user, case_id) -> dict:
    """What the case page's sessions panel shows (NotFoundError for a case the caller may not see): the sessions,
    whether the caller may open their rooms (the forum's members; guests come by their link), and whether they
    may schedule one (its facilitators, while the case is open)."""
    case = case_selectors.case_get_for_user(user=user, case_id=case_id)
    return {
        "case": case,
        "sessions": list(
            DialogueSession.objects.filter(case=case, joint__isnull=True).order_by("-scheduled_for", "-id")
        ),
        "sessions_open_to_me": bool(case_rules.is_forum_member(user, case.forum)),
        "may_schedule": rules.may_schedule(user, case.forum) and case.state not in workflows.ENDED,
    }


def role_for(*, user, session: DialogueSession) -> str:
    if session.facilitator_id == user.pk:
        return Participant.Role.FACILITATOR
    # One query: the case's forum is looked up inside it, not read first.
    if Membership.objects.filter(user=user, forum__cases=session.case_id, role=Membership.Role.FACILITATOR).exists():
        return Participant.Role.MEMBER
    return Participant.Role.MONITOR


def queue(*, session: DialogueSession) -> list[int]:
    """Raised hands in order: first come first served, victims and women first when the session says so."""
    hands = Participant.objects.filter(session=session, hand_raised_at__isnull=False)
    if session.priority_first:
        hands = hands.order_by("-priority", "hand_raised_at", "id")
    else:
        hands = hands.order_by("hand_raised_at", "id")
    return list(hands.values_list("id", flat=True))


# The names shown in rooms, decrypted once per process: every welcome lists everyone, so that a join storm of N
# people would otherwise decrypt N² names. Keyed by the stored token (random for each encryption, so a token has
# one plain text and a changed name is a new key); bounded, and only names, never what was said.
_shown_name = lru_cache(maxsize=16_384)(crypto.decrypt)


def _participants_of(session: DialogueSession) -> list[dict]:
    """The welcome's participant list, read as plain rows (no model instances) with the names' tokens as stored."""
    rows = (
        Participant.objects.filter(session=session)
        .order_by("id")
        .annotate(name_token=Cast("display_name", TextField()))
        .values_list("id", "name_token", "role", "connections", "priority", "hand_raised_at", "side")
    )
    return [
        _participant_entry(pk, _shown_name(token), role, connections, priority, hand_raised_at, side)
        for pk, token, role, connections, priority, hand_raised_at, side in rows
    ]


def participant_entry(participant: Participant) -> dict:
    """One participant as the welcome's list shows them."""
    p = participant
    return _participant_entry(p.pk, p.display_name, p.role, p.connections, p.priority, p.hand_raised_at, p.side)


def _participant_entry(pk, name, role, connections, priority, hand_raised_at, side) -> dict:
    return {
        "id": pk,
        "name": name,
        "role": role,
        "present": connections > 0,
        "priority": priority,
        "hand_raised": hand_raised_at is not None,
        "side": side,
    }


def session_state(*, session: DialogueSession) -> dict:
    """What the room shows, as of the session's last_seq: the `state` of the welcome frame."""
    proposals = list(Proposal.objects.filter(session=session, status=Proposal.Status.OPEN).order_by("id"))
    stances: dict[int, dict[str, str]] = {}
    for proposal_id, participant_id, stance in Response.objects.filter(proposal__in=proposals).values_list(
        "proposal_id", "participant_id", "stance"
    ):
        stances.setdefault(proposal_id, {})[str(participant_id)] = stance
    return {
        "status": session.status,
        "floor": session.floor_id,
        "floor_until": session.floor_until.isoformat().replace("+00:00", "Z") if session.floor_until else None,
        "queue": queue(session=session),
        "open_proposals": [
            {"id": p.pk, "text": p.text, "term_kind": p.term_kind, "responses": stances.get(p.pk, {})}
            for p in proposals
        ],
        "participants": _participants_of(session),
        "agenda": [
            {"id": item.pk, "position": item.position, "title": item.title, "done": item.done_at is not None}
            for item in AgendaItem.objects.filter(session=session).order_by("position")
        ],
        "floor_only": session.floor_only,
        "priority_first": session.priority_first,
        "turn_seconds": session.turn_seconds,
        # Shuttle mediation: the joint session of a caucus (null in a joint room), the caucus's side ("" in a
        # joint room), and the joint session's caucuses.
        "joint": session.joint_id,
        "side": session.side,
        "caucuses": caucuses_state(session=session),
    }


def caucus_list(*, user, session_id) -> list[DialogueSession]:
    """The caucuses of a joint session (of its joint session, given a caucus) that the caller may attend, oldest
    first; NotFoundError when they may not attend the session given."""
    session = session_get_for_attendee(user=user, session_id=session_id)
    joint_id = session.joint_id or session.pk
    caucuses = DialogueSession.objects.filter(joint_id=joint_id).select_related("case__forum").order_by("id")
    return [caucus for caucus in caucuses if rules.attends(user, caucus)]


def caucuses_state(*, session: DialogueSession) -> list[dict]:
    """The caucuses of the session's joint session as a room shows them: no words of theirs, only which side's
    room, whether it is open, and its path (a page offers the link to those the rule admits)."""
    joint_id = session.joint_id or session.pk
    return [
        {
            "id": pk,
            "side": side,
            "status": status,
            "ws_path": f"/ws/sessions/{pk}/",
            "room_path": reverse("session-room", args=[pk]),
        }
        for pk, side, status in DialogueSession.objects.filter(joint_id=joint_id)
        .order_by("id")
        .values_list("pk", "side", "status")
    ]


def events_after(*, session_id: int, after: int, upto: int | None = None) -> list[EventFrame]:
    """The session's events with seq > after (and ≤ upto), in order, as the websocket sends them."""
    events = SessionEvent.objects.filter(session_id=session_id, seq__gt=after).order_by("seq")
    if upto is not None:
        events = events.filter(seq__lte=upto)
    return [event_payload(event) for event in events]


def transcript(*, session: DialogueSession) -> list[EventFrame]:
    return events_after(session_id=session.pk, after=0)
