"""Who may do what with a live session, for every door (the websocket handshake and its rechecks, the API, the
pages, the admin, the services). Decided from the rights as they are now, never from a past participant row."""

from cases import rules as case_rules

from .models import DialogueSession, Participant

GUEST_ROLES = (Participant.Role.PARTY, Participant.Role.ELDER)


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def attends(user, session: DialogueSession) -> bool:
    """Sessions are confidential to their attendees: the facilitators and monitors of the case's forum (by their
    membership as it is now), and invited guests while the session has not ended. Nobody else, administrators
    included. A guest's access ends with the session; the facilitator shares the transcript deliberately
    (may_print_transcript).

    A caucus (a side room of a joint session) admits the forum's members as the joint session does, and of the
    guests only those of the joint session whose side is the caucus's, while both are open: never a guest of the
    other side, whatever door they try (handshake, reconnect, resume, transcript, API, admin)."""
    if not _active(user):
        return False
    if case_rules.is_forum_member(user, session.case.forum):
        return True
    if session.status == DialogueSession.Status.ENDED:
        return False
    if session.joint_id is not None:
        return Participant.objects.filter(
            session_id=session.joint_id, session__status=DialogueSession.Status.LIVE, user=user, role__in=GUEST_ROLES,
            side=session.side,
        ).exists()  # fmt: skip
    return Participant.objects.filter(session=session, user=user, role__in=GUEST_ROLES).exists()


def may_schedule(user, forum) -> bool:
    """Scheduling a session (and so facilitating it) is for the forum's facilitators, not administrators."""
    return _active(user) and bool(case_rules.can_facilitate_sessions(user, forum))


def may_facilitate(user, session: DialogueSession) -> bool:
    """Runs the session (starts and ends it, invites, gives the floor, proposes): its facilitator, while they are
    still a facilitator of the case's forum. A participant row from before a demotion grants nothing."""
    return session.facilitator_id == getattr(user, "pk", None) and may_schedule(user, session.case.forum)


def may_print_transcript(user, session: DialogueSession) -> bool:
    """The printable transcript, to hand to the parties on paper: the forum's facilitators, at any time."""
    return _active(user) and bool(case_rules.can_facilitate_sessions(user, session.case.forum))
