"""Telegram's flood limits and injected faults; both off until a test switches them on."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["server_error", "timeout", "flood", "delay"]
_FAULT_KINDS = ("server_error", "timeout", "flood", "delay")
_SERVER_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  504: "Gateway Timeout"}  # fmt: skip
# Methods that post or change messages and so count against flood limits.
_COUNTED = frozenset({"stopPoll", "pinChatMessage", "deleteMessage"})


def counts_against_limits(method: str) -> bool:
    """Whether a call posts or changes a message (send*, edit*, stopPoll, pin, delete)."""
    if method == "sendChatAction":
        return False
    return method.startswith(("send", "edit")) or method in _COUNTED


class TokenBucket:
    """``capacity`` calls at once, refilled at ``rate`` calls per second."""

    def __init__(self, capacity: float, rate: float, at: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = at

    def _refill(self, at: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (at - self.updated) * self.rate)
        self.updated = at

    def wait(self, at: float) -> float:
        """Seconds until one call is allowed (0 if it is allowed now)."""
        self._refill(at)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, at: float) -> None:
        """Spend one call."""
        self._refill(at)
        self.tokens -= 1


class RateLimits:
    """Telegram's flood limits for calls that post or change messages.

    About 30 messages per second overall, 20 per minute per group or supergroup, and about
    one per second per private chat with a burst of 3. The overall and group buckets hold one
    extra call of slack: a client limiting itself to exactly Telegram's rates (as
    python-telegram-bot's AIORateLimiter does) must not see 429s from network jitter.
    """

    # (capacity, refill per second)
    OVERALL = (31.0, 30.0)
    GROUP = (21.0, 20.0 / 60.0)
    PRIVATE = (3.0, 1.0)

    def __init__(self) -> None:
        # The clock is replaceable so a test can freeze time and count exactly.
        self.clock: Callable[[], float] = time.monotonic
        self.enabled = False
        self.total_calls = 0  # counted calls seen while enabled
        self.too_many_requests = 0  # of those, answered 429
        self._overall = self._bucket(self.OVERALL)
        self._chats: dict[int, TokenBucket] = {}

    def _bucket(self, shape: tuple[float, float]) -> TokenBucket:
        return TokenBucket(shape[0], shape[1], self.clock())

    def enable(self) -> None:
        """Start enforcing the limits (with fresh, full buckets)."""
        self.reset()
        self.enabled = True

    def disable(self) -> None:
        """Stop enforcing the limits."""
        self.enabled = False

    def reset(self) -> None:
        """Refill every bucket and zero the counters."""
        self.total_calls = 0
        self.too_many_requests = 0
        self._overall = self._bucket(self.OVERALL)
        self._chats.clear()

    def admit(self, method: str, chat_id: int | None, chat_type: str | None) -> int | None:
        """Count a call; None if allowed, else the ``retry_after`` seconds for a 429."""
        if not self.enabled or not counts_against_limits(method):
            return None
        self.total_calls += 1
        at = self.clock()
        buckets = [self._overall]
        if chat_id is not None and chat_type is not None:
            if chat_id not in self._chats:
                shape = self.PRIVATE if chat_type == "private" else self.GROUP
                self._chats[chat_id] = self._bucket(shape)
            buckets.append(self._chats[chat_id])
        wait = max(bucket.wait(at) for bucket in buckets)
        if wait > 0:
            self.too_many_requests += 1
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.take(at)
        return None


@dataclass
class Fault:
    """One injected fault and how many more calls it will hit."""

    method: str | None
    kind: FaultKind
    remaining: int
    chat_id: int | None = None
    retry_after: int = 2
    executed: bool = False
    status: int = 500
    delay: float = 2.0
    fired: int = 0

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        """Whether this fault hits a call of ``method`` to ``chat_id``."""
        if self.remaining <= 0:
            return False
        if self.method is None and method == "getUpdates":
            return False  # name getUpdates explicitly to fault the polling loop
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)

    @property
    def reason(self) -> str:
        """The HTTP reason phrase for a server error."""
        return _SERVER_ERRORS[self.status]


class Faults:
    """Injected failures: the next matching calls fail as a flaky Telegram would."""

    def __init__(self) -> None:
        self.injected: list[Fault] = []
        self.hold_seconds = 60.0  # how long a "timeout" fault keeps the request open

    def inject(
        self,
        method: str | None = None,
        *,
        kind: FaultKind,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int = 2,
        executed: bool = False,
        status: int = 500,
        delay: float = 2.0,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (None: any but getUpdates) fail.

        ``server_error`` answers ``status`` (500 Internal Server Error as JSON, 502 Bad
        Gateway as the HTML page a proxy sends, 503, 504); ``flood`` answers 429 with
        ``retry_after``; ``timeout`` holds the request until the client gives up. With
        ``executed`` the call takes effect first. ``delay`` is a slow Telegram rather than a
        failing one: the call is handled as usual after ``delay`` seconds (unless the client
        gives up first).
        """
        if kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {_FAULT_KINDS}")
        if status not in _SERVER_ERRORS:
            raise ValueError(f"status must be one of {sorted(_SERVER_ERRORS)}")
        if times < 1 or retry_after < 1:
            raise ValueError("times and retry_after must be at least 1")
        if delay <= 0:
            raise ValueError("delay must be more than 0 seconds")
        fault = Fault(method, kind, times, chat_id, retry_after, executed, status, delay)
        self.injected.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every injected fault."""
        self.injected.clear()

    def take(self, method: str, chat_id: int | str | None) -> Fault | None:
        """The first fault hitting this call, spent by one; None if none does."""
        for fault in self.injected:
            if fault.matches(method, chat_id):
                fault.remaining -= 1
                fault.fired += 1
                return fault
        return None

    @property
    def pending(self) -> int:
        """How many faulty answers are still to come."""
        return sum(fault.remaining for fault in self.injected)
