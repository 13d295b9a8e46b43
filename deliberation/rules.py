"""Who may attend a session, for every door (the websocket handshake, the API, the pages, the services)."""

from cases import rules as case_rules

from .models import DialogueSession, Participant


def attends(user, session: DialogueSession) -> bool:
    """Sessions are confidential to their attendees: the session's participants (its facilitator, invited
    guests) and the facilitators and monitors of the case's forum. Nobody else, administrators included."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if Participant.objects.filter(session=session, user=user).exists():
        return True
    return case_rules.is_forum_member(user, session.case.forum)
