"""Fixtures: the sandbox Bot API server, the real bot polling it over HTTP (in the test's
process, or as its own), and a couple."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
import time_machine

from bot.app import MendApp, build_application, services_of, start, stop
from bot.config import Settings
from bot.context import Services
from bot.features.checkins import Checkin, Reflection
from bot.model import Couple, to_iso
from bot.sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage
from bot.sandbox.clock import Clock
from bot.sandbox.playground import Playground
from bot.sandbox.web import Page


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged as an error (a handler that failed, a message that went wrong)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Iterator[Clock]:
    """Starts at the real now, or where `@pytest.mark.clock(datetime(...))` says."""
    marker = request.node.get_closest_marker("clock")
    start = marker.args[0] if marker else datetime.now(UTC)
    with time_machine.travel(start, tick=True) as traveller:
        yield Clock(traveller)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that surely never arrived is repeated at once in tests (the pauses between
    attempts are real seconds, which the test clock doesn't move)."""
    monkeypatch.setattr("bot.network.RETRY_PAUSES", (0.0, 0.0))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as server:
        yield server


# Tests press and send far faster than people do: Mend's flood limits (bot.flood) would stop
# them. tests/test_flood.py puts the real limits back.
UNLIMITED = 1000


@pytest.fixture
def settings(tmp_path: Path, sandbox: Sandbox) -> Settings:
    return Settings(
        token=sandbox.token,
        api_base_url=sandbox.base_url,
        data_dir=tmp_path / "data",
        erase_after_days=14,
        log_level="DEBUG",
        flood_same=UNLIMITED,
        flood_per_person=UNLIMITED,
        flood_per_couple=UNLIMITED,
    )


async def launch(settings: Settings, clock: Clock, *, rate_limit: bool = False) -> MendApp:
    """Build the bot over `settings` and start it polling, on the test's clock (a test that
    must set the sandbox up before the bot starts calls this instead of using `app`). With
    `rate_limit` the bot keeps Telegram's limits itself, as it does when it runs."""
    application = build_application(settings, rate_limit=rate_limit)
    clock.app = application
    await start(application, poll_timeout=1)
    return application


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[MendApp]:
    application = await launch(settings, clock)
    try:
        yield application
    finally:
        await stop(application)


@pytest.fixture
def services(app: MendApp) -> Services:
    return services_of(app)


Restart = Callable[..., Awaitable[MendApp]]


@pytest.fixture
async def restart(settings: Settings, clock: Clock, app: MendApp) -> AsyncIterator[Restart]:
    """Stop the bot and start a new process-like instance over the same data directory;
    `await restart(downtime=timedelta(hours=2))` lets time pass while it is down, and
    `while_down` plays what people (or Telegram) do meanwhile."""
    apps = [app]

    async def again(
        downtime: timedelta = timedelta(0),
        while_down: Callable[[], Awaitable[object] | object] | None = None,
    ) -> MendApp:
        await stop(apps[-1])
        clock.jump(downtime)
        if while_down is not None:
            done = while_down()
            if inspect.isawaitable(done):
                await done
        fresh = await launch(settings, clock)
        apps.append(fresh)
        return fresh

    yield again
    for application in apps[1:]:
        await stop(application)


@dataclass
class People:
    """A couple as the tests meet them: two people, their group, their first messages."""

    alex: SandboxUser
    sam: SandboxUser
    group: SandboxChat
    joined: dict[str, SentMessage]
    services: Services | None

    def couple(self) -> Couple:
        assert self.services is not None, "this bot runs in another process"
        couple = self.services.store.couple(self.group.id)
        assert couple is not None
        return couple


async def agree(chat: SandboxChat, person: SandboxUser, *fragments: str) -> SentMessage:
    """`person` agrees to the next proposal with `fragments` (it binds both: bot.consent)."""
    proposed = await chat.wait_for(lambda m: m.contains(*fragments) and m.buttons != [])
    await person.press(proposed, "Yes, agreed")
    return proposed


async def path_and_no_roles(
    group: SandboxChat, alex: SandboxUser, sam: SandboxUser, path: str
) -> None:
    """Both are in: Alex proposes `path` and Sam agrees; Sam proposes no roles and Alex
    agrees, which completes the setup."""
    await alex.press(await group.wait_for(lambda m: "Which of these fits" in m.text), path)
    await agree(group, sam, "Alex proposes")
    await sam.press(await group.expect("Would you like to say"), "Skip roles")
    await agree(group, alex, "Sam proposes no roles")
    await group.expect("Today is day 1")


async def onboard(
    sandbox: Sandbox,
    services: Services | None,
    *,
    path: str = "Repair after a breach",
    open_private: bool = True,
    title: str = "Alex & Sam",
    forum: bool = False,
) -> People:
    """Two people create a group (with `forum`: a supergroup with topics), add the bot, both
    tap "I'm in"; Alex proposes a path and Sam agrees, Sam proposes no roles and Alex agrees."""
    alex = sandbox.user("Alex", language_code="en")
    sam = sandbox.user("Sam", language_code="en")
    if forum:
        group = sandbox.supergroup(title, members=[alex, sam], is_forum=True)
    else:
        group = sandbox.group(title, members=[alex, sam])
    await group.add_bot(by=alex)
    welcome = await group.expect("I'm Mend", "I'm in")
    await alex.press(welcome, "I'm in")
    joined_alex = await group.expect("Alex", "is in")
    await sam.press(welcome, "I'm in")
    joined_sam = await group.expect("Sam", "is in")
    await path_and_no_roles(group, alex, sam, path)
    people = People(alex, sam, group, {"Alex": joined_alex, "Sam": joined_sam}, services)
    if open_private:
        for person in (alex, sam):
            chat = await person.follow_link(
                people.joined[person.name], f"{person.name}: open your private chat"
            )
            await chat.expect("your private space")
    return people


@pytest.fixture
async def couple(sandbox: Sandbox, services: Services) -> People:
    return await onboard(sandbox, services)


def set_day_one(services: Services, people: People, moment: datetime) -> datetime:
    """The couple completed setup at `moment` (as if they had been here since)."""
    with services.store.transaction(people.group.id) as tx:
        couple = tx.couple()
        assert couple is not None
        couple.setup_completed_at = moment
        tx.save(couple)
    return moment


def past_checkin(
    started: datetime, scores: dict[int, int], reflected: tuple[int, ...] = ()
) -> Checkin:
    """A weekly check-in revealed when it started: the partners' votes, and who finished
    their reflection."""
    at = to_iso(started)
    done: Reflection = {"texts": {}, "share": {}, "done": True}
    return {
        "state": "revealed",
        "started_at": at,
        "deadline": at,
        "phase": "stabilise",
        "by": None,
        "scores": {str(user): score for user, score in scores.items()},
        "reflections": {str(user): done for user in reflected},
        "away": [],
        "revealed_at": at,
    }


ROOT = Path(__file__).resolve().parent.parent
# A fresh process imports everything before its first poll: seconds on a busy machine.
STARTUP_SECONDS = 60.0
# The most of the bot's output the reader takes at a time.
CHUNK = 65536


class BotProcess:
    """The bot as a separate process, logging to a file."""

    def __init__(self, sandbox: Sandbox, data_dir: Path, log: Path) -> None:
        self.sandbox = sandbox
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": sandbox.token,
            "BOT_API_BASE_URL": sandbox.base_url,
            "BOT_DATA_DIR": str(data_dir),
            "MEND_LOG_LEVEL": "DEBUG",
            "MEND_FLOOD_SAME": str(UNLIMITED),
            "MEND_FLOOD_PER_PERSON": str(UNLIMITED),
            "MEND_FLOOD_PER_COUPLE": str(UNLIMITED),
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        # What its runs wrote, as the log has it; `_grew` is set (and replaced) at each arrival.
        self._output = bytearray()
        self._grew = asyncio.Event()
        self._reader: threading.Thread | None = None

    async def start(self) -> None:
        """Start it and return once it polls the sandbox (or has ended: a test may kill it
        the moment it sends something)."""
        updates = self.sandbox.world.updates
        polls_before = updates.poll_ticket
        self._launch()
        assert self.process is not None
        process = self.process
        await self.sandbox.wait_until(
            lambda: updates.poll_ticket > polls_before or process.poll() is not None,
            "the bot's first poll",
            STARTUP_SECONDS,
        )

    def command(self) -> list[str]:
        """How the bot is started (a test may run it under another program, like faketime)."""
        return [sys.executable, "-m", "bot"]

    def _launch(self) -> None:
        # What a run before this one wrote goes into the log first.
        self._drain(10)
        # Its own process group: a signal reaches the bot, and whatever it runs under. Its
        # output comes through a pipe that a reader drains into the log as it arrives.
        self.process = subprocess.Popen(
            self.command(),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self._reader = threading.Thread(
            target=self._read,
            args=(self.process.stdout, asyncio.get_running_loop()),
            name=f"bot output {self.process.pid}",
        )
        self._reader.start()

    def _read(self, pipe: IO[bytes], loop: asyncio.AbstractEventLoop) -> None:
        """Append each chunk of the bot's output to the log and tell the test's loop, until
        every process that holds the pipe ended."""
        with pipe, self.log.open("ab") as sink:
            while chunk := os.read(pipe.fileno(), CHUNK):
                sink.write(chunk)
                sink.flush()
                # A loop already closed has no one left waiting.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._arrived, chunk)

    def _arrived(self, chunk: bytes) -> None:
        self._output += chunk
        self._grew.set()
        self._grew = asyncio.Event()

    def _drain(self, seconds: float) -> None:
        """Wait until the reader put all the bot's output into the log (its processes ended)."""
        if self._reader is None:
            return
        self._reader.join(seconds)
        if self._reader.is_alive():
            assert self.process is not None
            raise subprocess.TimeoutExpired(self.process.args, seconds)
        self._reader = None

    def _signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)

    def kill(self) -> None:
        """SIGKILL to the group; returns once the log holds all it wrote."""
        self._signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=10)
        self._drain(10)

    async def logged(self, text: str, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """Wait until the bot's log holds `text` (it writes the log as it goes)."""
        wanted = text.encode()
        start = 0
        try:
            async with asyncio.timeout(timeout):
                while self._output.find(wanted, start) < 0:
                    # The text may begin in what is there, and end in what comes next.
                    start = max(0, len(self._output) - len(wanted) + 1)
                    await self._grew.wait()
        except TimeoutError:
            raise AssertionError(f"the bot never logged {text!r}") from None

    async def stop(self) -> None:
        """Stop it gracefully; wait in a thread, as the sandbox must answer its last calls.
        Returns once the log holds all it wrote."""
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self._wait_for_group, 10)
            except subprocess.TimeoutExpired:
                self.kill()
        await asyncio.to_thread(self._drain, 10)

    def _wait_for_group(self, seconds: float) -> None:
        """Wait until every process of the group ended (a program the bot runs under may end
        before the bot does)."""
        assert self.process is not None
        deadline = time.monotonic() + seconds
        self.process.wait(seconds)
        # A process may start another as it ends: look again until none is left.
        while members := running_in_group(self.process.pid):
            try:
                for member in members:
                    # A process's pidfd turns readable when it ends.
                    left = max(0.0, deadline - time.monotonic())
                    if not select.select([member], [], [], left)[0]:
                        raise subprocess.TimeoutExpired(self.process.args, seconds)
            finally:
                for member in members:
                    os.close(member)


def running_in_group(group: int) -> list[int]:
    """A pidfd for each process of the process group that hasn't ended (a zombie has: it
    only waits for its parent to collect it)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # After the name (in parentheses, which it may hold too): state, parent, group.
            state, _, process_group = stat[stat.rindex(")") + 2 :].split()[:3]
            if int(process_group) == group and state not in ("Z", "X"):
                members.append(os.pidfd_open(int(entry.name)))
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended meanwhile
    return members


@pytest.fixture
async def bot_process(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(sandbox, tmp_path / "data", tmp_path / "bot.log")
    try:
        await process.start()
        yield process
    finally:
        await process.stop()


def needs(program: str, reason: str) -> None:
    """A test that needs a program from Debian that isn't here: skipped with the reason, or
    failed in CI (the CI variable set), which runs as root, so scripts/test installed it."""
    if os.environ.get("CI"):
        pytest.fail(f"{program}: {reason}")
    pytest.skip(f"{program}: {reason}")


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    """The playground of scripts/run without a token: sandbox, bot, Alex, Sam and Casey."""
    played = Playground(
        Settings(
            token=None,
            api_base_url="https://api.telegram.org/bot",
            data_dir=tmp_path / "data",
            erase_after_days=14,
            log_level="DEBUG",
        )
    )
    await played.open()
    try:
        yield played
    finally:
        await played.close()


@pytest.fixture
async def playground_page(playground: Playground) -> AsyncIterator[Page]:
    """The playground's page, served on a free port of 127.0.0.1."""
    served = Page(playground)
    await served.start(0)
    try:
        yield served
    finally:
        await served.stop()


def pytest_configure(config: pytest.Config) -> None:
    # python-telegram-bot 22 warns on RetryAfter's int form unless told to use timedelta;
    # with warnings as errors that warning would replace the exception under test.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
