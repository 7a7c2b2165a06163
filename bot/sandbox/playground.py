"""The playground of `scripts/run` without a token: the sandbox, the bot and three people.

Alex and Sam are the couple, Casey a friend in their group "Alex & Sam". The terminal console
(bot/sandbox/console.py) and the web page (bot/sandbox/web.py) both play them through this
object: what a person does, the time travel that lets a month pass in minutes, the tour's
"show me" steps and a reset that starts everything anew.

Time travel moves the process's clock with time-machine, as the tests do (bot/sandbox/clock.py):
the bot's scheduler and the sandbox's message dates move together, and every timer that came
due runs to its end before a jump returns.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from bot.app import MendApp, build_application, services_of, start, stop
from bot.bot_api import UpdateLedger
from bot.config import Settings
from bot.context import Services
from bot.model import from_iso
from bot.sandbox.clock import Clock
from bot.sandbox.control import SandboxChat, SandboxUser
from bot.sandbox.core import Sandbox
from bot.sandbox.records import Button, CallbackAnswer, MessageEvent, SentMessage
from bot.sandbox.updates import Signal
from bot.zones import warm_up

GROUP_TITLE = "Alex & Sam"
# Who is in the group, in order (the first created it), and the time zone of each one's phone:
# the couple lives apart, as Mend's couples mostly do.
PEOPLE = (("Alex", "Europe/Berlin"), ("Sam", "America/Toronto"), ("Casey", "Europe/London"))
COUPLE = ("alex", "sam")
TRAVEL = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
# "To the next prompt" goes on from timer to timer until Mend says something, this far at most.
NEXT_PROMPT_LIMIT = timedelta(days=40)
SETTLE_IDLE = 0.3
SETTLE_TIMEOUT = 30.0


class Refused(Exception):
    """What a person can't do (no such button, no open poll ...): a label key and its values,
    shown in the reader's language."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass
class Person:
    """One of the three: who they are in the sandbox, and their phone's time zone."""

    key: str
    user: SandboxUser
    zone: str


class Playground:
    """The sandbox, the bot over it, a group of three and a clock that travels.

    Every action goes through :meth:`act`, one at a time, and returns once the bot has
    answered (the sandbox settled), so what it did is there to be shown.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.version = 0  # grows with every change people could see
        self.changed = Signal()
        self._lock = asyncio.Lock()
        self._sandbox: Sandbox | None = None
        self._app: MendApp | None = None
        self._travel: time_machine.travel | None = None
        self._clock: Clock | None = None
        self.people: dict[str, Person] = {}
        self._group: SandboxChat | None = None
        self._listeners: list[Callable[[MessageEvent], None]] = []

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Start the sandbox and the bot, on a clock that starts at the real now."""
        data_dir = self.settings.data_dir / "sandbox"
        shutil.rmtree(data_dir, ignore_errors=True)  # the playground's people are new each time
        self._travel = time_machine.travel(datetime.now(UTC), tick=True)
        self._clock = Clock(self._travel.start())
        sandbox = Sandbox()
        await sandbox.start()
        self._sandbox = sandbox
        # Without Telegram's flood limits, as in the tests: a bot waiting out the limit makes
        # no call, so the sandbox would look settled before the bot had said everything.
        app = build_application(
            replace(
                self.settings, token=sandbox.token, api_base_url=sandbox.base_url, data_dir=data_dir
            ),
            rate_limit=False,
        )
        # Build the city index before anyone talks: a reply shouldn't wait for it.
        await asyncio.to_thread(warm_up)
        self._clock.app = app
        await start(app)
        self._app = app
        self.people = {
            name.lower(): Person(name.lower(), sandbox.user(name, language_code="en"), zone)
            for name, zone in PEOPLE
        }
        self._group = sandbox.group(GROUP_TITLE, members=[p.user for p in self.people.values()])
        sandbox.on_message(self._on_message)
        self._bump()

    async def close(self) -> None:
        """Stop the bot and the sandbox; the clock is the real one again."""
        if self._app is not None:
            await stop(self._app)
            self._app = None
        if self._sandbox is not None:
            await self._sandbox.stop()
            self._sandbox = None
        if self._travel is not None:
            self._travel.stop()
            self._travel = None

    async def reset(self) -> None:
        """Everything anew: an empty group, no data, today's date."""
        async with self._lock:
            await self.close()
            await self.open()

    def on_message(self, listener: Callable[[MessageEvent], None]) -> None:
        """Call `listener` for every new, edited or deleted message, across resets."""
        self._listeners.append(listener)

    def _on_message(self, event: MessageEvent) -> None:
        for listener in self._listeners:
            listener(event)
        self._bump()

    def _bump(self) -> None:
        self.version += 1
        self.changed.fire()

    # -- what there is ------------------------------------------------------------------

    @property
    def sandbox(self) -> Sandbox:
        assert self._sandbox is not None, "open() the playground first"
        return self._sandbox

    @property
    def services(self) -> Services:
        assert self._app is not None, "open() the playground first"
        return services_of(self._app)

    @property
    def clock(self) -> Clock:
        assert self._clock is not None, "open() the playground first"
        return self._clock

    @property
    def group(self) -> SandboxChat:
        assert self._group is not None, "open() the playground first"
        return self._group

    def person(self, key: str) -> Person:
        found = self.people.get(key.lower())
        if found is None:
            raise Refused("playground.refused.nobody", name=key)
        return found

    def chats_of(self, person: Person) -> list[SandboxChat]:
        """The chats a person sees: the group, and their private chat once it is open."""
        chats = [self.group]
        if person.user.started:
            chats.append(person.user.private)
        return chats

    def chat(self, chat_id: int) -> SandboxChat:
        return self.sandbox.chat(chat_id)

    def message(self, person: Person, chat_id: int, message_id: int) -> SentMessage:
        """A message the person can see, by its chat and number."""
        for chat in self.chats_of(person):
            if chat.id == chat_id:
                found = chat.state.message(message_id)
                if found is not None:
                    return found
        raise Refused("playground.refused.no_message", name=person.user.name)

    def newest_first(self, person: Person) -> list[SentMessage]:
        """The bot's messages the person sees, newest first."""
        found = [m for chat in self.chats_of(person) for m in chat.bot_messages() if not m.deleted]
        return sorted(found, key=lambda m: (m.date, m.message_id), reverse=True)

    def mend_zone(self, person: Person) -> str | None:
        """The time zone Mend has for a partner (set with /timezone), if any."""
        couple = self.services.store.couple(self.group.id)
        partner = None if couple is None else couple.partner(person.user.id)
        return None if partner is None else partner.timezone

    def is_partner(self, person: Person) -> bool:
        couple = self.services.store.couple(self.group.id)
        return couple is not None and couple.is_partner(person.user.id)

    def next_timer(self) -> datetime | None:
        """When Mend will next do something on its own for the couple, if anything is set."""
        now = self.clock.now()
        pending = [
            due
            for record in self.services.timers.pending(self.group.id)
            if (due := from_iso(record["due"])) is not None and due > now
        ]
        return min(pending, default=None)

    # -- doing --------------------------------------------------------------------------

    async def act(self, action: Callable[[], Awaitable[Any]]) -> Any:
        """Run one action, then wait until the bot has answered it."""
        async with self._lock:
            try:
                return await action()
            except AssertionError:  # the control side: something a person can't do
                raise Refused("playground.refused.cannot") from None
            finally:
                await self.settle()
                self._bump()

    async def settle(self) -> None:
        """Wait until Mend has handled everything people did and has said all it will: a
        reply that takes a while without any call to Telegram (a chart being drawn, the
        first answer after a start) is waited for too."""
        ledger = getattr(self._app.bot, "ledger", None) if self._app is not None else None
        while True:
            await self.sandbox.settle(idle=SETTLE_IDLE, timeout=SETTLE_TIMEOUT)
            if not isinstance(ledger, UpdateLedger) or ledger.idle:
                return
            await asyncio.wait_for(ledger.wait_until_idle(), SETTLE_TIMEOUT)

    async def say(
        self, person: Person, text: str, *, private: bool = False, reply_to: SentMessage | None
    ) -> None:
        """The person writes in the group, or to Mend in private (opening it if need be)."""
        if not text.strip():
            raise Refused("playground.refused.empty")
        if private and not person.user.started:
            await person.user.start_private()
            await self.settle()
        chat = person.user.private if private else self.group
        if reply_to is not None:
            await chat.reply(person.user, to=reply_to, text=text)
        else:
            await chat.send(person.user, text)

    async def press(self, person: Person, message: SentMessage, button: Button) -> str | None:
        """The person taps a button: a link to Mend opens their private chat; any other
        button is pressed and Mend's short answer (if any) is returned."""
        if button.url is not None:
            if "?start=" in button.url:
                await person.user.follow_link(message, button.text)
                return None
            raise Refused("playground.refused.outside_link")
        answer: CallbackAnswer = await person.user.press(message, button.text)
        return answer.text

    async def vote(self, person: Person, message: SentMessage, options: Iterable[int]) -> None:
        chosen = sorted(set(options))
        if message.poll is None or message.poll.get("is_closed"):
            raise Refused("playground.refused.no_poll")
        await person.user.answer_poll(message, chosen)

    async def open_private(self, person: Person) -> None:
        """The person opens their chat with Mend (Telegram's Start button)."""
        await person.user.start_private()

    def set_language(self, person: Person, language: str) -> None:
        """The person's Telegram app speaks `language` from now on."""
        person.user.language_code = language
        self._bump()

    def set_zone(self, person: Person, zone: str) -> None:
        """The person's phone is in `zone` (Mend learns it only through /timezone)."""
        person.zone = zone
        self._bump()

    async def add_bot(self) -> None:
        await self.group.add_bot(by=self.people["alex"].user)

    async def travel(self, step: str) -> timedelta:
        """Move the clock ("hour", "day", "week", or "next": until Mend next says something);
        returns how far it moved."""
        started = self.clock.now()
        if step == "next":
            await self._to_next_prompt()
        else:
            await self.clock.advance(TRAVEL[step])
        return self.clock.now() - started

    async def _to_next_prompt(self) -> None:
        said = sum(len(chat.bot_messages()) for chat in self._all_chats())
        limit = self.clock.now() + NEXT_PROMPT_LIMIT
        while True:
            due = self.next_timer()
            if due is None or due > limit:
                raise Refused("playground.refused.nothing_planned")
            await self.clock.to(due + timedelta(seconds=1))
            await self.settle()
            if sum(len(chat.bot_messages()) for chat in self._all_chats()) > said:
                return

    def _all_chats(self) -> list[SandboxChat]:
        return [self.group, *(p.user.private for p in self.people.values() if p.user.started)]

    # -- the tour's "show me" -----------------------------------------------------------

    async def show_me(self, step: str) -> None:
        """Play one step of the tour for the newcomer: "onboard", "pause", "hour",
        "checkin" or "week"."""
        if step in ("hour", "week"):
            await self.travel(step)
            return
        alex, sam = (self.people[key] for key in COUPLE)
        if step == "onboard":
            await self._onboard(alex, sam)
        elif step == "pause":
            await self.group.send(sam.user, "/pause 30")
        elif step == "checkin":
            await self.group.send(alex.user, "/checkin")
            poll = await self._waiting_for(lambda m: m.poll is not None and not m.poll["is_closed"])
            for person, choice in ((alex, 3), (sam, 4)):
                await person.user.answer_poll(poll, [choice])
        else:
            raise Refused("playground.refused.cannot")

    async def _onboard(self, alex: Person, sam: Person) -> None:
        """Alex adds Mend, both are in, Alex proposes the repair path and Sam agrees, Sam
        proposes no roles and Alex agrees, both let personal things be posted in the group;
        each opens their private chat and tells Mend their time zone. Whatever is done
        already is skipped."""
        if self.group.bot_status not in ("member", "administrator"):
            await self.add_bot()
        for person in (alex, sam):
            if not self.is_partner(person):
                await self._tap(person, "onboarding.join")
        couple = self.services.store.couple(self.group.id)
        if couple is None or not couple.is_set_up:
            await self._tap(alex, "path.repair")
            await self._tap(sam, "consent.agree")
            await self._tap(sam, "role.skip")
            await self._tap(alex, "consent.agree")
            # Casey is in the group too, so Mend asks where personal things go: here.
            for person in (alex, sam):
                await self._tap(person, "audience.here")
        for person in (alex, sam):
            if not person.user.started:
                await self._tap(person, "onboarding.open_private", name=person.user.name)
            await self.settle()
            await person.user.send_private(f"/timezone {person.zone}")

    async def _tap(self, person: Person, key: str, **values: Any) -> None:
        """Press the newest button the person sees with this label (in any language)."""
        render = self.services.render
        texts = {render.label(locale, key, **values) for locale in render.locales}

        def newest() -> tuple[SentMessage, Button] | None:
            for message in self.newest_first(person):
                for row in message.buttons:
                    for button in row:
                        if button.text in texts:
                            return message, button
            return None

        await self.settle()
        found = newest()
        if found is None:
            raise Refused("playground.refused.cannot")
        await self.press(person, *found)
        await self.settle()

    async def _waiting_for(self, wanted: Callable[[SentMessage], bool]) -> SentMessage:
        await self.settle()
        for message in reversed(self.group.bot_messages()):
            if wanted(message) and not message.deleted:
                return message
        raise Refused("playground.refused.cannot")
