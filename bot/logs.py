"""Logging that never shows what people wrote, who they are, or a secret, at any level.

What may reach a log line, whatever MEND_LOG_LEVEL says, is decided here, in two lines of
defence:

1. The libraries that log whole requests and answers are held back. python-telegram-bot at
   DEBUG logs every Bot API call with its parameters (messages, names, user ids) and every
   update (what people typed, deep-link payloads); httpx logs URLs, which carry the token;
   httpcore, h11, h2 and hpack log headers; APScheduler logs jobs. They log at WARNING and
   above only, and the one line of python-telegram-bot that quotes a whole answer from
   Telegram (when it isn't JSON) not at all.
2. The handler checks every record once more: below WARNING, only Mend's own loggers (`bot`,
   whose lines name what happened, never its content) pass; a traceback keeps its frames and
   the kinds of error, and drops their messages (which may quote what someone typed), except
   Telegram's own descriptions; the token and any deep-link payload are replaced.

Mend's own lines name a couple's group chat at most (the data file set aside); never a
person's id, name or words.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import TextIO

from telegram.error import TelegramError

REDACTED = "<token>"
PAYLOAD_REDACTED = "<payload>"
OWN_LOGGER = "bot"

# Loggers of libraries that log payloads, and the least level they may log at.
LIBRARY_LEVELS = {
    "telegram": logging.WARNING,
    # Its one line above WARNING quotes Telegram's whole answer when it isn't JSON.
    "telegram.request.BaseRequest": logging.CRITICAL + 1,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "h11": logging.WARNING,
    "h2": logging.WARNING,
    "hpack": logging.WARNING,
    "apscheduler": logging.WARNING,
    "aiohttp": logging.WARNING,
    "asyncio": logging.WARNING,
    "tinydb": logging.WARNING,
}

# A deep link's payload, as a link (`?start=...`) or as the command it becomes (`/start ...`).
_PAYLOAD = re.compile(r"(?P<lead>[?&]start=|/start(?:@\w+)?\s+)[A-Za-z0-9_-]+")


def _is_own(name: str) -> bool:
    return name == OWN_LOGGER or name.startswith(OWN_LOGGER + ".")


def safe_traceback(error: BaseException) -> str:
    """A traceback with its frames and the kind of each error, but no error's message (it may
    quote what someone typed); Telegram's own descriptions of a failure are kept."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    oldest_first = chain[::-1]
    for index, failure in enumerate(oldest_first):
        if index:
            caused = failure.__cause__ is oldest_first[index - 1]
            parts.append(_CAUSED if caused else _DURING)
        if failure.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(failure.__traceback__))
        parts.append(_kind(failure))
    return "".join(parts).rstrip("\n")


_CAUSED = "\nThe above exception was the direct cause of the following exception:\n\n"
_DURING = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _kind(failure: BaseException) -> str:
    if isinstance(failure, TelegramError):
        return "".join(traceback.format_exception_only(failure))
    kind = type(failure)
    module = "" if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}."
    return f"{module}{kind.__qualname__}\n"


class Private(logging.Filter):
    """The handler's check of every record: see the module's docstring (point 2)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _PAYLOAD.sub(lambda m: m["lead"] + PAYLOAD_REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and not _is_own(record.name):
            return False
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def hold_back_libraries() -> None:
    """Point 1 of the module's docstring: libraries log payloads at no level we show."""
    for name, level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(level)


def handler(stream: TextIO, secrets: list[str]) -> logging.Handler:
    """A handler that writes only what passes `Private`."""
    written = logging.StreamHandler(stream)
    written.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    written.addFilter(Private(secrets))
    return written


def setup_logging(level: str, secrets: list[str], stream: TextIO | None = None) -> None:
    """Log to stderr (or `stream`) at `level`; the checks sit on the handler, so every
    logger's records pass them."""
    root = logging.getLogger()
    root.handlers[:] = [handler(stream or sys.stderr, secrets)]
    root.setLevel(level)
    hold_back_libraries()
