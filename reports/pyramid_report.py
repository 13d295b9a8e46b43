"""The pyramid's shape per district, for regulators: how many open cases sit on each rung of the ladder now,
read from the running counts (cases.models.LadderOpenCount) and joined to the forum's district and the
rung's level.

These are counts of cases, so they leave the forums under the same disclosure control as the patterns
(reports.disclosure, shared/DOMAIN.md "Do no harm"): counts from 1 to 4 are hidden, and enough others with
them that none can be worked out by subtracting what is shown — a district's rungs from its total, one
district from the all-districts pyramid, one kind of forum from all of them, and so on, at every grouping
of ("region", "forum_kind", "level"). A district or forum-kind filter only picks cells of that one
protected lattice, so a filtered page and an unfiltered one cannot be subtracted from each other either.
The pyramid is the cases open now: it has no period, and the running counts do not keep dispute types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Sum
from django.utils.translation import gettext as _

from cases import rules as case_rules
from cases.ladders import DEFAULT_RUNGS
from cases.models import Forum, LadderOpenCount, Region, Rung
from config.errors import ForbiddenError

from . import disclosure
from .disclosure import Grouping, Key

MIN_CELL = 5
DIMENSIONS = ("region", "forum_kind", "level")
BASE_LEVEL = 1  # shared/DOMAIN.md: rung 1 is the base of every ladder.


class LevelName(TypedDict):
    level: int
    name: str


class PyramidShapes(TypedDict):
    """What pyramid_shapes gives the pattern report's page. A pyramid is {"rungs": [{"level", "name",
    "open_cases", "hidden", "width"}], "total", "inverted"}, a district's with its "region" and "region_name"."""

    min_cell: int
    levels: list[LevelName]
    overall: dict[str, Any]
    districts: list[dict[str, Any]]


def pyramid_tables() -> tuple[dict[Grouping, dict[Key, int]], dict[Grouping, set[Key]]]:
    """(tables, hidden): the true open counts at every grouping of DIMENSIONS ({grouping: {key: count}}) and
    the keys to hide ({grouping: set of keys}). For pyramid_shapes and for audits; never shown as such."""
    rows = (
        LadderOpenCount.objects.values("forum__region__code", "forum__kind", "rung__level")
        .annotate(n=Sum("open_cases"))
        .order_by()
        .values_list("forum__region__code", "forum__kind", "rung__level", "n")
    )
    tables = disclosure.aggregate(
        (({"region": code, "forum_kind": kind, "level": level}, max(n or 0, 0)) for code, kind, level, n in rows),
        DIMENSIONS,
    )
    if not tables[()]:
        tables[()] = {(): 0}
    return tables, disclosure.suppress(tables, DIMENSIONS, MIN_CELL)


def _level_names() -> dict[int, str]:
    """A name per level: the rung's name in the first ladder that has one (the default ladder's names are
    translated by the template's data_label), the default ladder's name otherwise."""
    names = {level: name for level, _code, name, _description in DEFAULT_RUNGS}
    seen: set[int] = set()
    in_use = Rung.objects.filter(ladder__in=Forum.objects.values("ladder_id")).order_by("level", "ladder_id")
    for level, name in in_use.values_list("level", "name"):
        if level not in seen:
            names[level] = name
            seen.add(level)
    return names


def _shape(
    levels: list[int], names: dict[int, str], value_of: Callable[[int], tuple[int | None, bool]]
) -> dict[str, Any]:
    """One pyramid as drawn: its rungs (the base first) with the published counts (None when hidden), the
    bars' widths relative to the fullest published rung, and whether it is inverted."""
    rungs: list[dict[str, Any]] = []
    for level in levels:
        count, hidden = value_of(level)
        rungs.append({"level": level, "name": names.get(level, str(level)), "open_cases": count, "hidden": hidden})
    most = max((r["open_cases"] for r in rungs if r["open_cases"]), default=0)
    for rung in rungs:
        rung["width"] = round(100 * rung["open_cases"] / most) if most and rung["open_cases"] else 0
    return {"rungs": rungs}


def _inverted(rungs: list[dict[str, Any]], total: int | None) -> bool | None:
    """Whether more open cases sit above the base than at it, decided from the published figures only (so
    that the flag tells nothing about a hidden count): None when they cannot tell."""
    base = next((r for r in rungs if r["level"] == BASE_LEVEL), None)
    if base is None or base["hidden"]:
        return None
    base_count: int = base["open_cases"]  # Published: not None.
    if total is not None:
        return total - base_count > base_count
    # A hidden count is at least 1: the shown ones and one per hidden rung are a floor for the rungs above.
    above = [r for r in rungs if r["level"] != BASE_LEVEL]
    floor = sum(r["open_cases"] or 0 for r in above) + sum(1 for r in above if r["hidden"])
    return True if floor > base_count else None


def pyramid_shapes(
    *, user: User | AnonymousUser, region: str | None = None, forum_kind: str | None = None
) -> PyramidShapes:
    """{"min_cell", "levels", "overall", "districts"}: the all-districts pyramid and one per district (only
    the chosen one with `region`), each {"region", "region_name", "rungs", "total", "inverted"}, a hidden
    count None; of the forums of one kind with `forum_kind`. ForbiddenError for anyone but regulators and
    administrators."""
    if not case_rules.can_read_reports(user):
        raise ForbiddenError(_("Only regulators and administrators read these reports."))
    tables, hidden = pyramid_tables()
    names = _level_names()
    levels = sorted({BASE_LEVEL, *(key[0] for key in tables[("level",)]), *names})
    kind = (forum_kind,) if forum_kind else ()

    def published(grouping: Grouping, key: Key) -> tuple[int | None, bool]:
        """The cell of `grouping` (without forum_kind), or of the chosen kind's finer grouping."""
        if forum_kind:
            grouping = tuple(d for d in DIMENSIONS if d in grouping or d == "forum_kind")
            key = key[:1] + kind + key[1:] if grouping[0] == "region" else kind + key
        if key in hidden[grouping]:
            return None, True
        return tables[grouping].get(key, 0), False

    overall = _shape(levels, names, lambda level: published(("level",), (level,)))
    overall["total"] = published((), ())[0]
    overall["inverted"] = _inverted(overall["rungs"], overall["total"])
    codes: list[str]  # District codes.
    if forum_kind:
        codes = sorted(key[0] for key in tables[("region", "forum_kind")] if key[1] == forum_kind)
    else:
        codes = sorted(key[0] for key in tables[("region",)])
    if region:
        codes = [code for code in codes if code == region]
    region_names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))

    def in_district(code: str) -> Callable[[int], tuple[int | None, bool]]:
        return lambda level: published(("region", "level"), (code, level))

    # A named function: as a lambda, mypy checks dict.get against its overload without a default.
    def by_name(code: str) -> tuple[str, str]:
        return region_names.get(code, code).casefold(), code

    districts = []
    for code in sorted(codes, key=by_name):
        shape = _shape(levels, names, in_district(code))
        shape.update(region=code, region_name=region_names.get(code, code))
        shape["total"] = published(("region",), (code,))[0]
        shape["inverted"] = _inverted(shape["rungs"], shape["total"])
        districts.append(shape)
    return {
        "min_cell": MIN_CELL,
        "levels": [{"level": level, "name": names.get(level, str(level))} for level in levels],
        "overall": overall,
        "districts": districts,
    }
