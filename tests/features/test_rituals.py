"""Daily rituals through the sandbox: chosen per partner with buttons, nudged privately at each
partner's own time (across daylight saving in both hemispheres), snoozed, skipped, paused with
away-mode, written here and passed on, and never replayed after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import services_of
from bot.features.rituals import PROMPT, SETTINGS_TABLE
from bot.sandbox import Sandbox, SandboxUser, SentMessage
from tests.conftest import Clock, People, Restart

BERLIN, SYDNEY = ZoneInfo("Europe/Berlin"), ZoneInfo("Australia/Sydney")
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # a Monday morning


def prompts(person: SandboxUser, fragment: str = "Your morning note") -> list[SentMessage]:
    return [m for m in person.private.bot_messages() if fragment in m.text]


async def morning_at(person: SandboxUser, at: str) -> None:
    """The person turns on their morning note at a typed time, in their private chat."""
    chat = person.private
    await person.send_private("/rituals")
    overview = await chat.expect(f"Daily rituals for {person.name}")
    await person.press(overview, "08:00 · change")
    presets = await chat.expect("When should I nudge you about your morning note")
    await person.press(presets, "Another time")
    question = await chat.expect("what time suits your morning note")
    await chat.reply(person, to=question, text=at)
    await chat.expect(f"your morning note is on, at {at}")


async def test_each_partner_chooses_their_own_rituals_with_buttons(
    sandbox: Sandbox, couple: People
) -> None:
    group = couple.group
    await group.send(couple.alex, "/rituals")
    overview = await group.expect("Daily rituals for Alex", "morning note at 08:00 (off)")
    assert overview.button_texts() == [
        "○ Morning note",
        "08:00 · change",
        "○ Today's appreciation",
        "18:00 · change",
        "○ Bedtime positive",
        "21:30 · change",
    ]

    answer = await couple.sam.press(overview, "○ Morning note")
    assert answer.show_alert and answer.text == (
        "These are Alex's rituals. Send /rituals to set your own."
    )
    await couple.alex.press(overview, "○ Morning note")
    assert "✓ ☀️ morning note at 08:00" in overview.text
    assert "✓ Morning note" in overview.button_texts()
    services = couple.services
    assert services is not None
    [pending] = services.timers.pending(group.id, PROMPT)
    assert pending["partner"] == couple.alex.id

    await couple.alex.press(overview, "18:00 · change")
    presets = await group.expect("When should I nudge you about your appreciation of the day")
    await couple.alex.press(presets, "19:00")
    await group.expect("is on, at 19:00")
    # The overview it was changed from shows the new time at once.
    await sandbox.wait_until(
        lambda: "appreciation of the day at 19:00" in overview.text, "the new time shown"
    )
    assert "19:00 · change" in overview.button_texts()
    await couple.alex.press(overview, "21:30 · change")
    presets = await group.expect("bedtime positive")
    await couple.alex.press(presets, "Another time")
    question = await group.expect("Alex, what time suits your bedtime positive")
    await group.reply(couple.alex, to=question, text="whenever")
    await group.expect("isn't a time I can read")

    answer = await couple.alex.press_data(overview, f"rit:t:{couple.alex.id}:9")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    [alex_choice] = services.store.records(group.id, SETTINGS_TABLE)
    assert alex_choice["partner"] == couple.alex.id
    assert sorted(alex_choice["on"]) == ["appreciation", "morning"]
    assert len(services.timers.pending(group.id, PROMPT)) == 2


@pytest.mark.clock(START)
async def test_a_snoozed_and_a_skipped_ritual(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    alex = couple.alex
    await morning_at(alex, "10:00")
    await clock.to(START.replace(hour=10, minute=1), sandbox)
    [prompt] = prompts(alex)
    assert "Good morning, Alex" in prompt.text and "Sam" in prompt.text
    answer = await alex.press(prompt, "Later (1 hour)")
    assert answer.text == "I'll ask again in an hour."
    assert prompt.buttons == []

    await clock.advance(timedelta(minutes=58), sandbox)
    assert len(prompts(alex)) == 1
    await clock.advance(timedelta(minutes=3), sandbox)
    again = prompts(alex)[-1]
    assert len(prompts(alex)) == 2 and "Here it is again" in again.text
    answer = await alex.press(again, "Skip today")
    assert answer.text == "Skipped for today. See you tomorrow."
    await clock.advance(timedelta(hours=3), sandbox)
    assert len(prompts(alex)) == 2

    await clock.to(START.replace(day=5, hour=10, minute=1), sandbox)
    tomorrow = prompts(alex)[-1]
    assert len(prompts(alex)) == 3 and "Here it is again" not in tomorrow.text
    answer = await alex.press(tomorrow, "Done ✓")
    assert answer.text == "Lovely. Done for today."
    assert prompts(couple.sam) == []  # Sam chose no ritual, and sees nothing of Alex's
    assert not any("morning" in m.text for m in couple.group.bot_messages())


@pytest.mark.clock(START)
async def test_a_nudge_left_unanswered_loses_its_buttons_when_the_next_one_comes(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    alex = couple.alex
    await morning_at(alex, "10:00")
    await clock.to(START.replace(hour=10, minute=1), sandbox)
    [monday] = prompts(alex)
    assert monday.buttons != []
    await clock.to(START.replace(day=5, hour=10, minute=1), sandbox)
    tuesday = prompts(alex)[-1]
    assert tuesday is not monday and tuesday.buttons != []
    await sandbox.wait_until(lambda: monday.buttons == [], "Monday's buttons gone")


@pytest.mark.clock(START)
async def test_a_ritual_in_ones_own_quiet_hours_is_said_and_comes_silently(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    alex = couple.alex
    await alex.send_private("/quiet 22:00-07:00")
    await alex.private.expect("Quiet hours set")
    await alex.send_private("/rituals")
    overview = await alex.private.expect("Daily rituals for Alex")
    await alex.press(overview, "21:30 · change")
    presets = await alex.private.expect("bedtime positive")
    await alex.press(presets, "22:30")
    await alex.private.expect(
        "bedtime positive is on, at 22:30",
        "22:30 is inside your quiet hours (22:00–07:00)",
        "still come at 22:30",
        "without a sound",
    )
    await sandbox.wait_until(lambda: "in your quiet hours" in overview.text, "the clash marked")

    await clock.to(START.replace(hour=22, minute=31), sandbox)
    [prompt] = prompts(alex, "Your bedtime positive")
    assert prompt.silent  # at the time Alex chose, without waking anyone


@pytest.mark.clock(START)
async def test_away_mode_pauses_prompts_through_a_day_and_back_resumes(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    alex = couple.alex
    await morning_at(alex, "10:00")
    for wrong in ("/away", "/away someday", "/away 2026-05-03", "/away 2031-01-01"):
        await alex.send_private(wrong)
        await alex.private.expect("last day you'll be away", "/away 2026-05-11")
    await alex.send_private("/away 6.5.")
    await alex.private.expect("through May 6, 2026, that day included", "return on May 7")

    await clock.to(START.replace(day=6, hour=9), sandbox)
    assert prompts(alex) == []  # neither today's nor tomorrow's
    await alex.send_private("/back")
    await alex.private.expect("Welcome back")
    await alex.send_private("/back")
    await alex.private.expect("You weren't away")
    await clock.advance(timedelta(hours=1, minutes=1), sandbox)
    assert len(prompts(alex)) == 1  # May 6 was in the away-days, but Alex came back early


@pytest.mark.clock(START)
async def test_a_note_written_here_is_passed_on_to_the_group(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    alex = couple.alex
    await morning_at(alex, "10:00")
    await clock.to(START.replace(hour=10, minute=1), sandbox)
    [prompt] = prompts(alex)
    done = next(b.callback_data for row in prompt.buttons for b in row if b.text == "Done ✓")
    await alex.press(prompt, "Write it here")
    question = await alex.private.wait_for(lambda m: "Write your morning note for Sam" in m.text)
    assert prompt.buttons == []  # chosen: the note is written here
    await alex.private.reply(alex, to=question, text="Morning, love <3")
    await couple.group.expect("Alex's morning note for Sam", "Morning, love <3")
    await alex.private.expect("Passed on to Sam")
    assert done is not None
    answer = await alex.press_data(prompt, done)
    assert answer.show_alert  # the day is already kept


@pytest.mark.clock(START)
async def test_a_prompt_missed_during_downtime_is_not_replayed(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    await morning_at(couple.alex, "10:00")
    app = await restart(downtime=timedelta(hours=3))
    await sandbox.settle()
    assert prompts(couple.alex) == []
    [pending] = services_of(app).timers.pending(couple.group.id, PROMPT)
    assert pending["due"] == START.replace(day=5, hour=10).isoformat()


@pytest.mark.clock(START)
async def test_prompts_come_back_after_downtime_even_if_telegram_is_slow_to_start(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    """The scheduler starts once deleteWebhook has answered; the job that puts recurring
    timers back was due before that and must still run."""
    await morning_at(couple.alex, "10:00")
    sandbox.faults.inject("deleteWebhook", kind="delay", delay=2)
    await restart(downtime=timedelta(hours=3))
    await sandbox.settle()
    assert sandbox.faults.pending == 0
    await clock.to(START.replace(day=5, hour=10, minute=1), sandbox)
    [prompt] = prompts(couple.alex)
    assert datetime.fromtimestamp(prompt.date, UTC).date() == START.replace(day=5).date()


@pytest.mark.clock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
async def test_prompts_keep_each_partners_local_time_across_daylight_saving(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    """Europe springs forward on 29 March, Sydney falls back on 5 April 2026."""
    for person, city in ((couple.alex, "Berlin"), (couple.sam, "Sydney")):
        await person.send_private(f"/timezone {city}")
        await person.private.expect("Time zone set")
        await person.send_private("/rituals")
        overview = await person.private.expect(
            "Daily rituals", "(Europe/Berlin)" if city == "Berlin" else "(Australia/Sydney)"
        )
        await person.press(overview, "○ Morning note")
        assert "✓ Morning note" in overview.button_texts()

    await clock.to(datetime(2026, 4, 6, 12, 0, tzinfo=UTC), sandbox)
    for person, zone in ((couple.alex, BERLIN), (couple.sam, SYDNEY)):
        local = [datetime.fromtimestamp(m.date, zone) for m in prompts(person)]
        assert {(d.hour, d.minute) for d in local} == {(8, 0)}, person.name
        assert [(d.month, d.day) for d in local] == [
            (3, 28),
            (3, 29),
            (3, 30),
            (3, 31),
            (4, 1),
            (4, 2),
            (4, 3),
            (4, 4),
            (4, 5),
            (4, 6),
        ]
