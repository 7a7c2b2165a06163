"""No log line, at any level, holds what a person wrote, their name or id, the bot token or a
deep-link payload: a whole couple's story played at DEBUG with every record of every logger
captured and searched; and the handler's own checks, one by one."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from telegram.error import BadRequest

from bot.context import Services
from bot.logs import (
    LIBRARY_LEVELS,
    PAYLOAD_REDACTED,
    REDACTED,
    Private,
    handler,
    hold_back_libraries,
    setup_logging,
)
from bot.sandbox import Sandbox, SandboxChat, SandboxUser
from tests.conftest import Clock, People, onboard

TOKEN = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345"
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class Logged:
    """Every record any logger made (before the handler's checks), and what the handler wrote."""

    records: list[str] = field(default_factory=list)
    written: io.StringIO = field(default_factory=io.StringIO)

    def everything(self) -> str:
        return "\n".join([*self.records, self.written.getvalue()])


class Everything(logging.Handler):
    """Keeps each record as it was made, with its whole traceback."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.into.append(text)


@pytest.fixture
def logged(sandbox: Sandbox) -> Iterator[Logged]:
    """Logging as `python -m bot` sets it up at MEND_LOG_LEVEL=DEBUG (`setup_logging`: its
    handler, the root at DEBUG, the libraries held back), plus a handler that sees every record
    before the checks. pytest's own handlers stay; everything is put back afterwards."""
    root = logging.getLogger()
    level = root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LEVELS}
    capture = Logged()
    everything, written = Everything(capture.records), handler(capture.written, [sandbox.token])
    root.addHandler(everything)
    root.addHandler(written)
    root.setLevel(logging.DEBUG)
    hold_back_libraries()
    try:
        yield capture
    finally:
        root.removeHandler(everything)
        root.removeHandler(written)
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)


async def reflect(person: SandboxUser, texts: list[str]) -> None:
    for number, text in enumerate(texts, start=1):
        question = await person.private.expect(f"{number} of 3")
        await person.private.reply(person, to=question, text=text)
        await person.press(await person.private.expect("Saved, privately"), "Share it")
    await person.private.expect("that's all three")


def deep_link_payloads(people: People) -> list[str]:
    payloads = []
    for name, joined in people.joined.items():
        button = joined.find_button(f"{name}: open your private chat")
        assert button is not None and button.url is not None
        payloads.extend(parse_qs(urlparse(button.url).query)["start"])
    return payloads


def button_tokens(*chats: SandboxChat) -> set[str]:
    """The random tokens of guided steps' buttons (`r:<token>:<step>:<option>`)."""
    return {
        button.callback_data.split(":")[1]
        for chat in chats
        for message in chat.bot_messages()
        for row in message.buttons
        for button in row
        if button.callback_data and button.callback_data.startswith("r:")
    }


async def test_a_couples_story_at_debug_leaves_nothing_of_them_in_the_logs(
    sandbox: Sandbox, logged: Logged, services: Services, clock: Clock
) -> None:
    people = await onboard(sandbox, services, title="Juniper Lane")
    alex, sam, group = people.alex, people.sam, people.group
    journal = "I keep rereading the old messages at night"
    alex_worry = "Marigold texts you late and I spiral"
    sam_worry = "The weekend with Theodore still sits with me"
    alex_answers = ["Quartz evening walk", "Saffron silence on Tuesday", "Cobalt call"]
    sam_answers = ["Velvet morning note", "Ember of the old fight", "Harbor visit plan"]
    await alex.send_private(f"/journal {journal}")
    await alex.private.expect("Saved, just for you")
    await alex.send_private(f"/worry {alex_worry}")
    await alex.private.expect("Parked.")
    await sam.send_private("/worry")
    question = await sam.private.expect("What's on your mind?")
    await sam.private.reply(sam, to=question, text=sam_worry)
    await sam.private.expect("Parked.")

    await group.send(alex, "/checkin")
    await group.expect("Check-in: how was this week between you?")
    poll = await group.next_bot_message()
    await alex.answer_poll(poll, [3])
    await sam.answer_poll(poll, [4])
    await reflect(alex, alex_answers)
    await reflect(sam, sam_answers)
    reveal = await group.expect("side by side")
    assert "Cobalt call" in reveal.text and "Harbor visit plan" in reveal.text

    await alex.send_private("/timezone Berlin")
    await alex.private.expect("Time zone set")
    opening = (clock.now().astimezone(BERLIN) + timedelta(hours=1)).replace(minute=0, second=0)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[opening.weekday()]
    await group.send(alex, f"/window add {day} {opening:%H}:00")
    await group.expect("Window added by Alex")
    await clock.to(opening + timedelta(minutes=1), sandbox)
    await group.wait_for(lambda m: "window is open" in m.text)
    mine = await alex.private.wait_for(lambda m: "Marigold" in m.text)
    await alex.press(mine, "Share it now")
    await group.expect("Alex would like to talk about this", "Marigold texts you late")

    await alex.send_private("/export")
    exported = await alex.private.wait_for(lambda m: m.document is not None)
    assert exported.document is not None and b"rereading the old messages" in exported.document.data
    await sandbox.settle()

    tokens = button_tokens(group, alex.private, sam.private)
    assert tokens
    told = [journal, alex_worry, sam_worry, *alex_answers, *sam_answers]
    people_and_secrets = [
        "Alex",
        "Sam",
        "Juniper Lane",
        str(alex.id),
        str(sam.id),
        sandbox.token,
        sandbox.token.split(":")[1],
        *deep_link_payloads(people),
        *tokens,
    ]
    everything = logged.everything()
    assert "timers rebuilt" in everything  # the capture saw Mend's own lines
    for secret in [*told, *people_and_secrets]:
        found = re.search(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", everything)
        assert found is None, f"{secret!r} is in the log:\n{_around(everything, found)}"


def _around(text: str, found: re.Match[str] | None) -> str:
    if found is None:
        return ""
    return text[max(0, found.start() - 300) : found.end() + 300]


def _record(name: str, level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, args, None)


def _written(record: logging.LogRecord, secrets: list[str] | None = None) -> str | None:
    stream = io.StringIO()
    shown = handler(stream, [TOKEN] if secrets is None else secrets)
    shown.handle(record)
    return stream.getvalue() or None


def test_libraries_reach_the_log_only_from_warning_up_and_mend_at_every_level() -> None:
    """The handler's own check, even if a library's level were lowered again."""
    journal = "rereading the old messages"
    for name in ("telegram.Bot", "telegram.ext.Application", "httpx", "hpack.hpack", "somelib"):
        for level in (logging.DEBUG, logging.INFO):
            assert _written(_record(name, level, "Calling sendMessage with %s", journal)) is None
    assert _written(_record("telegram.ext.Updater", logging.WARNING, "polling failed"))
    assert _written(_record("bot.timers", logging.DEBUG, "timer %s fired", "window_open"))
    assert _written(_record("bot", logging.INFO, "started"))
    assert _written(_record("botany", logging.INFO, "not ours")) is None


def test_the_token_and_deep_link_payloads_are_replaced_wherever_they_are() -> None:
    url = f"https://api.telegram.org/bot{TOKEN}/getUpdates"
    shown = _written(_record("httpx", logging.WARNING, "HTTP Request: POST %s", url))
    assert shown is not None and TOKEN not in shown and REDACTED in shown
    for line in ("update text /start Zx_9-abcdef", "link https://t.me/mend_bot?start=Zx_9-abc"):
        shown = _written(_record("telegram.ext.Updater", logging.WARNING, line))
        assert shown is not None and "Zx_9" not in shown and PAYLOAD_REDACTED in shown
    shown = _written(_record("bot.x", logging.INFO, "/start@mend_bot Zx_9-abcdef"))
    assert shown is not None and "Zx_9" not in shown


def test_a_traceback_keeps_its_frames_and_kinds_and_drops_what_errors_quote() -> None:
    typed = "my partner reads my phone"
    record = _record("bot.app", logging.ERROR, "error while handling an update (message)")
    try:
        try:
            int(typed)
        except ValueError as error:
            raise RuntimeError(f"failed at {TOKEN}: {typed}") from error
    except RuntimeError:
        record.exc_info = sys.exc_info()
    shown = _written(record)
    assert shown is not None
    assert typed not in shown and TOKEN not in shown
    assert "ValueError" in shown and "RuntimeError" in shown and "direct cause" in shown
    assert "int(typed)" in shown  # the frames: where it failed

    record = _record("telegram.ext.Updater", logging.ERROR, "polling failed")
    try:
        raise BadRequest("Chat not found")
    except BadRequest:
        record.exc_info = sys.exc_info()
    shown = _written(record)
    assert shown is not None and "BadRequest: Chat not found" in shown


def test_setup_logging_installs_the_checked_handler_and_holds_libraries_back() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARY_LEVELS}
    stream = io.StringIO()
    try:
        setup_logging("DEBUG", [TOKEN], stream=stream)
        [installed] = root.handlers
        assert any(isinstance(f, Private) for f in installed.filters)
        assert root.level == logging.DEBUG
        assert not logging.getLogger("telegram.Bot").isEnabledFor(logging.INFO)
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        assert not logging.getLogger("telegram.request.BaseRequest").isEnabledFor(logging.ERROR)
        assert logging.getLogger("bot.outbox").isEnabledFor(logging.DEBUG)
        logging.getLogger("bot.test").debug("calling %s", TOKEN)
        assert stream.getvalue().endswith(f"bot.test: calling {REDACTED}\n")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)
