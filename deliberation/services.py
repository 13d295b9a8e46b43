"""Writes for live dialogue sessions. Every door (the websocket consumer, the API, the pages) comes here.

Ordering and durability (shared/CONTRACT.md section 5): each action runs in one transaction that locks
the session row, allocates the next `seq` from it, stores the event and commits; the event is published to
the session's channel-layer group only after the commit. The lock is held until the commit, so events are
committed in `seq` order; publication can still arrive out of order across processes, which the consumer
repairs from the database. A frame repeated with the same `client_id` by the same participant returns the
stored event instead of making a second one. The plainest and most frequent action, a line said, is one statement
(_SAY): the same lock, held only for that statement.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import broadcast
from accounts import services as account_services
from accounts.models import Gender
from cases import selectors as case_selectors
from cases import services as case_services
from cases import workflows
from cases.models import Term
from config.errors import ConflictError, DomainRuleError, ForbiddenError, NotFoundError, SulhError

from . import rules
from .events import EventFrame, GroupMessage, event_payload, group_message, group_name
from .models import (
    AgendaItem,
    DialogueSession,
    Invitation,
    LiveConnection,
    Participant,
    ProcessBeat,
    Proposal,
    Response,
    SessionEvent,
    Side,
)

logger = logging.getLogger(__name__)
User = get_user_model()

MAX_BODY = 4000  # Characters in one utterance or proposal.
INVITATION_DAYS = 7


class SessionNotLive(DomainRuleError):
    code = "session_not_live"
    default_detail = gettext_lazy("The session is not live.")


class SessionNotScheduled(ConflictError):
    code = "session_not_scheduled"
    default_detail = gettext_lazy("The session has already started.")


class InvitationInvalid(SulhError):
    status = 404
    code = "invitation_invalid"
    default_detail = gettext_lazy("This invitation link is not valid, was already used, or has expired.")


_hand_off = threading.local()


@contextmanager
def publishing_through(hand_off: Callable[[int, GroupMessage], None]) -> Iterator[None]:
    """Within it, the events this thread stores are handed to `hand_off(session_id, message)`, which must not
    block (the websocket's event loop sends them, in the order handed), instead of being sent from this thread,
    which would wait for that busy loop with the session's database thread held (issue 17)."""
    previous = getattr(_hand_off, "to", None)
    _hand_off.to = hand_off
    try:
        yield
    finally:
        _hand_off.to = previous


def _publish(session_id: int, payload: EventFrame) -> None:
    """Tell the session's sockets, after commit. The database is the truth: if the channel layer is down the
    event is still stored, and sockets find it by its seq (gap repair, ?after, resume)."""
    hand_off = getattr(_hand_off, "to", None)
    if hand_off is not None:
        hand_off(session_id, group_message(payload))
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(session_id), group_message(payload))
    except Exception:  # noqa: BLE001 - a hint that failed to go out; never the event itself
        logger.warning("session %s: event %s not published; sockets will repair from the database",
                       session_id, payload["seq"], exc_info=True)  # fmt: skip


def _append(session: DialogueSession, *, kind: str, actor: Participant | None, data: dict, client_id: str = "",
            at=None) -> SessionEvent:  # fmt: skip
    """Store the session's next event. The caller holds the session row lock (_lock)."""
    session.last_seq += 1
    DialogueSession.objects.filter(pk=session.pk).update(last_seq=session.last_seq)
    event = SessionEvent.objects.create(
        session=session, seq=session.last_seq, kind=kind, actor=actor, data=data, client_id=client_id,
        at=at or timezone.now(),
    )  # fmt: skip
    payload = event_payload(event)
    transaction.on_commit(lambda: _publish(session.pk, payload))
    return event


def _lock(session_id) -> DialogueSession:
    return _session(session_id, lock=True)


def _session(session_id, *, lock: bool = False) -> DialogueSession:
    """The session, with `lock` its row locked until the transaction ends. FOR NO KEY UPDATE: it orders the
    session's events as FOR UPDATE would (the one-statement path's UPDATE of last_seq takes the same lock), yet rows
    that merely refer to the session (a participant arriving in a storm, which does not take this lock) are not
    held up behind it."""
    sessions = DialogueSession.objects.select_for_update(no_key=True) if lock else DialogueSession.objects
    try:
        return sessions.get(pk=int(session_id))
    except (DialogueSession.DoesNotExist, TypeError, ValueError):
        raise NotFoundError() from None


def _earlier(session: DialogueSession, actor: Participant, client_id: str) -> SessionEvent | None:
    if not client_id:
        return None
    # No ORDER BY: with one (session, seq) would lead PostgreSQL to walk the whole session's events in seq
    # order instead of looking the client_id up in its unique index (2 ms and growing, per line said).
    return next(
        iter(SessionEvent.objects.filter(session=session, actor=actor, client_id=client_id).order_by()[:1]), None
    )


def _client_id(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 64:
        raise _invalid("client_id", _("client_id is a string of at most 64 characters."))
    return value


def _invalid(field: str, detail) -> SulhError:
    return SulhError(detail, code="invalid", fields={field: [detail]})


def _text(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field, _("%(field)s must be a non-empty string.") % {"field": field})
    value = value.strip()
    if len(value) > MAX_BODY:
        raise _invalid(field, _("At most %(n)s characters.") % {"n": MAX_BODY})
    return value


@dataclass
class Acting:
    """A participant about to act in a session, both rows read under the session lock."""

    session: DialogueSession
    participant: Participant

    @property
    def is_facilitator(self) -> bool:
        # The participant row says who facilitated; the rule says whether they still may (a demoted facilitator
        # keeps attending as a member but no longer runs the room).
        return self.participant.role == Participant.Role.FACILITATOR and rules.may_facilitate(
            self.participant.user, self.session
        )

    def require_facilitator(self) -> None:
        if not self.is_facilitator:
            raise ForbiddenError(_("Only the session's facilitator may do this."))

    def require_live(self) -> None:
        if self.session.status != DialogueSession.Status.LIVE:
            raise SessionNotLive()


def _acting(session_id, participant_id) -> Acting:
    session = _lock(session_id)
    participant = Participant.objects.filter(pk=participant_id, session=session).first()
    if participant is None:
        raise ForbiddenError()
    return Acting(session, participant)


# --- Scheduling, starting and ending ----------------------------------------------------------------------


def _name_of(user) -> str:
    return user.get_full_name() or user.get_username()


@transaction.atomic
def session_schedule(*, user, case_id, scheduled_for) -> DialogueSession:
    """A session for a case, facilitated by the caller (a facilitator of the case's forum)."""
    case = case_selectors.case_get_for_user(user=user, case_id=case_id)
    # Not administrators: sessions are confidential to the forum's members and invited guests, and an
    # administrator who scheduled one could not attend it (deliberation.rules.attends).
    if not rules.may_schedule(user, case.forum):
        raise ForbiddenError(_("Only the forum's facilitators may do this."))
    if case.state in workflows.ENDED:
        raise DomainRuleError(_("The case has ended; no more sessions."), code="case_not_open")
    session = DialogueSession.objects.create(case=case, facilitator=user, scheduled_for=scheduled_for)
    Participant.objects.create(
        session=session, user=user, role=Participant.Role.FACILITATOR, display_name=_name_of(user),
        gender=account_services.gender_of(user=user),
    )  # fmt: skip
    return session


def _facilitating(*, user, session_id) -> Acting:
    session = _lock(session_id)
    if not rules.attends(user, session):
        raise NotFoundError()  # Not an attendee: the session does not exist for them.
    participant = Participant.objects.filter(session=session, user=user).first()
    if not rules.may_facilitate(user, session):
        raise ForbiddenError(_("Only the session's facilitator may do this."))
    assert participant is not None  # session_schedule made the facilitator a participant, with the session.
    return Acting(session, participant)


def session_start(*, user, session_id) -> DialogueSession:
    with transaction.atomic():
        acting = _facilitating(user=user, session_id=session_id)
        case_services.conflict_check(user=user, case_id=acting.session.case_id)  # An unresolved tie (issue 19).
        session = acting.session
        if session.status != DialogueSession.Status.SCHEDULED:
            raise SessionNotScheduled()
        session.status = DialogueSession.Status.LIVE
        session.started_at = timezone.now()
        session.save(update_fields=["status", "started_at"])
        _append(session, kind="started", actor=acting.participant, data={}, at=session.started_at)
        case_services.timeline_record(
            case_id=session.case_id, kind="session_started", actor=user, data={"session": session.pk}
        )
    return session


def session_end(*, user, session_id) -> DialogueSession:
    """End a session (its facilitator). Ending a caucus closes it (caucus_close); ending a joint session closes
    its open caucuses first."""
    if _joint_of(session_id) is not None:
        return caucus_close(user=user, caucus_id=session_id)
    with transaction.atomic():
        acting = _facilitating(user=user, session_id=session_id)
        session = acting.session
        acting.require_live()
        for caucus_id in session.caucuses.filter(status=DialogueSession.Status.LIVE).values_list("pk", flat=True):
            _caucus_end(session, _lock(caucus_id), user=user, joint_actor=acting.participant)
        session.status = DialogueSession.Status.ENDED
        session.ended_at = timezone.now()
        session.floor, session.floor_until = None, None
        session.save(update_fields=["status", "ended_at", "floor", "floor_until"])
        Participant.objects.filter(session=session).update(hand_raised_at=None)
        accepted = session.proposals.filter(status=Proposal.Status.ACCEPTED).count()
        _append(session, kind="ended", actor=acting.participant, data={"accepted_proposals": accepted},
                at=session.ended_at)  # fmt: skip
        case_services.timeline_record(
            case_id=session.case_id,
            kind="session_ended",
            actor=user,
            data={
                "session": session.pk,
                "events": session.last_seq,
                "accepted_proposals": accepted,
                **_women_took_part(session),
            },
        )
        # Guests attend only until the session ends (rules.attends): after `ended` reaches them (published on
        # commit, before this), their sockets close, in every process.
        broadcast.sockets_recheck_in_group(group=group_name(session.pk))
    return session


def _women_took_part(session: DialogueSession) -> dict[str, bool]:
    """Whether a woman (as she said of herself) attended the hearing, and whether one spoke: the flags
    `session_ended` carries, no names and no numbers, for the regulator's participation counts. The hearing is the
    session with its side rooms: a woman who met the facilitator only in her side's caucus, as shuttle mediation
    often has it, took part in it."""
    rooms = DialogueSession.objects.filter(Q(pk=session.pk) | Q(joint_id=session.pk)).values("pk")
    women = Participant.objects.filter(session__in=rooms, gender=Gender.WOMAN, joined_at__isnull=False)
    return {
        "women_took_part": women.exists(),
        "women_spoke": SessionEvent.objects.filter(session__in=rooms, kind="said", actor__in=women).exists(),
    }


# --- Attending ---------------------------------------------------------------------------------------------


def participant_connect(
    *, user, session_id, process: str | None = None, announce: bool = True
) -> tuple[Participant, DialogueSession]:
    """A socket of `user` opened (the selector has checked they may attend): their participant row, created
    on first arrival, one more connection; `joined` when it is their first open socket (unless `announce` is
    false: the caller announces it later, with others, through presence_announce). With `process` (the
    server process holding the socket) the connection is recorded, so that it can be swept if that process
    dies: `participant.connection_id` names it for participant_disconnect. Inside a caller's transaction it is part
    of it (no savepoint: the caller's other writes, a read record, commit with it or not at all)."""
    with transaction.atomic(savepoint=False):
        # Only a socket that may announce someone's arrival takes the session's lock (it may store `joined`); the
        # sockets of a storm, announced later together, lock just their own participant's row: a district's
        # elders arriving at once are counted in parallel, not one after another behind the session.
        session = _session(session_id, lock=announce)
        now = timezone.now()
        participant, created = _participant_locked(session, user, arriving={"connections": 1, "joined_at": now})
        if not created:  # A first arrival is stored with its connection already counted.
            participant.connections += 1
            if participant.joined_at is None:
                participant.joined_at = now
            participant.save(update_fields=["connections", "joined_at"])
        first = participant.connections == 1
        participant.connection_id = (
            LiveConnection.objects.create(participant=participant, process=process).pk if process else None
        )
        if first and announce and session.status != DialogueSession.Status.ENDED:  # An ended transcript stays ended.
            _append(session, kind="joined", actor=participant, data=_joined_data(participant))
    return participant, session


def _participant_locked(session: DialogueSession, user, *, arriving: dict) -> tuple[Participant, bool]:
    """(`user`'s participant row in `session`, locked until the transaction ends; whether it was created now): created
    on their first arrival with the fields `arriving` gives (two first sockets at once, on two server processes: one
    creates it, the other finds it)."""
    from . import selectors

    for _attempt in range(2):
        participant = Participant.objects.select_for_update(no_key=True).filter(session=session, user=user).first()
        if participant is not None:
            return participant, False
        try:
            with transaction.atomic():
                created = _caucus_guest_arrives(session, user, arriving) if session.joint_id is not None else None
                if created is None:
                    # The forum's people come under their name, with the gender they declared on their account page.
                    created = Participant.objects.create(
                        session=session, user=user, role=selectors.role_for(user=user, session=session),
                        display_name=_name_of(user), gender=account_services.gender_of(user=user), **arriving,
                    )  # fmt: skip
                return created, True
        except IntegrityError:  # Created meanwhile by their other socket: lock that one.
            continue
    raise ConflictError()


def _joined_data(participant: Participant) -> dict:
    return {"name": participant.display_name, "role": participant.role}


def participant_disconnect(*, participant_id: int, connection_id: int | None = None, announce: bool = True) -> bool:
    """A socket closed: one connection less, and `left` when it was the participant's last (unless `announce` is
    false: the caller announces it later, through presence_announce). A connection the sweep already closed (its
    process was taken for dead) is not counted twice. Returns whether the participant left (none of their sockets
    is open any more, in a session not ended)."""
    with transaction.atomic():
        participant = Participant.objects.select_related("session").filter(pk=participant_id).first()
        if participant is None:
            return False
        session = _lock(participant.session_id) if announce else participant.session  # As participant_connect.
        if connection_id is not None and not LiveConnection.objects.filter(pk=connection_id).delete()[0]:
            return False
        # Locked, as participant_connect locks it: a socket opening meanwhile is counted, not overwritten.
        participant.connections = (
            Participant.objects.select_for_update(no_key=True)
            .values_list("connections", flat=True)
            .get(pk=participant.pk)
        )
        participant.connections = max(participant.connections - 1, 0)
        participant.save(update_fields=["connections"])
        left = participant.connections == 0 and session.status != DialogueSession.Status.ENDED
        if left and announce:
            _append(session, kind="left", actor=participant, data={})
        return left


PRESENCE_SINGLES = 3  # A batch of at most this many changes is announced as `joined`/`left` events, one each.


def presence_announce(*, session_id: int, participant_ids: list[int]) -> list[SessionEvent]:
    """Announce the presence of participants whose sockets opened or closed without an event (participant_connect
    and participant_disconnect with announce=False), as it is now: a few as their own `joined` and `left` events,
    more as one `presence` event, `data` {"joined": [{"participant", "name", "role"}, …], "left": [id, …]}, so
    that a storm of arrivals costs a few events instead of one per person for everyone in the room."""
    with transaction.atomic():
        session = _lock(session_id)
        if session.status == DialogueSession.Status.ENDED or not participant_ids:
            return []
        found = {p.pk: p for p in Participant.objects.filter(session=session, pk__in=participant_ids)}
        people = [found[pk] for pk in dict.fromkeys(participant_ids) if pk in found]
        if len(people) <= PRESENCE_SINGLES:
            return [
                _append(session, kind="joined", actor=p, data=_joined_data(p))
                if p.present
                else _append(session, kind="left", actor=p, data={})
                for p in people
            ]
        data = {
            "joined": [{"participant": p.pk, **_joined_data(p)} for p in people if p.present],
            "left": [p.pk for p in people if not p.present],
        }
        return [_append(session, kind="presence", actor=None, data=data)]


def process_beat(*, process: str) -> None:
    """The server process `process`, holding session sockets, is alive."""
    ProcessBeat.objects.update_or_create(process=process, defaults={"seen_at": timezone.now()})


def connections_sweep(*, timeout: float | None = None) -> int:
    """Close the connections of server processes that stopped beating more than `timeout` seconds ago
    (SULH_CONNECTION_TIMEOUT, a minute by default): each is a disconnect, `left` when it was someone's last. Run
    by every live process while it holds sockets (deliberation/consumers.py), so that one process's death is
    seen by the others, or by its successor. Returns how many connections it closed."""
    timeout = settings.SULH_CONNECTION_TIMEOUT if timeout is None else timeout
    cutoff = timezone.now() - timedelta(seconds=timeout)
    dead = set(ProcessBeat.objects.filter(seen_at__lt=cutoff).values_list("process", flat=True))
    alive = set(ProcessBeat.objects.filter(seen_at__gte=cutoff).values_list("process", flat=True))
    stale = (
        LiveConnection.objects.exclude(process__in=alive)
        .filter(Q(process__in=dead) | Q(opened_at__lt=cutoff))
        .values_list("pk", "participant_id", "participant__session_id")
    )
    closed = 0
    gone: dict[int, list[int]] = {}  # session → its participants who left, announced together
    for connection_id, participant_id, session_id in list(stale):
        if participant_disconnect(participant_id=participant_id, connection_id=connection_id, announce=False):
            gone.setdefault(session_id, []).append(participant_id)
        closed += 1
    for session_id, participant_ids in gone.items():
        presence_announce(session_id=session_id, participant_ids=participant_ids)
    if dead:
        ProcessBeat.objects.filter(process__in=dead, seen_at__lt=cutoff).exclude(
            process__in=LiveConnection.objects.values("process")
        ).delete()
    if closed:
        logger.info("Closed %d connections of server processes that stopped answering", closed)
    return closed


# --- Speaking and the talking piece ------------------------------------------------------------------------


# The speaker's path in one statement and one round trip: take the session's next seq (the row lock, held only until
# this statement commits, keeps events committed in seq order), check the participant and the client_id, store
# the line. It stores nothing when anything is not the plain case (the session not live, in floor-only mode, the
# participant not its own, a client_id already used): say() then takes the full path, which says why or returns the
# earlier event.
_SAY = """
WITH next AS (
    UPDATE {session} AS s SET last_seq = s.last_seq + 1
    WHERE s.id = %(session)s AND s.status = 'live' AND NOT s.floor_only
      AND EXISTS (SELECT 1 FROM {participant} AS p WHERE p.id = %(actor)s AND p.session_id = s.id)
      AND (%(client_id)s = '' OR NOT EXISTS (
          SELECT 1 FROM {event} AS e
          WHERE e.session_id = s.id AND e.actor_id = %(actor)s AND e.client_id = %(client_id)s AND e.client_id <> ''))
    RETURNING s.last_seq
)
INSERT INTO {event} (session_id, seq, kind, actor_id, client_id, data, at)
SELECT %(session)s, next.last_seq, 'said', %(actor)s, %(client_id)s, %(data)s, %(at)s FROM next
RETURNING seq, id
"""


def _say_at_once(session_id: int, participant_id: int, body: str, client_id: str) -> SessionEvent | None:
    """The line stored by one statement, or None when say() must take the full path."""
    sql = _SAY.format(
        session=DialogueSession._meta.db_table, participant=Participant._meta.db_table,
        event=SessionEvent._meta.db_table,
    )  # fmt: skip
    data, at = {"body": body}, timezone.now()
    params = {
        "session": session_id, "actor": participant_id, "client_id": client_id, "at": at,
        "data": SessionEvent._meta.get_field("data").get_prep_value(data),
    }  # fmt: skip
    try:
        # A savepoint only inside a caller's transaction: on its own the statement commits by itself (autocommit).
        with transaction.atomic() if connection.in_atomic_block else nullcontext(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError:  # The same client_id stored by a concurrent frame: the full path returns that event.
        return None
    if row is None:
        return None
    event = SessionEvent(
        pk=row[1], session_id=session_id, seq=row[0], kind="said", actor_id=participant_id, data=data,
        client_id=client_id, at=at,
    )  # fmt: skip
    payload = event_payload(event)
    transaction.on_commit(lambda: _publish(session_id, payload))  # At once when there is no caller's transaction.
    return event


def say(*, session_id, participant_id, body, client_id=None) -> SessionEvent:
    client_id = _client_id(client_id)
    try:
        text = _text(body, "body")
    except SulhError:
        text = ""  # The full path says why, after returning an earlier event with this client_id if there is one.
    if text and isinstance(session_id, int) and isinstance(participant_id, int):
        if (event := _say_at_once(session_id, participant_id, text, client_id)) is not None:
            return event
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        if (earlier := _earlier(acting.session, acting.participant, client_id)) is not None:
            return earlier
        acting.require_live()
        body = _text(body, "body")
        session = acting.session
        if session.floor_only and not acting.is_facilitator:
            holds = session.floor_id == acting.participant.pk
            if not holds:
                raise ForbiddenError(_("Only the person who has the floor may speak now."))
            if session.floor_until is not None and timezone.now() > session.floor_until:
                raise ForbiddenError(_("Your turn is over; raise your hand to speak again."))
        return _append(session, kind="said", actor=acting.participant, data={"body": body}, client_id=client_id)


def hand_raise(*, session_id, participant_id) -> SessionEvent | None:
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_live()
        participant = acting.participant
        if participant.hand_raised_at is not None:
            return None  # Already in the queue: nothing happened.
        participant.hand_raised_at = timezone.now()
        participant.save(update_fields=["hand_raised_at"])
        return _append(acting.session, kind="hand_raised", actor=participant, data={}, at=participant.hand_raised_at)


def hand_lower(*, session_id, participant_id) -> SessionEvent | None:
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_live()
        participant = acting.participant
        if participant.hand_raised_at is None:
            return None
        participant.hand_raised_at = None
        participant.save(update_fields=["hand_raised_at"])
        return _append(acting.session, kind="hand_lowered", actor=participant, data={})


def floor_give(*, session_id, participant_id, to) -> SessionEvent:
    """Give the talking piece to `to` (a participant id), or take it back with None. The holder leaves the
    queue; with a time cap the turn ends `turn_seconds` from now."""
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_facilitator()
        acting.require_live()
        session = acting.session
        holder = None
        if to is not None:
            if isinstance(to, bool) or not isinstance(to, int):
                raise _invalid("participant", _("participant is a participant's id, or null."))
            holder = Participant.objects.filter(pk=to, session=session).first()
            if holder is None:
                raise _invalid("participant", _("No such participant in this session."))
            Participant.objects.filter(pk=holder.pk).update(hand_raised_at=None)
        now = timezone.now()
        session.floor = holder
        session.floor_until = now + timedelta(seconds=session.turn_seconds) if holder and session.turn_seconds else None
        session.save(update_fields=["floor", "floor_until"])
        data: dict[str, int | str | None] = {"participant": holder.pk if holder else None}
        if session.floor_until:
            data["until"] = session.floor_until.isoformat().replace("+00:00", "Z")
        return _append(session, kind="floor_given", actor=acting.participant, data=data, at=now)


def mode_set(*, session_id, participant_id, floor_only=None, priority_first=None, turn_seconds=...) -> SessionEvent:
    """The facilitator's settings: only the floor speaks; victims and women first in the queue; a time cap
    per turn (seconds, 10 to 3600, or null for none). Omitted settings stay as they are."""
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_facilitator()
        acting.require_live()
        session = acting.session
        data: dict[str, bool | int | None] = {}
        for name, value in (("floor_only", floor_only), ("priority_first", priority_first)):
            if value is not None:
                if not isinstance(value, bool):
                    raise _invalid(name, _("%(field)s is true or false.") % {"field": name})
                setattr(session, name, value)
                data[name] = value
        if turn_seconds is not ...:
            if turn_seconds is not None and (
                isinstance(turn_seconds, bool) or not isinstance(turn_seconds, int) or not 10 <= turn_seconds <= 3600
            ):
                raise _invalid("turn_seconds", _("turn_seconds is a number of seconds from 10 to 3600, or null."))
            session.turn_seconds = turn_seconds
            data["turn_seconds"] = turn_seconds
        if not data:
            raise _invalid("floor_only", _("Say which setting to change."))
        session.save(update_fields=["floor_only", "priority_first", "turn_seconds"])
        return _append(session, kind="mode_set", actor=acting.participant, data=data)


# --- The agenda ---------------------------------------------------------------------------------------------


def agenda_add(*, session_id, participant_id, title, client_id=None) -> SessionEvent:
    client_id = _client_id(client_id)
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_facilitator()
        if (earlier := _earlier(acting.session, acting.participant, client_id)) is not None:
            return earlier
        if acting.session.status == DialogueSession.Status.ENDED:
            raise SessionNotLive()
        title = _text(title, "title")[:200]
        position = AgendaItem.objects.filter(session=acting.session).count() + 1
        item = AgendaItem.objects.create(session=acting.session, position=position, title=title)
        return _append(acting.session, kind="agenda_added", actor=acting.participant,
                       data={"item": item.pk, "position": position, "title": title}, client_id=client_id)  # fmt: skip


def agenda_done(*, session_id, participant_id, item) -> SessionEvent:
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_facilitator()
        acting.require_live()
        found = AgendaItem.objects.filter(pk=item, session=acting.session).first() if isinstance(item, int) else None
        if found is None:
            raise _invalid("item", _("No such agenda item in this session."))
        if found.done_at is None:
            found.done_at = timezone.now()
            found.save(update_fields=["done_at"])
        return _append(acting.session, kind="agenda_done", actor=acting.participant, data={"item": found.pk})


# --- Proposals and consensus --------------------------------------------------------------------------------


def propose(
    *,
    session_id,
    participant_id,
    text,
    client_id=None,
    term_kind=None,
    carried_from=None,
    ask_review=False,
    ask_review_reason=None,
) -> SessionEvent:
    """A proposal for the agreement, checked against the prohibited practices exactly as a term through the
    API is (cases.services.term_check: refused, with the attempt on the case's timeline). With `ask_review`, a
    proposal the screening refuses is held for a legal reviewer instead (the refusal said it may be), and so is the
    term it becomes; `ask_review_reason`, the facilitator's why, goes with it to the reviewer (not to the room).
    `carried_from` ({"session", "proposal"}, given by carry only) says which room's proposal it repeats."""
    client_id = _client_id(client_id)
    term_kind = term_kind or Term.Kind.OTHER
    if term_kind not in Term.Kind.values:
        raise _invalid("term_kind", _("Not a kind of term."))
    if not isinstance(ask_review, bool):
        raise _invalid("ask_review", _("ask_review is true or false."))
    try:
        reason = case_services.review_reason(ask_review_reason)
    except SulhError as error:
        raise _invalid("ask_review_reason", error.detail) from None
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_facilitator()
        if (earlier := _earlier(acting.session, acting.participant, client_id)) is not None:
            return earlier
        acting.require_live()
        text = _text(text, "text")
        session = acting.session
    # Outside the session's transaction: a refusal must commit its timeline event before it is raised.
    verdict, refused = case_services.term_check(
        user=acting.participant.user, case_id=session.case_id, term_kind=term_kind, description=text,
        source={"session": session.pk}, ask_review=ask_review,
    )  # fmt: skip
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        if (earlier := _earlier(acting.session, acting.participant, client_id)) is not None:
            return earlier
        acting.require_live()
        now = timezone.now()
        proposal = Proposal.objects.create(
            session=acting.session, text=text, term_kind=term_kind, proposed_by=acting.participant, proposed_at=now,
            screening_refused=refused, review_reason=reason if refused else "",
        )  # fmt: skip
        return _append(acting.session, kind="proposed", actor=acting.participant, client_id=client_id, at=now,
                       data={"proposal": proposal.pk, "text": text, "term_kind": term_kind,
                             **(_held(verdict.practice, refused=refused) if verdict.verdict == "review" else {}),
                             **({"carried_from": carried_from} if carried_from else {})})  # fmt: skip


def _held(practice: str | None, *, refused: bool) -> dict:
    """What a proposal or its term held for a legal reviewer says in its event (the room marks it): the practice it
    may describe, and whether the screening had refused it and the facilitator asked for a reviewer."""
    return {"screening": {"verdict": "review", "practice": practice, **({"refused": True} if refused else {})}}


def respond(*, session_id, participant_id, proposal, stance) -> list[SessionEvent]:
    """A stance on an open proposal (changeable until it is decided). One block stops it; once everyone who
    takes part in consensus and is present (or has already answered) agrees or stands aside, it is accepted
    and becomes a draft agreement term. Returns the events: `responded`, and `proposal_decided` if it was."""
    if stance not in Response.Stance.values:
        raise _invalid("stance", _("stance is agree, stand_aside or block."))
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_live()
        session, participant = acting.session, acting.participant
        found = Proposal.objects.filter(pk=proposal, session=session).first() if isinstance(proposal, int) else None
        if found is None:
            raise _invalid("proposal", _("No such proposal in this session."))
        if found.status != Proposal.Status.OPEN:
            raise DomainRuleError(_("This proposal has already been decided."), code="proposal_decided")
        if not participant.votes:
            raise ForbiddenError(_("The facilitator and monitors do not take part in consensus checks."))
        now = timezone.now()
        Response.objects.update_or_create(
            proposal=found, participant=participant, defaults={"stance": stance, "at": now}
        )
        events = [_append(session, kind="responded", actor=participant, at=now,
                          data={"proposal": found.pk, "stance": stance})]  # fmt: skip
        outcome = _consensus(found)
        if outcome is not None:
            events.append(_decide(session, found, outcome, now=now))
        return events


def _consensus(proposal: Proposal) -> str | None:
    stances = dict(Response.objects.filter(proposal=proposal).values_list("participant_id", "stance"))
    if Response.Stance.BLOCK in stances.values():
        return Proposal.Status.BLOCKED
    voters = {
        p.pk for p in Participant.objects.filter(session=proposal.session_id, connections__gt=0) if p.votes
    } | set(stances)
    if stances and voters <= set(stances):
        return Proposal.Status.ACCEPTED
    return None


def _decide(session: DialogueSession, proposal: Proposal, outcome: str, *, now) -> SessionEvent:
    proposal.status, proposal.decided_at = outcome, now
    data = {"proposal": proposal.pk, "outcome": outcome}
    # What one side accepts in its caucus is not yet an agreement: the facilitator carries it to the other side or
    # to the joint room, where its acceptance makes the term. Nor does it go on the timeline (only that a caucus
    # was held does, without its content).
    caucus = session.joint_id is not None
    if caucus:
        data["caucus"] = True
    if outcome == Proposal.Status.ACCEPTED and not caucus:
        # A proposal refused and sent to a reviewer stays held as a term: it is not refused on its way into the draft.
        term: case_services.TermInput = {
            "kind": proposal.term_kind, "description": proposal.text, "ask_review": proposal.screening_refused,
            "ask_review_reason": proposal.review_reason,
        }  # fmt: skip
        try:
            _agreement, position = case_services.agreement_term_add(
                user=session.facilitator, case_id=session.case_id, term=term
            )
            proposal.term_position = position
            data["term_position"] = position
            held = _agreement.terms.filter(position=position, screening_verdict=Term.Screening.REVIEW).first()
            if held is not None:
                data.update(_held(held.screening_practice or None, refused=held.screening_refused))
        except SulhError as error:  # The agreement became final, or the case ended, since it was proposed.
            data["term_error"] = error.code
    proposal.save(update_fields=["status", "decided_at", "term_position"])
    counts = dict.fromkeys(Response.Stance.values, 0)
    for stance in Response.objects.filter(proposal=proposal).values_list("stance", flat=True):
        counts[stance] += 1
    data["stances"] = counts
    if not caucus:
        case_services.timeline_record(
            case_id=session.case_id,
            kind="proposal_decided",
            actor=session.facilitator,
            data={"session": session.pk, **data},
        )
    return _append(session, kind="proposal_decided", actor=None, data=data, at=now)


def screening_decided_announce(*, case_id: int, position: int, decision: str, practice: str | None) -> None:
    """A legal reviewer decided a held term of the case: every live session of the case tells its room
    (`screening_reviewed`, naming the proposal the term came from when it came from one of the session's)."""
    for session_id in DialogueSession.objects.filter(case_id=case_id, status=DialogueSession.Status.LIVE).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            session = _lock(session_id)
            if session.status != DialogueSession.Status.LIVE:
                continue
            data: dict = {"term_position": position, "decision": decision, "practice": practice}
            proposal = (
                Proposal.objects.filter(session=session, term_position=position, status=Proposal.Status.ACCEPTED)
                .order_by("-decided_at")
                .values_list("pk", flat=True)
                .first()
            )
            if proposal is not None:
                data["proposal"] = proposal
            _append(session, kind="screening_reviewed", actor=None, data=data)


# --- Invitations ---------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_create(
    *, user, session_id, display_name, role=Participant.Role.PARTY, priority=False, gender="", side=""
) -> tuple[Invitation, str]:
    """A one-time link for a party representative or an elder: (invitation, token). Only the hash is kept.
    `gender` is what the invited person says of themselves, or blank; it is counted only anonymously
    (women's participation in the regulator's patterns). `side` (first_party, second_party, or blank for a
    neutral guest) admits them to that side's caucuses."""
    if role not in (Participant.Role.PARTY, Participant.Role.ELDER):
        raise _invalid("role", _("Invite a party representative or an elder."))
    account_services.gender_checked(gender)
    side = _side(side, blank=True)
    display_name = _text(display_name, "name")[:120]
    with transaction.atomic():
        acting = _facilitating(user=user, session_id=session_id)
        if acting.session.status == DialogueSession.Status.ENDED:
            raise SessionNotLive()
        if acting.session.joint_id is not None:  # Guests come to the joint session; their side admits them here.
            raise NotAJointSession()
        token = secrets.token_urlsafe(24)
        now = timezone.now()
        invitation = Invitation.objects.create(
            session=acting.session, token_hash=_token_hash(token), display_name=display_name, role=role,
            priority=bool(priority), gender=gender, side=side, created_by=user, created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )  # fmt: skip
    return invitation, token


def invitation_redeem(*, token: str):
    """Admit the holder of a one-time link: a guest account that can attend that one session and nothing
    else, as its participant. Returns (user, session). A used, expired or unknown link is InvitationInvalid."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(token_hash=_token_hash(token or ""), used_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if invitation is None:
            raise InvitationInvalid()
        session = _lock(invitation.session_id)
        if session.status == DialogueSession.Status.ENDED:
            raise InvitationInvalid()
        guest = User(username=f"guest-{secrets.token_hex(8)}")
        guest.set_unusable_password()
        guest.save()
        participant = Participant.objects.create(
            session=session, user=guest, role=invitation.role, display_name=invitation.display_name,
            priority=invitation.priority, gender=invitation.gender, side=invitation.side,
        )  # fmt: skip
        invitation.used_at, invitation.participant = timezone.now(), participant
        invitation.save(update_fields=["used_at", "participant"])
    return guest, session


# --- Caucuses (shuttle mediation) ---------------------------------------------------------------------------------
# A caucus is a session of the same case whose `joint` is the joint session and whose `side` is one of the two
# sides: the facilitator, the forum's members and that side's guests meet there (rules.attends), with its own events
# and seq, so that everything section 5 of the contract guarantees holds in it as in any room. The joint room hears
# only that a caucus opened and closed; the case's timeline only that it was held (caucus_held: side, times, how many
# took part and in which roles; never names, never what was said). Locks are always taken joint first, then caucus.


class NotAJointSession(DomainRuleError):
    code = "not_a_joint_session"
    default_detail = gettext_lazy("Side rooms belong to a joint session; this is a side room itself.")


class CaucusAlreadyOpen(ConflictError):
    code = "caucus_already_open"
    default_detail = gettext_lazy("This side already has an open room; close it before opening another.")


def _side(value, *, blank: bool = False) -> str:
    if blank and value in (None, ""):
        return ""
    if not isinstance(value, str) or value not in Side.values:
        detail = _("side is first_party or second_party.")
        if blank:
            detail = _("side is first_party, second_party, or empty for no side.")
        raise _invalid("side", detail)
    return value


def _joint_of(session_id) -> int | None:
    """The joint session of a caucus (None for a joint session or an unknown id), read without a lock: a session
    never changes between joint and caucus."""
    try:
        return DialogueSession.objects.filter(pk=int(session_id)).values_list("joint_id", flat=True).first()
    except (TypeError, ValueError):
        return None


def _caucus_guest_arrives(caucus: DialogueSession, user, arriving: dict) -> Participant | None:
    """A guest of the joint session arriving in one of its caucuses (rules.attends admitted them): they are the
    same person there, under the name, role, side and self-declared details the facilitator's invitation gave.
    None for anyone else (the forum's people come as they would to any session)."""
    joined = Participant.objects.filter(session_id=caucus.joint_id, user=user, role__in=rules.GUEST_ROLES).first()
    if joined is None:
        return None
    return Participant.objects.create(
        session=caucus, user=user, role=joined.role, display_name=joined.display_name, priority=joined.priority,
        gender=joined.gender, side=joined.side, **arriving,
    )  # fmt: skip


def _caucus_open(acting: Acting, side) -> tuple[DialogueSession, SessionEvent]:
    """Open a caucus of the joint session `acting` holds locked: (caucus, the joint room's `caucus_opened`)."""
    acting.require_facilitator()
    joint = acting.session
    if joint.joint_id is not None:
        raise NotAJointSession()
    side = _side(side)
    acting.require_live()
    if joint.caucuses.filter(side=side).exclude(status=DialogueSession.Status.ENDED).exists():
        raise CaucusAlreadyOpen()
    now = timezone.now()
    caucus = DialogueSession.objects.create(
        case_id=joint.case_id, facilitator_id=joint.facilitator_id, joint=joint, side=side,
        status=DialogueSession.Status.LIVE, scheduled_for=now, started_at=now, priority_first=joint.priority_first,
    )  # fmt: skip
    chair = Participant.objects.create(
        session=caucus, user_id=joint.facilitator_id, role=Participant.Role.FACILITATOR,
        display_name=acting.participant.display_name, gender=acting.participant.gender,
    )  # fmt: skip
    _append(caucus, kind="started", actor=chair, data={"joint": joint.pk, "side": side}, at=now)
    event = _append(joint, kind="caucus_opened", actor=acting.participant, data={"caucus": caucus.pk, "side": side})
    return caucus, event


def caucus_open(*, user, session_id, side) -> DialogueSession:
    """Open a private side room of the live joint session `session_id` for one side (its facilitator): 422
    not_a_joint_session, session_not_live; 409 caucus_already_open while that side has one open."""
    with transaction.atomic():
        caucus, _event = _caucus_open(_facilitating(user=user, session_id=session_id), side)
    return caucus


def caucus_open_frame(*, session_id, participant_id, side) -> SessionEvent:
    """The `open_caucus` frame in the joint room: as caucus_open; returns the joint room's `caucus_opened`."""
    with transaction.atomic():
        _caucus, event = _caucus_open(_acting(session_id, participant_id), side)
    return event


def _caucus_end(joint: DialogueSession, caucus: DialogueSession, *, user, joint_actor: Participant | None):
    """End a live caucus; the caller holds both rows locked (joint first) and has checked who may. `ended` in the
    caucus, `caucus_closed` in the joint room (returned), `caucus_held` on the case's timeline, and the caucus's
    sockets recheck (its guests' access ends with it)."""
    now = timezone.now()
    caucus.status, caucus.ended_at = DialogueSession.Status.ENDED, now
    caucus.floor, caucus.floor_until = None, None
    caucus.save(update_fields=["status", "ended_at", "floor", "floor_until"])
    Participant.objects.filter(session=caucus).update(hand_raised_at=None)
    chair = Participant.objects.filter(session=caucus, user_id=caucus.facilitator_id).first()
    accepted = caucus.proposals.filter(status=Proposal.Status.ACCEPTED).count()
    _append(caucus, kind="ended", actor=chair, data={"accepted_proposals": accepted}, at=now)
    roles: dict[str, int] = {}
    for role in Participant.objects.filter(session=caucus, joined_at__isnull=False).values_list("role", flat=True):
        roles[role] = roles.get(role, 0) + 1
    case_services.timeline_record(
        case_id=caucus.case_id, kind="caucus_held", actor=user,
        data={
            "session": joint.pk, "caucus": caucus.pk, "side": caucus.side,
            "started": caucus.started_at.isoformat().replace("+00:00", "Z") if caucus.started_at else None,
            "ended": now.isoformat().replace("+00:00", "Z"), "participants": sum(roles.values()), "roles": roles,
        },
    )  # fmt: skip
    broadcast.sockets_recheck_in_group(group=group_name(caucus.pk))
    return _append(joint, kind="caucus_closed", actor=joint_actor, data={"caucus": caucus.pk, "side": caucus.side})


def caucus_close(*, user, caucus_id) -> DialogueSession:
    """Close a caucus (its facilitator; also `POST /api/sessions/{caucus}/end/`): 422 session_not_live once
    ended."""
    with transaction.atomic():
        joint_id = _joint_of(caucus_id)
        if joint_id is None:
            raise NotFoundError()
        joint = _lock(joint_id)
        acting = _facilitating(user=user, session_id=caucus_id)
        acting.require_live()
        joint_actor = Participant.objects.filter(session=joint, user=user).first()
        _caucus_end(joint, acting.session, user=user, joint_actor=joint_actor)
    return acting.session


def caucus_close_frame(*, session_id, participant_id, caucus) -> SessionEvent:
    """The `close_caucus` frame in the joint room: returns the joint room's `caucus_closed`."""
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_facilitator()
        if isinstance(caucus, bool) or not isinstance(caucus, int):
            raise _invalid("caucus", _("caucus is the id of a side room of this session."))
        found = DialogueSession.objects.select_for_update().filter(pk=caucus, joint=acting.session).first()
        if found is None:
            raise _invalid("caucus", _("No such side room of this session."))
        if found.status != DialogueSession.Status.LIVE:
            raise SessionNotLive(_("This side room has already been closed."))
        return _caucus_end(acting.session, found, user=acting.participant.user, joint_actor=acting.participant)


def carry(*, session_id, participant_id, proposal, to, client_id=None) -> SessionEvent:
    """The facilitator carries a proposal of this room to another room of the same joint session (the joint room or
    one of its caucuses): it is proposed there through `propose` (so it is screened as any proposal), its
    `proposed` event saying `carried_from` {"session", "proposal"}; this room gets `carried` {"proposal", "to",
    "to_proposal", "side"} (no words of the other room). A repeated client_id carries nothing twice: each room
    returns its first event."""
    client_id = _client_id(client_id)
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        acting.require_facilitator()
        if (earlier := _earlier(acting.session, acting.participant, client_id)) is not None:
            return earlier
        acting.require_live()
        source = acting.session
        found = Proposal.objects.filter(pk=proposal, session=source).first() if _is_id(proposal) else None
        if found is None:
            raise _invalid("proposal", _("No such proposal in this session."))
        joint_id = source.joint_id or source.pk
        target = (
            DialogueSession.objects.filter(Q(pk=joint_id) | Q(joint_id=joint_id), pk=to).exclude(pk=source.pk).first()
            if _is_id(to)
            else None
        )
        if target is None:
            raise _invalid("to", _("to is the joint session or another side room of it."))
        chair = Participant.objects.filter(session=target, user=acting.participant.user).first()
        if chair is None:  # The facilitator is a participant of every room of their joint session from its start.
            raise ForbiddenError()
        text, term_kind, ask_review = found.text, found.term_kind, found.screening_refused
    there = propose(
        session_id=target.pk, participant_id=chair.pk, text=text, client_id=client_id, term_kind=term_kind,
        carried_from={"session": source.pk, "proposal": found.pk}, ask_review=ask_review,
        ask_review_reason=found.review_reason,
    )  # fmt: skip
    with transaction.atomic():
        acting = _acting(session_id, participant_id)
        if (earlier := _earlier(acting.session, acting.participant, client_id)) is not None:
            return earlier
        acting.require_live()
        return _append(acting.session, kind="carried", actor=acting.participant, client_id=client_id,
                       data={"proposal": found.pk, "to": target.pk, "to_proposal": there.data["proposal"],
                             "side": target.side})  # fmt: skip


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
