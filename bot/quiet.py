"""Quiet hours: reading "22:00-07:00" (or "10pm-7am") and asking whether a moment falls in them."""

from __future__ import annotations

import re
from datetime import datetime, time

from bot.render import zone

_RANGE = re.compile(
    r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?\s*(?:-|–|—|to|bis)\s*"
    r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?\s*$",
    re.IGNORECASE,
)


def parse_quiet_hours(text: str) -> tuple[str, str] | None:
    """("22:00", "07:00") from "22:00-07:00", "22-7", "10pm-7am"; None if it isn't a range."""
    match = _RANGE.match(text)
    if not match:
        return None
    start = _clock(match.group(1), match.group(2), match.group(3))
    end = _clock(match.group(4), match.group(5), match.group(6))
    if start is None or end is None or start == end:
        return None
    return start, end


def _clock(hours: str, minutes: str | None, half: str | None) -> str | None:
    hour, minute = int(hours), int(minutes or 0)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return f"{hour:02d}:{minute:02d}"


def in_quiet_hours(
    moment: datetime, start: str | None, end: str | None, zone_name: str | None
) -> bool:
    """Whether `moment` falls inside quiet hours given in the partner's own zone."""
    if not start or not end:
        return False
    local = moment.astimezone(zone(zone_name)).time()
    begin, finish = time.fromisoformat(start), time.fromisoformat(end)
    if begin < finish:
        return begin <= local < finish
    return local >= begin or local < finish  # spans midnight
