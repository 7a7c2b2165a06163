"""Simple calendar arithmetic (bot/reading.py reads the days people type)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time


def day_as_moment(day: date) -> datetime:
    """A calendar day as the renderer's date filters want it (noon UTC, shown without a zone)."""
    return datetime.combine(day, time(12), tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (the month's last day if it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
