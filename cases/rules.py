"""Who may do what, as django-rules predicates shared by the API, the pages and the consumers.

Object predicates take a Forum. A case outside the caller's forums must look like it does not exist
(404), so doors use the selectors to scope queries and these predicates to decide actions.
"""

import rules

from accounts.roles import ADMINISTRATOR, REGULATOR

from .models import Membership


@rules.predicate
def is_administrator(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or _in_group(user, ADMINISTRATOR)


@rules.predicate
def is_regulator(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return _in_group(user, REGULATOR)


def _in_group(user, name: str) -> bool:
    # Cached on the user object: a page asks several predicates of the same user.
    cache = getattr(user, "_sulh_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._sulh_groups = cache
    return name in cache


def _roles_in(user, forum) -> set[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active or forum is None:
        return set()
    cache = getattr(user, "_sulh_forum_roles", None)
    if cache is None:
        cache = {}
        for forum_id, role in Membership.objects.filter(user=user).values_list("forum_id", "role"):
            cache.setdefault(forum_id, set()).add(role)
        user._sulh_forum_roles = cache
    return cache.get(forum.pk, set())


# The roles that take part in a forum's work: its sessions, its follow-up. A legal reviewer only reads the forum's
# cases and decides held terms.
PARTICIPATING_ROLES = frozenset({Membership.Role.FACILITATOR, Membership.Role.MONITOR})


@rules.predicate
def is_forum_member(user, forum) -> bool:
    return bool(_roles_in(user, forum) & PARTICIPATING_ROLES)


@rules.predicate
def is_forum_legal_reviewer(user, forum) -> bool:
    return Membership.Role.LEGAL_REVIEWER in _roles_in(user, forum)


@rules.predicate
def is_forum_facilitator(user, forum) -> bool:
    return Membership.Role.FACILITATOR in _roles_in(user, forum)


@rules.predicate
def is_forum_monitor(user, forum) -> bool:
    return Membership.Role.MONITOR in _roles_in(user, forum)


can_view_forum = is_administrator | is_forum_member | is_forum_legal_reviewer
can_manage_forum_cases = is_administrator | is_forum_facilitator
# Compliance is the field's business: the forum's monitors and facilitators (shared/CONTRACT.md), not
# administrators, who configure forums but do not read agreements' follow-up. One rule for every door (the API,
# the case page, the monitors' pages, the admin): who records checks reads them, and the closing surveys with them.
can_read_compliance = is_forum_facilitator | is_forum_monitor
can_log_compliance = can_read_compliance
# Two checks of one term that disagree are settled by the forum's facilitator, who reads both; an administrator,
# who may not read the checks, may not mark them reviewed either.
can_review_conflicts = is_forum_facilitator
# Live sessions: scheduling, starting and ending them, and the printable transcript they share afterwards, are the
# forum's facilitators'. Administrators neither create nor attend sessions (deliberation.rules.attends).
can_facilitate_sessions = is_forum_facilitator
can_read_reports = is_administrator | is_regulator
# Held agreement terms are decided by administrators and the forum's legal reviewers (CONTRACT.md section 6).
can_review_screening = is_administrator | is_forum_legal_reviewer

rules.add_perm("cases.view_forum_detail", can_view_forum)
rules.add_perm("cases.manage_forum_cases", can_manage_forum_cases)
rules.add_perm("cases.log_compliance", can_log_compliance)
rules.add_perm("cases.read_compliance", can_read_compliance)
rules.add_perm("cases.review_conflicts", can_review_conflicts)
rules.add_perm("cases.facilitate_sessions", can_facilitate_sessions)
rules.add_perm("cases.read_reports", can_read_reports)
rules.add_perm("cases.review_screening", can_review_screening)
