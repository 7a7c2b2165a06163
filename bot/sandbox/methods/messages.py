"""Sending, editing, deleting and pinning text messages; chat actions."""

from __future__ import annotations

from typing import Any

from bot.sandbox import checks
from bot.sandbox.errors import ApiError
from bot.sandbox.methods.registry import CallContext, Params, method
from bot.sandbox.records import SentMessage
from bot.sandbox.world import ChatState, World, now

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def post_from_bot(
    call: CallContext, chat: ChatState, params: Params, **content: Any
) -> SentMessage:
    """Post the bot's message with the common parameters: markup, reply, thread."""
    markup = checks.reply_markup(params.get("reply_markup"))
    reply = checks.reply_target(chat, params.get("reply_parameters"))
    return call.world.post(
        chat,
        call.world.bot,
        reply_to_message_id=None if reply is None else reply.message_id,
        thread_id=checks.thread_id(chat, params, reply),
        reply_markup=markup.inline,
        buttons=markup.buttons,
        force_reply=markup.force_reply,
        silent=bool(params.get("disable_notification")),
        **content,
    )


@method("sendMessage")
async def send_message(call: CallContext, params: Params) -> Any:
    """Post a text message from the bot."""
    chat = call.world.resolve_chat(params["chat_id"])
    formatted = checks.message_text(params, call.lookup)
    message = post_from_bot(
        call,
        chat,
        params,
        text=formatted.text,
        html=formatted.source,
        entities=formatted.entities,
    )
    return call.world.message_api(message)


def editable(world: World, params: Params) -> tuple[ChatState, SentMessage]:
    """The bot's message an edit call names, or Telegram's error."""
    if "inline_message_id" in params:
        raise ApiError.bad_request("inline messages are not supported by the sandbox")
    if "chat_id" not in params or "message_id" not in params:
        raise ApiError.bad_request("message identifier is not specified")
    chat = world.resolve_chat(params["chat_id"])
    message = chat.message(int(params["message_id"]))
    if message is None:
        raise ApiError.bad_request("message to edit not found")
    if not message.from_bot or message.is_service:
        raise ApiError.bad_request("message can't be edited")
    return chat, message


def _set_markup(message: SentMessage, markup: checks.Markup) -> None:
    message.reply_markup = markup.inline
    message.buttons = markup.buttons


@method("editMessageText")
async def edit_message_text(call: CallContext, params: Params) -> Any:
    """Replace a text message's text; leaving out reply_markup removes the keyboard."""
    _, message = editable(call.world, params)
    if message.poll is not None or message.media:
        raise ApiError.bad_request("there is no text in the message to edit")
    formatted = checks.message_text(params, call.lookup)
    markup = checks.reply_markup(params.get("reply_markup"))
    if (formatted.text, formatted.entities, markup.inline) == (
        message.text,
        message.entities,
        message.reply_markup,
    ):
        raise ApiError.bad_request(NOT_MODIFIED)
    message.edits.append(message.text)
    message.text, message.html, message.entities = (
        formatted.text,
        formatted.source,
        formatted.entities,
    )
    _set_markup(message, markup)
    message.edited = True
    message.edit_date = now()
    call.world.notify("edited", message)
    return call.world.message_api(message)


@method("editMessageCaption")
async def edit_message_caption(call: CallContext, params: Params) -> Any:
    """Replace a media message's caption."""
    _, message = editable(call.world, params)
    if not message.media:
        raise ApiError.bad_request("there is no caption in the message to edit")
    formatted = checks.caption(params, call.lookup)
    text = None if formatted is None else formatted.text
    entities = [] if formatted is None else formatted.entities
    markup = checks.reply_markup(params.get("reply_markup"))
    if (text, entities, markup.inline) == (
        message.caption,
        message.caption_entities,
        message.reply_markup,
    ):
        raise ApiError.bad_request(NOT_MODIFIED)
    message.edits.append(message.caption or "")
    message.caption, message.caption_entities = text, entities
    message.html = "" if formatted is None else formatted.source
    _set_markup(message, markup)
    message.edited = True
    message.edit_date = now()
    call.world.notify("edited", message)
    return call.world.message_api(message)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: CallContext, params: Params) -> Any:
    """Replace (or, when left out, remove) a message's inline keyboard."""
    _, message = editable(call.world, params)
    markup = checks.reply_markup(params.get("reply_markup"))
    if markup.inline == message.reply_markup:
        raise ApiError.bad_request(NOT_MODIFIED)
    _set_markup(message, markup)
    call.world.notify("edited", message)
    return call.world.message_api(message)


@method("deleteMessage")
async def delete_message(call: CallContext, params: Params) -> Any:
    """Delete the bot's message, or another's in a private chat or as an admin."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"], sending=False)
    message = chat.message(int(params["message_id"]))
    if message is None:
        raise ApiError.bad_request("message to delete not found")
    admin = chat.status_of(world.bot.id) == "administrator"
    if not (message.from_bot or chat.type == "private" or admin):
        raise ApiError.bad_request("message can't be deleted")
    message.deleted = True
    world.notify("deleted", message)
    return True


def _check_pin_rights(world: World, chat: ChatState) -> None:
    if chat.type == "private" or chat.members_can_pin:
        return
    if chat.status_of(world.bot.id) != "administrator":
        raise ApiError.bad_request("not enough rights to manage pinned messages in the chat")


@method("pinChatMessage")
async def pin_chat_message(call: CallContext, params: Params) -> Any:
    """Pin a message; the chat gets a ``pinned_message`` service message."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"])
    message = chat.message(int(params["message_id"]))
    if message is None:
        raise ApiError.bad_request("message to pin not found")
    _check_pin_rights(world, chat)
    message.pinned = True
    world.notify("edited", message)
    world.post(
        chat,
        world.bot,
        service={"pinned_message": world.message_api(message, with_reply=False)},
    )
    return True


def _unpin(world: World, message: SentMessage) -> None:
    message.pinned = False
    world.notify("edited", message)


@method("unpinChatMessage")
async def unpin_chat_message(call: CallContext, params: Params) -> Any:
    """Unpin the given message, or the most recently pinned one."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"])
    _check_pin_rights(world, chat)
    if "message_id" in params:
        message = chat.message(int(params["message_id"]))
        if message is None:
            raise ApiError.bad_request("message to unpin not found")
        _unpin(world, message)
        return True
    pinned = [m for m in chat.messages if m.pinned and not m.deleted]
    if pinned:
        _unpin(world, pinned[-1])
    return True


@method("unpinAllChatMessages")
async def unpin_all_chat_messages(call: CallContext, params: Params) -> Any:
    """Unpin every pinned message of a chat."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"])
    _check_pin_rights(world, chat)
    for message in chat.messages:
        if message.pinned:
            _unpin(world, message)
    return True


@method("sendChatAction")
async def send_chat_action(call: CallContext, params: Params) -> Any:
    """Show "typing..." and the like; the chat keeps a list of actions for tests."""
    chat = call.world.resolve_chat(params["chat_id"])
    action = str(params["action"])
    if action not in checks.CHAT_ACTIONS:
        raise ApiError.bad_request("wrong parameter action in request")
    chat.actions.append(action)
    return True
