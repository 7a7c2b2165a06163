"""Quiet hours: whether a moment falls in them (bot/reading.py reads "22:00-07:00")."""

from __future__ import annotations

from datetime import datetime, time

from bot.render import zone


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
