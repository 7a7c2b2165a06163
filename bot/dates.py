"""Calendar days as people type them, and simple calendar arithmetic.

"2026-12-24", "24.12.", "24.12.2026", "12/24", "24 Dec", "December 24th", "3. März",
"tomorrow": one forgiving reader for every feature that asks for a date.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "mär": 3,
    "maer": 3,
    "apr": 4,
    "may": 5,
    "mai": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "okt": 10,
    "nov": 11,
    "dec": 12,
    "dez": 12,
}
_RELATIVE = {"today": 0, "heute": 0, "tomorrow": 1, "morgen": 1, "übermorgen": 2}
_ISO = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?$")
_DOTTED = re.compile(r"^(\d{1,2})[.-](\d{1,2})(?:[.-](\d{2}|\d{4})?)?\.?$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$")
_DAY_MONTH = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?\.?\s*(?:of\s+)?([^\W\d_]+)\.?,?(?:\s+(\d{4}))?$"
)
_MONTH_DAY = re.compile(r"^([^\W\d_]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\.?,?(?:\s+(\d{4}))?$")


def parse_day(text: str, earliest: date) -> date | None:
    """A calendar day from what a person typed. Without a year, the first such day on or
    after `earliest`; "today" and "tomorrow" count from it. None if it isn't a day."""
    typed = " ".join(text.strip().lower().split())[:40]
    if typed in _RELATIVE:
        return earliest + timedelta(days=_RELATIVE[typed])
    year: int | None
    if match := _ISO.match(typed):
        year, month, day = (int(g) for g in match.groups())
        return _valid(year, month, day)
    if match := _DOTTED.match(typed):
        day, month, year = int(match[1]), int(match[2]), _year(match[3])
    elif match := _SLASHED.match(typed):
        first, second, year = int(match[1]), int(match[2]), _year(match[3])
        # Day first, as most of the world writes it, unless only month-first makes sense.
        day, month = (second, first) if second > 12 >= first else (first, second)
    elif match := _DAY_MONTH.match(typed):
        day, month, year = int(match[1]), _month(match[2]), _year(match[3])
    elif match := _MONTH_DAY.match(typed):
        day, month, year = int(match[2]), _month(match[1]), _year(match[3])
    else:
        return None
    if month == 0:
        return None
    if year is not None:
        return _valid(year, month, day)
    for candidate_year in (earliest.year, earliest.year + 1, earliest.year + 4):
        found = _valid(candidate_year, month, day)
        if found is not None and found >= earliest:
            return found
    return None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    return 2000 + int(text) if len(text) == 2 else int(text)


def _month(word: str) -> int:
    word = word.replace("ä", "ae") if word.startswith("mä") and len(word) > 3 else word
    return _MONTHS.get(word[:3], 0) or _MONTHS.get(word[:4], 0)


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def day_as_moment(day: date) -> datetime:
    """A calendar day as the renderer's date filters want it (noon UTC, shown without a zone)."""
    return datetime.combine(day, time(12), tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (the month's last day if it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
