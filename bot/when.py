"""Time in each partner's own zone: next local occurrences, quiet hours, away-mode, daylight
saving.

Everything stored is UTC; everything shown or scheduled by a person's clock goes through here.
Wall-clock times that don't exist (the hour skipped when clocks spring forward) move forward
by the gap; times that happen twice (when clocks fall back) mean the first of the two.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.model import Couple, Partner
from bot.quiet import partner_is_quiet
from bot.render import zone

# Searching for a moment outside everyone's quiet hours stops after a day: if the quiet hours
# of two partners together cover all of it, the prompt goes out at the end of the search.
QUIET_SEARCH = timedelta(hours=24)


def local_to_utc(day: datetime, at: time, zone_name: str | None) -> datetime:
    """The UTC moment of wall-clock time `at` on `day`'s date in the zone (DST-safe)."""
    # fold=0 (PEP 495): a repeated wall time means its first occurrence, and a skipped one
    # is read with the offset from before the change, which lands it just past the gap
    # (02:30 on the night Berlin springs forward becomes 03:30 summer time).
    local = datetime.combine(day.date(), at).replace(tzinfo=zone(zone_name), fold=0)
    return local.astimezone(UTC)


def next_local(
    at: time, zone_name: str | None, after: datetime, weekday: int | None = None
) -> datetime:
    """The first moment strictly after `after` when it is `at` (on `weekday`, Monday = 0)
    in the zone, as UTC."""
    tz = zone(zone_name)
    local_after = after.astimezone(tz)
    for days in range(0, 9):
        day = local_after + timedelta(days=days)
        if weekday is not None and day.weekday() != weekday:
            continue
        candidate = local_to_utc(day, at, zone_name)
        if candidate > after:
            return candidate
    raise AssertionError("a weekday repeats within 8 days")


def quiet_until(moment: datetime, partner: Partner) -> datetime | None:
    """When the partner's quiet hours end, if `moment` falls inside them; else None."""
    if not partner.quiet_end or not partner_is_quiet(partner, moment):
        return None
    return next_local(time.fromisoformat(partner.quiet_end), partner.timezone, moment)


def local_moments(couple: Couple, moment: datetime) -> list[dict[str, Any]]:
    """One moment as each partner reads it: their name, their zone (templates show it with
    the `moment` filters)."""
    return [{"name": p.name, "zone": p.timezone, "moment": moment} for p in couple.partners]


def local_day(moment: datetime, partner: Partner) -> date:
    """The day `moment` falls on in the partner's calendar."""
    return moment.astimezone(zone(partner.timezone)).date()


def is_away(partner: Partner, moment: datetime) -> bool:
    """Whether the partner asked for no prompts on `moment`'s day (their calendar): /away, a
    personal setting every feature that prompts respects."""
    return partner.away_until is not None and local_day(moment, partner) <= partner.away_until


def outside_quiet_hours(moment: datetime, partners: Iterable[Partner]) -> datetime:
    """The first moment at or after `moment` outside every given partner's quiet hours."""
    people = list(partners)
    candidate = moment
    limit = moment + QUIET_SEARCH
    while candidate < limit:
        ends = [end for p in people if (end := quiet_until(candidate, p)) is not None]
        if not ends:
            return candidate
        candidate = max(ends)
    return limit
