"""Telegram's limits on what a bot sends: text, keyboards, commands, replies.

Each check raises :class:`ApiError` with Telegram's wording where Telegram has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.errors import ApiError
from bot.sandbox.html import HtmlError, UserLookup, detect_entities, parse_html, trim, utf16_len
from bot.sandbox.records import Button, SentMessage
from bot.sandbox.world import ChatState

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100
MAX_COMMANDS = 100
_COMMAND = re.compile(r"[a-z0-9_]{1,32}\Z")
_LANGUAGE = re.compile(r"(?:[a-z]{2})?\Z")
_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Formatted:
    """A text after parsing: what people read, its entities, and the source as sent."""

    text: str
    entities: list[dict[str, Any]]
    source: str


def format_text(
    params: Mapping[str, Any],
    *,
    text_key: str,
    mode_key: str,
    entities_key: str,
    lookup: UserLookup | None,
) -> Formatted:
    """Parse a text parameter per its parse mode (or explicit entities), trim it as Telegram."""
    source = str(params.get(text_key, ""))
    mode = params.get(mode_key)
    if mode is not None and mode not in ("HTML", "MarkdownV2", "Markdown"):
        raise ApiError.bad_request(f"unsupported parse_mode {mode!r}")
    if mode in ("MarkdownV2", "Markdown"):
        raise ApiError.bad_request(
            f"parse_mode {mode} is not supported by the sandbox; Mend sends HTML"
        )
    if mode == "HTML":
        try:
            text, entities = parse_html(source, lookup)
        except HtmlError as error:
            raise ApiError.bad_request(f"can't parse entities: {error}") from None
    else:
        text = source
        entities = [dict(e) for e in params.get(entities_key, [])]
        length = utf16_len(text)
        for entity in entities:
            if entity["offset"] < 0 or entity["length"] <= 0:
                raise ApiError.bad_request("can't parse entities: invalid entity bounds")
            if entity["offset"] + entity["length"] > length:
                raise ApiError.bad_request(
                    "can't parse entities: an entity ends beyond the end of the text"
                )
    text, entities = trim(text, entities)
    return Formatted(text, detect_entities(text, entities), source)


def message_text(params: Mapping[str, Any], lookup: UserLookup | None) -> Formatted:
    """The text of sendMessage/editMessageText: 1-4096 characters after parsing."""
    formatted = format_text(
        params, text_key="text", mode_key="parse_mode", entities_key="entities", lookup=lookup
    )
    if not formatted.text:
        raise ApiError.bad_request("message text is empty")
    if len(formatted.text) > MAX_TEXT:
        raise ApiError.bad_request("message is too long")
    return formatted


def caption(params: Mapping[str, Any], lookup: UserLookup | None) -> Formatted | None:
    """A media caption: at most 1024 characters after parsing; None if absent or empty."""
    if "caption" not in params:
        return None
    formatted = format_text(
        params,
        text_key="caption",
        mode_key="parse_mode",
        entities_key="caption_entities",
        lookup=lookup,
    )
    if len(formatted.text) > MAX_CAPTION:
        raise ApiError.bad_request("message caption is too long")
    return formatted if formatted.text else None


def _valid_button_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https"):
        return bool(parts.hostname)
    return parts.scheme.lower() == "tg" and bool(parts.netloc or parts.path)


def _button(raw: Mapping[str, Any]) -> Button:
    text = raw.get("text", "")
    if not str(text).strip():
        raise ApiError.bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _ACTIONS if name in raw]
    if not actions:
        raise ApiError.bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise ApiError.bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, got {', '.join(actions)}"
        )
    data = raw.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
        raise ApiError.bad_request("BUTTON_DATA_INVALID")
    url = raw.get("url")
    if url is not None and not _valid_button_url(str(url)):
        raise ApiError.bad_request(f"inline keyboard button URL '{url}' is invalid")
    return Button(str(text), data, url)


@dataclass(frozen=True)
class Markup:
    """A checked ``reply_markup``: the inline keyboard to keep, the buttons, a force reply."""

    inline: dict[str, Any] | None
    buttons: list[list[Button]]
    force_reply: bool


NO_MARKUP = Markup(None, [], False)


def reply_markup(raw: Mapping[str, Any] | None) -> Markup:
    """Check a ``reply_markup``; only an inline keyboard stays on the message."""
    if raw is None:
        return NO_MARKUP
    if "inline_keyboard" in raw:
        rows = raw["inline_keyboard"]
        if sum(len(row) for row in rows) > MAX_BUTTONS:
            raise ApiError.bad_request("REPLY_MARKUP_TOO_LONG")
        buttons = [[_button(button) for button in row] for row in rows]
        buttons = [row for row in buttons if row]
        if not buttons:
            return NO_MARKUP
        return Markup({"inline_keyboard": [list(row) for row in rows if row]}, buttons, False)
    if raw.get("force_reply"):
        placeholder = raw.get("input_field_placeholder")
        if placeholder is not None and not 1 <= len(placeholder) <= 64:
            raise ApiError.bad_request("input field placeholder must be 1-64 characters")
        return Markup(None, [], True)
    if "keyboard" in raw:
        for row in raw["keyboard"]:
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise ApiError.bad_request("BUTTON_TEXT_INVALID")
    return NO_MARKUP


def reply_target(chat: ChatState, raw: Mapping[str, Any] | None) -> SentMessage | None:
    """The message a ``reply_parameters`` points to, or Telegram's error if it is missing."""
    if raw is None:
        return None
    if "chat_id" in raw and str(raw["chat_id"]) != str(chat.id):
        raise ApiError.bad_request("replying to messages in other chats is not supported")
    target = chat.message(int(raw["message_id"]))
    if target is None and not raw.get("allow_sending_without_reply"):
        raise ApiError.bad_request("message to be replied not found")
    return target


def thread_id(chat: ChatState, params: Mapping[str, Any], reply: SentMessage | None) -> int | None:
    """The thread a new message goes to: as given, else the replied message's thread."""
    given = params.get("message_thread_id")
    if given is None:
        return reply.thread_id if reply is not None else None
    if chat.type != "supergroup":
        raise ApiError.bad_request("message thread not found")
    if chat.is_forum and given not in chat.topics:
        raise ApiError.bad_request("message thread not found")
    return int(given)


def bot_commands(raw: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Check a command list for setMyCommands."""
    if len(raw) > MAX_COMMANDS:
        raise ApiError.bad_request("BOT_COMMANDS_TOO_MUCH")
    commands = []
    for entry in raw:
        command, description = str(entry["command"]), str(entry["description"])
        if not _COMMAND.match(command):
            raise ApiError.bad_request(f"BOT_COMMAND_INVALID: {command!r}")
        if not 1 <= len(description.strip()) <= 256:
            raise ApiError.bad_request(f"BOT_COMMAND_DESCRIPTION_INVALID: /{command}")
        commands.append({"command": command, "description": description})
    return commands


def language_code(params: Mapping[str, Any]) -> str:
    """The ``language_code`` parameter: empty or two lowercase letters."""
    code = str(params.get("language_code", ""))
    if not _LANGUAGE.match(code):
        raise ApiError.bad_request(f"invalid language code {code!r}")
    return code
