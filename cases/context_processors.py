"""What every page's frame needs to know about the user, computed once per request."""

from config.errors import ForbiddenError

from . import selectors


def _waiting(user) -> int:
    try:
        return selectors.screening_reviews_for_user(user=user).order_by().count()
    except ForbiddenError:  # A role removed since the roles were read.
        return 0


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = selectors.user_roles(user=user)
    reviews = bool({"administrator", "legal_reviewer"} & set(roles))
    return {
        "nav_roles": roles,
        "nav_sees_cases": bool({"administrator", "facilitator", "monitor", "legal_reviewer"} & set(roles)),
        "nav_reviews": reviews,
        # How many held terms wait for this reviewer, beside the link: a part-time legal-aid lawyer sees at once
        # that a forum is waiting for them (nothing else tells them). Counted only when the frame shows it.
        "nav_reviews_waiting": (lambda: _waiting(user)) if reviews else 0,
        "nav_follows": bool({"facilitator", "monitor"} & set(roles)),
        "nav_reads_reports": bool({"administrator", "regulator"} & set(roles)),
        # A party or elder admitted by a one-time link (no roles, no password): home and account pages say
        # nothing to them, so their pages do not link there (deliberation: the room, its transcript).
        "nav_guest": not roles and not user.is_staff and not user.has_usable_password(),
    }
