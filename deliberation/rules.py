"""Who may attend a session, for every door (the websocket handshake, the API, the pages, the services)."""

from cases import rules as case_rules

from .models import DialogueSession, Participant


def attends(user, session: DialogueSession) -> bool:
    """Sessions are confidential to their attendees: the session's participants (its facilitator, invited
    guests) and the facilitators and monitors of the case's forum. Nobody else, administrators included."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    # Invited guests attend by their participant row. Forum members attend by their membership as it is now: a
    # participant row from an earlier visit grants nothing once the membership is gone.
    guest_roles = (Participant.Role.PARTY, Participant.Role.ELDER)
    if Participant.objects.filter(session=session, user=user, role__in=guest_roles).exists():
        return True
    return bool(case_rules.is_forum_member(user, session.case.forum))
