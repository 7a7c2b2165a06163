"""The bot's and the partners' comings and goings in the group.

Added to a group, the bot greets. Removed, it puts the couple's timers on hold, tells the
partners privately when their data will be erased, and erases it after `MEND_ERASE_AFTER_DAYS`
days unless it is added back first. Added back, every timer returns at once: those on hold (a
boundary's review date, a pause end, a check-in's deadline: kept as they were, since records
name them by id and some can't be rebuilt), and the features' recurring series (rituals,
windows, the weekly check-in), put back by their reconcilers where one came due meanwhile and
was dropped. A group that becomes a supergroup keeps its data and timers. A partner who leaves
keeps their place, so nothing they told the bot is lost if they come back.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import Chat, ChatMember, Update
from telegram.ext import Application, ChatMemberHandler, MessageHandler, filters

from bot import audience
from bot.context import MendContext, Services
from bot.couples import erase_couple, group_locale, move_couple
from bot.links import greet
from bot.messages import say, say_private
from bot.model import Partner, utcnow
from bot.timers import Fired

log = logging.getLogger(__name__)

ERASE = "erase"
_PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def _is_present(member: ChatMember) -> bool:
    return member.status in _PRESENT or (
        member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))
    )


async def bot_membership(update: Update, context: MendContext) -> None:
    """The bot's own status changed in a chat."""
    change = update.my_chat_member
    if change is None:
        return
    chat = change.chat
    was_in, is_in = _is_present(change.old_chat_member), _is_present(change.new_chat_member)
    if chat.type == Chat.PRIVATE:
        _private_reachable(context, change.from_user.id, is_in)
    elif chat.type == Chat.CHANNEL:
        if is_in:
            await context.bot.leave_chat(chat.id)
    elif is_in and not was_in:
        await _added(context, chat, change.from_user.language_code)
    elif was_in and not is_in:
        await _removed(context, chat)


def _private_reachable(context: MendContext, user_id: int, reachable: bool) -> None:
    """A partner blocked (or unblocked) the bot in their private chat: in every couple of
    theirs (it is one chat)."""

    def change(partner: Partner) -> None:
        partner.private_chat = reachable

    context.mend.store.update_person(user_id, change)


async def _added(context: MendContext, chat: Chat, language: str | None) -> None:
    services = context.mend
    couple = services.store.couple(chat.id)
    if couple is None or not couple.partners:
        members = await audience.count_members(context, chat.id)
        await greet(context, chat, language, others=audience.others_in(members))
        return
    if couple.status == "removed":
        services.timers.cancel_kind(chat.id, ERASE)
        with services.store.transaction(chat.id) as tx:
            current = tx.couple()
            assert current is not None
            current.status, current.removed_at = "active", None
            tx.save(current)
        services.timers.resume_all(chat.id)
        if current.is_set_up:
            services.timers.reconcile(current)
        await services.outbox.deliver(context, chat.id)  # what waited while the bot was out
        await say(
            context,
            chat.id,
            group_locale(services, couple),
            "membership/welcome_back",
            names=[p.name for p in couple.partners],
        )


async def _removed(context: MendContext, chat: Chat) -> None:
    services = context.mend
    couple = services.store.couple(chat.id)
    if couple is None or couple.status != "active":
        return  # already on hold; a couple closing after /forget is erased on its own date
    now = utcnow()
    erase_at = now + timedelta(days=services.settings.erase_after_days)
    services.timers.suspend_all(chat.id)
    with services.store.transaction(chat.id) as tx:
        current = tx.couple()
        assert current is not None
        current.status, current.removed_at = "removed", now
        tx.save(current)
    services.timers.schedule(chat.id, ERASE, erase_at)
    for partner in couple.partners:
        if partner.private_chat:
            await say_private(
                context,
                couple,
                partner,
                "membership/removed_notice",
                group=couple.title,
                erase_at=erase_at,
                timezone=partner.timezone,
                days=services.settings.erase_after_days,
            )


async def erase_after_removal(context: MendContext, fired: Fired) -> None:
    """The grace period after removal has passed: erase the couple's data."""
    couple = context.mend.store.couple(fired.chat_id)
    if couple is None or couple.status != "removed":
        return
    erase_couple(context.mend, fired.chat_id)
    log.info(
        "erased a couple's data %d days after the bot was removed",
        context.mend.settings.erase_after_days,
    )


async def service_message(update: Update, context: MendContext) -> None:
    """Members joining or leaving, and the group becoming a supergroup."""
    message = update.effective_message
    if message is None:
        return
    services = context.mend
    # Both the old group (migrate_to) and the new supergroup (migrate_from) announce it.
    if message.migrate_to_chat_id:
        move_couple(services, message.chat_id, message.migrate_to_chat_id)
        return
    if message.migrate_from_chat_id:
        move_couple(services, message.migrate_from_chat_id, message.chat_id)
        return
    couple = services.store.couple(message.chat_id)
    if couple is None or couple.status != "active":
        return
    if message.new_chat_title:
        with services.store.transaction(message.chat_id) as tx:
            current = tx.couple()
            assert current is not None
            current.title = message.new_chat_title
            tx.save(current)
        return
    if message.left_chat_member or message.new_chat_members:
        await audience.recount(context, message.chat_id)  # who can read the group changed
    locale = group_locale(services, couple)
    if message.left_chat_member and couple.is_partner(message.left_chat_member.id):
        _mark_left(services, message.chat_id, message.left_chat_member.id, left=True)
        await say(
            context,
            message.chat_id,
            locale,
            "membership/partner_left",
            name=message.left_chat_member.first_name,
        )
    for member in message.new_chat_members or ():
        partner = couple.partner(member.id)
        if partner is not None and partner.left_group:
            _mark_left(services, message.chat_id, member.id, left=False)
            await say(
                context, message.chat_id, locale, "membership/partner_back", name=member.first_name
            )


def _mark_left(services: Services, chat_id: int, user_id: int, *, left: bool) -> None:
    with services.store.transaction(chat_id) as tx:
        couple = tx.couple()
        partner = couple.partner(user_id) if couple else None
        if couple and partner:
            partner.left_group = left
            tx.save(couple)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    # Erasing after removal still makes sense late: it must happen, whatever the downtime.
    services.timers.register(ERASE, erase_after_removal, late_limit=timedelta(days=3650))
    app.add_handler(ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(
        MessageHandler(
            filters.StatusUpdate.MIGRATE
            | filters.StatusUpdate.LEFT_CHAT_MEMBER
            | filters.StatusUpdate.NEW_CHAT_MEMBERS
            | filters.StatusUpdate.NEW_CHAT_TITLE,
            service_message,
        )
    )
