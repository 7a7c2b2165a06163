"""Mend's side of the Bot API: one policy for Telegram's answers, and updates taken once.

Telegram delivers updates at least once and answers unreliably. This module is the one place
that decides what that means for the bot:

- **Updates are kept until handled.** python-telegram-bot confirms a batch of updates (by
  asking for the next offset) as soon as it has queued them, so a crash while handling one
  would lose it. :class:`UpdateLedger` keeps every fetched update on disk (sealed: it holds
  what people wrote) before its confirmation goes to Telegram, until it was handled; after a
  crash the updates it still holds are handled first. It also remembers which were handled, so
  an update Telegram delivers again (after a crash before the confirmation reached it) is
  recognised and skipped. Updates of different couples are handled at the same time
  (:mod:`bot.lanes`), and long polling goes on while some are still being handled.
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
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import Bot, Update
from telegram.error import BadRequest, ChatMigrated, TelegramError
from telegram.ext import Application, ExtBot

from bot import origin
from bot.storage.atomic import write_atomically
from bot.storage.sealing import Binding, Keyring, Place, Unopenable

log = logging.getLogger(__name__)

LEDGER_FILE = "updates.json"
# Handled update ids remembered; a redelivery is at most one unconfirmed batch (100 updates).
KEEP_HANDLED = 1000
# What a kept update is bound to when sealed (bot.storage.sealing): no couple's, its own id.
_KEPT = "updates"
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
    """The updates fetched and not yet handled (kept on disk, sealed), and which were handled.

    The file is written by :meth:`save`, before each call that confirms updates to Telegram:
    what a call confirms is on disk by then, either as handled or as still to handle.
    """

    def __init__(
        self,
        path: Path,
        applied: Callable[[int], bool] | None = None,
        keyring: Callable[[], Keyring] | None = None,
    ) -> None:
        """`path`: the ledger file; `applied`: whether a couple's file records a change made
        by an update (written with the change itself, so it holds even if the bot stopped
        before the ledger was written); `keyring`: the data keys that seal the updates kept
        (None: kept as they are, for tools that have no keys)."""
        self.path = path
        self._applied = applied
        self._keyring = keyring
        self._handled: list[int] = []
        self._handled_set: set[int] = set()
        self._in_progress: set[int] = set()
        self._kept: dict[int, Any] = {}  # update id: the update, sealed
        self._unsaved = False
        self._idle = asyncio.Event()  # set while no update is being handled
        self._idle.set()
        self._load()

    def _load(self) -> None:
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            handled = [int(i) for i in stored["handled"]]
            kept = {int(i): update for i, update in dict(stored.get("kept", {})).items()}
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError) as error:
            log.error(
                "the update ledger is unreadable (%s); starting a new one", type(error).__name__
            )
            return
        self._handled = handled[-KEEP_HANDLED:]
        self._handled_set = set(self._handled)
        self._kept = kept

    def known(self, update_id: int) -> bool:
        """Whether the update was handled already or is being handled now."""
        return (
            update_id in self._handled_set
            or update_id in self._in_progress
            or (self._applied is not None and self._applied(update_id))
        )

    def in_progress(self, update_id: int) -> bool:
        """Whether the update is being handled now (or waits its turn)."""
        return update_id in self._in_progress

    def fetched(self, update: Update, raw: dict[str, Any] | None = None) -> None:
        """The update was fetched and will be handled: kept until it was (`raw`: as Telegram
        sent it, if at hand; else as python-telegram-bot reads it back)."""
        self._in_progress.add(update.update_id)
        self._idle.clear()
        data = raw if raw is not None else update.to_dict()
        self._kept[update.update_id] = self._seal(update.update_id, data)
        self._unsaved = True

    def handled(self, update_id: int) -> None:
        """The update was handled (well or not): it must never be handled again."""
        self._in_progress.discard(update_id)
        self._kept.pop(update_id, None)
        if update_id not in self._handled_set:
            self._handled.append(update_id)
            self._handled_set.add(update_id)
            self._unsaved = True
            if len(self._handled) > KEEP_HANDLED:
                self._handled_set.discard(self._handled.pop(0))
        if not self._in_progress:
            self._idle.set()

    @property
    def idle(self) -> bool:
        """Whether every update fetched so far was handled."""
        return self._idle.is_set()

    async def wait_until_idle(self) -> None:
        """Return once every update fetched so far was handled."""
        await self._idle.wait()

    def left_over(self, bot: Bot | None) -> list[Update]:
        """The updates a process before this one fetched and didn't handle (it stopped or
        crashed first), oldest first, now being handled. One that doesn't open (a key that is
        gone) is dropped with an error in the log: it can't be handled by anyone."""
        waiting = []
        for update_id in sorted(self._kept):
            if update_id in self._in_progress:
                continue
            if self.known(update_id):
                self._kept.pop(update_id)
                self._unsaved = True
                continue
            try:
                data = self._open(update_id, self._kept[update_id])
            except Unopenable as error:
                log.error("a kept update can't be handled: %s", error)
                self._kept.pop(update_id)
                self._unsaved = True
                continue
            update = Update.de_json(data, bot)
            self._in_progress.add(update_id)
            self._idle.clear()
            waiting.append(update)
        return waiting

    def save(self) -> None:
        """Write the ledger to disk if anything changed: before a confirmation goes to
        Telegram (an update that changed a couple is recorded in its file already)."""
        if self._unsaved:
            kept = {str(i): update for i, update in sorted(self._kept.items())}
            write_atomically(self.path, json.dumps({"handled": self._handled, "kept": kept}))
            self._unsaved = False

    def reseal(self) -> tuple[int, int]:
        """Seal every kept update again with the current key (a key rotation, with the bot
        stopped). Returns how many were sealed again, and how many no key opens (kept as they
        are)."""
        resealed = failed = 0
        for update_id, kept in self._kept.items():
            try:
                self._kept[update_id] = self._seal(update_id, self._open(update_id, kept))
                resealed += 1
            except Unopenable:
                failed += 1
        self._unsaved = bool(resealed)
        self.save()
        return resealed, failed

    def _seal(self, update_id: int, data: dict[str, Any]) -> Any:
        return data if self._keyring is None else self._keyring().seal(data, _bound(update_id))

    def _open(self, update_id: int, kept: Any) -> dict[str, Any]:
        if self._keyring is None:
            return dict(kept)
        return dict(self._keyring().open(kept, _bound(update_id)))


def _bound(update_id: int) -> Binding:
    """What a kept update is sealed with as associated data: its own id, in no couple."""
    return Binding(Place(0, _KEPT, update_id), (), None)


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
        self._resumed = False  # the updates left over from before a restart were taken
        self._raw: dict[int, dict[str, Any]] = {}  # the last getUpdates' updates, as sent
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
        """Fetch new updates, never the same twice; the first call also returns what a process
        before this one fetched and didn't handle (bot.bot_api: the ledger)."""
        ledger = self.ledger
        if ledger is None:
            return await super().get_updates(offset, limit, timeout, allowed_updates, **kwargs)
        left_over = [] if self._resumed else ledger.left_over(self)
        self._resumed = True
        if left_over:
            log.info("%d updates fetched before a restart are handled now", len(left_over))
            timeout = 0  # they wait already: fetch what is new without waiting
        ledger.save()  # what this call confirms is kept on disk first
        updates = await super().get_updates(
            max(offset or 0, self._next_offset) or None, limit, timeout, allowed_updates, **kwargs
        )
        fresh = []
        for update in updates:
            self._next_offset = max(self._next_offset, update.update_id + 1)
            if ledger.known(update.update_id):
                log.info("update %d was delivered again; it was handled already", update.update_id)
                if update.callback_query is not None and not ledger.in_progress(update.update_id):
                    # Its effect is there; the press itself still wants an answer (one still
                    # being handled gets its own, which an empty one here would beat).
                    task = asyncio.ensure_future(
                        self.answer_callback_query(update.callback_query.id)
                    )
                    self._answering.add(task)
                    task.add_done_callback(self._answering.discard)
                continue
            ledger.fetched(update, self._raw.get(update.update_id))
            fresh.append(update)
        self._raw = {}
        return (*left_over, *fresh)

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
        if endpoint == "getUpdates" and isinstance(result, list):
            # Kept as Telegram sent them (bot.bot_api.UpdateLedger), not read back from objects.
            self._raw = {int(u.get("update_id", 0)): u for u in result if isinstance(u, dict)}
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
                raise  # shutting down mid-way: the ledger keeps it, handled after the restart
            finally:
                ledger = getattr(self.bot, "ledger", None)
                if isinstance(ledger, UpdateLedger) and not _cancelling():
                    ledger.handled(update.update_id)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
