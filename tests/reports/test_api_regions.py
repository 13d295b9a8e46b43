"""Regions are chosen from the known ones (issue 18, item 5): an unknown code in the reports' API is a 400 that
lists the known codes, not a page of zeros; the statistics page offers the regions as a list."""

from __future__ import annotations

import pytest

from tests.reports import pattern_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def districts(db):
    return pattern_data.make_districts()


@pytest.mark.parametrize("path", ["/api/reports/patterns/", "/api/reports/patterns.csv", "/api/reports/warnings/"])
def test_an_unknown_district_is_refused_with_the_known_ones(world, as_user, districts, path):
    response = as_user(world.dave).get(path, {"region": "swta"})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "unknown_region"
    assert "“swta”" in error["detail"]
    for code, region in districts.items():
        assert f"{code} ({region.name})" in error["detail"]
    assert error["fields"] == {"region": [error["detail"]]}


def test_a_known_district_is_answered(world, as_user, districts):
    response = as_user(world.dave).get("/api/reports/patterns/", {"region": "swat"})
    assert response.status_code == 200, response.content


def test_the_escalation_statistics_take_a_province_or_a_district_and_refuse_the_rest(world, as_user):
    client = as_user(world.alice)
    district = world.jirga.region
    for code in (district.code, district.parent.code):
        assert client.get("/api/reports/escalations/", {"region": code}).status_code == 200
    response = client.get("/api/reports/escalations/", {"region": "nowhere"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_region"
    assert f"{district.parent.code} ({district.parent.name})" in error["detail"]
    assert f"{district.code} ({district.name})" in error["detail"]


def test_the_statistics_page_offers_the_regions_as_a_list(world, client):
    client.force_login(world.alice)
    page = client.get("/reports/escalations/").content.decode()
    district = world.jirga.region
    assert '<select name="region"' in page
    assert f'<option value="{district.code}">{district.name}</option>' in page
    assert f'<option value="{district.parent.code}">{district.parent.name}</option>' in page
    assert "Region code" not in page
    refused = client.get("/reports/escalations/", {"region": "swta"})
    assert refused.status_code in (200, 400)
    assert "Select a valid choice." in refused.content.decode()
