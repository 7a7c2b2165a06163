"""The whole bot process killed with SIGKILL mid-pause and mid-check-in, and started again over
the same data on an accelerated clock: every pending effect happens once, as the couple sees it.

The bot runs as its own process (`python -m bot`) with Debian's libfaketime preloaded, SPEED
times as fast as the real clock, against the sandbox in this process (on the real clock). Its
clock goes on at that pace through kills and downtime (see FastClock), so a 20-minute pause ends
20 minutes of its time after it began, whatever happened in between. Message dates are the
sandbox's, so the assertions are on order and counts, and on times the bot shows, in its own
clock's terms.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from bot.sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage
from bot.sandbox.records import MessageEvent
from tests.conftest import BotProcess, needs, onboard

T = TypeVar("T")

SPEED = 120  # a 20-minute pause ends in 10 s
PAUSE = timedelta(minutes=20)  # the shortest pause
# How far the bot's clock may be from FastClock's: faketime starts counting a moment after the
# process is started, at SPEED times the pace.
SLACK = timedelta(seconds=30)
PAUSE_OVER = "The pause is over"
PAUSE_OVER_LATE = "Your pause ended at"


def _libfaketime() -> str | None:
    """Debian's libfaketime (package faketime), preloaded into the bot's process. Not through
    the `faketime` program: it keeps a named semaphore per process id that a killed process
    never removes, and once the id comes round again it refuses to start."""
    candidates = [
        *sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1")),
        Path("/usr/lib/faketime/libfaketime.so.1"),
    ]
    return next((str(path) for path in candidates if path.is_file()), None)


@pytest.fixture(autouse=True)
def faketime() -> str:
    """Debian's libfaketime; scripts/test installs it (as root) when it is missing."""
    found = _libfaketime()
    if found is None:
        needs(
            "faketime",
            "needs Debian's faketime to run the bot on an accelerated clock; scripts/test "
            "installs it when run as root (apt-get install faketime)",
        )
    assert found is not None
    return found


class FastClock:
    """The bot's clock: SPEED times as fast as the real one from the real now on, going on at
    that pace while the bot is down; `jump` moves it further ahead (a longer downtime)."""

    def __init__(self, speed: int) -> None:
        self.speed = speed
        self.started = time.time()
        self.ahead = 0.0

    def at(self, real: float) -> datetime:
        """The bot's time at a real moment (`time.time()`)."""
        elapsed = real - self.started
        return datetime.fromtimestamp(self.started + self.ahead + self.speed * elapsed, UTC)

    def now(self) -> datetime:
        return self.at(time.time())

    def jump(self, downtime: timedelta) -> None:
        self.ahead += downtime.total_seconds()

    def faketime_spec(self) -> str:
        """libfaketime's FAKETIME for a process started now: the clock's lead, and its pace."""
        real = time.time()
        return f"+{self.at(real).timestamp() - real:.3f} x{self.speed}"


class FastBot(BotProcess):
    """`python -m bot` under faketime, on the FastClock."""

    def __init__(self, sandbox: Sandbox, tmp_path: Path, clock: FastClock, faketime: str) -> None:
        super().__init__(sandbox, tmp_path / "data", tmp_path / "bot.log")
        self.clock = clock
        self.faketime = faketime
        # Five real seconds for each answer of the sandbox, whatever the pace.
        self.env["BOT_API_TIMEOUT"] = str(5 * clock.speed)

    def _launch(self) -> None:
        # The clock as it is now, for a process started now.
        self.env["LD_PRELOAD"] = self.faketime
        self.env["FAKETIME"] = self.clock.faketime_spec()
        super()._launch()

    async def stop(self) -> None:
        """Killed: nothing after the test needs it to end gracefully."""
        if self.process is not None and self.process.poll() is None:
            self.kill()
        await super().stop()  # it has ended: this only waits for its last output to be logged

    def signal_kill(self) -> None:
        """SIGKILL at once, without waiting (from inside a sandbox callback)."""
        self._signal(signal.SIGKILL)

    async def restart(self) -> None:
        self.kill()
        await self.start()


@pytest.fixture
async def fast_bot(sandbox: Sandbox, tmp_path: Path, faketime: str) -> AsyncIterator[FastBot]:
    process = FastBot(sandbox, tmp_path, FastClock(SPEED), faketime)
    try:
        await process.start()
        yield process
    finally:
        await process.stop()


class Arrivals:
    """When each bot message reached the sandbox (real time), for the bot's clock."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.at: dict[tuple[int, int], float] = {}
        sandbox.on_message(self._seen)

    def _seen(self, event: MessageEvent) -> None:
        if event.kind == "new":
            key = (event.message.chat_id, event.message.message_id)
            self.at.setdefault(key, time.time())

    def of(self, message: SentMessage) -> float:
        return self.at[(message.chat_id, message.message_id)]


def shown_time(text: str, after: str, near: datetime) -> datetime:
    """The clock time the bot shows after `after` ("18:23", or "Tuesday 00:05" on another
    day, in UTC), on the day of `near`."""
    found = re.search(re.escape(after) + r"\s+(?:[A-Za-z]+\s+)?(\d\d):(\d\d)", text)
    assert found is not None, f"no time after {after!r} in {text!r}"
    hour, minute = int(found[1]), int(found[2])
    shown = near.replace(hour=hour, minute=minute, second=0, microsecond=0)
    # The nearest such moment to `near` (the day may have turned in between).
    return min((shown + timedelta(days=d) for d in (-1, 0, 1)), key=lambda m: abs(m - near))


class Mark:
    """Where each chat's transcript stood when a round began, to count what came since."""

    def __init__(self, *chats: SandboxChat) -> None:
        self.start = {chat.id: len(chat.messages) for chat in chats}

    def said(self, chat: SandboxChat, *fragments: str) -> list[SentMessage]:
        """The bot's messages in the chat since the mark that hold every fragment."""
        return [
            m
            for m in chat.messages[self.start[chat.id] :]
            if m.from_bot and not m.is_service and all(f in m.text for f in fragments)
        ]


def is_pause_end(message: SentMessage) -> bool:
    """The pause's end as the group sees it (on time, or late and saying so)."""
    return PAUSE_OVER in message.text or PAUSE_OVER_LATE in message.text


def pause_ends(chat: SandboxChat, mark: Mark) -> list[SentMessage]:
    return [m for m in mark.said(chat) if is_pause_end(m)]


def kill_on_arrival(
    sandbox: Sandbox, bot: FastBot, wanted: Callable[[SentMessage], bool]
) -> asyncio.Event:
    """Kill the bot the moment a message of its that `wanted` picks reaches the sandbox: the
    message was taken, but the bot never hears back. The event is set once it is killed."""
    killed = asyncio.Event()

    def seen(event: MessageEvent) -> None:
        if event.kind == "new" and event.message.from_bot and wanted(event.message):
            unsubscribe()
            bot.signal_kill()
            killed.set()

    unsubscribe = sandbox.on_message(seen)
    return killed


async def test_a_pause_killed_midway_ends_once_on_time(sandbox: Sandbox, fast_bot: FastBot) -> None:
    clock = fast_bot.clock
    arrivals = Arrivals(sandbox)
    people = await onboard(sandbox, None)
    group = people.group
    mark = Mark(group)

    asked = time.time()
    await group.send(people.alex, "/pause 20")
    started = await group.expect("Alex asked for a pause", "20 minutes")
    # The bot took the pause between the command and its answer, on its own clock.
    earliest, latest = clock.at(asked) + PAUSE, clock.at(arrivals.of(started)) + PAUSE
    shown = shown_time(started.text, "You come back at", earliest)
    assert earliest - timedelta(minutes=1) - SLACK <= shown <= latest + SLACK
    await sandbox.settle(confirmed=True)

    # Mid-pause, the whole process is killed; it comes back some minutes later (its time).
    await fast_bot.restart()
    back = clock.now()

    # A generous bound: it is only reached if the end never comes (on a loaded machine the
    # restarted process may take many real seconds to start).
    wait = (latest - back).total_seconds() / SPEED + 60
    over = await group.wait_for(is_pause_end, timeout=wait)
    assert clock.at(arrivals.of(over)) >= earliest - SLACK  # never before it was due
    if back < earliest - timedelta(minutes=1):  # back in time (a very busy machine may not be)
        assert PAUSE_OVER in over.text  # on time by the bot's clock (late, it would say so)
        assert clock.at(arrivals.of(over)) <= latest + timedelta(minutes=2) + SLACK

    # Killed once more right after: nothing is said again, and the bot goes on.
    await sandbox.settle(confirmed=True)
    await fast_bot.restart()
    await group.send(people.sam, "/pause")
    await group.expect("Sam asked for a pause")
    assert len(pause_ends(group, mark)) == 1


async def reply_to_question(person: SandboxUser, text: str) -> None:
    """Answer the next reflection question the bot asks in the person's private chat."""
    question = await person.private.wait_for(lambda m: m.force_reply and " of 3" in m.text)
    await person.private.reply(person, to=question, text=text)


async def reflect(person: SandboxUser, texts: list[str], *, last_choice: bool = True) -> None:
    """Answer the reflection questions left, sharing each; without `last_choice`, the last
    answer is left waiting for its share-or-keep choice."""
    for number, text in enumerate(texts, start=1):
        await reply_to_question(person, text)
        choice = await person.private.expect("Saved, privately")
        if last_choice or number < len(texts):
            await person.press(choice, "Share it")
    if last_choice:
        await person.private.expect("that's all three")


def assert_asked_once(mark: Mark, *people: SandboxUser) -> None:
    """Each question, each share-or-keep choice and the closing word came once to each."""
    for person in people:
        for number in (1, 2, 3):
            assert len(mark.said(person.private, f"{number} of 3")) == 1, person.name
        assert len(mark.said(person.private, "Saved, privately")) == 3, person.name
        assert len(mark.said(person.private, "that's all three")) == 1, person.name


async def test_a_check_in_killed_midway_asks_nothing_twice_and_reveals_once(
    sandbox: Sandbox, fast_bot: FastBot
) -> None:
    people = await onboard(sandbox, None)
    alex, sam, group = people.alex, people.sam, people.group
    mark = Mark(group, alex.private, sam.private)
    await group.send(alex, "/checkin")
    await group.expect("Check-in: how was this week between you?")
    poll = await group.next_bot_message()
    assert poll.poll is not None
    await alex.answer_poll(poll, [3])

    # Alex answers the first question; the whole process is killed while it takes that in.
    await reply_to_question(alex, "We laughed on the call")
    await asyncio.sleep(random.Random(8).uniform(0, 0.05))  # a moment in its handling
    await fast_bot.restart()

    choice = await alex.private.expect("Saved, privately")  # the next step, once
    await alex.press(choice, "Share it")
    await reflect(alex, ["Friday still stings", "Call before bed"])
    await sam.answer_poll(poll, [4])  # a vote after the restart counts as one before it
    await reflect(sam, ["You called when you said", "The late nights", "Tell you more"])

    reveal = await group.expect("side by side", "Alex 4/5", "Sam 5/5")
    assert "We laughed on the call" in reveal.text and "The late nights" in reveal.text
    await sandbox.settle(confirmed=True)
    await fast_bot.restart()  # once more: nothing owed is said again
    await sandbox.settle(confirmed=True)
    assert len(mark.said(group, "side by side")) == 1
    assert len(mark.said(group, "Check-in: how was this week")) == 1
    # Closed in the chat too, unless the kill cut the poll's own send: then its message can't be
    # known (its votes still counted, from the first one on), and only the counting stops.
    cut = "was being sent when the bot stopped" in fast_bot.log.read_text(errors="replace")
    assert poll.poll["is_closed"] or cut
    assert_asked_once(mark, alex, sam)


async def kill_somewhen(
    sandbox: Sandbox,
    bot: FastBot,
    rng: random.Random,
    wanted: Callable[[SentMessage], bool],
    begin: Callable[[], Awaitable[T]],
) -> tuple[str, T]:
    """`begin` something, and kill the bot at a seeded moment while it follows up: the instant
    the message `wanted` picks reaches the sandbox, or a random few hundred milliseconds on
    (before, while or after it is sent). Returns which moment (for a failure's message), and
    what `begin` returned."""
    on_arrival, delay = rng.random() < 0.3, rng.uniform(0, 0.3)
    killed = kill_on_arrival(sandbox, bot, wanted) if on_arrival else None
    begun = await begin()
    if killed is not None:
        await asyncio.wait_for(killed.wait(), 15)
        return "on arrival", begun
    await asyncio.sleep(delay)
    bot.signal_kill()
    return f"after {delay:.3f} s", begun


ROUNDS = 3


async def test_kills_while_the_pause_end_or_the_reveal_is_sent_neither_repeat_nor_lose_them(
    sandbox: Sandbox, fast_bot: FastBot
) -> None:
    clock = fast_bot.clock
    rng = random.Random(20261130)
    people = await onboard(sandbox, None)
    alex, sam, group = people.alex, people.sam, people.group

    for round_ in range(ROUNDS):
        mark = Mark(group)
        pauser = (alex, sam)[round_ % 2]
        asked = time.time()
        await group.send(pauser, "/pause 20")
        await group.expect("asked for a pause")
        await sandbox.settle(confirmed=True)
        # Down until about when the pause ends; killed again while its end is being sent.
        fast_bot.kill()
        clock.jump(clock.at(asked) + PAUSE - clock.now() - timedelta(minutes=2))
        moment, _ = await kill_somewhen(sandbox, fast_bot, rng, is_pause_end, fast_bot.start)
        fast_bot.kill()
        await fast_bot.start()
        await group.wait_for(is_pause_end, timeout=60)
        await sandbox.settle(confirmed=True)
        assert len(pause_ends(group, mark)) == 1, f"round {round_}, killed {moment}"

    for round_ in range(ROUNDS):
        mark = Mark(group, alex.private, sam.private)
        await group.send(alex, "/checkin")
        if round_:  # within a week of the last one: it starts because Sam wants one too
            ask = await group.wait_for(lambda m: "would like another check-in" in m.text)
            await sam.press(ask, "Yes, one now")
        await group.wait_for(lambda m: "Check-in: how was this week between you?" in m.text)
        poll = await group.wait_for(lambda m: m.poll is not None)
        assert poll.poll is not None
        await alex.answer_poll(poll, [round_])
        await sam.answer_poll(poll, [4])
        await reflect(alex, [f"well {round_}", "hurts", "will do"])
        await reflect(sam, [f"kind {round_}", "stings", "call"], last_choice=False)
        # Sam's last choice brings the reveal; the bot is killed somewhere in sending it.
        choice = mark.said(sam.private, "Saved, privately")[-1]
        moment, pressed = await kill_somewhen(
            sandbox,
            fast_bot,
            rng,
            lambda m: "side by side" in m.text,
            partial(press_in_background, sam, choice, "Share it"),
        )
        fast_bot.kill()
        await fast_bot.start()
        reveal = await group.wait_for(lambda m: "side by side" in m.text, timeout=60)
        pressed.cancel()  # its answer may never come: the press was handled before the kill
        await sandbox.settle(confirmed=True)
        failure = f"round {round_}, killed {moment}"
        assert f"well {round_}" in reveal.text and f"kind {round_}" in reveal.text, failure
        assert f"Alex {round_ + 1}/5" in reveal.text and "Sam 5/5" in reveal.text, failure
        assert len(mark.said(group, "side by side")) == 1, failure
        assert poll.poll["is_closed"], failure
        assert_asked_once(mark, alex, sam)


async def press_in_background(
    person: SandboxUser, message: SentMessage, label: str
) -> asyncio.Task[None]:
    """Press a button while the bot may be killed before it answers the press (the effect
    must still happen; the answer itself is best effort)."""

    async def press() -> None:
        with contextlib.suppress(AssertionError):
            await person.press(message, label)

    return asyncio.create_task(press())
