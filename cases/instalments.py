"""Instalment arithmetic: monthly due dates and an amount split into instalments. Pure calculation, shared by the
services, the forms and the synthetic generator."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import TypedDict


class InstalmentPart(TypedDict):
    """One instalment of a schedule, as the services, the forms and the API's input carry it."""

    due: date
    amount: Decimal


def month_later(first: date, months: int) -> date:
    """The date `months` months after `first`: the same day of the month, or the month's last day when it is
    shorter (31 January, then 28 or 29 February, then 31 March)."""
    month = first.month - 1 + months
    year = first.year + month // 12
    month = month % 12 + 1
    return first.replace(year=year, month=month, day=min(first.day, calendar.monthrange(year, month)[1]))


def instalments_split(*, amount: Decimal | int | str, count: int, first_due: date) -> list[InstalmentPart]:
    """`count` monthly instalments from `first_due` adding up to `amount` (the last takes the odd paisa)."""
    share = (Decimal(amount) / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    parts: list[InstalmentPart] = [{"due": month_later(first_due, number), "amount": share} for number in range(count)]
    parts[-1]["amount"] = Decimal(amount) - share * (count - 1)
    return parts
