"""What the control side reads: messages as people see them, calls, callback answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Button:
    """An inline keyboard button as shown under a message."""

    text: str
    callback_data: str | None = None
    url: str | None = None


class Document(NamedTuple):
    """A file the bot sent with ``sendDocument``."""

    filename: str
    mime_type: str
    data: bytes


@dataclass
class SentMessage:
    """One message in a chat, by a person or by the bot.

    A live view: when the bot edits or deletes the message, or people vote in its poll, this
    object changes. ``text`` is the plain text after HTML parsing, ``html`` the text as it was
    sent. Service messages (members joining, a pin, a migration) have an empty ``text`` and
    their Bot API fields in ``service``.
    """

    chat_id: int
    message_id: int
    sender: dict[str, Any]
    date: int
    text: str = ""
    html: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    force_reply: bool = False
    silent: bool = False  # sent with disable_notification: it arrives without a sound
    reply_to_message_id: int | None = None
    thread_id: int | None = None
    poll: dict[str, Any] | None = None
    document: Document | None = None
    photo: bytes | None = None
    caption: str | None = None
    edits: list[str] = field(default_factory=list)
    edited: bool = False
    deleted: bool = False
    pinned: bool = False
    # Beyond the people's view: what the Bot API representation needs.
    from_bot: bool = False
    chat: dict[str, Any] = field(default_factory=dict, repr=False)
    reply_markup: dict[str, Any] | None = field(default=None, repr=False)
    caption_entities: list[dict[str, Any]] = field(default_factory=list, repr=False)
    media: dict[str, Any] = field(default_factory=dict, repr=False)
    service: dict[str, Any] = field(default_factory=dict)
    edit_date: int | None = None

    @property
    def is_service(self) -> bool:
        """True for service messages (joins, leaves, pins, migrations, title changes)."""
        return bool(self.service)

    @property
    def sender_name(self) -> str:
        """The sender's first name, as a chat shows it."""
        return str(self.sender.get("first_name", "?"))

    @property
    def shown_text(self) -> str:
        """The text people read: the message text, else the caption, else the poll question."""
        if self.text or self.caption:
            return self.text or (self.caption or "")
        return str(self.poll["question"]) if self.poll is not None else ""

    def button_texts(self) -> list[str]:
        """Every button's text, row by row."""
        return [button.text for row in self.buttons for button in row]

    def find_button(self, text: str) -> Button | None:
        """The button with exactly this text, if shown."""
        for row in self.buttons:
            for button in row:
                if button.text == text:
                    return button
        return None

    def contains(self, *fragments: str) -> bool:
        """True if every fragment occurs in the shown text (case-insensitive)."""
        shown = self.shown_text.casefold()
        return all(fragment.casefold() in shown for fragment in fragments)

    def render(self, *, numbered: bool = False) -> str:
        """The message as a transcript shows it (may span several lines); `numbered` counts
        the buttons from 1, as the console presses them."""
        body = _service_text(self) if self.is_service else _content_text(self)
        marks = []
        if self.edited:
            marks.append("(edited)")
        if self.deleted:
            marks.append("(deleted)")
        if self.pinned:
            marks.append("(pinned)")
        head = f"{self.sender_name}: {body}"
        if self.is_service:
            head = f"* {body}"
        if marks:
            head = f"{head} {' '.join(marks)}"
        lines = head.split("\n")
        lines = [lines[0]] + [f"  {line}" for line in lines[1:]]
        number = 0
        for row in self.buttons:
            shown = []
            for button in row:
                number += 1
                shown.append(f"[{number}: {button.text}]" if numbered else f"[{button.text}]")
            lines.append("  " + " ".join(shown))
        if self.force_reply:
            lines.append("  [reply requested]")
        return "\n".join(lines)


def _content_text(message: SentMessage) -> str:
    parts: list[str] = []
    if message.reply_to_message_id is not None:
        parts.append(f"(reply to #{message.reply_to_message_id})")
    if message.document is not None:
        parts.append(f"[document {message.document.filename}, {len(message.document.data)} bytes]")
    if message.photo is not None:
        parts.append(f"[photo, {len(message.photo)} bytes]")
    if message.poll is not None:
        options = " / ".join(
            f"{option['text']} ({option['voter_count']})" for option in message.poll["options"]
        )
        closed = ", closed" if message.poll["is_closed"] else ""
        parts.append(f"[poll{closed}] {message.poll['question']}: {options}")
    written = message.text or message.caption
    if written:
        parts.append(written)
    return " ".join(parts) if parts else "(empty)"


def _name(user: dict[str, Any]) -> str:
    return str(user.get("first_name", "?"))


def _service_text(message: SentMessage) -> str:
    service = message.service
    actor = message.sender_name
    if "new_chat_members" in service:
        names = ", ".join(_name(user) for user in service["new_chat_members"])
        return f"{actor} added {names}" if names != actor else f"{actor} joined"
    if "left_chat_member" in service:
        gone = _name(service["left_chat_member"])
        return f"{actor} removed {gone}" if gone != actor else f"{actor} left"
    if "migrate_to_chat_id" in service:
        return f"group upgraded to a supergroup (id {service['migrate_to_chat_id']})"
    if "migrate_from_chat_id" in service:
        return f"supergroup created from the group {service['migrate_from_chat_id']}"
    if "pinned_message" in service:
        return f"{actor} pinned message #{service['pinned_message']['message_id']}"
    if "new_chat_title" in service:
        return f"{actor} renamed the chat to {service['new_chat_title']!r}"
    if "forum_topic_created" in service:
        return f"{actor} created the topic {service['forum_topic_created']['name']!r}"
    if "group_chat_created" in service or "supergroup_chat_created" in service:
        return f"{actor} created the group"
    return f"service message {sorted(service)}"


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's ``answerCallbackQuery`` for one button press."""

    text: str | None
    show_alert: bool
    url: str | None = None
    query_id: str = ""
    data: str | None = None
    user_id: int = 0


@dataclass(frozen=True)
class Call:
    """One Bot API call the sandbox answered (or held, for a timeout fault)."""

    method: str
    params: dict[str, Any]
    ok: bool
    error_code: int | None
    description: str | None
    at: float

    def __str__(self) -> str:
        outcome = "ok" if self.ok else f"{self.error_code} {self.description}"
        return f"{self.method} -> {outcome}"


@dataclass(frozen=True)
class MessageEvent:
    """A change in some chat, for listeners such as an interactive console."""

    kind: str  # "new", "edited" or "deleted"
    message: SentMessage
