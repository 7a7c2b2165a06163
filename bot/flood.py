"""Floods: one person sending command after command, or pressing a button over and over.

Every command for Mend and every press of its buttons passes this guard before any handler
does (one place, not one per feature). Within `MEND_FLOOD_WINDOW` seconds, Mend answers:

- the same command (with the same words) or the same button from one person
  `MEND_FLOOD_SAME` times: a double tap or a repeated command is fine, two hundred are not;
- `MEND_FLOOD_PER_PERSON` commands and presses of one person, whatever they are: enough to go
  through a self-check or the trust checklist at speed;
- `MEND_FLOOD_PER_COUPLE` of both partners together in their group: their group's share of
  Telegram's 20 messages a minute is what a flood would use up.

Beyond a limit Mend says so once, calmly (a message for a command, a note on the button for a
press), then does nothing with what follows until it calms: fewer than the limit in the last
window. A person who keeps on pressing stays unanswered; the other partner is held back only
when the couple's own limit is reached, and is told once too. A press beyond the limit is still
answered, so its button stops spinning.

Nothing else is counted: typed answers, votes, replies, and text that isn't for Mend (a command
for another bot, or ordinary chat) are never held back.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from telegram import Chat, Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.config import Settings
from bot.context import MendContext, Services
from bot.guards import refuse
from bot.model import utcnow

log = logging.getLogger(__name__)

Verdict = Literal["go", "tell", "quiet"]


@dataclass
class _Recent:
    """The latest commands and presses of one kind (as many as its limit)."""

    times: deque[float]
    told: bool = False  # (a person's) the flood was answered; quiet until it calms

    def full(self, now: float, window: float) -> bool:
        """Whether the limit was reached within the last window."""
        return len(self.times) == self.times.maxlen and self.times[0] > now - window


@dataclass
class FloodGuard:
    """The counts behind the limits (see the module)."""

    same: int
    per_person: int
    per_couple: int
    window: float
    _recent: dict[Hashable, _Recent] = field(default_factory=dict)
    _swept_at: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FloodGuard:
        return cls(
            settings.flood_same,
            settings.flood_per_person,
            settings.flood_per_couple,
            settings.flood_window,
        )

    def judge(self, person: int, action: str, couple: int | None, now: float) -> Verdict:
        """A command or press (`action`: the command's text or the button's data) by `person`
        (a partner of `couple` in its group, else None): handle it ("go"), answer the flood
        once ("tell"), or let it pass unanswered ("quiet")."""
        self._sweep(now)
        mine = self._counts(("person", person), self.per_person)
        counts = [self._counts(("same", person, action), self.same), mine]
        ours = None if couple is None else self._counts(("couple", couple), self.per_couple)
        over = any(recent.full(now, self.window) for recent in (*counts, ours) if recent)
        for recent in counts:
            recent.times.append(now)  # pressing on, even unanswered, keeps a flood from calming
        if not over:
            if ours is not None:
                ours.times.append(now)  # the other partner is held back by what was handled
            mine.told = False
            return "go"
        if mine.told:
            return "quiet"
        mine.told = True
        return "tell"

    def _counts(self, key: Hashable, limit: int) -> _Recent:
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = _Recent(deque(maxlen=limit))
        return recent

    def _sweep(self, now: float) -> None:
        """Forget whatever has been calm for a whole window (once a window)."""
        if now - self._swept_at < self.window:
            return
        self._swept_at = now
        since = now - self.window
        calm = [
            k for k, recent in self._recent.items() if not recent.times or recent.times[-1] <= since
        ]
        for key in calm:
            del self._recent[key]


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    """The guard in front of every handler (after the features added their commands)."""
    flood = FloodGuard.from_settings(services.settings)
    commands = frozenset(command.name for command in services.commands)

    async def guard(update: Update, context: MendContext) -> None:
        """A command or press beyond the limits: answered once, then nothing more."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or user.is_bot or not _for_mend(update, context, commands):
            return
        store = services.store
        in_group = chat is not None and chat.type != Chat.PRIVATE
        group_id = store.resolve(chat.id) if chat is not None and in_group else None
        couple = group_id if group_id in store.chats_of_user(user.id) else None
        verdict = flood.judge(user.id, _action(update), couple, utcnow().timestamp())
        if verdict == "go":
            return
        if verdict == "tell":
            log.info("a flood of commands or presses is answered once and then held back")
            group = store.couple(group_id) if group_id is not None else None
            await refuse(update, context, group, "common/flood", "alert.flood")
        elif update.callback_query is not None:
            await update.callback_query.answer()
        raise ApplicationHandlerStop

    app.add_handler(TypeHandler(Update, guard), group=-1)


def _action(update: Update) -> str:
    """What makes two commands or presses the same: a button's data, a command's words."""
    if update.callback_query is not None:
        return f"press:{update.callback_query.data}"
    message = update.message
    return f"command:{' '.join((message.text or '').lower().split()) if message else ''}"


def _for_mend(update: Update, context: MendContext, commands: frozenset[str]) -> bool:
    """A press of one of Mend's buttons, or one of its commands (not another bot's)."""
    if update.callback_query is not None:
        return True
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return False
    name, _, addressed = message.text.split(maxsplit=1)[0][1:].partition("@")
    if addressed and addressed.lower() != (context.bot.username or "").lower():
        return False
    return name.lower() in commands
