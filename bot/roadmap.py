"""The roadmap's calendar: day 1 is the day setup completed; months 1–3 stabilise, 4–6
strengthen intimacy, 7 onwards build a new normal. Months are calendar months."""

from __future__ import annotations

from datetime import datetime

PHASES = ("stabilise", "intimacy", "new_normal")


def roadmap_month(setup_completed_at: datetime | None, now: datetime) -> int:
    """The roadmap month (1, 2, ...); day 1 is the day setup completed."""
    if setup_completed_at is None:
        return 1
    start, today = setup_completed_at.date(), now.date()
    months = (today.year - start.year) * 12 + today.month - start.month
    if today.day < start.day:
        months -= 1
    return max(months, 0) + 1


def phase_of(month: int) -> str:
    """Months 1–3 stabilise, 4–6 strengthen intimacy, 7 onwards build a new normal."""
    if month <= 3:
        return PHASES[0]
    if month <= 6:
        return PHASES[1]
    return PHASES[2]
