"""The bot's pending updates, as Telegram keeps them for ``getUpdates``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

# Without allowed_updates the bot gets every update type except these three.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Telegram's update ids start at some large positive number and grow by one.
FIRST_UPDATE_ID = 180_000_001


class Signal:
    """Wake every waiter when something changed (single event loop, no payload)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake the current waiters; later waiters wait for the next fire."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """Wait for the next fire; False if ``seconds`` passed first."""
        event = self._event
        if seconds <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
            return True
        return False


class UpdateQueue:
    """Pending updates with Telegram's offset, limit, filter and single-poller semantics."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        # Every update ever queued, confirmed ones too: Telegram may deliver them again.
        self.history: list[dict[str, Any]] = []
        self.next_id = FIRST_UPDATE_ID
        # None: the default filter. Telegram remembers the last allowed_updates given.
        self.allowed: frozenset[str] | None = None
        self.fetched_up_to = 0
        self.poll_ticket = 0
        self.arrived = Signal()
        self.dropped = 0  # updates not queued because allowed_updates excluded them

    def wants(self, kind: str) -> bool:
        """Whether the bot's current filter lets updates of this kind through."""
        if self.allowed is None:
            return kind not in NOT_BY_DEFAULT
        return kind in self.allowed

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update unless the filter excludes it; return it if queued."""
        if not self.wants(kind):
            self.dropped += 1
            return None
        update = {"update_id": self.next_id, kind: payload}
        self.next_id += 1
        self.pending.append(update)
        self.history.append(update)
        self.arrived.fire()
        return update

    def mark(self) -> int:
        """The id the next update will get: updates from here on can be delivered again."""
        return self.next_id

    def redeliver(self, since: int) -> int:
        """Make every update from id ``since`` on pending and unfetched again, as Telegram
        does when the offset that confirms them never reached it; returns how many are
        pending from ``since`` on."""
        again = [u for u in self.history if u["update_id"] >= since]
        known = {u["update_id"] for u in self.pending}
        self.pending = sorted(
            [*self.pending, *(u for u in again if u["update_id"] not in known)],
            key=lambda u: int(u["update_id"]),
        )
        self.fetched_up_to = min(self.fetched_up_to, since - 1)
        if again:
            self.arrived.fire()
        return len(again)

    def set_allowed(self, kinds: Iterable[str]) -> None:
        """Remember a new filter; an empty list means the default one."""
        chosen = frozenset(kinds)
        self.allowed = chosen or None

    def confirm(self, offset: int) -> None:
        """Apply ``offset``: forget updates below it; a negative one keeps the last -offset."""
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    def take(self, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` pending updates (they stay pending until confirmed)."""
        batch = self.pending[:limit]
        if batch:
            self.fetched_up_to = max(self.fetched_up_to, batch[-1]["update_id"])
        return batch

    def open_poll(self) -> int:
        """Start a getUpdates request; an older one still waiting is terminated."""
        self.poll_ticket += 1
        self.arrived.fire()
        return self.poll_ticket

    def clear(self) -> None:
        """Drop every pending update (``deleteWebhook(drop_pending_updates=True)``)."""
        self.pending.clear()

    @property
    def unfetched(self) -> int:
        """How many pending updates no getUpdates has returned yet."""
        return sum(1 for u in self.pending if u["update_id"] > self.fetched_up_to)
