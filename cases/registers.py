"""A forum's paper register as a file: reading it (CSV or XLSX), checking every row, and writing it back out.

Nothing here writes to the database: `cases.services.registers.register_import` turns the rows that pass into
cases. The problems are sentences in the active language (the command's --language, the page's request), each
with the line of the file it is about (the header is line 1, the first row line 2, as a spreadsheet numbers them).

The columns (CONTRACT.md section 2, and the README's "Paper registers"): `register_no`, `opened`, `title`,
`dispute_type`, `offence_class`, `first_party`, `second_party`, `state`, `outcome`, `closed` are required; the
optional ones are in OPTIONAL_COLUMNS. Headers are matched without regard to case, surrounding spaces, or spaces
and hyphens inside ("Register No" is `register_no`). A column naming parties may name several, separated by `;`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import SulhError

from . import workflows
from .models import CLOSING_OUTCOMES, Case, CaseEvent, CaseParty, DisputeType, Forum, OffenceClass, Party, RiskLevel

REQUIRED_COLUMNS = (
    "register_no",
    "opened",
    "title",
    "dispute_type",
    "offence_class",
    "first_party",
    "second_party",
    "state",
    "outcome",
    "closed",
)
# The roles whose parties a register may name, each in a column of its own (first and second are required).
ROLE_COLUMNS = ("first_party", "second_party", "victim", "guarantor", "witness", "representative")
# A register's parties are usually families; the other roles usually persons. `<role>_kind` says otherwise.
DEFAULT_KIND = {"first_party": Party.Kind.FAMILY, "second_party": Party.Kind.FAMILY}
OPTIONAL_COLUMNS = (
    "risk_level",
    *(f"{role}_kind" for role in ROLE_COLUMNS),
    *(role for role in ROLE_COLUMNS if role not in REQUIRED_COLUMNS),
    "referral_source",
    "fir_number",
    "reason",
    "summary",
)
EXPORT_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
DEFAULT_RISK = RiskLevel.MEDIUM
NAMES_SEPARATOR = ";"

# Limits of the model's fields, checked here so that a row never fails at insert time.
MAX_REGISTER_NO = Case._meta.get_field("register_no").max_length or 40
MAX_TITLE = Case._meta.get_field("title").max_length or 200
MAX_NAME = Party._meta.get_field("name").max_length or 200
MAX_REFERRAL = Case._meta.get_field("referral_source").max_length or 60
MAX_FIR = Case._meta.get_field("fir_number").max_length or 40
# Far more than a forum's register holds; a bigger file is a mistake (or an attack on the server's memory).
MAX_ROWS = 200_000
MAX_COLUMNS = 200
EXPORT_CHUNK = 2000  # Cases read at a time by an export.

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
XLSX_MAGIC = b"PK\x03\x04"


class RegisterUnreadable(SulhError):
    """The file as a whole cannot be read: not UTF-8 CSV or XLSX, no header, required columns missing."""

    code = "register_unreadable"


@dataclass(frozen=True)
class RegisterRow:
    """One good row, as the import writes it."""

    line: int
    register_no: str
    opened: date
    closed: date | None
    title: str
    dispute_type: str
    offence_class: str
    risk_level: str
    state: str
    outcome: str  # As the case stores it: a closing outcome, `withdrawn`, `referred`, or "" while open.
    parties: tuple[tuple[str, str, str], ...]  # (role, name, kind)
    referral_source: str = ""
    fir_number: str = ""
    reason: str = ""
    summary: str = ""


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


@dataclass
class CheckedRegister:
    """Every row of a file checked: the good ones, and each problem of the bad ones, by line."""

    rows: list[RegisterRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems})


# --- Reading -----------------------------------------------------------------------------------------------


def column_name(header: object) -> str:
    """A header as the column it names: "Register No", " register-no " and "REGISTER_NO" are `register_no`."""
    text = _cell_text(header).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # A spreadsheet keeps register number 12 as 12.0.
    return str(value).strip()


def read_table(data: bytes) -> tuple[list[str], list[tuple[int, list[object]]]]:
    """The file's column names and its rows [(line, cells)], from XLSX (by its signature) or UTF-8 CSV (with or
    without a byte-order mark). Rows with nothing in them are skipped. RegisterUnreadable when it is neither."""
    if data.startswith(XLSX_MAGIC):
        table = _read_xlsx(data)
    else:
        table = _read_csv(data)
    if not table or not any(_cell_text(cell) for cell in table[0][1]):
        raise RegisterUnreadable(_("The file is empty: the first line must name the columns."))
    headers = [column_name(cell) for cell in table[0][1]]
    rows = [(line, cells) for line, cells in table[1:] if any(_cell_text(cell) for cell in cells)]
    if len(rows) > MAX_ROWS:
        raise RegisterUnreadable(_("The file has more than %(max)s rows: split it.") % {"max": MAX_ROWS})
    return headers, rows


def _read_csv(data: bytes) -> list[tuple[int, list[object]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RegisterUnreadable(
            _("The file is neither an XLSX workbook nor CSV text in UTF-8: save it as one of them.")
        ) from None
    if "\x00" in text:
        raise RegisterUnreadable(
            _("The file is neither an XLSX workbook nor CSV text in UTF-8: save it as one of them.")
        )
    try:
        return [(number, list(cells)) for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), 1)]
    except csv.Error as exc:
        raise RegisterUnreadable(_("The CSV file could not be read: %(error)s") % {"error": exc}) from None


def _read_xlsx(data: bytes) -> list[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            # At most MAX_COLUMNS columns and one row more than MAX_ROWS (and the header): a small file that
            # unpacks into a huge sheet is refused without being read whole.
            rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
            return [(number, list(cells)) for number, cells in zip(range(1, MAX_ROWS + 3), rows, strict=False)]
        finally:
            workbook.close()
    except Exception:  # noqa: BLE001 - a damaged workbook raises anything from zipfile, XML parsers or openpyxl.
        raise RegisterUnreadable(_("The XLSX workbook could not be read: save it again and retry.")) from None


# --- Checking ------------------------------------------------------------------------------------------------


def check_register(*, forum_kind: str, data: bytes, today: date | None = None) -> CheckedRegister:
    """Read and check the whole file. RegisterUnreadable for a problem of the whole file (before any row)."""
    headers, rows = read_table(data)
    return check_rows(forum_kind=forum_kind, headers=headers, rows=rows, today=today)


def check_rows(
    *, forum_kind: str, headers: list[str], rows: Iterable[tuple[int, Sequence[object]]], today: date | None = None
) -> CheckedRegister:
    seen: dict[str, int] = {}
    duplicates = sorted({h for h in headers if h and headers.count(h) > 1})
    if duplicates:
        raise RegisterUnreadable(_("These columns appear twice: %(columns)s.") % {"columns": ", ".join(duplicates)})
    missing = [column for column in REQUIRED_COLUMNS if column not in headers]
    if missing:
        raise RegisterUnreadable(
            _("The file lacks these columns: %(columns)s. The first line must name at least: %(required)s.")
            % {"columns": ", ".join(missing), "required": ", ".join(REQUIRED_COLUMNS)}
        )
    today = today or timezone.localdate()
    workflow = workflows.workflow_for(forum_kind)
    wanted = [(i, h) for i, h in enumerate(headers) if h in EXPORT_COLUMNS]
    result = CheckedRegister()
    for line, cells in rows:
        values = {h: _cell_text(cells[i]) if i < len(cells) else "" for i, h in wanted}
        raw = {h: cells[i] if i < len(cells) else None for i, h in wanted}
        problems: list[str] = []
        row = _check_row(line, values, raw, workflow, today, problems)
        number = values.get("register_no", "")
        if number:
            if number in seen:
                problems.append(
                    _("Register number %(number)s is also on line %(line)s.") % {"number": number, "line": seen[number]}
                )
            else:
                seen[number] = line
        if problems or row is None:
            result.problems.extend(Problem(line, message) for message in problems)
        else:
            result.rows.append(row)
    return result


def _date(value: object, text: str, column: str, problems: list[str], today: date) -> date | None:
    """A date from an XLSX date cell or YYYY-MM-DD text; none in the future."""
    if isinstance(value, datetime):
        day: date | None = value.date()
    elif isinstance(value, date):
        day = value
    elif ISO_DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
    else:
        day = None
    if day is None and not text:
        problems.append(_("%(column)s is empty.") % {"column": column})
        return None
    if day is None:
        problems.append(
            _("%(column)s: “%(value)s” is not a date written YYYY-MM-DD.") % {"column": column, "value": text}
        )
        return None
    if day > today:
        problems.append(_("%(column)s: %(date)s is in the future.") % {"column": column, "date": day.isoformat()})
        return None
    return day


def _choice(text: str, column: str, choices: Iterable[str], problems: list[str]) -> str:
    code = text.strip().lower()
    allowed = list(choices)
    if code in allowed:
        return code
    if not code:
        problems.append(_("%(column)s is empty.") % {"column": column})
    else:
        problems.append(
            _("%(column)s: “%(value)s” is not one of: %(allowed)s.")
            % {"column": column, "value": text, "allowed": ", ".join(allowed)}
        )
    return ""


def _text(values: dict[str, str], column: str, limit: int, problems: list[str], *, required: bool) -> str:
    text = values.get(column, "")
    if required and not text:
        problems.append(_("%(column)s is empty.") % {"column": column})
    elif len(text) > limit:
        problems.append(
            _("%(column)s has %(length)s characters; at most %(max)s are allowed.")
            % {"column": column, "length": len(text), "max": limit}
        )
    return text


def _check_row(
    line: int,
    values: dict[str, str],
    raw: dict[str, object],
    workflow: workflows.Workflow,
    today: date,
    problems: list[str],
) -> RegisterRow | None:
    number = _text(values, "register_no", MAX_REGISTER_NO, problems, required=True)
    title = _text(values, "title", MAX_TITLE, problems, required=True)
    opened = _date(raw.get("opened"), values["opened"], "opened", problems, today)
    dispute_type = _choice(values["dispute_type"], "dispute_type", DisputeType.values, problems)
    offence_class = _choice(values["offence_class"], "offence_class", OffenceClass.values, problems)
    risk_level = DEFAULT_RISK.value
    if values.get("risk_level"):
        risk_level = _choice(values["risk_level"], "risk_level", RiskLevel.values, problems)
    state = _choice(values["state"], "state", workflow.all_states, problems)
    referral_source = _text(values, "referral_source", MAX_REFERRAL, problems, required=False)
    fir_number = _text(values, "fir_number", MAX_FIR, problems, required=False)

    parties: list[tuple[str, str, str]] = []
    for role in ROLE_COLUMNS:
        names = [name.strip() for name in values.get(role, "").split(NAMES_SEPARATOR) if name.strip()]
        if not names and role in REQUIRED_COLUMNS:
            problems.append(_("%(column)s is empty.") % {"column": role})
        kind = DEFAULT_KIND.get(role, Party.Kind.PERSON).value
        if values.get(f"{role}_kind"):
            kind = _choice(values[f"{role}_kind"], f"{role}_kind", Party.Kind.values, problems)
        for name in names:
            if len(name) > MAX_NAME:
                problems.append(
                    _("%(column)s: a name has %(length)s characters; at most %(max)s are allowed.")
                    % {"column": role, "length": len(name), "max": MAX_NAME}
                )
            parties.append((role, name, kind))

    # The end: `closed` needs an outcome; every ended case a closing date after its opening; an open one neither.
    outcome_text = values["outcome"].strip().lower()
    outcome = ""
    closed: date | None = None
    if state in workflows.ENDED:
        if state == workflows.CLOSED and not outcome_text:
            problems.append(
                _("outcome: a closed case needs one of: %(allowed)s.") % {"allowed": ", ".join(CLOSING_OUTCOMES)}
            )
        elif state == workflows.CLOSED:
            outcome = _choice(values["outcome"], "outcome", CLOSING_OUTCOMES, problems)
        elif outcome_text and outcome_text != state:
            problems.append(
                _("outcome: a case that is %(state)s has no other outcome (found “%(value)s”).")
                % {"state": state, "value": values["outcome"]}
            )
        else:
            outcome = state
        if not values["closed"]:
            problems.append(_("closed: an ended case needs the date it ended."))
        else:
            closed = _date(raw.get("closed"), values["closed"], "closed", problems, today)
            if closed and opened and closed < opened:
                problems.append(
                    _("closed: %(closed)s is before the case was opened (%(opened)s).")
                    % {"closed": closed.isoformat(), "opened": opened.isoformat()}
                )
    elif state:
        if outcome_text:
            problems.append(_("outcome: a case still open (%(state)s) has no outcome.") % {"state": state})
        if values["closed"]:
            problems.append(_("closed: a case still open (%(state)s) has no closing date.") % {"state": state})

    # [law] CrPC s.345(7): only a court may decide it, so a forum's case of it goes nowhere but back to the state.
    if offence_class == OffenceClass.NON_COMPOUNDABLE and state and state not in (workflows.INTAKE, *workflows.EXITS):
        problems.append(
            _(
                "A non-compoundable offence can only be in intake, withdrawn or referred: only a court may decide it "
                "(CrPC s.345(7))."
            )
        )
    if problems or opened is None:
        return None
    return RegisterRow(
        line=line,
        register_no=number,
        opened=opened,
        closed=closed,
        title=title,
        dispute_type=dispute_type,
        offence_class=offence_class,
        risk_level=risk_level,
        state=state,
        outcome=outcome,
        parties=tuple(parties),
        referral_source=referral_source,
        fir_number=fir_number,
        reason=values.get("reason", ""),
        summary=values.get("summary", ""),
    )


# --- Writing the register back out ------------------------------------------------------------------------


def export_rows(*, forum: Forum) -> Iterator[dict[str, str]]:
    """The forum's cases as register rows (EXPORT_COLUMNS), oldest first. A case opened in Sulh has no register
    number: its reference stands in, and an import into the same forum knows it by that (already there).
    Values, not model instances: an export of tens of thousands of cases stays a few seconds."""
    ends = CaseEvent.objects.filter(case__forum=forum, kind="transitioned", data__to__in=list(workflows.ENDED))
    reasons = {case_id: str(data.get("reason") or "") for case_id, data in ends.values_list("case_id", "data")}
    fields = (
        "pk", "register_no", "reference", "opened_at", "closed_at", "title", "dispute_type", "offence_class",
        "risk_level", "state", "outcome", "referral_source", "fir_number", "summary",
    )  # fmt: skip
    cases = Case.objects.filter(forum=forum).order_by("opened_at", "id").values_list(*fields)
    for start in range(0, 1 << 62, EXPORT_CHUNK):
        chunk = [dict(zip(fields, values, strict=True)) for values in cases[start : start + EXPORT_CHUNK]]
        if not chunk:
            return
        parties: dict[int, dict[str, list[tuple[str, str]]]] = {}
        links = (
            CaseParty.objects.filter(case_id__in=[case["pk"] for case in chunk])
            .order_by("id")
            .values_list("case_id", "role", "party__name", "party__kind")
        )
        for case_id, role, name, kind in links:
            parties.setdefault(case_id, {}).setdefault(role, []).append((name, kind))
        for case in chunk:
            row = dict.fromkeys(EXPORT_COLUMNS, "")
            for role, named in parties.get(case["pk"], {}).items():
                if role in ROLE_COLUMNS:
                    row[role] = f"{NAMES_SEPARATOR} ".join(name for name, _kind in named)
                    row[f"{role}_kind"] = named[0][1]
            ended = case["state"] in workflows.ENDED
            row.update(
                register_no=case["register_no"] or case["reference"],
                opened=case["opened_at"].astimezone(UTC).date().isoformat(),
                title=case["title"],
                dispute_type=case["dispute_type"],
                offence_class=case["offence_class"],
                risk_level=case["risk_level"],
                state=case["state"],
                outcome=case["outcome"] if case["state"] == workflows.CLOSED else "",
                closed=case["closed_at"].astimezone(UTC).date().isoformat() if case["closed_at"] else "",
                referral_source=case["referral_source"],
                fir_number=case["fir_number"],
                reason=reasons.get(case["pk"], "") if ended else "",
                summary=case["summary"],
            )
            yield row


def write_csv(rows: Iterable[dict[str, str]], stream: IO[str]) -> int:
    writer = csv.DictWriter(stream, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def write_xlsx(rows: Iterable[dict[str, str]], stream: IO[bytes]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("register")
    sheet.append(list(EXPORT_COLUMNS))
    count = 0
    for row in rows:
        cells: list[Any] = []
        for column in EXPORT_COLUMNS:
            value = row[column]
            if value.startswith("="):
                # Text stays text: a name or title starting with "=" must not become a formula in a spreadsheet.
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                cells.append(cell)
            else:
                cells.append(value or None)  # An empty cell is not written at all.
        sheet.append(cells)
        count += 1
    workbook.save(stream)
    return count
