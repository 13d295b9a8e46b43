"""An administrator runs forums, ladders and people from the Django admin without reading code."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/",
    "/admin/cases/forum/",
    "/admin/cases/forum/add/",
    "/admin/cases/region/",
    "/admin/cases/ladder/",
    "/admin/cases/membership/",
    "/admin/auth/user/",
    "/admin/auth/group/",
]


@pytest.mark.parametrize("page", PAGES)
def test_an_administrator_can_open_every_admin_page(client, world, page):
    assert not world.carol.is_superuser  # The role alone must be enough.
    client.force_login(world.carol)
    assert client.get(page).status_code == 200


def test_an_administrator_adds_a_member_to_a_forum(client, world):
    client.force_login(world.carol)
    response = client.post(
        "/admin/cases/membership/add/", {"user": world.eve.pk, "forum": world.jirga.pk, "role": "monitor"}
    )
    assert response.status_code == 302
    assert world.eve.memberships.filter(forum=world.jirga, role="monitor").exists()


@pytest.mark.parametrize("who", ["alice", "bob", "dave", "eve"])
def test_nobody_else_gets_into_the_admin(client, world, who):
    client.force_login(getattr(world, who))
    response = client.get("/admin/cases/forum/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
