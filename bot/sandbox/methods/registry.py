"""The table of implemented Bot API methods and what a handler gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.html import UserLookup
from bot.sandbox.world import World

Params = dict[str, Any]


@dataclass(frozen=True)
class CallContext:
    """What a method handler may use: the world, and whether the client is still there."""

    world: World
    alive: Callable[[], bool]

    @property
    def lookup(self) -> UserLookup:
        """Resolve a user id to a ``User`` object (for ``tg://user?id=`` links)."""
        users = self.world.users

        def find(user_id: int) -> dict[str, Any] | None:
            user = users.get(user_id)
            return None if user is None else user.to_api()

        return find


Handler = Callable[[CallContext, Params], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register the handler of the Bot API method ``name``."""

    def register(handler: Handler) -> Handler:
        if name in HANDLERS:
            raise RuntimeError(f"{name} is implemented twice")
        HANDLERS[name] = handler
        return handler

    return register
