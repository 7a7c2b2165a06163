"""The typed context every handler receives, and the services it carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from telegram.ext import CallbackContext, ExtBot

from bot.config import Settings
from bot.model import Couple
from bot.outbox import Outbox
from bot.reads import Reads
from bot.render import Renderer
from bot.storage import Store
from bot.timers import Timers

SERVICES_KEY = "mend"


@dataclass(frozen=True)
class Command:
    """A command as the menus and /help show it."""

    name: str
    purpose: str  # groups /help: "start", "together", "care", "privacy", ...
    in_group: bool = True
    in_private: bool = False


@dataclass
class Services:
    """What the features share: settings, the store, the renderer, the timers, the commands."""

    settings: Settings
    store: Store
    render: Renderer
    timers: Timers
    outbox: Outbox
    commands: list[Command] = field(default_factory=list)
    # What each feature adds to a partner's /export: (services, couple, user id) → a section.
    exporters: dict[str, Callable[[Services, Couple, int], Any]] = field(default_factory=dict)
    # Background work to start once the bot runs (not awaited by start-up).
    startup_tasks: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    # When each outsider was last told the bot isn't theirs, or a stranger greeted in private:
    # (chat, user) → a UTC timestamp (bot.guards).
    outsider_notices: dict[tuple[int, int], float] = field(default_factory=dict)
    # What each event calls (see on/emit).
    listeners: dict[str, list[Callable[..., Awaitable[Any]]]] = field(default_factory=dict)
    # What a feature may read of another's (bot.reads), set by the feature that owns it.
    reads: Reads = field(default_factory=Reads)
    # The runner of guided steps (a bot.flows.Runner), set when the application is built; read
    # it through bot.flows.runner_of, so that this module needs nothing of bot.flows.
    runner: object = field(init=False)

    def on(self, event: str, handler: Callable[..., Awaitable[Any]]) -> None:
        """Call `handler(context, couple, **data)` whenever `event` happens (see `emit`)."""
        self.listeners.setdefault(event, []).append(handler)

    async def emit(self, event: str, context: MendContext, couple: Couple, **data: Any) -> None:
        """Tell the features that listen that `event` happened to `couple` (for example
        "checkin.revealed"): features learn of each other's moments without importing
        each other."""
        for handler in self.listeners.get(event, []):
            await handler(context, couple, **data)

    def add_commands(self, *commands: Command) -> None:
        self.commands.extend(commands)

    def on_start(self, task: Callable[[], Awaitable[Any]]) -> None:
        self.startup_tasks.append(task)


class MendContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """python-telegram-bot's context with typed access to Mend's services."""

    @property
    def mend(self) -> Services:
        return cast(Services, self.bot_data[SERVICES_KEY])
