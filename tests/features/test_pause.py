"""/pause through the sandbox: local times, one pause at a time, who may end or extend it,
the group's prompts waiting for its end, restarts in the middle and after the end, and quiet
hours."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import services_of
from bot.context import Services
from bot.features.pause import PAUSE_END, PAUSES_TABLE
from bot.sandbox import Sandbox
from tests.conftest import Clock, People, Restart


async def set_zones(couple: People) -> None:
    await couple.alex.send_private("/timezone Berlin")
    await couple.alex.private.expect("Time zone set")
    await couple.sam.send_private("/timezone Sydney")
    await couple.sam.private.expect("Time zone set")


async def test_a_pause_shows_each_partners_time_and_ends_once(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await set_zones(couple)
    start = clock.now()
    await couple.group.send(couple.alex, "/pause")
    started = await couple.group.expect("Alex asked for a pause", "30 minutes")
    end = start + timedelta(minutes=30)
    berlin = end.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"{berlin:%H:%M}" in started.text and "for Alex" in started.text
    assert "for Sam" in started.text
    assert [b.text for row in started.buttons for b in row] == [
        "Breathe with me",
        "A private journaling prompt",
        "Just rest",
    ]

    await couple.group.send(couple.sam, "/pause")
    await couple.group.expect("You're in a pause that Alex asked for", "minutes left")

    await clock.advance(timedelta(minutes=29), sandbox)
    assert "The pause is over" not in couple.group.bot_messages()[-1].text
    await clock.advance(timedelta(minutes=2), sandbox)
    await couple.group.expect("The pause is over", "Welcome back, Alex and Sam", "I feel")
    await clock.advance(timedelta(hours=2), sandbox)
    ends = [m for m in couple.group.bot_messages() if "pause is over" in m.text]
    assert len(ends) == 1


async def test_a_pause_always_starts_with_odd_lengths_held_to_the_range(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    cases = (
        ("/pause 10", "20 minutes", "at least 20 minutes"),
        ("/pause 1441", "1440 minutes", "a day at most"),
        ("/pause soon", "30 minutes", "couldn't read “soon”"),
        ("/pause -5", "30 minutes", "couldn't read “-5”"),
        ("/pause 45", "45 minutes", None),
    )
    for command, length, why in cases:
        await couple.group.send(couple.alex, command)
        started = await couple.group.expect("Alex asked for a pause", length)
        assert why is None or why in started.text
        await couple.group.send(couple.alex, "/resume")
        await couple.group.expect("Alex is ready to come back")
    assert all(r["ended_at"] for r in services.store.records(couple.group.id, PAUSES_TABLE))


async def test_a_length_in_hours_and_minutes(couple: People) -> None:
    await couple.group.send(couple.alex, "/pause 1 h 30")
    await couple.group.expect("Alex asked for a pause", "90 minutes")
    await couple.group.send(couple.alex, "/extend 1,5 Stunden")
    await couple.group.expect("Alex needs 90 more minutes")


async def test_only_the_partner_who_paused_ends_it(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")
    await couple.group.send(couple.sam, "/resume")
    await couple.group.expect("I've let Alex know, quietly")
    await couple.alex.private.expect("Sam says: ready when you are")

    await couple.group.send(couple.alex, "/resume")
    await couple.group.expect("Alex is ready to come back", "I feel")
    await clock.advance(timedelta(hours=1), sandbox)
    assert not any("pause is over" in m.text for m in couple.group.bot_messages())
    await couple.group.send(couple.alex, "/resume")
    await couple.group.expect("There's no pause running")


async def test_ready_when_you_are_reaches_the_group_if_private_is_closed(
    couple: People,
) -> None:
    couple.alex.block_bot()
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")
    await couple.group.send(couple.sam, "/resume")
    await couple.group.expect("Sam is ready whenever you are, Alex")


async def test_either_partner_adds_time_and_the_group_sees_who(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await couple.group.send(couple.sam, "/pause 20")
    await couple.group.expect("Sam asked for a pause", "20 minutes")
    await couple.group.send(couple.alex, "/extend")
    extended = await couple.group.expect("Alex has added 15 minutes to the pause Sam asked for")
    assert "come back at" in extended.text
    await couple.group.send(couple.sam, "/extend 2000")
    await couple.group.expect("between 5 and 1405 minutes")
    await couple.group.send(couple.sam, "/extend")
    await couple.group.expect("Sam needs 15 more minutes")
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("You're in a pause that Sam asked for", "/extend adds time")
    await clock.advance(timedelta(minutes=45), sandbox)
    assert not said(couple, "pause is over")
    await clock.advance(timedelta(minutes=6), sandbox)
    await couple.group.expect("The pause is over")


TUESDAY = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


def said(couple: People, fragment: str) -> bool:
    return any(fragment in m.text for m in couple.group.bot_messages())


async def paused_before_checkin(couple: People, clock: Clock, sandbox: Sandbox) -> None:
    """The weekly check-in is at 13:00 (UTC); Alex pauses for 30 minutes at 12:50."""
    await couple.group.send(couple.sam, "/checkin tue 13:00")
    await couple.group.expect("Tuesdays at 13:00")
    await clock.to(TUESDAY + timedelta(minutes=20), sandbox)
    await couple.group.send(couple.alex, "/pause 30")
    await couple.group.expect("Alex asked for a pause", "30 minutes")


@pytest.mark.clock(TUESDAY)
async def test_a_check_in_due_during_a_pause_comes_when_it_ends(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    group = couple.group
    await paused_before_checkin(couple, clock, sandbox)

    # Due at 13:00, in the middle of the pause: it waits, also for the time Sam adds.
    await clock.to(datetime(2026, 3, 10, 13, 15, tzinfo=UTC), sandbox)
    await group.send(couple.sam, "/extend 10")
    await group.expect("Sam has added 10 minutes to the pause Alex asked for")
    await clock.to(datetime(2026, 3, 10, 13, 29, tzinfo=UTC), sandbox)
    assert not said(couple, "Check-in:")

    # The pause ends first, then the check-in comes.
    await clock.to(datetime(2026, 3, 10, 13, 32, tzinfo=UTC), sandbox)
    await group.wait_for(lambda m: "Check-in: how was this week" in m.text)
    texts = [m.text for m in group.bot_messages()]
    ended = next(i for i, t in enumerate(texts) if "The pause is over" in t)
    checkin = next(i for i, t in enumerate(texts) if "Check-in: how was this week" in t)
    assert ended < checkin
    assert "late" not in texts[checkin].lower()


@pytest.mark.clock(TUESDAY)
async def test_what_waited_for_a_pause_comes_when_it_is_ended_early(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    group = couple.group
    await paused_before_checkin(couple, clock, sandbox)
    await clock.to(datetime(2026, 3, 10, 13, 10, tzinfo=UTC), sandbox)
    assert not said(couple, "Check-in:")
    await group.send(couple.alex, "/resume")
    await group.expect("Alex is ready to come back")
    await clock.advance(timedelta(seconds=1), sandbox)
    await group.expect("Check-in: how was this week")


async def test_a_restart_mid_pause_still_ends_it_once(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")
    await clock.advance(timedelta(minutes=10), sandbox)
    app = await restart(downtime=timedelta(minutes=5))
    assert len(services_of(app).timers.pending(couple.group.id, PAUSE_END)) == 1
    await clock.advance(timedelta(minutes=16), sandbox)
    ended = await couple.group.expect("The pause is over")
    assert "couldn't tell you on time" not in ended.text
    app = await restart()
    await clock.advance(timedelta(hours=1), sandbox)
    assert (
        len(
            [
                m
                for m in couple.group.bot_messages()
                if "pause" in m.text.lower() and "over" in m.text
            ]
        )
        == 1
    )
    assert services_of(app).timers.pending(couple.group.id, PAUSE_END) == []


async def test_a_pause_that_ended_during_downtime_is_announced_late_once(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    await set_zones(couple)
    await couple.group.send(couple.sam, "/pause 20")
    await couple.group.expect("Sam asked for a pause")
    await restart(downtime=timedelta(hours=3))
    late = await couple.group.expect("Your pause ended at", "couldn't tell you on time")
    assert "for Alex" in late.text and "for Sam" in late.text
    await restart()
    await sandbox.settle()
    assert len([m for m in couple.group.bot_messages() if "ended at" in m.text]) == 1


async def test_a_pause_end_reaches_partners_even_in_quiet_hours(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    now = clock.now()
    quiet = f"{now:%H}:00-{(now + timedelta(hours=3)):%H}:00"
    await couple.alex.send_private(f"/quiet {quiet}")  # Alex has no zone yet: UTC
    await couple.alex.private.expect("Quiet hours set")
    await couple.group.send(couple.sam, "/pause")
    await couple.group.expect("Sam asked for a pause")
    await clock.advance(timedelta(minutes=31), sandbox)
    await couple.group.expect("The pause is over")


async def test_a_journaling_prompt_in_private(couple: People) -> None:
    await couple.group.send(couple.alex, "/pause")
    started = await couple.group.expect("Alex asked for a pause")
    answer = await couple.sam.press(started, "A private journaling prompt")
    assert answer.text == "I've sent you a prompt in our private chat."
    await couple.sam.private.expect("Sam, a few lines just for you")
    answer = await couple.alex.press(started, "Just rest")
    assert "Rest well" in (answer.text or "")


async def test_grounding_buttons_belong_to_their_pause(sandbox: Sandbox, couple: People) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(alex, "/pause")
    first = await group.expect("Alex asked for a pause")
    journal = next(b for row in first.buttons for b in row if "journaling" in b.text)
    # A double tap sends one prompt.
    await sam.press(first, "A private journaling prompt")
    answer = await sam.press(first, "A private journaling prompt")
    assert answer.text == "The prompt is already waiting in our private chat."
    await sandbox.settle()
    assert len([m for m in sam.private.bot_messages() if "a few lines" in m.text]) == 1

    # Ended, the pause takes its buttons along; the next pause has its own.
    await group.send(alex, "/resume")
    await group.expect("Alex is ready to come back")
    await sandbox.wait_until(lambda: first.buttons == [], "the first pause's buttons gone")
    await group.send(sam, "/pause")
    second = await group.expect("Sam asked for a pause")
    answer = await alex.press_data(first, str(journal.callback_data))  # an old copy of it
    assert answer.show_alert and "no longer" in (answer.text or "")
    await sandbox.settle()
    assert not [m for m in alex.private.bot_messages() if "a few lines" in m.text]
    answer = await alex.press(second, "A private journaling prompt")
    assert answer.text == "I've sent you a prompt in our private chat."


async def test_outsiders_cant_pause_or_press(sandbox: Sandbox, couple: People) -> None:
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    await couple.group.send(casey, "/pause")
    await couple.group.expect("Hi Casey")
    await couple.group.send(couple.alex, "/pause")
    started = await couple.group.expect("Alex asked for a pause")
    answer = await casey.press(started, "Just rest")
    assert answer.show_alert


async def test_a_pause_end_survives_a_failing_bot_api(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")
    sandbox.faults.inject("sendMessage", kind="server_error", times=1)
    sandbox.faults.inject("sendMessage", kind="flood", times=1, retry_after=30)
    await clock.advance(timedelta(minutes=30, seconds=5), sandbox)
    assert not any("pause is over" in m.text for m in couple.group.bot_messages())
    await clock.advance(timedelta(minutes=2), sandbox)
    await couple.group.expect("The pause is over")
    await clock.advance(timedelta(minutes=30), sandbox)
    assert len([m for m in couple.group.bot_messages() if "pause is over" in m.text]) == 1


async def test_each_failed_attempt_at_a_pause_end_is_logged_without_content(
    sandbox: Sandbox, couple: People, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")
    # Each delivery attempt is a request sent three times (bot.network): two attempts fail.
    sandbox.faults.inject("sendMessage", kind="server_error", status=502, times=6)
    await clock.advance(timedelta(minutes=30, seconds=20), sandbox)
    assert sandbox.faults.pending == 0  # both attempts failed: at the end, 15 s later
    assert not any("pause is over" in m.text for m in couple.group.bot_messages())
    await clock.advance(timedelta(minutes=1), sandbox)
    await couple.group.expect("The pause is over")
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.outbox" and r.levelno >= logging.WARNING
    ]
    assert warnings == [
        "message to the group: attempt 1 failed (NetworkError); next try in 0:00:15",
        "message to the group: attempt 2 failed (NetworkError); next try in 0:01:00",
    ]
    for line in warnings:
        assert "Alex" not in line and str(couple.group.id) not in line


async def test_breathing_during_a_pause_runs_in_private(
    couple: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.breathing.PHASE_SECONDS", 0.01)
    await couple.group.send(couple.alex, "/pause")
    started = await couple.group.expect("Alex asked for a pause")
    await couple.alex.press(started, "Breathe with me")
    breathing = await couple.alex.private.next_bot_message()
    await couple.group.send(couple.sam, "/pause")  # other updates aren't held up meanwhile
    await couple.group.expect("You're in a pause")
    assert breathing.chat_id == couple.alex.id


@pytest.mark.clock(datetime(2026, 3, 10, 12, 30, tzinfo=UTC))  # a Tuesday
async def test_a_pause_whose_end_was_missed_for_days_holds_nothing_back(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    # The bot was down for longer than a pause end is still worth a word: the pause is over
    # all the same, so prompts and new pauses aren't held back for ever.
    group = couple.group
    await group.send(couple.sam, "/checkin tue 13:00")
    await group.expect("Tuesdays at 13:00")
    await group.send(couple.alex, "/pause 20")
    await group.expect("Alex asked for a pause")
    await restart(downtime=timedelta(hours=25))
    await clock.advance(timedelta(days=7), sandbox)
    assert any("Check-in: how was this week" in m.text for m in group.bot_messages())
    group.skip()  # what the week brought
    await group.send(couple.sam, "/pause")
    await group.expect("Sam asked for a pause")


async def test_a_pause_whose_end_was_missed_while_the_bot_was_out_holds_nothing_back(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    group = couple.group
    await group.send(couple.alex, "/pause 20")
    await group.expect("Alex asked for a pause")
    await group.remove_bot(by=couple.alex)
    await sandbox.settle()
    await clock.advance(timedelta(days=2), sandbox)
    await group.add_bot(by=couple.alex)
    await clock.advance(timedelta(hours=1), sandbox)
    await group.send(couple.sam, "/pause")
    await sandbox.settle()
    assert "Sam asked for a pause" in group.bot_messages()[-1].text
