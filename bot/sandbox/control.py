"""The people's side: users who talk, press buttons and vote; chats with their transcripts.

Mistakes in a test's script (a button that is not there, a person outside the group) raise
AssertionError with what the person would see, so failures read like a chat.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.html import detect_entities
from bot.sandbox.records import CallbackAnswer, SentMessage
from bot.sandbox.world import MEMBER_STATUSES, ChatState, PendingQuery, UserState, World

# How long a person waits for the bot by default: generous, as it is only reached when
# something is wrong (a waiting test returns as soon as the bot answers), and a loaded
# machine can be slow.
DEFAULT_TIMEOUT = 20.0
MAX_TEXT = 4096
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_TOPIC_COLOR = 7_322_096  # one of Telegram's six topic icon colours
_TRANSCRIPT_TAIL = 15


class Control:
    """What the control objects share: the world, and one wrapper per user and per chat."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._users: dict[int, SandboxUser] = {}
        self._chats: dict[int, SandboxChat] = {}

    def user(self, state: UserState) -> SandboxUser:
        """The one :class:`SandboxUser` for a user."""
        if state.id not in self._users:
            self._users[state.id] = SandboxUser(self, state)
        return self._users[state.id]

    def chat(self, state: ChatState) -> SandboxChat:
        """The one :class:`SandboxChat` for a chat."""
        if state.id not in self._chats:
            self._chats[state.id] = SandboxChat(self, state)
        return self._chats[state.id]

    def failure_report(self, chat: ChatState | None = None) -> str:
        """Context for an AssertionError: unfetched updates and recent failed calls."""
        world = self.world
        lines = []
        if world.updates.unfetched:
            lines.append(
                f"{world.updates.unfetched} update(s) were never fetched by the bot "
                "(is it polling this sandbox?)"
            )
        failed = [call for call in world.calls if not call.ok][-5:]
        if chat is not None:
            failed = [c for c in failed if str(c.params.get("chat_id", chat.id)) == str(chat.id)]
        if failed:
            lines.append("recent failed API calls:")
            lines.extend(f"  {call}" for call in failed)
        return "\n".join(lines)


def chat_instance(chat_id: int) -> str:
    """A stable ``chat_instance`` for callback queries from one chat."""
    return str((abs(chat_id) * 2_654_435_761) % 2**63)


class SandboxUser:
    """A person: talks in chats, presses buttons, follows links, answers polls."""

    def __init__(self, control: Control, state: UserState) -> None:
        self._control = control
        self.state = state

    def __repr__(self) -> str:
        return f"SandboxUser({self.name!r}, id={self.id})"

    @property
    def id(self) -> int:
        """The Telegram user id."""
        return self.state.id

    @property
    def name(self) -> str:
        """The first name, as chats show it."""
        return self.state.first_name

    @property
    def username(self) -> str | None:
        """The @username without the @, if any."""
        return self.state.username

    @property
    def language_code(self) -> str | None:
        """The language the person's Telegram app is set to."""
        return self.state.language_code

    @language_code.setter
    def language_code(self, code: str | None) -> None:
        """The person switches their app's language; their next updates carry it."""
        self.state.language_code = code

    @property
    def user(self) -> dict[str, Any]:
        """The Bot API ``User`` object."""
        return self.state.to_api()

    @property
    def started(self) -> bool:
        """Whether the person opened the private chat with the bot."""
        return self.state.started

    @property
    def blocked(self) -> bool:
        """Whether the person blocked the bot."""
        return self.state.blocked

    @property
    def private(self) -> SandboxChat:
        """The private chat with the bot (created on first use, nothing is sent)."""
        return self._control.chat(self._control.world.private_chat(self.state))

    async def start_private(self, payload: str | None = None) -> SandboxChat:
        """Press Start in the private chat: sends ``/start`` or ``/start <payload>``.

        Like Telegram's Restart button, this also unblocks the bot.
        """
        if payload is not None and not _PAYLOAD.match(payload):
            raise AssertionError(
                f"deep-link payload {payload!r} is invalid: Telegram allows 1-64 characters "
                "of A-Z, a-z, 0-9, _ and -"
            )
        self.unblock_bot()
        self.state.started = True
        text = "/start" if payload is None else f"/start {payload}"
        await self.private.send(self, text)
        return self.private

    async def send_private(self, text: str) -> SentMessage:
        """Write to the bot in the private chat."""
        return await self.private.send(self, text)

    async def press(
        self,
        message: SentMessage,
        text: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (the control API's documented form)
    ) -> CallbackAnswer:
        """Press the inline button with exactly this text and wait for the bot's answer."""
        return await self._callback(message, self._button_data(message, text), timeout)

    async def press_data(
        self,
        message: SentMessage,
        data: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Send a callback query with arbitrary data for a message (forged presses)."""
        return await self._callback(message, data, timeout)

    async def press_without_waiting(self, message: SentMessage, text: str) -> str:
        """Press the inline button with exactly this text and don't wait for an answer, as
        when the bot is down: the callback query waits among the updates. Returns its id.

        Telegram gives up on a press that waits too long; :meth:`Sandbox.expire_presses`
        plays that, after which the bot's answer fails with "query is too old".
        """
        data = self._button_data(message, text)
        query = self._queue_callback(message, data)
        await asyncio.sleep(0)
        return query.id

    def _button_data(self, message: SentMessage, text: str) -> str:
        button = message.find_button(text)
        if button is None:
            shown = " ".join(f"[{t}]" for t in message.button_texts()) or "no buttons"
            raise AssertionError(
                f'{self.name} sees no button "{text}" under message #{message.message_id}; '
                f"shown: {shown}\n{message.render()}"
            )
        if button.callback_data is None:
            raise AssertionError(
                f'the button "{text}" opens {button.url}; use follow_link() for link buttons'
            )
        return button.callback_data

    def _queue_callback(self, message: SentMessage, data: str) -> PendingQuery:
        world = self._control.world
        world.check()
        chat = world.chats[message.chat_id]
        if message.deleted:
            raise AssertionError(f"message #{message.message_id} was deleted; nothing to press")
        if not message.from_bot:
            raise AssertionError("only the bot's messages carry inline buttons")
        if chat.is_group and not chat.is_member(self.id):
            raise AssertionError(f"{self.name} is not in {chat.title!r}")
        if chat.type == "private" and chat.user is not self.state:
            raise AssertionError(f"{self.name} can't see another person's private chat")
        loop = asyncio.get_running_loop()
        query = PendingQuery(
            world.new_query_id(), self.id, chat.id, message.message_id, data, loop.create_future()
        )
        world.queries[query.id] = query
        world.updates.push(
            "callback_query",
            {
                "id": query.id,
                "from": self.user,
                "message": world.message_api(message),
                "chat_instance": chat_instance(chat.id),
                "data": data,
            },
        )
        return query

    async def _callback(self, message: SentMessage, data: str, seconds: float) -> CallbackAnswer:
        world = self._control.world
        query = self._queue_callback(message, data)
        chat = world.chats[message.chat_id]
        assert query.answer is not None
        try:
            return await asyncio.wait_for(asyncio.shield(query.answer), seconds)
        except TimeoutError:
            query.closed = True
            world.check()
            view = self._control.chat(chat)
            raise AssertionError(
                f"the bot did not answer {self.name}'s button press (data {data!r}) within "
                f"{seconds} s; bots must always call answerCallbackQuery\n"
                f"{view.transcript(_TRANSCRIPT_TAIL)}\n{self._control.failure_report(chat)}"
            ) from None

    async def follow_link(self, message: SentMessage, text: str) -> SandboxChat:
        """Open a deep link button (``https://t.me/<bot>?start=<payload>``) in private."""
        button = message.find_button(text)
        if button is None or button.url is None:
            shown = " ".join(f"[{t}]" for t in message.button_texts()) or "no buttons"
            raise AssertionError(f'no link button "{text}" under the message; shown: {shown}')
        bot_name, payload = _deep_link(button.url)
        expected = self._control.world.bot.username or ""
        if bot_name.lower() != expected.lower():
            raise AssertionError(f"the link {button.url} leads to @{bot_name}, not @{expected}")
        return await self.start_private(payload)

    async def answer_poll(self, message: SentMessage, option_ids: Sequence[int]) -> None:
        """Vote (an empty list retracts the vote); the bot gets poll_answer and poll updates."""
        world = self._control.world
        world.check()
        if message.poll is None:
            raise AssertionError(f"message #{message.message_id} has no poll")
        poll = world.polls[message.poll["id"]]
        chat = world.chats[poll.chat_id]
        if chat.is_group and not chat.is_member(self.id):
            raise AssertionError(f"{self.name} is not in {chat.title!r} and can't vote")
        chosen = tuple(option_ids)
        previous = poll.votes.get(self.id, ())
        if poll.is_closed:
            raise AssertionError(f"the poll {poll.question!r} is closed")
        if any(not 0 <= i < len(poll.options) for i in chosen) or len(set(chosen)) != len(chosen):
            raise AssertionError(f"invalid options {list(chosen)} for {len(poll.options)} options")
        if len(chosen) > 1 and not poll.allows_multiple_answers:
            raise AssertionError("the poll allows one answer only")
        if previous and not poll.allows_revoting:
            raise AssertionError(f"{self.name} already voted and the poll forbids changing it")
        if not chosen and not previous:
            raise AssertionError(f"{self.name} has no vote to retract")
        if chosen:
            poll.votes[self.id] = tuple(sorted(chosen))
        else:
            poll.votes.pop(self.id, None)
        world.refresh_poll(poll)
        if not poll.is_anonymous:
            ordered = sorted(chosen)
            world.updates.push(
                "poll_answer",
                {
                    "poll_id": poll.id,
                    "user": self.user,
                    "option_ids": ordered,
                    "option_persistent_ids": [poll.options[i][0] for i in ordered],
                },
            )
        world.updates.push("poll", poll.to_api())
        await asyncio.sleep(0)

    def block_bot(self) -> None:
        """Block the bot: it can no longer write here (403 ``bot was blocked by the user``)."""
        self._control.world.set_blocked(self.state, True)

    def unblock_bot(self) -> None:
        """Unblock the bot."""
        self._control.world.set_blocked(self.state, False)


def _deep_link(url: str) -> tuple[str, str | None]:
    """(bot username, start payload) of a t.me / telegram.me / tg://resolve link."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme == "tg" and parts.netloc == "resolve":
        bot_name = query.get("domain", [""])[0]
    elif parts.scheme in ("http", "https") and parts.netloc in ("t.me", "telegram.me"):
        bot_name = parts.path.strip("/")
    else:
        raise AssertionError(f"{url} is not a Telegram bot link")
    if "startgroup" in query:
        raise AssertionError(f"{url} adds the bot to a group; only ?start= links are supported")
    start = query.get("start", [None])[0]
    return bot_name, start


class SandboxChat:
    """A chat as its members see it, with a read cursor over the bot's messages."""

    def __init__(self, control: Control, state: ChatState) -> None:
        self._control = control
        self.state = state
        self._cursor = 0

    def __repr__(self) -> str:
        return f"SandboxChat({self.title!r}, id={self.id}, type={self.type!r})"

    @property
    def id(self) -> int:
        """The chat id (negative for groups)."""
        return self.state.id

    @property
    def type(self) -> str:
        """One of "private", "group" or "supergroup"."""
        return self.state.type

    @property
    def title(self) -> str:
        """The group's title, or the person's name for a private chat."""
        if self.state.user is not None:
            return f"private chat with {self.state.user.first_name}"
        return self.state.title or ""

    @property
    def is_forum(self) -> bool:
        """Whether the supergroup has topics."""
        return self.state.is_forum

    @property
    def migrated_to(self) -> SandboxChat | None:
        """The supergroup this group became, if it was upgraded."""
        target = self.state.migrated_to
        world = self._control.world
        return None if target is None else self._control.chat(world.chats[target])

    @property
    def members(self) -> list[SandboxUser]:
        """The people in the chat (the bot not included)."""
        world = self._control.world
        return [
            self._control.user(world.users[user_id])
            for user_id, status in self.state.members.items()
            if status in MEMBER_STATUSES and user_id in world.users
        ]

    @property
    def messages(self) -> list[SentMessage]:
        """Everything in the chat in order, people's and the bot's."""
        return list(self.state.messages)

    @property
    def actions(self) -> list[str]:
        """The chat actions (``typing`` ...) the bot sent here, in order."""
        return list(self.state.actions)

    @property
    def bot_status(self) -> str:
        """The bot's status here: "member", "administrator", "left", "kicked" ..."""
        world = self._control.world
        if self.state.type == "private":
            return "kicked" if self.state.user is not None and self.state.user.blocked else "member"
        return self.state.status_of(world.bot.id)

    def bot_messages(self) -> list[SentMessage]:
        """The bot's messages (service messages such as pins left out)."""
        return [m for m in self.state.messages if m.from_bot and not m.is_service]

    # -- people act ------------------------------------------------------------------------

    def _check_open(self) -> None:
        self._control.world.check()
        if self.state.migrated_to is not None:
            raise AssertionError(f"{self.title!r} became a supergroup; use its migrated_to chat")

    def _check_member(self, user: SandboxUser) -> None:
        if self.state.type == "private":
            if self.state.user is not user.state:
                raise AssertionError(f"{user.name} can't write in {self.title}")
            if user.blocked:
                raise AssertionError(f"{user.name} blocked the bot; call unblock_bot() first")
        elif not self.state.is_member(user.id):
            raise AssertionError(f"{user.name} is not a member of {self.title!r}")

    def _check_thread(self, thread_id: int | None) -> None:
        if thread_id is None:
            return
        if self.state.type != "supergroup":
            raise AssertionError("threads exist in supergroups only")
        if self.state.is_forum and thread_id not in self.state.topics:
            raise AssertionError(f"no topic {thread_id} in {self.title!r}; use create_topic()")

    def _post(
        self,
        user: SandboxUser,
        text: str,
        reply_to: SentMessage | None,
        thread_id: int | None,
    ) -> SentMessage:
        self._check_open()
        self._check_member(user)
        if not text.strip() or len(text) > MAX_TEXT:
            raise AssertionError(f"a message must have 1-{MAX_TEXT} characters")
        if reply_to is not None:
            if reply_to.chat_id != self.id:
                raise AssertionError("the replied message is in another chat")
            if thread_id is None:
                thread_id = reply_to.thread_id
        self._check_thread(thread_id)
        if self.state.type == "private":
            user.state.started = True
        world = self._control.world
        message = world.post(
            self.state,
            user.state,
            text=text,
            html=text,
            entities=detect_entities(text),
            reply_to_message_id=None if reply_to is None else reply_to.message_id,
            thread_id=thread_id,
        )
        world.deliver(message)
        return message

    async def send(
        self, user: SandboxUser, text: str, *, thread_id: int | None = None
    ) -> SentMessage:
        """A person writes a text message (commands get ``bot_command`` entities)."""
        message = self._post(user, text, None, thread_id)
        await asyncio.sleep(0)
        return message

    async def send_photo(self, user: SandboxUser) -> SentMessage:
        """A person sends a photo without a caption: no text at all."""
        self._check_open()
        self._check_member(user)
        world = self._control.world
        size = {"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}
        message = world.post(self.state, user.state, media={"photo": [size]})
        world.deliver(message)
        await asyncio.sleep(0)
        return message

    async def reply(
        self, user: SandboxUser, *, to: SentMessage, text: str, thread_id: int | None = None
    ) -> SentMessage:
        """A person replies to a message (the bot sees replies to its own messages)."""
        message = self._post(user, text, to, thread_id)
        await asyncio.sleep(0)
        return message

    def _service(self, actor: UserState, **service: Any) -> SentMessage:
        world = self._control.world
        message = world.post(self.state, actor, service=service)
        world.deliver(message)
        return message

    def _check_group(self) -> None:
        self._check_open()
        if not self.state.is_group:
            raise AssertionError("only groups and supergroups have members to change")

    async def add_bot(self, *, by: SandboxUser, admin: bool = False) -> None:
        """``by`` adds the bot: ``my_chat_member`` and a ``new_chat_members`` message."""
        self._check_group()
        self._check_member(by)
        world = self._control.world
        if self.state.is_member(world.bot.id):
            raise AssertionError(f"the bot is already in {self.title!r}")
        world.set_bot_status(self.state, "administrator" if admin else "member", by=by.state)
        self._service(by.state, new_chat_members=[world.bot.to_api()])
        await asyncio.sleep(0)

    async def remove_bot(self, *, by: SandboxUser) -> None:
        """``by`` removes the bot: ``my_chat_member`` (kicked) and ``left_chat_member``."""
        self._check_group()
        self._check_member(by)
        world = self._control.world
        if not self.state.is_member(world.bot.id):
            raise AssertionError(f"the bot is not in {self.title!r}")
        world.set_bot_status(self.state, "kicked", by=by.state)
        self._service(by.state, left_chat_member=world.bot.to_api())
        await asyncio.sleep(0)

    async def add_member(self, user: SandboxUser, *, by: SandboxUser | None = None) -> None:
        """A person joins (or is added by ``by``): a ``new_chat_members`` message."""
        self._check_group()
        if self.state.is_member(user.id):
            raise AssertionError(f"{user.name} is already in {self.title!r}")
        actor = user if by is None else by
        if by is not None:
            self._check_member(by)
        world = self._control.world
        world.set_member_status(self.state, user.state, "member", by=actor.state)
        self._service(actor.state, new_chat_members=[user.user])
        await asyncio.sleep(0)

    async def remove_member(self, user: SandboxUser, *, by: SandboxUser | None = None) -> None:
        """A person leaves (or is removed by ``by``): a ``left_chat_member`` message."""
        self._check_group()
        self._check_member(user)
        actor = user if by is None else by
        world = self._control.world
        world.set_member_status(self.state, user.state, "left", by=actor.state)
        self._service(actor.state, left_chat_member=user.user)
        await asyncio.sleep(0)

    def _creator(self) -> UserState:
        world = self._control.world
        for user_id, status in self.state.members.items():
            if status == "creator" and user_id in world.users:
                return world.users[user_id]
        raise AssertionError(f"{self.title!r} has no creator; pass by=")

    async def migrate_to_supergroup(self, *, by: SandboxUser | None = None) -> SandboxChat:
        """Upgrade the group: a new supergroup id; the old id answers ``ChatMigrated``."""
        self._check_open()
        if self.state.type != "group":
            raise AssertionError("only a basic group can be upgraded to a supergroup")
        world = self._control.world
        actor = self._creator() if by is None else by.state
        new = world.new_group(self.state.title or "", [], kind="supergroup")
        new.members = dict(self.state.members)
        self._service(actor, migrate_to_chat_id=new.id)
        self.state.migrated_to = new.id
        upgraded = self._control.chat(new)
        upgraded._service(actor, migrate_from_chat_id=self.id)
        await asyncio.sleep(0)
        return upgraded

    async def set_title(self, title: str, *, by: SandboxUser) -> None:
        """Rename the group: a ``new_chat_title`` service message."""
        self._check_group()
        self._check_member(by)
        self.state.title = title
        self._service(by.state, new_chat_title=title)
        await asyncio.sleep(0)

    async def create_topic(self, name: str, *, by: SandboxUser | None = None) -> int:
        """Create a forum topic; returns its ``message_thread_id``."""
        self._check_open()
        if not self.state.is_forum:
            raise AssertionError(f"{self.title!r} is not a forum")
        actor = self._creator() if by is None else by.state
        thread_id = self.state.next_message_id
        self.state.topics[thread_id] = name
        world = self._control.world
        message = world.post(
            self.state,
            actor,
            thread_id=thread_id,
            service={"forum_topic_created": {"name": name, "icon_color": _TOPIC_COLOR}},
        )
        world.deliver(message)
        await asyncio.sleep(0)
        return thread_id

    # -- reading -------------------------------------------------------------------------

    def transcript(self, last: int | None = None) -> str:
        """The chat as readable text, oldest first (only the ``last`` messages if given)."""
        shown = self.state.messages if last is None else self.state.messages[-last:]
        header = [] if last is None or len(self.state.messages) <= last else ["..."]
        return "\n".join(header + [message.render() for message in shown]) or "(no messages)"

    def skip(self) -> None:
        """Move the read cursor past every message so far."""
        self._cursor = len(self.state.messages)

    async def next_bot_message(
        self,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 (the control API's documented form)
    ) -> SentMessage:
        """The bot's first message after the read cursor (which moves past it)."""
        return await self._next(lambda message: True, timeout, "a new message from the bot")

    async def expect(
        self,
        *fragments: str,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> SentMessage:
        """The next bot message; it must contain every fragment (case-insensitive)."""
        message = await self.next_bot_message(timeout)
        missing = [fragment for fragment in fragments if not message.contains(fragment)]
        if missing:
            raise AssertionError(
                f"the bot's next message in {self.title!r} lacks {missing}:\n"
                f"{message.render()}\n--- transcript ---\n{self.transcript(_TRANSCRIPT_TAIL)}"
            )
        return message

    async def wait_for(
        self,
        predicate: Callable[[SentMessage], bool],
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> SentMessage:
        """The first bot message from the cursor that matches, skipping others."""
        return await self._next(predicate, timeout, "a matching message from the bot")

    async def _next(
        self, predicate: Callable[[SentMessage], bool], seconds: float, wanted: str
    ) -> SentMessage:
        world = self._control.world
        deadline = time.monotonic() + seconds
        while True:
            world.check()
            messages = self.state.messages
            for index in range(self._cursor, len(messages)):
                message = messages[index]
                if message.from_bot and not message.is_service and predicate(message):
                    self._cursor = index + 1
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                report = self._control.failure_report(self.state)
                raise AssertionError(
                    f"{wanted} did not arrive in {self.title!r} within {seconds} s\n"
                    f"--- transcript ---\n{self.transcript(_TRANSCRIPT_TAIL)}\n{report}"
                )
            await world.changed.wait(remaining)
