"""Floods: a partner sending one command or pressing one button hundreds of times is answered
once, calmly, every press still answered, and nothing else is held back: the other partner,
typed answers, and the couple's timed messages, which go first in Telegram's limits."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app import MendApp, services_of, stop
from bot.config import FLOOD_PER_COUPLE, FLOOD_PER_PERSON, FLOOD_SAME, FLOOD_WINDOW, Settings
from bot.context import Services
from bot.features.journal import JOURNAL_TABLE
from bot.flood import FloodGuard
from bot.ratelimit import RateLimiter
from bot.sandbox import Sandbox
from tests.conftest import Clock, People, launch, onboard

FLOOD = 200
CALM = "That was a lot at once"
CALM_PRESS = ("That many taps in a row", "So oft hintereinander")  # en, de
WINDOW = timedelta(seconds=FLOOD_WINDOW)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Mend's own limits, not the test suite's."""
    return dataclasses.replace(
        settings,
        flood_same=FLOOD_SAME,
        flood_per_person=FLOOD_PER_PERSON,
        flood_per_couple=FLOOD_PER_COUPLE,
    )


async def calm(clock: Clock, sandbox: Sandbox) -> None:
    """Time passes after setting up (the presses of onboarding count too)."""
    await clock.advance(WINDOW, sandbox)


async def test_two_hundred_checkins_start_one_and_are_answered_once(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await calm(clock, sandbox)
    group, private = couple.group, couple.alex.private
    before, before_private = len(group.bot_messages()), len(private.bot_messages())
    for _ in range(FLOOD):
        await group.send(couple.alex, "/checkin")
    await sandbox.settle()
    posted = group.bot_messages()[before:]
    assert sum("Check-in: how was this week" in m.text for m in posted) == 1
    assert sum(m.poll is not None for m in posted) == 1
    assert sum(CALM in m.text for m in posted) == 1
    # The check-in (its outline and poll), what was answered before the limit, the notice.
    assert len(posted) <= FLOOD_SAME + 2, group.transcript(len(posted))
    asked = private.bot_messages()[before_private:]
    assert sum("1 of 3" in m.text for m in asked) == 1  # one check-in's first question


async def test_two_hundred_presses_have_one_effect_and_each_is_answered(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(sam, "/language German")
    proposed = await group.expect("Sam would like me to write in Deutsch")
    await calm(clock, sandbox)
    button = proposed.find_button("Yes, agreed")
    assert button is not None and button.callback_data is not None
    presses = [alex.press_data(proposed, button.callback_data) for _ in range(FLOOD)]
    answers = await asyncio.gather(*presses)  # each press answered: no button left spinning
    await sandbox.settle()
    assert couple.couple().language == "de"
    agreed = [m for m in group.bot_messages() if "ab jetzt auf Deutsch" in m.text]
    assert len(agreed) == 1
    # Said once (in German: the first press made it the group's language), then nothing.
    assert sum((a.text or "").startswith(CALM_PRESS) for a in answers) == 1
    assert not any(CALM in m.text for m in group.bot_messages())  # a press's note is its own


async def test_a_flood_holds_back_only_commands_of_who_floods_until_it_calms(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await alex.send_private("/worry")
    question = await alex.private.expect("What's on your mind?")
    await calm(clock, sandbox)
    for _ in range(FLOOD):
        await group.send(alex, "/help")
    for _ in range(FLOOD // 10):
        await group.send(alex, "Hold on, I'm looking for the right command")
    await sandbox.settle()
    assert sum(CALM in m.text for m in group.bot_messages()) == 1
    group.skip()
    # A typed answer and ordinary chat are never held back; nor is the other partner.
    await alex.private.reply(alex, to=question, text="The trip with your friends")
    await alex.private.expect("Parked.")
    await group.send(sam, "/help")
    await group.expect("/settings")
    await group.send(alex, "/help")
    await sandbox.settle()
    last = group.messages[-1]
    assert last.text == "/help" and not last.from_bot  # Alex's flood hasn't calmed yet
    await clock.advance(WINDOW, sandbox)
    await group.send(alex, "/help")
    await group.expect("/settings")


@pytest.fixture
async def limited(settings: Settings, clock: Clock) -> AsyncIterator[MendApp]:
    """The bot with Telegram's limits kept (the other tests leave them to the sandbox)."""
    application = await launch(settings, clock, rate_limit=True)
    try:
        yield application
    finally:
        limiter = application.bot.rate_limiter
        if isinstance(limiter, RateLimiter):  # whatever a test left waiting goes now
            limiter.group_clock = lambda: time.monotonic() + 3600
        await stop(application)


async def test_a_pause_ends_at_once_while_a_flood_waits_for_the_groups_budget(
    sandbox: Sandbox, limited: MendApp, clock: Clock
) -> None:
    couple = await onboard(sandbox, services_of(limited), open_private=False)
    group, alex = couple.group, couple.alex
    await group.send(alex, "/pause 20")
    await group.expect("Alex asked for a pause", "20 minutes")
    await calm(clock, sandbox)
    limiter = limited.bot.rate_limiter
    assert isinstance(limiter, RateLimiter)
    # Time stands still for the limiter: the group's budget, once spent, stays spent.
    stopped = time.monotonic()
    limiter.group_clock = lambda: stopped
    for _ in range(FLOOD):
        await group.send(alex, "/checkin")
    await sandbox.wait_until(
        lambda: limiter.waiting(group.id) > 0, "the flood's answers waiting for the budget"
    )
    group.skip()
    await clock.advance(timedelta(minutes=21))
    ended = await group.expect("The pause is over")
    assert limiter.waiting(group.id) > 0, "the pause end went before what was waiting"
    limiter.group_clock = lambda: stopped + 3600  # an hour later: the budget is back
    await sandbox.wait_until(lambda: limiter.waiting(group.id) == 0, "what waited being sent")
    await sandbox.settle()
    assert sum(CALM in m.text for m in group.bot_messages()) == 1
    assert group.bot_messages()[-1].message_id > ended.message_id


async def test_what_differs_is_no_flood_and_nothing_written_is_held_back(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    """A partner writing one journal entry after another, quickly, is answered every time:
    the same command with other words is not a repeat."""
    await calm(clock, sandbox)
    alex = couple.alex
    entries = [f"Thought number {n} about last night" for n in range(FLOOD_SAME * 2)]
    for entry in entries:
        await alex.send_private(f"/journal {entry}")
    await sandbox.settle()
    saved = [m for m in alex.private.bot_messages() if "Saved, just for you" in m.text]
    assert len(saved) == len(entries)
    assert not any(CALM in m.text for m in alex.private.bot_messages())
    stored = services.store.records(couple.group.id, JOURNAL_TABLE)
    assert sorted(answer for e in stored for answer in e["answers"]) == sorted(entries)


def test_a_couple_counted_while_its_partner_floods_elsewhere_is_forgotten_in_time() -> None:
    """A person over their own limit in private who then writes in their group: the couple
    is looked at but nothing of theirs is counted, and the counts are still swept later."""
    guard = FloodGuard(same=2, per_person=10, per_couple=10, window=30)
    verdicts = [guard.judge(1, "command:/progress", None, now) for now in (0.0, 1.0, 2.0)]
    assert verdicts == ["go", "go", "tell"]
    assert guard.judge(1, "command:/progress", -5, 3.0) == "quiet"
    assert guard.judge(2, "command:/help", -5, 100.0) == "go"  # a window later: swept
    assert guard.judge(1, "command:/progress", None, 101.0) == "go"  # calm again
