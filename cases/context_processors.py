"""What every page's frame needs to know about the user, computed once per request."""

from . import selectors


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = selectors.user_roles(user=user)
    return {
        "nav_roles": roles,
        "nav_sees_cases": bool({"administrator", "facilitator", "monitor", "legal_reviewer"} & set(roles)),
        "nav_reviews": bool({"administrator", "legal_reviewer"} & set(roles)),
        "nav_follows": bool({"facilitator", "monitor"} & set(roles)),
        "nav_reads_reports": bool({"administrator", "regulator"} & set(roles)),
        # A party or elder admitted by a one-time link (no roles, no password): home and account pages say
        # nothing to them, so their pages do not link there (deliberation: the room, its transcript).
        "nav_guest": not roles and not user.is_staff and not user.has_usable_password(),
    }
