"""Regions, forums, their ladders and memberships."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from ..ladders import DEFAULT_LADDER_NAME, DEFAULT_RUNGS
from ..models import (
    Forum,
    Ladder,
    Membership,
    Region,
    Rung,
)


@transaction.atomic
def ladder_default() -> Ladder:
    """The six-rung default ladder every forum starts with."""
    ladder, created = Ladder.objects.get_or_create(name=DEFAULT_LADDER_NAME)
    if created:
        Rung.objects.bulk_create(
            Rung(ladder=ladder, level=level, code=code, name=name, description=description)
            for level, code, name, description in DEFAULT_RUNGS
        )
    return ladder


def region_ensure(*, code: str, name: str, parent: Region | None = None) -> Region:
    kind = Region.Kind.DISTRICT if parent else Region.Kind.PROVINCE
    region, _created = Region.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "parent": parent})
    return region


def forum_ensure(
    *, name: str, kind: str, region: Region, ladder: Ladder | None = None, country: str = Forum.Country.PAKISTAN
) -> Forum:
    forum, _created = Forum.objects.get_or_create(
        name=name, defaults={"kind": kind, "region": region, "ladder": ladder or ladder_default(), "country": country}
    )
    return forum


def membership_grant(*, user: User, forum: Forum, role: str) -> Membership:
    membership, _created = Membership.objects.get_or_create(user=user, forum=forum, role=role)
    return membership
