"""The role predicates as a matrix: who is what, in which forum."""

import pytest

from cases import rules

pytestmark = pytest.mark.django_db

MATRIX = [
    # user, forum attr, member, facilitator, monitor, administrator, regulator
    ("alice", "jirga", True, True, False, False, False),
    ("alice", "other", False, False, False, False, False),
    ("bob", "jirga", True, False, True, False, False),
    ("bob", "sulha", False, False, False, False, False),
    ("carol", "jirga", False, False, False, True, False),
    ("dave", "jirga", False, False, False, False, True),
    ("eve", "jirga", False, False, False, False, False),
]


@pytest.mark.parametrize(("who", "where", "member", "facilitator", "monitor", "admin", "regulator"), MATRIX)
def test_role_matrix(world, who, where, member, facilitator, monitor, admin, regulator):
    user, forum = getattr(world, who), getattr(world, where)
    assert rules.is_forum_member(user, forum) is member
    assert rules.is_forum_facilitator(user, forum) is facilitator
    assert rules.is_forum_monitor(user, forum) is monitor
    assert rules.is_administrator(user) is admin
    assert rules.is_regulator(user) is regulator
    assert user.has_perm("cases.view_forum_detail", forum) is (member or admin)
    assert user.has_perm("cases.manage_forum_cases", forum) is (facilitator or admin)
    assert user.has_perm("cases.read_reports") is (admin or regulator)


def test_a_deactivated_administrator_is_nothing(world):
    world.carol.is_active = False
    assert not rules.is_administrator(world.carol)


def test_anonymous_is_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    anonymous = AnonymousUser()
    assert not rules.can_view_forum(anonymous, world.jirga)
    assert not rules.can_read_reports(anonymous)
