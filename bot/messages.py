"""Sending rendered templates: parse mode, threads, migrated chats and unreachable partners."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden

from bot import origin
from bot.context import MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.model import Couple, Partner
from bot.outbox import GROUP, Outgoing, mark_unreachable

log = logging.getLogger(__name__)

Buttons = Sequence[Sequence[InlineKeyboardButton]]


def button(label: str, data: str) -> InlineKeyboardButton:
    """A callback button; `data` is `feature:action[:argument]`, at most 64 bytes."""
    if len(data.encode()) > 64:
        raise ValueError(f"callback data longer than 64 bytes: {data!r}")
    return InlineKeyboardButton(label, callback_data=data)


def link(label: str, url: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, url=url)


def choices(prefix: str, **groups: Iterable[str]) -> re.Pattern[str]:
    """The callback data pattern of a menu's buttons: `prefix:<value>[:<value>...]`, each
    value one of the given words, caught as a named group (`context.matches[0][name]`).

    Data that doesn't fit (an old or forged button) matches no handler and gets the one
    stale-button answer of the application."""
    parts = [f"(?P<{name}>{'|'.join(map(re.escape, words))})" for name, words in groups.items()]
    return re.compile("^" + ":".join([re.escape(prefix), *parts]) + "$")


def chosen(context: MendContext, name: str) -> str:
    """A named part of the pressed button's data (see `choices`); "" if it is left out."""
    assert context.matches, "a menu handler is registered with a choices() pattern"
    return context.matches[0].group(name) or ""


async def answer_stale(update: Update, context: MendContext, locale: str | None = None) -> None:
    """The one answer to a button that is no longer current (an alert the presser closes)."""
    query, user = update.callback_query, update.effective_user
    if query is None:
        return
    render = context.mend.render
    shown = locale or render.locale_for(user.language_code if user else None)
    await query.answer(render.alert(shown, "alert.stale_button"), show_alert=True)


async def send_html(
    context: MendContext,
    chat_id: int,
    html: str,
    *,
    buttons: Buttons | None = None,
    force_reply_placeholder: str | None = None,
    reply_to: int | None = None,
    thread_id: int | None = None,
) -> Message:
    """Send one HTML message. Without `thread_id`, a message to the chat the work at hand came
    from goes to its forum topic (bot.origin); a group that became a supergroup is followed
    by the bot (bot.bot_api)."""
    markup: InlineKeyboardMarkup | ForceReply | None = None
    if buttons:
        markup = InlineKeyboardMarkup(buttons)
    elif force_reply_placeholder is not None:
        markup = ForceReply(selective=True, input_field_placeholder=force_reply_placeholder)
    reply = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    )
    return await context.bot.send_message(
        chat_id,
        html,
        reply_markup=markup,
        reply_parameters=reply,
        message_thread_id=thread_id if thread_id is not None else origin.thread_in(chat_id),
    )


async def say(
    context: MendContext,
    chat_id: int,
    locale: str,
    template: str,
    *,
    buttons: Buttons | None = None,
    force_reply_placeholder: str | None = None,
    reply_to: int | None = None,
    thread_id: int | None = None,
    **data: Any,
) -> Message:
    """Render `template` in `locale` and send it to `chat_id`."""
    html = context.mend.render.message(locale, template, **data)
    return await send_html(
        context,
        chat_id,
        html,
        buttons=buttons,
        force_reply_placeholder=force_reply_placeholder,
        reply_to=reply_to,
        thread_id=thread_id,
    )


def thread_of(update: Update | None) -> int | None:
    """The forum topic an update came from, so what follows lands in the same topic."""
    message = None if update is None else update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


async def clear_buttons(update: Update) -> None:
    """Take the buttons off an answered question, so it can't be answered twice. A message
    that is gone, too old to edit or in a group that became a supergroup has none to take."""
    query = update.callback_query
    if query is None or query.message is None or not query.message.is_accessible:
        return
    with contextlib.suppress(BadRequest, ChatMigrated):
        await query.edit_message_reply_markup(None)


async def reply(
    update: Update,
    context: MendContext,
    locale: str,
    template: str,
    *,
    buttons: Buttons | None = None,
    quote: bool = False,
    **data: Any,
) -> Message | None:
    """Answer in the chat (and forum topic) the update came from."""
    message = update.effective_message
    chat = update.effective_chat
    if chat is None:
        return None
    return await say(
        context,
        chat.id,
        locale,
        template,
        buttons=buttons,
        reply_to=message.message_id if quote and message else None,
        thread_id=thread_of(update),
        **data,
    )


async def say_private(
    context: MendContext,
    couple: Couple,
    partner: Partner,
    template: str,
    *,
    buttons: Buttons | None = None,
    **data: Any,
) -> Message | None:
    """Send to a partner's private chat; None if they never opened it or blocked the bot."""
    locale = partner_locale(context.mend, partner)
    try:
        return await say(context, partner.user_id, locale, template, buttons=buttons, **data)
    except Forbidden:
        mark_unreachable(context.mend.store, partner.user_id)
        return None
    except BadRequest as error:
        if "chat not found" not in error.message.lower():
            raise
        mark_unreachable(context.mend.store, partner.user_id)
        return None


def group_message(services: Services, couple: Couple, template: str, /, **data: Any) -> Outgoing:
    """A message for the couple's group, rendered in the group's language, for the outbox."""
    html = services.render.message(group_locale(services, couple), template, **data)
    return Outgoing(to=GROUP, html=html)


def private_message(
    services: Services, partner: Partner, template: str, /, **data: Any
) -> Outgoing:
    """A message for a partner's private chat, in their language, for the outbox."""
    html = services.render.message(partner_locale(services, partner), template, **data)
    return Outgoing(to=partner.user_id, html=html)
