"""getUpdates: long polling with Telegram's offset, limit, filter and conflict rules."""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.methods.registry import CallContext, Params, method

CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
# Wake up at least this often while long polling, to notice a client that went away.
_WAKE_SECONDS = 1.0


@method("getUpdates")
async def get_updates(call: CallContext, params: Params) -> Any:
    """Return pending updates at once, or wait up to ``timeout`` seconds for the first one.

    ``offset`` confirms every update below it. A newer getUpdates terminates a waiting one
    with 409, as Telegram does when two bot instances poll.
    """
    queue = call.world.updates
    limit = min(max(int(params.get("limit", 100)), 1), 100)
    timeout = max(int(params.get("timeout", 0)), 0)
    if "allowed_updates" in params:
        queue.set_allowed(params["allowed_updates"])
    if "offset" in params:
        queue.confirm(int(params["offset"]))
    ticket = queue.open_poll()
    call.world.changed.fire()  # a poll held open is news to Sandbox.wait_until
    deadline = time.monotonic() + timeout
    while True:
        if queue.poll_ticket != ticket:
            raise ApiError(409, CONFLICT)
        remaining = deadline - time.monotonic()
        if queue.pending or remaining <= 0 or call.world.closing or not call.alive():
            batch = queue.take(limit)
            if batch:
                # The bot is about to handle these: Sandbox.settle counts that as activity.
                call.world.last_activity = time.monotonic()
            return batch
        await queue.arrived.wait(min(remaining, _WAKE_SECONDS))
