"""A list costs the same number of queries at 10 cases as at 1,000."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services
from cases.models import Case

pytestmark = pytest.mark.django_db


def add_cases(forum, n: int, start: int = 0) -> None:
    base = services.ladder_default().rungs.get(level=1)
    now = timezone.now()
    Case.objects.bulk_create(
        Case(
            reference=f"TST-{forum.pk}-{start + i:06d}",
            forum=forum,
            kind=forum.kind,
            title=f"Case {start + i}",
            dispute_type="land",
            risk_level="low",
            offence_class="civil",
            rung=base,
            opened_at=now,
        )
        for i in range(n)
    )


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_the_case_list_costs_constant_queries(as_user, world, who):
    client = as_user(getattr(world, who))
    add_cases(world.jirga, 10)
    client.get("/api/cases/?page_size=200")  # Warm caches that are not per request (content types…).
    with CaptureQueriesContext(connection) as small:
        assert client.get("/api/cases/?page_size=200").json()["count"] == 10
    add_cases(world.jirga, 990, start=10)
    with CaptureQueriesContext(connection) as large:
        body = client.get("/api/cases/?page_size=200").json()
    assert body["count"] == 1000
    assert len(body["results"]) == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(large.captured_queries) <= 8
