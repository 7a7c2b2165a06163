"""Where the work at hand came from: the chat, forum topic and update that started it.

Set while an update is handled (from the update) and while a timer fires (from what the timer
remembered of the update that set it), so follow-ups land in the forum topic where the thing
started, and a timer set during an update remembers that topic without each feature passing it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """A chat (None: no chat, e.g. a timer with none), a forum topic in it, an update id."""

    chat_id: int | None = None
    thread_id: int | None = None
    update_id: int | None = None


_NOWHERE = Origin()
_current: ContextVar[Origin] = ContextVar("mend_origin", default=_NOWHERE)


def current() -> Origin:
    """The origin of the work running now (an empty Origin outside any update or timer)."""
    return _current.get()


@contextlib.contextmanager
def using(origin: Origin) -> Iterator[None]:
    """Run a block with `origin` as the current one."""
    token = _current.set(origin)
    try:
        yield
    finally:
        _current.reset(token)


def thread_in(chat_id: int) -> int | None:
    """The forum topic to use for a message to `chat_id`: the current one if the work at hand
    started in that chat, else None (the chat's General topic)."""
    origin = _current.get()
    return origin.thread_id if origin.chat_id == chat_id else None
