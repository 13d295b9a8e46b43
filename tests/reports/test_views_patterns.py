"""The regulator's pattern report page: who may read it, what it shows (alerts, trend lines, a pyramid per
district), that its filters refuse bad values on the form, and that no count from 1 to 4 reaches the page
nor can be worked out from what it shows.

alice facilitates Swat Jirga and Irbid Sulha, bob monitors Swat Jirga, carol administers, dave
regulates, eve belongs to nothing, frank facilitates Elsewhere Committee.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from html.parser import HTMLParser

import pytest

from cases import services
from cases.models import LadderOpenCount, Region, Rung
from devdata import synthetic
from reports import disclosure, patterns, pyramid_report
from tests.factories import ForumFactory
from tests.reports.pattern_data import COUNTS, OPEN_CASES, fill_ladders, fill_month, make_districts

pytestmark = pytest.mark.django_db

PAGE = "/reports/patterns/"
HIDDEN = "—hidden"  # A hidden figure as a table cell reads: a dash, and "hidden" for screen readers.


@pytest.fixture
def districts(db) -> dict[str, Region]:
    return make_districts()


@pytest.fixture
def month(districts, world):
    """A regulator's month: the summary, the weeks and the pyramids (tests/reports/pattern_data.py)."""
    return fill_month(districts)


def page_of(client, user, params=None):
    client.force_login(user)
    return client.get(PAGE, params or {})


def chart_data(html: str) -> dict:
    match = re.search(r'<script id="pattern-chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries no chart data"
    return json.loads(match.group(1))


class Tables(HTMLParser):
    """Every table cell of a page, by table id: {table id: [[cell text, …], …]}, plus each td's attributes."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.count_cells: list[str] = []
        self.pyramid_counts: list[str] = []
        self._table = None
        self._cell = None
        self._is_count = False
        self._pyr_depth = 0  # Spans open inside a pyramid's count, itself included.

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id", f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
            self._is_count = tag == "td" and "data-count" in attrs
        elif tag == "span" and self._pyr_depth:
            self._pyr_depth += 1
        elif tag == "span" and "pyr-count" in (attrs.get("class") or ""):
            self._pyr_depth = 1
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            text = "".join(self._cell).strip()
            self.tables[self._table][-1].append(text)
            if self._is_count:
                self.count_cells.append(text)
            self._cell = None
        elif tag == "span" and self._pyr_depth:
            self._pyr_depth -= 1
            if not self._pyr_depth:
                self.pyramid_counts.append("".join(self._cell).strip())
                self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parsed(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


# --- Who may read it ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["dave", "carol"])
def test_regulators_and_administrators_see_alerts_trends_and_pyramids(client, world, month, who):
    response = page_of(client, getattr(world, who))
    assert response.status_code == 200
    html = response.content.decode()
    # The early warning, in plain words.
    assert (
        "Swat: breaches 9 this week, 125% above the 4-week average of 4.0; 125% above the 52-week average of 4.0."
        in html
    )
    assert 'data-region="swat" data-indicator="breaches"' in html
    # Bannu's 3 breaches are under five: no alert, and the count is not shown.
    assert 'data-region="bannu" data-indicator' not in html
    # The trend lines: one chart per group of indicators, the months of the summary in order.
    data = chart_data(html)
    assert [c["id"] for c in data["charts"]] == ["cases", "escalations", "harms", "compliance", "participation"]
    assert data["labels"] == [f"{name} 2026" for name in ("January", "February", "March", "April", "May", "June")]
    for chart in ("cases", "escalations", "harms", "compliance", "participation"):
        assert f'id="chart-{chart}"' in html
        assert f'id="trend-table-{chart}"' in html
    # A pyramid per district and one for all of them; Bannu's is inverted.
    for code in ("all", *OPEN_CASES):
        assert f'data-region="{code}"' in html
    assert 'class="district-pyramid inverted" data-region="bannu"' in html
    assert 'class="district-pyramid" data-region="swat"' in html
    assert "1 district has an inverted pyramid." in html
    # The scripts come from this server.
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert "/static/reports/patterns.js" in html


def test_the_charts_hold_the_apis_cells(client, world, month, as_user):
    params = {"from": "2026-02", "to": "2026-05", "region": "swat", "forum_kind": "jirga"}
    data = chart_data(page_of(client, world.dave, params).content.decode())
    cells = as_user(world.dave).get("/api/reports/patterns/", {**params, "group_by": "month"}).json()["cells"]
    assert len(data["labels"]) == len(cells) == 4
    series = {s["name"]: s["data"] for chart in data["charts"] for s in chart["series"]}
    for name in ("opened", "closed", "resolved", "escalations_up", "escalations_down", "breaches"):
        assert series[name] == [cell[name] for cell in cells], name
    rates = [None if c["compliance_rate"] is None else round(100 * c["compliance_rate"], 1) for c in cells]
    assert series["compliance_rate"] == rates
    # A hidden count is a gap in the line, never a number.
    assert any(value is None for values in series.values() for value in values)


def test_the_trend_tables_and_the_csv_have_the_same_rows(client, world, month):
    client.force_login(world.dave)
    html = client.get(PAGE, {"region": "bannu"}).content.decode()
    tables = parsed(html).tables
    rows = tables["trend-table-cases"][1:]  # Without the header.
    csv_url = re.search(r'id="export-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert csv_url == "/api/reports/patterns.csv?group_by=month&region=bannu"
    json_url = re.search(r'id="export-json" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert json_url == "/api/reports/patterns/?group_by=month&region=bannu"
    # The browser's session is enough for the exports.
    exported = list(csv.DictReader(io.StringIO(client.get(csv_url).getvalue().decode())))
    assert len(exported) == len(rows) == 6
    for row, line in zip(rows, exported, strict=True):
        opened = "" if row[1] == HIDDEN else row[1]
        assert opened == line["opened"]
    assert client.get(json_url).json()["cells"][0]["region"] == "bannu"


@pytest.mark.parametrize("who", ["alice", "bob", "eve", "frank"])
def test_everyone_else_is_refused(client, world, month, who):
    response = page_of(client, getattr(world, who))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Only regulators and administrators read these reports." in html
    assert "pattern-chart-data" not in html
    assert "Swat" not in html


def test_anonymous_visitors_are_sent_to_log_in(client, month):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/") or "login" in response["Location"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-13"}, "from", "Months are written YYYY-MM."),
        ({"to": "March"}, "to", "Months are written YYYY-MM."),
        ({"from": "2026-05", "to": "2026-01"}, "from", "The period starts after it ends."),
        ({"region": "atlantis"}, "region", "Select a valid choice."),
        ({"forum_kind": "court"}, "forum_kind", "Select a valid choice."),
        ({"dispute_type": "<script>"}, "dispute_type", "Select a valid choice."),
    ],
)
def test_bad_filters_are_shown_on_the_form(client, world, month, params, field, message):
    response = page_of(client, world.dave, params)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    # The message sits with its field, which keeps what was typed; no figures for another selection.
    field_html = re.search(rf'<div class="field has-error">\s*<label for="id_{field}">.*?</div>', html, re.S)
    assert field_html, html
    assert message in field_html.group(0)
    assert 'id="filter-error"' in html
    assert "pattern-chart-data" not in html
    assert "<script>" not in html.split("</head>", 1)[1].replace('<script id="', "")


# --- Disclosure control -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [{}, {"region": "swat"}, {"forum_kind": "muslahathi", "dispute_type": "killing"}, {"from": "2026-06"}]
)
def test_no_count_from_one_to_four_reaches_the_page(client, world, month, params):
    html = page_of(client, world.dave, params).content.decode()
    page = parsed(html)
    shown = [*page.count_cells, *page.pyramid_counts]
    assert page.count_cells
    assert page.pyramid_counts
    for table in page.tables.values():
        for row in table:
            for text in row:
                if re.fullmatch(r"\d+", text):
                    assert int(text) == 0 or int(text) >= 5, (text, row)
    for text in shown:
        assert text == HIDDEN or int(text) == 0 or int(text) >= 5, text
    counts = COUNTS + ("prohibited_blocked",)
    for chart in chart_data(html)["charts"]:
        for series in chart["series"]:
            if series["name"] in counts:
                assert all(v is None or v == 0 or v >= 5 for v in series["data"]), series
    # Each district's rungs: the fixture's 3, 2, 1 and 1 are hidden.
    assert "hidden" in html


def test_the_pyramids_hidden_counts_cannot_be_recovered(client, world, month):
    tables, hidden = pyramid_report.pyramid_tables()
    assert disclosure.recoverable(tables, hidden, pyramid_report.DIMENSIONS) == []
    # The small ones are hidden, and some larger ones with them (secondary suppression).
    small = {(code, level) for code, counts in OPEN_CASES.items() for level, n in counts.items() if n < 5}
    assert small <= hidden[("region", "level")]
    assert any(tables[("region", "level")][key] >= 5 for key in hidden[("region", "level")])
    # What the page shows is exactly the published cells: a hidden one is drawn hatched, without a number.
    for params in ({}, {"region": "swat"}):
        html = page_of(client, world.dave, params).content.decode()
        for code in ["swat"] if params else list(OPEN_CASES):
            block = re.search(rf'data-region="{code}" aria-labelledby.*?</article>', html, re.S).group(0)
            for level in range(1, 7):
                row = re.search(rf'<li class="pyr-row( is-hidden)?" data-level="{level}">.*?</li>', block, re.S)
                count = re.search(r'<span class="pyr-count">(.*?)</span>\s*</li>', row.group(0), re.S).group(1)
                if (code, level) in hidden[("region", "level")]:
                    assert row.group(1) == " is-hidden"
                    assert re.sub(r"<[^>]+>", "", count).strip() == HIDDEN
                else:
                    assert row.group(1) is None
                    assert count.strip() == str(tables[("region", "level")].get((code, level), 0))
    # The district filter picks cells of the same protected lattice: Swat's row is the same either way.
    whole = parsed(page_of(client, world.dave).content.decode()).tables["pyramid-table"]
    swat = parsed(page_of(client, world.dave, {"region": "swat"}).content.decode()).tables["pyramid-table"]
    assert [row for row in whole if row[0] == "Swat"] == [row for row in swat if row[0] == "Swat"]


def test_the_pyramids_follow_the_forum_kind_chosen(client, world, month, districts):
    """Swat has a Muslahathi committee besides its jirga: chosen, its pyramid is the committee's alone, and
    the cells of every grouping of district, forum kind and rung are protected together."""
    ladder = services.ladder_default()
    committee = ForumFactory(name="Swat committee", kind="muslahathi", region=districts["swat"], ladder=ladder)
    for level, n in {1: 9, 2: 6, 3: 2}.items():
        LadderOpenCount.objects.create(forum=committee, rung=Rung.objects.get(ladder=ladder, level=level), open_cases=n)
    tables, hidden = pyramid_report.pyramid_tables()
    assert disclosure.recoverable(tables, hidden, pyramid_report.DIMENSIONS) == []

    shapes = pyramid_report.pyramid_shapes(user=world.dave, forum_kind="muslahathi")
    assert [d["region"] for d in shapes["districts"]] == ["swat"]
    swat = {r["level"]: r["open_cases"] for r in shapes["districts"][0]["rungs"]}
    assert swat[3] is None  # 2 open cases; what else is hidden with it is the audit's business above.
    assert all(value in (None, {1: 9, 2: 6}.get(level, 0)) for level, value in swat.items())
    assert any(swat.values())  # Not all of it hidden.
    jirgas = pyramid_report.pyramid_shapes(user=world.dave, forum_kind="jirga")
    assert {d["region"] for d in jirgas["districts"]} == set(OPEN_CASES)
    assert next(d for d in jirgas["districts"] if d["region"] == "swat")["rungs"][0]["open_cases"] == 20

    html = page_of(client, world.dave, {"forum_kind": "muslahathi"}).content.decode()
    assert 'data-region="swat"' in html
    assert 'data-region="bannu"' not in html


def test_an_inverted_flag_says_nothing_about_hidden_counts(world, districts):
    """Where the base is hidden the shape is not told: "inverted" would bound the hidden count."""
    fill_ladders(districts)
    shapes = pyramid_report.pyramid_shapes(user=world.dave)
    dir_shape = next(d for d in shapes["districts"] if d["region"] == "dir")
    assert dir_shape["rungs"][0]["hidden"] is True
    assert dir_shape["inverted"] is None
    bannu = next(d for d in shapes["districts"] if d["region"] == "bannu")
    assert bannu["inverted"] is True


# --- Cost, and the way in ------------------------------------------------------------------------------


def test_the_page_costs_a_bounded_number_of_queries(client, world, month, districts, django_assert_max_num_queries):
    client.force_login(world.dave)
    client.get(PAGE)  # Warm the session and the content types.
    with django_assert_max_num_queries(15):
        assert client.get(PAGE).status_code == 200
    # More forums and districts cost no more queries.
    province = Region.objects.get(code="kp")
    for n in range(10):
        region = Region.objects.create(name=f"Extra {n}", code=f"extra-{n}", kind="district", parent=province)
        forum = ForumFactory(region=region)
        LadderOpenCount.objects.create(forum=forum, rung=Rung.objects.get(ladder=forum.ladder, level=1), open_cases=7)
    with django_assert_max_num_queries(15):
        assert client.get(PAGE, {"from": "2026-03"}).status_code == 200


def test_the_home_page_links_regulators_and_administrators_to_the_report(client, world):
    client.force_login(world.dave)
    assert 'id="regulator-patterns"' in client.get("/").content.decode()
    client.force_login(world.carol)
    assert 'id="administrator-patterns"' in client.get("/").content.decode()
    client.force_login(world.alice)
    assert 'href="/reports/patterns/"' not in client.get("/").content.decode()


def test_an_empty_summary_is_said_not_drawn(client, world):
    html = page_of(client, world.dave).content.decode()
    assert 'id="no-trends"' in html
    assert "The summary has not been computed yet." in html
    assert 'id="no-alerts"' in html


# --- On generated data, summarised by reports.patterns -------------------------------------------------


@pytest.mark.slow
def test_a_generated_year_reads_without_small_counts(client, world):
    """Synthetic cases summarised by the real task code: the page draws them, and still shows no count from
    1 to 4 in its tables, its pyramids or its charts, and no pyramid count can be subtracted out."""
    synthetic.generate(cases=400, seed=5, until=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), writers=1)
    patterns.summarise(safety_lag=0)
    html = page_of(client, world.dave).content.decode()
    page = parsed(html)
    assert len(page.tables["trend-table-cases"]) > 2
    for text in [*page.count_cells, *page.pyramid_counts]:
        assert text == HIDDEN or int(text.replace(",", "")) == 0 or int(text.replace(",", "")) >= 5, text
    for chart in chart_data(html)["charts"]:
        for series in chart["series"]:
            if series["name"] != "compliance_rate":
                assert all(v is None or v == 0 or v >= 5 for v in series["data"]), series
    tables, hidden = pyramid_report.pyramid_tables()
    assert sum(tables[()].values()) > 0
    assert disclosure.recoverable(tables, hidden, pyramid_report.DIMENSIONS) == []
