import pytest

pytestmark = pytest.mark.django_db


def names(response) -> set[str]:
    return {forum["name"] for forum in response.json()}


def test_a_facilitator_sees_their_forums_only(as_user, world):
    response = as_user(world.alice).get("/api/forums/")
    assert response.status_code == 200
    assert names(response) == {"Swat Jirga", "Irbid Sulha"}


def test_each_forum_carries_its_kind_region_and_ladder(as_user, world):
    forum = next(f for f in as_user(world.bob).get("/api/forums/").json() if f["name"] == "Swat Jirga")
    assert forum["kind"] == "jirga"
    assert forum["region"]["kind"] == "district"
    assert forum["region"]["province"]
    assert [r["code"] for r in forum["ladder"]["rungs"]] == [
        "dialogue",
        "mediation",
        "decision",
        "guarantees",
        "police",
        "court",
    ]
    assert forum["ladder"]["rungs"][0]["level"] == 1
    assert forum["roles"] == ["monitor"]


def test_the_outsider_sees_no_forum(as_user, world):
    assert as_user(world.eve).get("/api/forums/").json() == []


def test_a_regulator_sees_no_forum(as_user, world):
    # Regulators read aggregated reports only, never a forum's cases.
    assert as_user(world.dave).get("/api/forums/").json() == []


def test_an_administrator_sees_every_forum(as_user, world):
    assert names(as_user(world.carol).get("/api/forums/")) == {"Swat Jirga", "Irbid Sulha", "Elsewhere Committee"}


def test_a_removed_member_loses_the_forum(as_user, world):
    world.bob.memberships.all().delete()
    assert as_user(world.bob).get("/api/forums/").json() == []


def test_the_list_costs_the_same_queries_for_many_forums(as_user, world, django_assert_max_num_queries):
    from cases import services
    from cases.models import Membership
    from tests.factories import ForumFactory

    client = as_user(world.alice)
    for _ in range(20):
        services.membership_grant(user=world.alice, forum=ForumFactory(), role=Membership.Role.FACILITATOR)
    with django_assert_max_num_queries(8):
        response = client.get("/api/forums/")
    assert len(response.json()) == 22
