"""The sandbox's state: the bot, people, chats, messages, polls, files and pending updates.

Everything runs on one event loop, so the state needs no locks. Dates are Unix seconds from
``time.time()``, so a process under ``faketime`` sees consistent times.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.html import entity_text
from bot.sandbox.records import Call, CallbackAnswer, MessageEvent, SentMessage
from bot.sandbox.updates import Signal, UpdateQueue

log = logging.getLogger(__name__)

MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted"})
# How the first ids look: 10-digit users, "-4..." basic groups, "-100..." supergroups.
_FIRST_USER_ID = 5_183_460_001
_FIRST_GROUP_ID = 4_100_000_000
_FIRST_SUPERGROUP_ID = 1_002_200_000_000
_FIRST_POLL_ID = 5_206_251_000_000_000_000
_ID_STEP = 1_000_037


def now() -> int:
    """The current Unix time in seconds."""
    return int(time.time())


@dataclass
class UserState:
    """A Telegram user (a person or the bot)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    started: bool = False  # has opened the private chat with the bot
    blocked: bool = False  # has blocked the bot

    def to_api(self) -> dict[str, Any]:
        """The ``User`` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code and not self.is_bot:
            user["language_code"] = self.language_code
        return user


@dataclass
class ChatState:
    """A private chat, group or supergroup and everything said in it."""

    id: int
    type: str
    title: str | None = None
    user: UserState | None = None  # the person, in a private chat
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    is_forum: bool = False
    members_can_pin: bool = False
    migrated_to: int | None = None
    messages: list[SentMessage] = field(default_factory=list)
    by_id: dict[int, SentMessage] = field(default_factory=dict)
    next_message_id: int = 1
    topics: dict[int, str] = field(default_factory=dict)  # forum thread id -> name
    actions: list[str] = field(default_factory=list)  # sendChatAction calls, in order

    @property
    def is_group(self) -> bool:
        """True for groups and supergroups."""
        return self.type in ("group", "supergroup")

    def status_of(self, user_id: int) -> str:
        """A member's status; people outside the chat are "left"."""
        return self.members.get(user_id, "left")

    def is_member(self, user_id: int) -> bool:
        """Whether the user is currently in the chat."""
        return self.status_of(user_id) in MEMBER_STATUSES

    def to_api(self) -> dict[str, Any]:
        """The ``Chat`` object."""
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.is_group:
            chat["title"] = self.title or ""
            if self.is_forum:
                chat["is_forum"] = True
        elif self.user is not None:
            chat["first_name"] = self.user.first_name
            if self.user.last_name:
                chat["last_name"] = self.user.last_name
            if self.user.username:
                chat["username"] = self.user.username
        return chat

    def message(self, message_id: int) -> SentMessage | None:
        """A message of this chat that was not deleted."""
        found = self.by_id.get(message_id)
        return None if found is None or found.deleted else found


@dataclass
class PollState:
    """A poll the bot sent and the votes in it."""

    id: str
    chat_id: int
    message_id: int
    question: str
    options: list[tuple[str, str]]  # (persistent_id, text)
    is_anonymous: bool = True
    type: str = "regular"
    allows_multiple_answers: bool = False
    allows_revoting: bool = True
    members_only: bool = False
    correct_option_ids: list[int] | None = None
    explanation: str | None = None
    open_period: int | None = None
    close_date: int | None = None
    is_closed: bool = False
    votes: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """The ``Poll`` object."""
        counts = [0] * len(self.options)
        for chosen in self.votes.values():
            for index in chosen:
                counts[index] += 1
        poll: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "options": [
                {"persistent_id": pid, "text": text, "voter_count": counts[i]}
                for i, (pid, text) in enumerate(self.options)
            ],
            "total_voter_count": sum(1 for chosen in self.votes.values() if chosen),
            "is_closed": self.is_closed,
            "is_anonymous": self.is_anonymous,
            "type": self.type,
            "allows_multiple_answers": self.allows_multiple_answers,
            "allows_revoting": self.allows_revoting,
            "members_only": self.members_only,
        }
        if self.correct_option_ids is not None:
            poll["correct_option_ids"] = list(self.correct_option_ids)
        if self.explanation:
            poll["explanation"] = self.explanation
        if self.open_period is not None:
            poll["open_period"] = self.open_period
        if self.close_date is not None:
            poll["close_date"] = self.close_date
        return poll


@dataclass
class StoredFile:
    """A file the bot uploaded, downloadable through ``getFile``."""

    file_id: str
    unique_id: str
    data: bytes
    filename: str
    mime_type: str
    path: str
    kind: str  # "document" or "photo"
    width: int = 0
    height: int = 0


@dataclass
class PendingQuery:
    """A callback query waiting for the bot's answer."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    answer: asyncio.Future[CallbackAnswer] | None = None
    closed: bool = False  # answered, or given up on: a late answer is "too old"


class World:
    """All state of one sandbox, and the Bot API shapes built from it."""

    def __init__(
        self, *, bot_id: int, bot_username: str, bot_name: str, privacy_mode: bool = True
    ) -> None:
        self.bot = UserState(bot_id, bot_name, username=bot_username, is_bot=True)
        self.privacy_mode = privacy_mode
        self.users: dict[int, UserState] = {}
        self.chats: dict[int, ChatState] = {}
        self.polls: dict[str, PollState] = {}
        self.files: dict[str, StoredFile] = {}
        self.file_paths: dict[str, StoredFile] = {}
        self.queries: dict[str, PendingQuery] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.updates = UpdateQueue()
        self.changed = Signal()
        self.listeners: list[Callable[[MessageEvent], None]] = []
        self.calls: list[Call] = []
        self.internal_errors: list[BaseException] = []
        self.timers: list[asyncio.TimerHandle] = []
        self.in_flight = 0  # API calls being handled, getUpdates excluded
        self.last_activity = time.monotonic()
        self.closing = False
        self._counters = {"user": 0, "group": 0, "supergroup": 0, "poll": 0, "query": 0, "file": 0}

    # -- ids ------------------------------------------------------------------------------

    def _next(self, kind: str) -> int:
        self._counters[kind] += 1
        return self._counters[kind]

    def new_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> UserState:
        """Create a person with a unique, realistic id."""
        user_id = _FIRST_USER_ID + (self._next("user") - 1) * _ID_STEP
        user = UserState(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        return user

    def new_group(self, title: str, members: list[UserState], kind: str = "group") -> ChatState:
        """Create a group (or supergroup); the first member is its creator."""
        if kind == "group":
            chat_id = -(_FIRST_GROUP_ID + self._next("group") * _ID_STEP)
        else:
            chat_id = -(_FIRST_SUPERGROUP_ID + self._next("supergroup") * _ID_STEP)
        chat = ChatState(chat_id, kind, title=title, members_can_pin=kind == "group")
        for index, user in enumerate(members):
            chat.members[user.id] = "creator" if index == 0 else "member"
        self.chats[chat_id] = chat
        return chat

    def private_chat(self, user: UserState) -> ChatState:
        """The private chat between a person and the bot (created on first use)."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = ChatState(user.id, "private", user=user)
            chat.members = {user.id: "member", self.bot.id: "member"}
            self.chats[user.id] = chat
        return chat

    def new_poll_id(self) -> str:
        """A poll id: a long decimal number, as Telegram's are."""
        return str(_FIRST_POLL_ID + self._next("poll") * 7_919)

    def new_query_id(self) -> str:
        """A callback query id."""
        return str(4_382_118_000_000_000_000 + self._next("query") * 104_729)

    def new_file(self, data: bytes, filename: str, mime_type: str, kind: str) -> StoredFile:
        """Store an uploaded file under fresh ids and a download path."""
        number = self._next("file")
        prefix = "AgAC" if kind == "photo" else "BQAC"
        extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        folder = "photos" if kind == "photo" else "documents"
        stored = StoredFile(
            file_id=prefix + secrets.token_urlsafe(48),
            unique_id="AgAD" + secrets.token_urlsafe(9),
            data=data,
            filename=filename,
            mime_type=mime_type,
            path=f"{folder}/file_{number}.{extension}",
            kind=kind,
        )
        self.files[stored.file_id] = stored
        self.file_paths[stored.path] = stored
        return stored

    # -- messages -------------------------------------------------------------------------

    def post(self, chat: ChatState, sender: UserState, **content: Any) -> SentMessage:
        """Append a message to a chat (no update is queued: see :meth:`deliver`)."""
        message = SentMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            sender=sender.to_api(),
            date=now(),
            from_bot=sender.id == self.bot.id,
            chat=chat.to_api(),
            **content,
        )
        chat.next_message_id += 1
        chat.messages.append(message)
        chat.by_id[message.message_id] = message
        self.notify("new", message)
        return message

    def notify(self, kind: str, message: SentMessage) -> None:
        """Tell listeners and waiters that a message appeared or changed."""
        event = MessageEvent(kind, message)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break the API answer
                log.exception("sandbox message listener failed")
        self.changed.fire()

    def deliver(self, message: SentMessage) -> None:
        """Queue the ``message`` update if the bot would receive this message."""
        chat = self.chats[message.chat_id]
        if self.bot_sees(chat, message):
            self.updates.push("message", self.message_api(message))

    def bot_sees(self, chat: ChatState, message: SentMessage) -> bool:
        """Telegram's delivery rules, privacy mode included."""
        if message.from_bot:
            return False
        if chat.type == "private":
            return chat.user is not None and not chat.user.blocked
        joined = message.service.get("new_chat_members", [])
        left = message.service.get("left_chat_member", {})
        if left.get("id") == self.bot.id or any(u["id"] == self.bot.id for u in joined):
            return True
        status = chat.status_of(self.bot.id)
        if status not in ("member", "administrator"):
            return False
        # Admin bots see everything: privacy mode does not apply to them.
        if message.service or not self.privacy_mode or status == "administrator":
            return True
        if message.reply_to_message_id is not None:
            replied = chat.by_id.get(message.reply_to_message_id)
            if replied is not None and replied.from_bot:
                return True
        first = message.entities[0] if message.entities else None
        if first is not None and first["type"] == "bot_command" and first["offset"] == 0:
            _, _, addressee = entity_text(message.text, first).partition("@")
            return not addressee or addressee.lower() == (self.bot.username or "").lower()
        return False

    def message_api(self, message: SentMessage, *, with_reply: bool = True) -> dict[str, Any]:
        """The ``Message`` object as the Bot API returns it now."""
        api: dict[str, Any] = {
            "message_id": message.message_id,
            "from": message.sender,
            "date": message.date,
            "chat": message.chat,
        }
        if message.thread_id is not None:
            api["message_thread_id"] = message.thread_id
            if message.chat.get("is_forum"):
                api["is_topic_message"] = True
        if with_reply and message.reply_to_message_id is not None:
            replied = self.chats[message.chat_id].message(message.reply_to_message_id)
            if replied is not None:
                # Telegram nests one level only.
                api["reply_to_message"] = self.message_api(replied, with_reply=False)
        if message.edit_date is not None:
            api["edit_date"] = message.edit_date
        if message.service:
            api.update(message.service)
        elif message.poll is not None:
            api["poll"] = message.poll
        elif message.media:
            api.update(message.media)
            if message.caption:
                api["caption"] = message.caption
                if message.caption_entities:
                    api["caption_entities"] = message.caption_entities
        else:
            api["text"] = message.text
            if message.entities:
                api["entities"] = message.entities
        if message.reply_markup is not None:
            api["reply_markup"] = message.reply_markup
        return api

    # -- chats and members ----------------------------------------------------------------

    def resolve_chat(self, chat_id: int | str, *, sending: bool = True) -> ChatState:
        """The chat a call names, or the error Telegram gives for it.

        ``sending`` adds the checks for writing to a private chat (blocked, never started).
        """
        if isinstance(chat_id, str):
            if not chat_id.lstrip("-").isdigit():
                raise ApiError.bad_request("chat not found")
            chat_id = int(chat_id)
        if chat_id == self.bot.id:
            raise ApiError.forbidden("bot can't send messages to bots")
        chat = self.chats.get(chat_id)
        if chat is None and chat_id in self.users:
            chat = self.private_chat(self.users[chat_id])
        if chat is None:
            raise ApiError.bad_request("chat not found")
        if chat.migrated_to is not None:
            raise ApiError.bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            person = chat.user
            if sending and person is not None and person.blocked:
                raise ApiError.forbidden("bot was blocked by the user")
            if sending and person is not None and not person.started:
                raise ApiError.forbidden("bot can't initiate conversation with a user")
            return chat
        status = chat.status_of(self.bot.id)
        if status == "kicked":
            raise ApiError.forbidden(f"bot was kicked from the {chat.type} chat")
        if status not in MEMBER_STATUSES:
            raise ApiError.forbidden(f"bot is not a member of the {chat.type} chat")
        return chat

    def member_api(self, chat: ChatState, user: UserState) -> dict[str, Any]:
        """The ``ChatMember`` object (the right subtype) for a user in a chat."""
        if chat.type == "private":
            blocked = user.id == self.bot.id and chat.user is not None and chat.user.blocked
            status = "kicked" if blocked else "member"
        else:
            status = chat.status_of(user.id)
        member: dict[str, Any] = {"status": status, "user": user.to_api()}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_pin_messages=True,
            )
            if chat.type == "supergroup":
                member["can_manage_topics"] = chat.is_forum
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def set_bot_status(self, chat: ChatState, status: str, by: UserState) -> None:
        """Change the bot's membership in a group and queue the ``my_chat_member`` update."""
        old = self.member_api(chat, self.bot)
        chat.members[self.bot.id] = status
        self._member_update("my_chat_member", chat, by, old, self.member_api(chat, self.bot))

    def set_member_status(
        self, chat: ChatState, user: UserState, status: str, by: UserState
    ) -> None:
        """Change a person's membership; an admin bot hears of it (``chat_member``)."""
        old = self.member_api(chat, user)
        chat.members[user.id] = status
        if chat.status_of(self.bot.id) == "administrator":
            self._member_update("chat_member", chat, by, old, self.member_api(chat, user))

    def set_blocked(self, user: UserState, blocked: bool) -> None:
        """A person blocks or unblocks the bot: ``my_chat_member`` in their private chat."""
        if user.blocked == blocked:
            return
        chat = self.private_chat(user)
        old = self.member_api(chat, self.bot)
        user.blocked = blocked
        self._member_update("my_chat_member", chat, user, old, self.member_api(chat, self.bot))

    def _member_update(
        self,
        kind: str,
        chat: ChatState,
        by: UserState,
        old: dict[str, Any],
        new: dict[str, Any],
    ) -> None:
        self.updates.push(
            kind,
            {
                "chat": chat.to_api(),
                "from": by.to_api(),
                "date": now(),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        )

    def chat_full_api(self, chat: ChatState) -> dict[str, Any]:
        """The ``ChatFullInfo`` object."""
        info = chat.to_api()
        info["accent_color_id"] = abs(chat.id) % 7
        info["max_reaction_count"] = 11
        person = chat.type == "private"
        info["accepted_gift_types"] = {
            "unlimited_gifts": person,
            "limited_gifts": person,
            "unique_gifts": person,
            "premium_subscription": person,
            "gifts_from_channels": person,
        }
        if chat.is_group:
            info["permissions"] = {
                "can_send_messages": True,
                "can_send_polls": True,
                "can_send_other_messages": True,
                "can_add_web_page_previews": True,
                "can_change_info": chat.type == "group",
                "can_invite_users": True,
                "can_pin_messages": chat.members_can_pin,
            }
        pinned = [m for m in chat.messages if m.pinned and not m.deleted]
        if pinned:
            info["pinned_message"] = self.message_api(pinned[-1])
        return info

    # -- polls and callbacks ----------------------------------------------------------------

    def poll_message(self, poll: PollState) -> SentMessage | None:
        """The message that carries a poll."""
        chat = self.chats.get(poll.chat_id)
        return None if chat is None else chat.by_id.get(poll.message_id)

    def refresh_poll(self, poll: PollState) -> None:
        """Show a poll's new state in its message (the live view)."""
        message = self.poll_message(poll)
        if message is not None:
            message.poll = poll.to_api()
            self.notify("edited", message)

    def close_poll(self, poll: PollState) -> None:
        """Close a poll and tell the bot (a ``poll`` update), as Telegram does."""
        if poll.is_closed:
            return
        poll.is_closed = True
        self.refresh_poll(poll)
        self.updates.push("poll", poll.to_api())

    def record_answer(self, answer: CallbackAnswer) -> None:
        """Keep the bot's callback answer and wake whoever pressed the button."""
        self.callback_answers.append(answer)
        query = self.queries.get(answer.query_id)
        if query is not None:
            query.closed = True
            if query.answer is not None and not query.answer.done():
                query.answer.set_result(answer)
        self.changed.fire()

    def check(self) -> None:
        """Raise the first internal error (a sandbox bug) if one happened."""
        if self.internal_errors:
            raise self.internal_errors[0]
