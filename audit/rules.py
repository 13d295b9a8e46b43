"""Who may read the read log: administrators (the `administrator` role, or a superuser). The facilitators' view of
their own cases' readers is decided on the case page, by the cases app's rule, not here."""

from __future__ import annotations

from typing import Any

from accounts.roles import ADMINISTRATOR


def can_read_audit(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    # The same cache cases.rules keeps on the user object: a page asks several predicates of one user.
    groups = getattr(user, "_sulh_groups", None)
    if groups is None:
        groups = set(user.groups.values_list("name", flat=True))
        user._sulh_groups = groups
    return ADMINISTRATOR in groups
