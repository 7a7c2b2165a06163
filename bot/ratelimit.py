"""Telegram's send limits, with timed messages first.

Telegram allows a bot about 30 messages a second overall and 20 a minute per group; beyond that
it answers 429. python-telegram-bot's AIORateLimiter keeps to both; this one keeps to them
differently in three ways:

- **Timed messages first.** A send made while a timer fires (a pause ending, a window closing,
  a prompt, and what the outbox owes for them, bot.outbox) is "timed". Waiting sends are served
  timed ones first, and each group keeps `TIMED_RESERVE` of its 20 a minute for timed sends:
  sends that answer people may fill a group's budget only up to the rest. So a couple flooding
  a command uses up their group's budget for answers, and their pause end is still posted at
  once, never queued behind the flood.
- **Smooth.** The overall limit is one request every 1/30 s rather than bursts of 30, and at
  most `IN_FLIGHT` counted requests are on their way at once: requests let through at the right
  pace but held up on the way (a busy machine, a slow connection) would otherwise reach
  Telegram together, faster than it allows.
- **Cheap with many groups.** A group's bucket is forgotten once it has drained; the clean-up
  runs at most once a second (the stock limiter looks through every group on every request
  once there are more than 512, so a fan-out to 2,000 groups spends seconds of CPU there).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

OVERALL_PER_SECOND = 30
# Sends that may go at once overall before the rate applies: a message to one couple rarely
# waits for another's, and Telegram never sees more than its 30 a second.
OVERALL_BURST = 3
GROUP_PER_MINUTE = 20
TIMED_RESERVE = 4  # of a group's 20 a minute, kept for timed sends
CLEANUP_EVERY = 1.0  # seconds
# Counted requests on their way to Telegram at once, at most (Telegram answers a send in well
# under a second, so this never slows the 30 a second; it keeps a held-up batch small).
IN_FLIGHT = 8
# A sleeping waiter looks again at least this often (seconds): a bucket whose clock is moved
# on (tests) serves its waiters soon after.
LOOK_AGAIN = 1.0

_timed: ContextVar[bool] = ContextVar("mend_timed_send", default=False)
log = logging.getLogger(__name__)


def asked_pause(error: RetryAfter) -> timedelta:
    """The pause a 429 asks for (python-telegram-bot gives seconds or a timedelta)."""
    asked = error.retry_after
    return asked if isinstance(asked, timedelta) else timedelta(seconds=float(asked))


@contextlib.contextmanager
def timed(value: bool = True) -> Iterator[None]:
    """Sends made inside are timed ones (served first), or not (`value` False)."""
    token = _timed.set(value)
    try:
        yield
    finally:
        _timed.reset(token)


def sending_timed() -> bool:
    """Whether the work running now sends timed messages (a timer firing)."""
    return _timed.get()


class Bucket:
    """A leaky bucket: `size` sends at once, draining `size` every `period` seconds. Untimed
    sends may fill it up to `size - reserve`, timed ones to the top; waiting timed sends are
    served first, then the others in the order they came."""

    def __init__(
        self, size: float, period: float, reserve: float, clock: Callable[[], float]
    ) -> None:
        self._size, self._reserve = size, reserve
        self._drain = size / period
        self._clock = clock
        self._level = 0.0
        self._at = clock()
        self._waiting: list[tuple[bool, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._wakeup: asyncio.TimerHandle | None = None

    def _leak(self) -> None:
        now = self._clock()
        if now > self._at:
            self._level = max(0.0, self._level - (now - self._at) * self._drain)
            self._at = now

    def _short(self, is_timed: bool) -> float:
        """How much must drain before one more send fits (0 or less: it fits now)."""
        top = self._size if is_timed else self._size - self._reserve
        return self._level + 1 - top

    @property
    def drained(self) -> bool:
        """Empty, and nobody waiting (it may be forgotten)."""
        self._leak()
        return self._level == 0 and not self._waiting

    @property
    def waiting(self) -> int:
        """How many sends wait for room."""
        return sum(not future.done() for _, _, future in self._waiting)

    async def take(self, is_timed: bool) -> None:
        """Wait for room for one send, and take it."""
        if not self._waiting:
            self._leak()
            if self._short(is_timed) <= 0:
                self._level += 1
                return
        future = asyncio.get_running_loop().create_future()
        # Untimed sort after timed (False < True): the first element is "not timed".
        heapq.heappush(self._waiting, (not is_timed, next(self._order), future))
        self._serve()
        await future

    def hold(self, seconds: float) -> None:
        """Nothing more fits for `seconds` (Telegram asked for a pause)."""
        self._leak()
        self._level = max(self._level, self._size + seconds * self._drain)

    def _serve(self) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        self._leak()
        while self._waiting:
            untimed, _, future = self._waiting[0]
            if future.done():  # its sender was cancelled
                heapq.heappop(self._waiting)
                continue
            short = self._short(not untimed)
            if short > 0:
                later = min(short / self._drain, LOOK_AGAIN)
                self._wakeup = asyncio.get_running_loop().call_later(later, self._serve)
                return
            heapq.heappop(self._waiting)
            self._level += 1
            future.set_result(None)


class RateLimiter(AIORateLimiter):
    """AIORateLimiter's retries on RetryAfter, with the buckets above (see the module).

    `group_clock`, the clock of the groups' budgets, is replaceable so a test can stop time
    for them (and move it on)."""

    def __init__(self, max_retries: int = 3) -> None:
        super().__init__(max_retries=max_retries)
        self.group_clock: Callable[[], float] = time.monotonic
        self._overall = Bucket(OVERALL_BURST, OVERALL_BURST / OVERALL_PER_SECOND, 0, time.monotonic)
        self._groups: dict[str | int, Bucket] = {}
        self._cleaned_at = 0.0
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)

    def _now(self) -> float:
        return self.group_clock()

    def waiting(self, group_id: int) -> int:
        """How many sends to a group wait for its budget."""
        bucket = self._groups.get(group_id)
        return 0 if bucket is None else bucket.waiting

    def _group(self, group_id: str | int) -> Bucket:
        now = self._now()
        if now - self._cleaned_at >= CLEANUP_EVERY:
            self._cleaned_at = now
            for key in [k for k, bucket in self._groups.items() if bucket.drained]:
                del self._groups[key]
        if group_id not in self._groups:
            self._groups[group_id] = Bucket(GROUP_PER_MINUTE, 60, TIMED_RESERVE, self._now)
        return self._groups[group_id]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """One request within the limits; after a 429 nothing more is sent until the pause
        Telegram asked for is over, then the request is tried again (`max_retries` times)."""
        if data.get("allow_paid_broadcast"):
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        retries = rate_limit_args or self._max_retries
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        # Only groups (negative ids, or @names of supergroups) have a budget of their own.
        group = (
            chat_id
            if isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)
            else None
        )
        is_timed = sending_timed()
        for attempt in range(retries + 1):
            if group is not None:
                await self._group(group).take(is_timed)
            try:
                if chat_id is None:
                    return await callback(*args, **kwargs)
                async with self._in_flight:
                    await self._overall.take(is_timed)
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == retries:
                    raise
                pause = asked_pause(error).total_seconds() + 0.1
                # The budget is spent for that long (the group's, for a send to a group; else
                # the overall one): what waits goes after the pause, at the usual pace (not all
                # at once, which would be refused again), and other chats go on meanwhile.
                (self._group(group) if group is not None else self._overall).hold(pause)
                log.info("Telegram asked for a pause of %.1f s; sending again after it", pause)
        raise AssertionError("unreachable: the last attempt returns or raises")
