"""The sandbox: a local Bot API server plus the control side that plays the people."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from bot.sandbox.control import DEFAULT_TIMEOUT, Control, SandboxChat, SandboxUser
from bot.sandbox.limits import Faults, RateLimits
from bot.sandbox.records import Call, CallbackAnswer, MessageEvent
from bot.sandbox.server import ApiServer
from bot.sandbox.spec import ApiSpec, load_spec
from bot.sandbox.world import World

DEFAULT_BOT_ID = 7_000_000_001
_TOKEN_SECRET_LENGTH = 33  # "AA" + 33 characters: the 35 after the colon of a real token
_SETTLE_POLL = 0.01


class Sandbox:
    """A fake Telegram for one bot: real HTTP for the bot, Python for the people.

    Usage::

        async with Sandbox() as sandbox:
            bot = telegram.Bot(sandbox.token, base_url=sandbox.base_url,
                               base_file_url=sandbox.base_file_url)
            alex = sandbox.user("Alex")
            group = sandbox.group("Alex & Sam", members=[alex, sam])
            await group.add_bot(by=alex)
    """

    def __init__(
        self,
        bot_username: str = "mend_sandbox_bot",
        bot_name: str = "Mend",
        *,
        token: str | None = None,
        privacy_mode: bool = True,
    ) -> None:
        if token is None:
            token = f"{DEFAULT_BOT_ID}:AA{secrets.token_urlsafe(32)[:_TOKEN_SECRET_LENGTH]}"
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '<bot id>:<secret>'")
        self.token = token
        self.spec: ApiSpec = load_spec()
        self.world = World(
            bot_id=int(bot_id),
            bot_username=bot_username,
            bot_name=bot_name,
            privacy_mode=privacy_mode,
        )
        self.rate_limits = RateLimits()
        self.faults = Faults()
        self._control = Control(self.world)
        self._server = ApiServer(
            token=token,
            world=self.world,
            spec=self.spec,
            limits=self.rate_limits,
            faults=self.faults,
        )
        self._started = False
        self._offline_at: tuple[str, int] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve the Bot API on ``host:port`` (port 0: any free port)."""
        if self._started:
            raise RuntimeError("the sandbox is already running")
        await self._server.start(host, port)
        self._started = True

    async def stop(self) -> None:
        """Stop serving; raise the first sandbox bug recorded while running, if any."""
        for timer in self.world.timers:
            timer.cancel()
        self.world.timers.clear()
        for query in self.world.queries.values():
            if query.answer is not None and not query.answer.done():
                query.answer.cancel()
        if self._started:
            await self._server.stop()
            self._started = False
        self.world.check()

    async def go_offline(self) -> None:
        """Telegram can't be reached: the server stops listening, so every request fails to
        connect (it surely never arrived) until :meth:`come_online`. People and chats stay."""
        if not self._started:
            raise RuntimeError("the sandbox is not running")
        self._offline_at = (self._server.host, self._server.port)
        await self._server.stop()
        self._started = False

    async def come_online(self) -> None:
        """Listen again, on the address of before :meth:`go_offline`."""
        if self._offline_at is None:
            raise RuntimeError("the sandbox is not offline")
        host, port = self._offline_at
        self.world.closing = False
        await self._server.start(host, port)
        self._offline_at = None
        self._started = True

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if not self._started:
            raise RuntimeError("start() the sandbox first")
        return f"http://{self._server.host}:{self._server.port}"

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._server.port

    @property
    def base_url(self) -> str:
        """The Bot API base URL; python-telegram-bot appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """The file download base URL; python-telegram-bot appends the token."""
        return f"{self.url}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's ``User`` object."""
        return self.world.bot.to_api()

    # -- people and chats -----------------------------------------------------------------

    def user(
        self,
        first_name: str,
        *,
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> SandboxUser:
        """A new person with a unique id."""
        state = self.world.new_user(
            first_name, last_name=last_name, username=username, language_code=language_code
        )
        return self._control.user(state)

    def group(self, title: str, members: Iterable[SandboxUser] = ()) -> SandboxChat:
        """A new basic group (negative id); the first member is its creator. No bot yet."""
        state = self.world.new_group(title, [member.state for member in members])
        return self._control.chat(state)

    def supergroup(
        self, title: str, members: Iterable[SandboxUser] = (), *, is_forum: bool = False
    ) -> SandboxChat:
        """A new supergroup ("-100..." id); the first member is its creator. No bot yet."""
        state = self.world.new_group(title, [member.state for member in members], kind="supergroup")
        state.is_forum = is_forum
        return self._control.chat(state)

    def chat(self, chat_id: int) -> SandboxChat:
        """The chat with this id."""
        return self._control.chat(self.world.chats[chat_id])

    @property
    def chats(self) -> list[SandboxChat]:
        """Every chat, in creation order."""
        return [self._control.chat(state) for state in self.world.chats.values()]

    @property
    def users(self) -> list[SandboxUser]:
        """Every person, in creation order."""
        return [self._control.user(state) for state in self.world.users.values()]

    # -- what the bot did -----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every API call answered so far, in order."""
        return self.world.calls

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every ``answerCallbackQuery`` the bot made, in order."""
        return self.world.callback_answers

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (by a later getUpdates offset)."""
        return list(self.world.updates.pending)

    def commands(
        self,
        scope_type: str = "all_group_chats",
        language_code: str = "",
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> list[dict[str, str]]:
        """What setMyCommands stored for a scope and language (empty if nothing)."""
        key = scope_type
        if scope_type == "chat_member":
            key = f"chat_member:{chat_id}:{user_id}"
        elif scope_type in ("chat", "chat_administrators"):
            key = f"{scope_type}:{chat_id}"
        return [dict(c) for c in self.world.commands.get((key, language_code), [])]

    def description(self, language_code: str = "") -> str:
        """What setMyDescription stored for a language."""
        return self.world.descriptions.get(language_code, "")

    def short_description(self, language_code: str = "") -> str:
        """What setMyShortDescription stored for a language."""
        return self.world.short_descriptions.get(language_code, "")

    def mark_updates(self) -> int:
        """A mark in the stream of updates, for :meth:`deliver_again`."""
        return self.world.updates.mark()

    def deliver_again(self, since: int) -> int:
        """Deliver again every update from the mark ``since`` on, confirmed or not, as
        Telegram does when the bot crashed before the offset that confirms them reached it.
        Returns how many updates are pending from the mark on."""
        return self.world.updates.redeliver(since)

    def expire_presses(self) -> int:
        """Every button press the bot hasn't answered yet waited too long: Telegram gave up
        on it, and answering it now fails with "query is too old". Returns how many."""
        expired = 0
        for query in self.world.queries.values():
            if not query.closed:
                query.closed = True
                expired += 1
        return expired

    def on_message(self, listener: Callable[[MessageEvent], None]) -> Callable[[], None]:
        """Call ``listener`` for every new, edited or deleted message; returns an unsubscribe."""
        self.world.listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self.world.listeners:
                self.world.listeners.remove(listener)

        return unsubscribe

    def check(self) -> None:
        """Raise the first sandbox bug recorded so far (an invalid object it built)."""
        self.world.check()

    async def settle(
        self,
        idle: float = 0.2,
        timeout: float = 10.0,  # noqa: ASYNC109 (the control API's documented form)
        *,
        confirmed: bool = False,
    ) -> None:
        """Wait until the bot fetched every update and made no API call for ``idle`` seconds.

        With ``confirmed``, also until the bot confirmed every update (asked for a later
        offset): a bot that confirms only what it handled has then handled them all, even
        those a process killed earlier had fetched.
        """
        world = self.world
        deadline = time.monotonic() + timeout
        while True:
            world.check()
            quiet_for = time.monotonic() - world.last_activity
            unfetched = world.updates.unfetched
            if confirmed:
                unfetched = len(world.updates.pending)
            if not unfetched and not world.in_flight and quiet_for >= idle:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"the sandbox did not settle within {timeout} s: {unfetched} update(s) not "
                    f"fetched by the bot, {world.in_flight} call(s) in progress"
                )
            await asyncio.sleep(min(_SETTLE_POLL, idle))

    async def wait_until(
        self,
        condition: Callable[[], bool],
        wanted: str,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (the control API's documented form)
    ) -> None:
        """Wait until ``condition()`` holds (a message edited, a poll closed), looking again
        whenever a message or an API call changes something; ``wanted`` names it on failure."""
        world = self.world
        deadline = time.monotonic() + timeout
        while True:
            world.check()
            if condition():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{wanted} did not happen within {timeout} s")
            await world.changed.wait(remaining)
