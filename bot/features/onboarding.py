"""Onboarding: the greeting, "I'm in", the private link, the path and the roles.

Two partners at most: a third person is told kindly that the bot is for the two of them and can
change nothing. Setup completes when both are in and the path (and, optionally, roles) are
chosen; that day is day 1 of the roadmap.
"""

from __future__ import annotations

from typing import Any

from telegram import Chat, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.guards import partners_only, refuse_outsider
from bot.links import deep_link, new_link, use_link
from bot.messages import Buttons, button, clear_buttons, link, reply, say
from bot.model import PATHS, ROLES_BY_PATH, Couple, Partner, utcnow

JOIN = "onb:join"
PATH = "onb:path:"
ROLE = "onb:role:"
LINK = "onb:link"


def welcome_buttons(services: Services, locale: str) -> Buttons:
    return [[button(services.render.label(locale, "onboarding.join"), JOIN)]]


async def greet(
    context: MendContext, chat: Chat, language: str | None, thread_id: int | None = None
) -> None:
    """The first words in a new group: what the bot does, its privacy promises, "I'm in"."""
    services = context.mend
    locale = services.render.locale_for(language)
    await say(
        context,
        chat.id,
        locale,
        "onboarding/welcome",
        buttons=welcome_buttons(services, locale),
        thread_id=thread_id,
        erase_days=services.settings.erase_after_days,
    )


# -- "I'm in" --------------------------------------------------------------------------------


async def join(update: Update, context: MendContext) -> None:
    """A person taps "I'm in": they become a partner, unless two already are."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and chat is not None and user is not None
    if chat.type == Chat.PRIVATE or user.is_bot:
        await query.answer()
        return
    services = context.mend
    existing = services.store.couple(chat.id)
    if existing is not None and existing.is_partner(user.id):
        locale = group_locale(services, existing)
        await query.answer(services.render.label(locale, "alert.already_in"))
        return
    if existing is not None and existing.is_full:
        await refuse_outsider(update, context, existing)
        return

    now = utcnow()
    with services.store.transaction(chat.id) as tx:
        couple = tx.couple() or Couple(chat_id=chat.id, title=chat.title or "", created_at=now)
        couple.status = "active"
        couple.partners.append(
            Partner(
                user_id=user.id,
                name=user.first_name,
                joined_at=now,
                telegram_language=user.language_code,
            )
        )
        token = new_link(tx, couple, user.id, now)
        tx.save(couple)

    locale = group_locale(services, couple)
    await query.answer(services.render.label(locale, "alert.welcome_in"))
    waiting_for_other = not couple.is_full
    await say(
        context,
        chat.id,
        locale,
        "onboarding/joined",
        buttons=_private_link(context, locale, user.first_name, token),
        name=user.first_name,
        waiting=waiting_for_other,
    )
    if couple.is_full and couple.path is None:
        await ask_path(context, couple)


async def fresh_link(update: Update, context: MendContext, couple: Couple) -> None:
    """A partner asks for a new link to their private chat (the old one expired or was used)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    services = context.mend
    with services.store.transaction(couple.chat_id) as tx:
        current = tx.couple()
        assert current is not None
        token = new_link(tx, current, user.id)
        tx.save(current)
    locale = group_locale(services, couple)
    await query.answer()
    await say(
        context,
        couple.chat_id,
        locale,
        "onboarding/private_link",
        buttons=_private_link(context, locale, user.first_name, token),
        name=user.first_name,
    )


def _private_link(context: MendContext, locale: str, name: str, token: str) -> Buttons:
    label = context.mend.render.label(locale, "onboarding.open_private", name=name)
    return [[link(label, deep_link(context.bot.username, token))]]


# -- path and roles ----------------------------------------------------------------------------


async def ask_path(context: MendContext, couple: Couple) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    rows = [[button(services.render.label(locale, f"path.{p}"), f"{PATH}{p}")] for p in PATHS]
    await say(
        context,
        couple.chat_id,
        locale,
        "onboarding/choose_path",
        buttons=rows,
        names=[p.name for p in couple.partners],
    )


@partners_only
async def choose_path(update: Update, context: MendContext, couple: Couple) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    path = query.data.removeprefix(PATH)
    services = context.mend
    locale = group_locale(services, couple)
    if path not in PATHS:
        await query.answer(services.render.label(locale, "alert.stale_button"), show_alert=True)
        return
    if not couple.is_full:
        await query.answer(services.render.label(locale, "alert.wait_for_partner"), show_alert=True)
        return
    with services.store.transaction(couple.chat_id) as tx:
        current = tx.couple()
        assert current is not None
        current.path = path
        for partner in current.partners:
            partner.role = None
        tx.save(current)
    await query.answer()
    await clear_buttons(update)
    await ask_roles(context, current, chosen_by=user.first_name)


async def ask_roles(context: MendContext, couple: Couple, chosen_by: str) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    path = couple.path or "repair"
    first_role = ROLES_BY_PATH[path][0]
    rows = [
        [
            button(
                services.render.label(locale, f"role.{first_role}", name=p.name),
                f"{ROLE}{p.user_id}",
            )
        ]
        for p in couple.partners
    ]
    if path == "new":
        rows.append([button(services.render.label(locale, "role.both_learning"), f"{ROLE}both")])
    rows.append([button(services.render.label(locale, "role.skip"), f"{ROLE}skip")])
    await say(
        context,
        couple.chat_id,
        locale,
        "onboarding/choose_roles",
        buttons=rows,
        path=path,
        chosen_by=chosen_by,
    )


@partners_only
async def choose_role(update: Update, context: MendContext, couple: Couple) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    services = context.mend
    locale = group_locale(services, couple)
    choice = query.data.removeprefix(ROLE)
    if couple.path is None or not (
        choice in ("skip", "both") or (choice.isdigit() and couple.is_partner(int(choice)))
    ):
        # A stale button, or forged data naming someone who isn't a partner here.
        await query.answer(services.render.label(locale, "alert.stale_button"), show_alert=True)
        return
    first, second = ROLES_BY_PATH[couple.path]
    now = utcnow()
    with services.store.transaction(couple.chat_id) as tx:
        current = tx.couple()
        assert current is not None
        for partner in current.partners:
            if choice == "skip":
                partner.role = None
            elif choice == "both":
                partner.role = first
            else:
                partner.role = first if str(partner.user_id) == choice else second
        newly_set_up = current.setup_completed_at is None
        if newly_set_up:
            current.setup_completed_at = now
        tx.save(current)
    await query.answer()
    await clear_buttons(update)
    roles = {p.name: p.role for p in current.partners if p.role}
    if newly_set_up:
        await say(
            context,
            current.chat_id,
            locale,
            "onboarding/ready",
            path=current.path,
            roles=roles,
            names=[p.name for p in current.partners],
        )
    else:
        await say(
            context,
            current.chat_id,
            locale,
            "onboarding/roles_updated",
            path=current.path,
            roles=roles,
        )


# -- /start ----------------------------------------------------------------------------------


async def start_group(update: Update, context: MendContext) -> None:
    """/start in the group: where the couple stands, and the next step."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    assert chat is not None and user is not None and message is not None
    services = context.mend
    couple = services.store.couple(chat.id)
    thread_id = message.message_thread_id if message.is_topic_message else None
    if couple is None or not couple.partners:
        await greet(context, chat, user.language_code, thread_id)
        return
    if not couple.is_partner(user.id) and couple.is_full:
        await refuse_outsider(update, context, couple)
        return
    locale = group_locale(services, couple, user.language_code)
    if not couple.is_full:
        await reply(
            update,
            context,
            locale,
            "onboarding/waiting",
            buttons=welcome_buttons(services, locale),
            names=[p.name for p in couple.partners],
        )
    elif couple.path is None:
        await ask_path(context, couple)
    elif not couple.is_set_up:
        await ask_roles(context, couple, chosen_by="")
    else:
        day = (utcnow().date() - couple.setup_completed_at.date()).days + 1  # type: ignore[union-attr]
        await reply(
            update,
            context,
            locale,
            "onboarding/status",
            day=day,
            path=couple.path,
            names=[p.name for p in couple.partners],
        )


async def start_private(update: Update, context: MendContext) -> None:
    """/start in private, usually through the deep link from the group."""
    user = update.effective_user
    assert user is not None
    services = context.mend
    payload = context.args[0] if context.args else None
    linked_chat = use_link(services.store, payload, user.id) if payload else None
    chat_ids = services.store.chats_of_user(user.id)
    if not chat_ids:
        locale = services.render.locale_for(user.language_code)
        template = "onboarding/link_invalid" if payload else "common/stranger"
        await reply(update, context, locale, template)
        return
    couples: list[Couple] = []
    for chat_id in chat_ids:
        with services.store.transaction(chat_id) as tx:
            couple = tx.couple()
            partner = couple.partner(user.id) if couple else None
            if couple is None or partner is None:
                continue
            partner.private_chat = True
            partner.telegram_language = user.language_code or partner.telegram_language
            tx.save(couple)
            couples.append(couple)
    partner = couples[0].partner(user.id) if couples else None
    if partner is None:
        return
    await reply(
        update,
        context,
        partner_locale(services, partner),
        "onboarding/private_welcome",
        name=partner.name,
        via_link=linked_chat is not None,
        groups=[c.title for c in couples],
        timezone=partner.timezone,
    )


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("start", "start", in_group=True, in_private=True))
    app.add_handler(CommandHandler("start", start_private, filters.ChatType.PRIVATE))
    app.add_handler(CommandHandler("start", start_group, filters.ChatType.GROUPS))
    app.add_handler(CallbackQueryHandler(join, pattern=f"^{JOIN}$"))
    app.add_handler(CallbackQueryHandler(partners_only(fresh_link), pattern=f"^{LINK}$"))
    app.add_handler(CallbackQueryHandler(choose_path, pattern=f"^{PATH}"))
    app.add_handler(CallbackQueryHandler(choose_role, pattern=f"^{ROLE}"))
