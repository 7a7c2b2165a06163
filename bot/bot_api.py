"""Mend's side of the Bot API: one policy for Telegram's answers, and updates taken once.

Telegram delivers updates at least once and answers unreliably. This module is the one place
that decides what that means for the bot:

- **Updates are confirmed only once handled.** python-telegram-bot confirms a batch of updates
  (by asking for the next offset) as soon as it has queued them, so a crash while handling one
  would lose it. :class:`MendBot` confirms only up to the oldest update still being handled,
  and :class:`UpdateLedger` remembers on disk which were handled, so an update Telegram
  delivers again (after a crash before the confirmation reached it) is recognised and skipped.
  Updates are handled concurrently (a lane per couple, :mod:`bot.lanes`), so while one is
  still being handled the next updates are asked for at once (`BUSY_POLL`): Telegram then sends
  the unconfirmed ones again with the new ones, and those fetched before are passed over
  before they are even read.
- **Answering a button press is best effort.** "query is too old" (the press waited while the
  bot was down) or a network error never stops the effect of the press.
- **An edit that changes nothing is fine.** "message is not modified" (a double tap) is success.
- **A group that became a supergroup is followed.** A send to the old id is repeated to the new
  one after `on_chat_migrated` moved the couple's data; a forum topic that is gone
  means the chat's General topic.

Network failures are handled by :mod:`bot.network` (what surely never arrived is sent again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.error import BadRequest, ChatMigrated, TelegramError
from telegram.ext import Application, ExtBot

from bot import origin
from bot.storage.atomic import write_atomically

log = logging.getLogger(__name__)

LEDGER_FILE = "updates.json"
# Handled update ids remembered; a redelivery is at most what was fetched past the oldest
# update still being handled (a batch of at most 100 each time).
KEEP_HANDLED = 1000
# Seconds between asking for updates while some are still being handled (and so can't be
# confirmed, which long polling would need): how late another couple's update may be seen.
BUSY_POLL = 0.01
# Seconds handled updates may wait to be written while the offset stays where it is.
LEDGER_SAVE_EVERY = 1.0
_SENDS = ("send", "copy", "forward")
# The calls that can ring someone's phone, and so may be made silent (disable_notification).
_NOTIFYING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendPoll",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "pinChatMessage",
    }
)


class UpdateLedger:
    """Which updates were fetched and which were handled, the handled ones kept on disk."""

    def __init__(self, path: Path, applied: Callable[[int], bool] | None = None) -> None:
        """`path`: the ledger file; `applied`: whether a couple's file records a change made
        by an update (written with the change itself, so it holds even if the bot stopped
        before the ledger was written)."""
        self.path = path
        self._applied = applied
        self._handled: list[int] = []
        self._handled_set: set[int] = set()
        self._in_progress: set[int] = set()
        self._unsaved_since: float | None = None  # when the oldest unsaved one was handled
        self._idle = asyncio.Event()
        self._idle.set()
        self._load()

    def _load(self) -> None:
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            handled = [int(i) for i in stored["handled"]]
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError) as error:
            log.error(
                "the update ledger is unreadable (%s); starting a new one", type(error).__name__
            )
            return
        self._handled = handled[-KEEP_HANDLED:]
        self._handled_set = set(self._handled)

    def known(self, update_id: int) -> bool:
        """Whether the update was handled already or is being handled now."""
        return (
            update_id in self._handled_set
            or update_id in self._in_progress
            or (self._applied is not None and self._applied(update_id))
        )

    def fetched(self, update_id: int) -> None:
        """The update was fetched and will be handled."""
        self._in_progress.add(update_id)
        self._idle.clear()

    def handled(self, update_id: int) -> None:
        """The update was handled (well or not): it must never be handled again."""
        self._in_progress.discard(update_id)
        if update_id not in self._handled_set:
            self._handled.append(update_id)
            self._handled_set.add(update_id)
            if self._unsaved_since is None:
                self._unsaved_since = time.monotonic()
            if len(self._handled) > KEEP_HANDLED:
                self._handled_set.discard(self._handled.pop(0))
        if not self._in_progress:
            self._idle.set()

    def save(self) -> None:
        """Write the handled ids to disk if any are new: before their confirmation goes to
        Telegram (an update that changed a couple is recorded in its file already)."""
        if self._unsaved_since is not None:
            write_atomically(self.path, json.dumps({"handled": self._handled}))
            self._unsaved_since = None

    def unsaved_for(self, seconds: float) -> bool:
        """Whether an update was handled `seconds` ago or longer and isn't on disk yet."""
        since = self._unsaved_since
        return since is not None and time.monotonic() - since >= seconds

    def oldest_in_progress(self) -> int | None:
        return min(self._in_progress, default=None)

    async def wait_until_idle(self, seconds: float) -> None:
        """Wait until every fetched update was handled, at most `seconds`."""
        if self._in_progress and seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), seconds)


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) if isinstance(value, int | float) else 0.0


class MendBot(ExtBot[None]):
    """ExtBot with the policy above.

    `ledger` keeps track of handled updates (None: updates are taken as python-telegram-bot
    does); `on_chat_migrated(old chat id, new chat id)` is called when Telegram says a group
    became a supergroup, before a send is repeated to the new id; `silent(chat id)` says
    whether a message to that chat now arrives without a sound (bot.quiet): every send of
    the bot, whether through the outbox or straight from a handler, asks it here.
    """

    def __init__(
        self,
        *args: Any,
        ledger: UpdateLedger | None = None,
        on_chat_migrated: Callable[[int, int], object] | None = None,
        silent: Callable[[int], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._ledger = ledger
        self._on_chat_migrated = on_chat_migrated
        self._silent = silent
        self._next_offset = 0
        self._confirmed = 0  # the offset last sent
        self._answering: set[asyncio.Future[bool]] = set()

    @property
    def ledger(self) -> UpdateLedger | None:
        return self._ledger

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: Any = None,  # noqa: ASYNC109 (python-telegram-bot's signature)
        allowed_updates: Any = None,
        **kwargs: Any,
    ) -> tuple[Update, ...]:
        """Fetch new updates, confirming only those that were handled; never the same twice."""
        ledger = self.ledger
        if ledger is None:
            return await super().get_updates(offset, limit, timeout, allowed_updates, **kwargs)
        await ledger.wait_until_idle(min(_seconds(timeout), BUSY_POLL))
        confirm = max(offset or 0, self._next_offset)
        oldest = ledger.oldest_in_progress()
        if oldest is not None:
            # The unconfirmed ones come back at once: no long polling until they are handled.
            confirm, timeout = min(confirm, oldest), 0
        if confirm > self._confirmed or ledger.unsaved_for(LEDGER_SAVE_EVERY):
            # What this call confirms is on disk first (while nothing more is confirmed, the
            # newly handled ones are written now and then, not at every quick poll).
            ledger.save()
        self._confirmed = max(self._confirmed, confirm)
        updates = await super().get_updates(
            confirm or None, limit, timeout, allowed_updates, **kwargs
        )
        fresh = []
        for update in updates:
            self._next_offset = max(self._next_offset, update.update_id + 1)
            if ledger.known(update.update_id):
                log.info("update %d was delivered again; it was handled already", update.update_id)
                if update.callback_query is not None:
                    # Its effect is there; the press itself still wants an answer.
                    task = asyncio.ensure_future(
                        self.answer_callback_query(update.callback_query.id)
                    )
                    self._answering.add(task)
                    task.add_done_callback(self._answering.discard)
                continue
            ledger.fetched(update.update_id)
            fresh.append(update)
        return tuple(fresh)

    async def _do_post(
        self, endpoint: str, data: dict[str, Any], **timeouts: Any
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if self._quiet_now(endpoint, data):
            data = {**data, "disable_notification": True}
        try:
            result = await super()._do_post(endpoint, data, **timeouts)
        except ChatMigrated as migrated:
            return await self._follow_migration(endpoint, data, migrated, timeouts)
        except BadRequest as error:
            text = error.message.lower()
            if endpoint.startswith("edit") and "not modified" in text:
                return True  # the message already is what it should become (a double tap)
            if "thread not found" in text and data.get("message_thread_id"):
                # The forum topic was deleted: its messages go to the General topic.
                without = {k: v for k, v in data.items() if k != "message_thread_id"}
                return await super()._do_post(endpoint, without, **timeouts)
            if endpoint == "answerCallbackQuery":
                log.info("a button press could not be answered (%s)", error.message)
                return False
            raise
        except TelegramError as error:
            if endpoint == "answerCallbackQuery":
                log.info("a button press could not be answered (%s)", type(error).__name__)
                return False
            raise
        if endpoint == "getUpdates" and self.ledger is not None and isinstance(result, list):
            # What this run fetched before comes again until it is confirmed (it is still being
            # handled, or an older one is): not read, let alone handled, twice.
            return [u for u in result if int(u.get("update_id", 0)) >= self._next_offset]
        return result

    def _quiet_now(self, endpoint: str, data: dict[str, Any]) -> bool:
        """Whether this call would ring someone in their quiet hours (and so goes silently)."""
        if self._silent is None or endpoint not in _NOTIFYING or data.get("disable_notification"):
            return False
        chat_id = data.get("chat_id")
        return isinstance(chat_id, int) and self._silent(chat_id)

    async def _follow_migration(
        self,
        endpoint: str,
        data: dict[str, Any],
        migrated: ChatMigrated,
        timeouts: dict[str, Any],
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        old_chat_id, new_chat_id = data.get("chat_id"), migrated.new_chat_id
        if self._on_chat_migrated is not None and old_chat_id is not None:
            self._on_chat_migrated(int(old_chat_id), new_chat_id)
        if not endpoint.startswith(_SENDS):
            # Message ids of the old group mean other messages in the supergroup: never
            # edit, pin or stop by them there. The caller sends anew if it must.
            raise migrated
        moved = {
            k: v
            for k, v in data.items()
            if k not in ("message_thread_id", "reply_parameters", "reply_to_message_id")
        }
        moved["chat_id"] = new_chat_id
        return await super()._do_post(endpoint, moved, **timeouts)


class MendApplication(Application[Any, Any, Any, Any, Any, Any]):
    """Application that handles each update under its origin and records it as handled."""

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        message = update.effective_message
        chat = update.effective_chat
        thread = (
            message.message_thread_id if message is not None and message.is_topic_message else None
        )
        with origin.using(origin.Origin(chat.id if chat else None, thread, update.update_id)):
            try:
                await super().process_update(update)
            except asyncio.CancelledError:
                raise  # shutting down mid-way: Telegram delivers it again after the restart
            finally:
                ledger = getattr(self.bot, "ledger", None)
                if isinstance(ledger, UpdateLedger) and not _cancelling():
                    ledger.handled(update.update_id)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
