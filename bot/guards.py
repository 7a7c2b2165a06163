"""Who may do what: rules that apply to many handlers, written once.

In a group, only the couple's two partners may change anything; anyone else is told kindly (a
command) or shown a private alert (a button), and nothing changes. Button presses are checked
against the chat the button is in, never against anything the callback data claims, so forged
data can't reach another couple.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Chat, Update, User

from bot.context import MendContext
from bot.couples import group_locale, partner_locale, update_partner
from bot.messages import reply
from bot.model import Couple, Partner

CoupleHandler = Callable[[Update, MendContext, Couple], Awaitable[None]]
UserHandler = Callable[[Update, MendContext, list[Couple]], Awaitable[None]]
Handler = Callable[[Update, MendContext], Coroutine[Any, Any, None]]

# Someone outside the couple is told at most once in this many seconds per chat.
OUTSIDER_NOTICE_INTERVAL = 600.0


def partners_only(handler: CoupleHandler) -> Handler:
    """A group command or button for the couple's partners, with the couple loaded."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: MendContext) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return
        if chat.type == Chat.PRIVATE:
            await refuse(update, context, None, "common/group_only", "alert.group_only")
            return
        couple = await _partners_couple(update, context, chat, user)
        if couple is not None:
            await handler(update, context, couple)

    return guarded


def known_partner(handler: UserHandler) -> Handler:
    """A command for a person who is a partner in at least one couple (any chat type)."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: MendContext) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return
        if chat.type != Chat.PRIVATE:
            couple = await _partners_couple(update, context, chat, user)
            if couple is not None:
                await handler(update, context, [couple])
            return
        store = context.mend.store
        couples = [c for c in map(store.couple, store.chats_of_user(user.id)) if c]
        if not couples:
            locale = context.mend.render.locale_for(user.language_code)
            await reply(update, context, locale, "common/stranger")
            return
        if _language_changed(context, couples, user):
            couples = [store.couple(c.chat_id) or c for c in couples]
        await handler(update, context, couples)

    return guarded


async def _partners_couple(
    update: Update, context: MendContext, chat: Chat, user: User
) -> Couple | None:
    """The group's couple if `user` is one of its partners; otherwise say why not."""
    store = context.mend.store
    couple = store.couple(chat.id)
    if couple is None or couple.status != "active" or not couple.partners:
        await refuse(update, context, couple, "common/not_set_up", "alert.not_set_up")
        return None
    if not couple.is_partner(user.id):
        await refuse_outsider(update, context, couple)
        return None
    if _language_changed(context, [couple], user):
        couple = store.couple(chat.id) or couple
    return couple


def _language_changed(context: MendContext, couples: list[Couple], user: User) -> bool:
    """Follow a partner who switched their Telegram app's language; True if stored anew."""
    if not user.language_code or all(
        (p := c.partner(user.id)) is None or p.telegram_language == user.language_code
        for c in couples
    ):
        return False

    def change(partner: Partner) -> None:
        partner.telegram_language = user.language_code

    update_partner(context.mend, user.id, change)
    return True


async def refuse(
    update: Update, context: MendContext, couple: Couple | None, template: str, alert: str
) -> None:
    """Say why not: an alert for a button, a short message for a command."""
    user = update.effective_user
    locale = group_locale(context.mend, couple, user.language_code if user else None)
    query = update.callback_query
    if query is not None:
        await query.answer(context.mend.render.label(locale, alert), show_alert=True)
    elif update.effective_message is not None:
        await reply(update, context, locale, template)


async def refuse_outsider(update: Update, context: MendContext, couple: Couple) -> None:
    """Someone who isn't a partner: asked to join while there is room, else kindly told the
    bot is for the two of them. Nothing changes."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    if not couple.is_full:
        await refuse(update, context, couple, "common/join_first", "alert.join_first")
        return
    locale = group_locale(context.mend, couple, user.language_code)
    names = [p.name for p in couple.partners]
    query = update.callback_query
    if query is not None:
        text = context.mend.render.label(locale, "alert.outsider", names=" & ".join(names))
        await query.answer(text, show_alert=True)
        return
    now = time.monotonic()
    notices = context.mend.outsider_notices
    key = (chat.id, user.id)
    if now - notices.get(key, -OUTSIDER_NOTICE_INTERVAL) < OUTSIDER_NOTICE_INTERVAL:
        return
    notices[key] = now
    await reply(update, context, locale, "common/outsider", name=user.first_name, partners=names)


def reader_locale(context: MendContext, update: Update, couple: Couple, me: Partner) -> str:
    """Private answers follow the partner's own language; group answers the group's."""
    chat = update.effective_chat
    if chat is not None and chat.type == Chat.PRIVATE:
        return partner_locale(context.mend, me)
    return group_locale(context.mend, couple)


def asking_partner(couples: list[Couple], update: Update) -> Partner:
    """The partner who sent the update (the guards made sure they are one)."""
    user = update.effective_user
    assert user is not None
    partner = couples[0].partner(user.id)
    assert partner is not None
    return partner


# -- /script ---------------------------------------------------------------------------------
