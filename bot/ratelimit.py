"""Telegram's send limits, kept by python-telegram-bot's AIORateLimiter with one fix.

Once more than 512 groups have a limiter, the stock limiter looks through all of them for idle
ones on every single request, so a fan-out to 2,000 groups spends seconds of CPU there (each
send costs O(groups)). Here that clean-up runs at most once a second. The overall limit is
also kept smooth: one request every 1/30 s rather than bursts of 30.
"""

from __future__ import annotations

import time

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

OVERALL_PER_SECOND = 30
CLEANUP_EVERY = 1.0  # seconds
CLEANUP_ABOVE = 512  # group limiters


class RateLimiter(AIORateLimiter):
    """AIORateLimiter with a smooth overall rate and an occasional clean-up of idle groups."""

    def __init__(self, max_retries: int = 3) -> None:
        super().__init__(
            overall_max_rate=1, overall_time_period=1 / OVERALL_PER_SECOND, max_retries=max_retries
        )
        self._last_cleanup = 0.0

    def _get_group_limiter(self, group_id: str | int | bool) -> AsyncLimiter:
        limiters: dict[str | int | bool, AsyncLimiter] = self._group_limiters
        now = time.monotonic()
        if len(limiters) > CLEANUP_ABOVE and now - self._last_cleanup >= CLEANUP_EVERY:
            self._last_cleanup = now
            for key, limiter in list(limiters.items()):
                if key != group_id and limiter.has_capacity(limiter.max_rate):
                    del limiters[key]
        if group_id not in limiters:
            limiters[group_id] = AsyncLimiter(
                max_rate=self._group_max_rate, time_period=self._group_time_period
            )
        return limiters[group_id]
