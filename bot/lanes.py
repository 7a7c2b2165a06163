"""Which updates may be handled at the same time: one lane per couple.

Updates of different couples are handled concurrently, so one couple's slow or flooding
commands never hold back another couple's answers; each couple's own updates are handled one
after the other, in the order Telegram sent them (a check-in's answer never overtakes the
command that asked for it). An update's lanes are worked out when it arrives:

- in a group: that group's (a group that became a supergroup keeps its lane, and the messages
  that say it became one are in the lanes of both ids);
- in a private chat: the lane of every couple of that person (someone in two couples waits
  for both), or their own lane if they are in none;
- a vote (no chat): the lane of the couple whose poll it is, else the voter's, as above;
- anything else without a chat or a person (a poll closing): the couple of the poll, else
  one lane shared by all such updates.

An update waits for the updates before it in each of its lanes, then for one of
`MAX_RUNNING` places: that many run at once at most, however many couples are busy.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from telegram import Chat, Update
from telegram.ext import BaseUpdateProcessor

from bot.polls import poll_key
from bot.storage import Store

Lane = Hashable
log = logging.getLogger(__name__)
# Updates handled at the same moment at most (each waits for Telegram or the store, mostly).
MAX_RUNNING = 64
# Updates that may wait in their lanes at all. Never reached in practice: the bot fetches
# about a hundred unconfirmed updates at most (bot.bot_api), and this bound is applied before
# an update joins its lanes, where a full bound would hold back other couples too.
MAX_WAITING = 10_000
SHARED: frozenset[Lane] = frozenset({"shared"})


def lanes_of(store: Store, update: object) -> frozenset[Lane]:
    """The lanes an update is handled in (see the module's description)."""
    if not isinstance(update, Update):
        return SHARED
    chat = update.effective_chat
    if chat is not None and chat.type != Chat.PRIVATE:
        message = update.effective_message
        moved = (
            (message.migrate_to_chat_id or message.migrate_from_chat_id)
            if message is not None
            else None
        )
        return frozenset(store.resolve(chat) for chat in (chat.id, moved) if chat)
    poll_id = (
        update.poll_answer.poll_id
        if update.poll_answer is not None
        else update.poll.id
        if update.poll is not None
        else None
    )
    if poll_id is not None and (polled := store.chat_for_key(poll_key(poll_id))) is not None:
        return frozenset({polled})
    user = update.effective_user
    if user is None:
        return SHARED
    return frozenset(store.chats_of_user(user.id)) or frozenset({("person", user.id)})


class CoupleLanes(BaseUpdateProcessor):
    """python-telegram-bot's update processor with a lane per couple (see the module)."""

    def __init__(
        self, lanes: Callable[[object], frozenset[Lane]], running: int = MAX_RUNNING
    ) -> None:
        super().__init__(MAX_WAITING)
        self._lanes = lanes
        self._running = asyncio.Semaphore(running)
        # Each lane's last update so far: done when that update was handled.
        self._last: dict[Lane, asyncio.Future[None]] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free: every update was handled by the time the application stops."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # Until the first await this runs in the order the updates arrived (python-telegram-bot
        # starts a task per update, in order), so each update joins its lanes in that order.
        try:
            lanes = self._lanes(update)
        except Exception:  # never left unhandled: the one lane shared by all such updates
            log.exception("an update's lanes could not be worked out")
            lanes = SHARED
        before = {self._last[lane] for lane in lanes if lane in self._last}
        handled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for lane in lanes:
            self._last[lane] = handled
        try:
            if before:
                # asyncio.wait never cancels what it waits for: a cancelled update (shutting
                # down) leaves the lane's earlier ones alone.
                await asyncio.wait(before)
            async with self._running:
                await coroutine
        finally:
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == (
                inspect.CORO_CREATED
            ):
                coroutine.close()  # cancelled before its turn: it never ran
            handled.set_result(None)
            for lane in lanes:
                if self._last.get(lane) is handled:
                    del self._last[lane]
