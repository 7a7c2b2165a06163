"""Forgiving time-zone names, quiet hours in a partner's zone, and what reaches someone in them
arriving silently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.quiet import in_quiet_hours
from bot.sandbox import Sandbox
from bot.zones import find_zone
from tests.conftest import Clock, People


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("berlin", "Europe/Berlin"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("München", "Europe/Berlin"),
        ("sydney", "Australia/Sydney"),
        ("New York", "America/New_York"),
        ("sao paulo", "America/Sao_Paulo"),
        ("Germany", "Europe/Berlin"),
        ("UTC+3", "Etc/GMT-3"),
        ("gmt-5", "Etc/GMT+5"),
        ("UTC", "UTC"),
    ],
)
def test_names_people_type(typed: str, zone: str) -> None:
    assert find_zone(typed).zone == zone


def test_a_typo_gets_suggestions_not_a_guess() -> None:
    guess = find_zone("berln")
    assert guess.zone is None
    assert "Europe/Berlin" in [s.zone for s in guess.suggestions]


def test_a_country_with_several_zones_offers_its_main_ones() -> None:
    guess = find_zone("Australia")
    assert guess.zone is None
    zones = [s.zone for s in guess.suggestions]
    assert zones[0] == "Australia/Sydney"
    assert "Australia/Perth" in zones


@pytest.mark.parametrize("typed", ["", "   ", "xqzvw", "x" * 500, "<script>"])
def test_nonsense_finds_nothing(typed: str) -> None:
    assert find_zone(typed).zone is None


def test_quiet_hours_across_midnight_in_the_partners_zone() -> None:
    # 21:30 UTC is 08:30 the next morning in Sydney (summer, UTC+11).
    moment = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)
    assert not in_quiet_hours(moment, "22:00", "07:00", "Australia/Sydney")
    assert in_quiet_hours(moment, "22:00", "09:00", "Australia/Sydney")
    assert not in_quiet_hours(moment, "22:00", "07:00", "Europe/London")  # 21:30 there
    assert in_quiet_hours(moment, "22:00", "07:00", "Europe/Berlin")  # 22:30 there
    assert not in_quiet_hours(moment, None, None, "Europe/Berlin")


@pytest.mark.clock(datetime(2026, 5, 4, 1, 0, tzinfo=UTC))  # 01:00 on both partners' clocks
async def test_what_one_partner_starts_reaches_the_other_silently_in_quiet_hours(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await couple.sam.send_private("/quiet 00:00-07:00")
    await couple.sam.private.expect("Quiet hours set")
    await couple.group.send(couple.alex, "/checkin")
    started = await couple.group.expect("Check-in:")
    poll = await couple.group.next_bot_message()
    assert started.silent and poll.silent  # the group rings nobody while Sam sleeps
    sams = await couple.sam.private.expect("1 of 3")
    alexs = await couple.alex.private.expect("1 of 3")
    assert sams.silent and not alexs.silent  # Alex is awake: Alex's own chat still rings

    await clock.advance(timedelta(hours=6, minutes=5), sandbox)  # Sam's quiet hours are over
    await couple.group.send(couple.alex, "/checkin")
    again = await couple.group.expect("already open")
    assert not again.silent
