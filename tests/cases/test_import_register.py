"""`manage.py import_register` and `export_register` (CONTRACT.md section 2): a forum's paper register in and out."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation
from django.utils.translation import gettext
from openpyxl import Workbook

from cases import services
from cases.models import Case, CaseEvent, LadderOpenCount, PatternMonth
from tests.cases.conftest import new_case_body
from tests.factories import ForumFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "register_no", "opened", "title", "dispute_type", "offence_class", "first_party", "second_party", "state",
    "outcome", "closed",
]  # fmt: skip
GOOD = [
    ["R-1", "2019-03-04", "Water channel between two families", "water", "civil", "Khan family", "Yousaf family",
     "closed", "resolved", "2019-06-20"],
    ["R-2", "2020-01-15", "Boundary wall", "land", "compoundable", "Afridi family", "Shinwari family", "hearings",
     "", ""],
    ["R-3", "2020-02-01", "A killing at the market", "killing", "non_compoundable", "Gul family", "Zaman family",
     "referred", "", "2020-02-03"],
    ["R-4", "2021-07-09", "Unpaid debt", "debt", "civil", "Rahim", "Karim", "intake", "", ""],
]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, *, bom: bool = False) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig" if bom else "utf-8")
    return path


def run(*args: object) -> list[str]:
    out = io.StringIO()
    call_command("import_register", *[str(a) for a in args], stdout=out)
    return out.getvalue().splitlines()


def summary(case: Case) -> tuple:
    parties = sorted((cp.role, cp.party.name, cp.party.kind) for cp in case.case_parties.select_related("party"))
    return (
        case.register_no, case.opened_at.date(), case.closed_at.date() if case.closed_at else None, case.title,
        case.dispute_type, case.offence_class, case.risk_level, case.state, case.outcome, tuple(parties),
    )  # fmt: skip


def test_it_imports_a_csv_register_with_its_real_dates(world, tmp_path):
    path = write_csv(tmp_path / "register.csv", GOOD)

    lines = run(path, "--forum", world.jirga.pk)

    assert lines[-1] == "4 imported, 0 already there, 0 rejected"
    closed = Case.objects.get(forum=world.jirga, register_no="R-1")
    assert (closed.state, closed.outcome) == ("closed", "resolved")
    assert closed.opened_at.date() == date(2019, 3, 4)
    assert closed.closed_at.date() == date(2019, 6, 20)
    assert closed.reference.startswith("JIR-2019-")
    assert sorted((cp.role, cp.party.name) for cp in closed.case_parties.all()) == [
        ("first_party", "Khan family"),
        ("second_party", "Yousaf family"),
    ]
    events = list(CaseEvent.objects.filter(case=closed).order_by("seq"))
    assert [(e.kind, e.at.date()) for e in events] == [
        ("opened", date(2019, 3, 4)),
        ("transitioned", date(2019, 6, 20)),
    ]
    assert all(e.data["imported"] is True and e.data["register_no"] == "R-1" for e in events)
    assert events[1].data["to"] == "closed"
    assert events[1].data["outcome"] == "resolved"
    referred = Case.objects.get(register_no="R-3")
    assert (referred.state, referred.outcome, referred.closed_at.date()) == ("referred", "referred", date(2020, 2, 3))
    still_open = Case.objects.get(register_no="R-2")
    assert (still_open.state, still_open.outcome, still_open.closed_at) == ("hearings", "", None)
    assert [e.kind for e in still_open.events.order_by("seq")] == ["opened", "transitioned"]
    assert Case.objects.get(register_no="R-4").events.count() == 1
    # The two open cases stand at the base of the ladder in the pyramid's counts.
    assert sum(LadderOpenCount.objects.filter(forum=world.jirga).values_list("open_cases", flat=True)) == 2


def test_the_imported_case_page_shows_it(client, world, tmp_path):
    run(write_csv(tmp_path / "register.csv", GOOD), "--forum", world.jirga.pk)
    case = Case.objects.get(register_no="R-1")
    client.force_login(world.alice)

    html = client.get(f"/cases/{case.pk}/").content.decode()

    assert "Water channel between two families" in html
    assert "R-1" in html
    assert "Moved from Intake to Closed." in html
    assert "From the paper register (number R-1)." in html


def test_a_second_import_adds_nothing(world, tmp_path):
    path = write_csv(tmp_path / "register.csv", GOOD)
    run(path, "--forum", world.jirga.pk)
    events = CaseEvent.objects.count()

    lines = run(path, "--forum", world.jirga.pk)

    assert lines[-1] == "0 imported, 4 already there, 0 rejected"
    assert Case.objects.count() == 4
    assert CaseEvent.objects.count() == events


def test_the_same_numbers_go_into_another_forum(world, tmp_path):
    path = write_csv(tmp_path / "register.csv", GOOD)
    run(path, "--forum", world.jirga.pk)
    other_jirga = ForumFactory(name="Bajaur Jirga", kind="jirga")

    assert run(path, "--forum", other_jirga.pk)[-1] == "4 imported, 0 already there, 0 rejected"


BAD = [
    ["B-1", (timezone.localdate() + timedelta(days=3)).isoformat(), "From the future", "land", "civil", "A", "B", "intake",
     "", ""],
    ["B-2", "2020-01-01", "Bad type", "goats", "civil", "A", "B", "intake", "", ""],
    ["B-3", "2020-01-01", "Closed without outcome", "land", "civil", "A", "B", "closed", "", "2020-02-01"],
    ["B-4", "2020-01-01", "Open with a closing date", "land", "civil", "A", "B", "hearings", "", "2020-02-01"],
    ["B-5", "2020-01-01", "Not compoundable in hearings", "injury", "non_compoundable", "A", "B", "hearings", "", ""],
    ["R-1", "2020-01-01", "Second R-1", "land", "civil", "A", "B", "intake", "", ""],
    ["B-7", "2020-01-01", "", "land", "civil", "A", "", "intake", "", ""],
    ["B-8", "2020-01-01", "x" * 201, "land", "civil", "A", "B", "intake", "", ""],
    ["B-9", "2020-05-01", "Closed before opened", "land", "civil", "A", "B", "withdrawn", "", "2020-04-01"],
    ["B-10", "01/02/2020", "Not a date", "land", "civil", "A", "B", "jaha_appointed", "", ""],
    ["B-11", "2020-01-01", "Ended without a date", "land", "civil", "A", "B", "withdrawn", "", ""],
]  # fmt: skip


def test_a_dry_run_writes_nothing_and_lists_each_bad_row(world, tmp_path):
    path = write_csv(tmp_path / "register.csv", GOOD + BAD)

    lines = run(path, "--forum", world.jirga.pk, "--dry-run")

    assert Case.objects.count() == 0
    assert CaseEvent.objects.count() == 0
    text = "\n".join(lines)
    expected = {
        6: "opened: ",  # The future.
        7: "dispute_type: “goats” is not one of",
        8: "outcome: a closed case needs one of: resolved, partly_resolved, breakdown.",
        9: "closed: a case still open (hearings) has no closing date",
        10: "non-compoundable offence can only be in intake, withdrawn or referred",
        11: "Register number R-1 is also on line 2",
        12: "title is empty",
        13: "title has 201 characters; at most 200",
        14: "closed: 2020-04-01 is before the case was opened (2020-05-01)",
        15: "state: “jaha_appointed” is not one of",  # A sulha's state, in a jirga.
        16: "closed: an ended case needs the date it ended",
    }
    for line, reason in expected.items():
        assert any(row.startswith(f"Line {line}: ") and reason in row for row in lines), (line, text)
    assert "Line 12: second_party is empty." in lines
    assert "Line 10: opened" not in text  # B-10's date is fine; its problem is its state.
    assert "is in the future" in text
    assert "Dry run, nothing written: 4 rows would be imported." in lines
    assert lines[-1] == "0 imported, 0 already there, 11 rejected"


def test_the_import_takes_the_good_rows_and_counts_the_bad(world, tmp_path):
    path = write_csv(tmp_path / "register.csv", GOOD + BAD)

    lines = run(path, "--forum", world.jirga.pk)

    assert lines[-1] == "4 imported, 0 already there, 11 rejected"
    assert sorted(Case.objects.values_list("register_no", flat=True)) == ["R-1", "R-2", "R-3", "R-4"]
    assert sum(1 for line in lines if line.startswith("Line ")) >= 11


def test_the_problems_take_the_language_asked_for_and_the_last_line_stays(world, tmp_path):
    path = write_csv(tmp_path / "register.csv", GOOD + BAD[:1])

    lines = run(path, "--forum", world.jirga.pk, "--language", "ur")

    # The problem in Urdu, with its line number; the last line stays as the contract writes it.
    with translation.override("ur"):
        expected = gettext("Line %(line)s: %(problem)s") % {"line": 6, "problem": ""}
    assert expected != "Line 6: "  # The catalogue has the sentence.
    assert lines[0].startswith(expected)
    assert lines[-1] == "4 imported, 0 already there, 1 rejected"


def test_a_missing_column_is_one_error_before_any_row(world, tmp_path):
    header = [h for h in HEADER if h != "offence_class"]
    path = write_csv(tmp_path / "register.csv", [row[:4] + row[5:] for row in GOOD], header)

    with pytest.raises(CommandError, match="lacks these columns: offence_class"):
        run(path, "--forum", world.jirga.pk)
    assert Case.objects.count() == 0


def test_it_reads_headers_in_any_case_and_a_byte_order_mark(world, tmp_path):
    header = ["Register No", " Opened", "TITLE", "Dispute Type", "offence-class", "First Party", "second party",
              "State ", "Outcome", "Closed"]  # fmt: skip
    path = write_csv(tmp_path / "register.csv", GOOD, header, bom=True)

    assert run(path, "--forum", world.jirga.pk)[-1] == "4 imported, 0 already there, 0 rejected"


def test_a_file_that_is_not_utf8_is_refused(world, tmp_path):
    path = tmp_path / "register.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\nR-1,2020-01-01,Caf\xe9,land\n")

    with pytest.raises(CommandError, match="UTF-8"):
        run(path, "--forum", world.jirga.pk)


def test_it_imports_an_xlsx_register_with_date_cells(world, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER + ["risk_level", "victim"])
    sheet.append([1001, date(2018, 11, 2), "Orchard boundary", "land", "civil", "Khan family", "Said family",
                  "closed", "partly_resolved", date(2019, 1, 5), "high", "Bibi Amina"])  # fmt: skip
    sheet.append([1002, "2019-02-02", "Stolen goats", "theft", "compoundable", "Wali", "Jan", "decision", None, None,
                  None, None])  # fmt: skip
    sheet.append([1003, "2019-02-31", "", "theft", "civil", "Wali", "Jan", "intake", None, None, None, None])
    path = tmp_path / "register.xlsx"
    workbook.save(path)

    lines = run(path, "--forum", world.jirga.pk)

    assert lines[-1] == "2 imported, 0 already there, 1 rejected"
    assert any(line.startswith("Line 4: opened: “2019-02-31” is not a date") for line in lines), lines
    case = Case.objects.get(register_no="1001")
    assert (case.opened_at.date(), case.closed_at.date(), case.outcome) == (
        date(2018, 11, 2),
        date(2019, 1, 5),
        "partly_resolved",
    )
    assert case.risk_level == "high"
    assert ("victim", "Bibi Amina") in {(cp.role, cp.party.name) for cp in case.case_parties.all()}
    assert Case.objects.get(register_no="1002").state == "decision"


def test_imported_years_enter_the_regulators_patterns(world, tmp_path, settings):
    settings.PATTERNS_WRITERS_WAIT = 0  # Other test processes' open transactions are not ours to wait for.
    run(write_csv(tmp_path / "register.csv", GOOD), "--forum", world.jirga.pk)

    call_command("summarise_patterns", "--full", verbosity=0, stdout=io.StringIO())

    cells = PatternMonth.objects.filter(region=world.jirga.region)
    assert cells.get(month=date(2019, 3, 1), dispute_type="water").opened == 1
    assert cells.get(month=date(2019, 6, 1), dispute_type="water").closed == 1
    assert cells.get(month=date(2019, 6, 1), dispute_type="water").resolved == 1
    assert cells.get(month=date(2020, 2, 1), dispute_type="killing").referred == 1
    assert cells.get(month=date(2020, 1, 1), dispute_type="land").opened == 1
    assert {cell.month.year for cell in cells} == {2019, 2020, 2021}


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_export_imported_into_another_forum_gives_the_same_cases(world, tmp_path, suffix):
    rows = [*GOOD, ["R-5", "2021-01-02", "=SUM(A1) is only text", "family", "civil", "A; B", "C", "closed",
                    "breakdown", "2021-03-04"]]  # fmt: skip
    run(write_csv(tmp_path / "register.csv", rows), "--forum", world.jirga.pk)
    exported = tmp_path / f"export.{suffix}"
    out = io.StringIO()
    call_command("export_register", "--forum", world.jirga.pk, str(exported), stdout=out)
    assert out.getvalue().startswith("5 cases written")
    copy = ForumFactory(name="Copy Jirga", kind="jirga")

    assert run(exported, "--forum", copy.pk)[-1] == "5 imported, 0 already there, 0 rejected"

    original = sorted(summary(c) for c in Case.objects.filter(forum=world.jirga))
    copied = sorted(summary(c) for c in Case.objects.filter(forum=copy))
    assert copied == original
    # Exported again into its own forum, nothing is new.
    assert run(exported, "--forum", world.jirga.pk)[-1] == "0 imported, 5 already there, 0 rejected"


def test_cases_opened_in_sulh_are_exported_under_their_reference(world, tmp_path):
    body = new_case_body(world.jirga)
    body.pop("forum")
    reference = services.case_open(user=world.alice, forum=world.jirga, **body).reference
    exported = tmp_path / "export.csv"
    call_command("export_register", "--forum", world.jirga.pk, str(exported), stdout=io.StringIO())

    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert [(r["register_no"], r["state"], r["first_party"]) for r in rows] == [(reference, "intake", "Khan family")]
    assert rows[0]["opened"] == datetime.now(UTC).date().isoformat()
    assert run(exported, "--forum", world.jirga.pk)[-1] == "0 imported, 1 already there, 0 rejected"
