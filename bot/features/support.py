"""Beyond the bot: /support (when a therapist could help, and what to do when someone doesn't
feel safe) and /faq (common questions, one button each).

Support information goes only to the person who asked, in their private chat, and its first
line is neutral because it may show on a lock screen. From the group, the group learns only that
something was sent privately; nothing about what. The partner is never told.
"""

from __future__ import annotations

from typing import Any

from telegram import Chat, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Command, MendContext, Services
from bot.couples import partner_locale
from bot.guards import Asked, known_partner, partners_only
from bot.links import private_link_button
from bot.messages import Buttons, button, choices, chosen, reply, say_private
from bot.render import shorten

FAQ = "faq:"
# The questions, in the order the list shows them.
FAQ_KEYS = (
    "how_long",
    "full_trust",
    "transparency",
    "checking",
    "no_change",
    "sorry_no_effort",
    "doing_the_work",
    "therapy",
    "approaches",
    "stories",
)


# -- /support --------------------------------------------------------------------------------


async def support_command(update: Update, context: MendContext) -> None:
    """/support: in private, to anyone who asks; from the group, privately to the partner."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or user.is_bot:
        return
    if chat.type != Chat.PRIVATE:
        await _support_from_group(update, context)
        return
    services = context.mend
    locale = services.render.locale_for(user.language_code)
    for chat_id in services.store.chats_of_user(user.id):
        couple = services.store.couple(chat_id)
        partner = couple.partner(user.id) if couple else None
        if partner is not None:
            locale = partner_locale(services, partner)
            break
    await reply(update, context, locale, "support/support")


@partners_only
async def _support_from_group(update: Update, context: MendContext, asked: Asked) -> None:
    couple, me, locale = asked.couple, asked.partner, asked.locale
    services = context.mend
    sent = await say_private(context, couple, me, "support/support")
    if sent is None:
        await reply(
            update,
            context,
            locale,
            "support/unreachable",
            buttons=[[private_link_button(services, locale)]],
            name=me.name,
        )
        return
    await reply(update, context, locale, "support/sent", name=me.name)


# -- /faq ------------------------------------------------------------------------------------


def _faq_buttons(context: MendContext, locale: str) -> Buttons:
    render = context.mend.render
    return [[button(render.label(locale, f"support.faq_{key}"), f"{FAQ}{key}")] for key in FAQ_KEYS]


@known_partner
async def faq_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/faq: the questions as buttons; /faq <number>: that answer at once."""
    locale, typed = asked.locale, asked.text
    if not typed:
        await reply(
            update, context, locale, "support/faq_menu", buttons=_faq_buttons(context, locale)
        )
        return
    if typed.isdigit() and 1 <= int(typed) <= len(FAQ_KEYS):
        await _answer(update, context, locale, FAQ_KEYS[int(typed) - 1])
        return
    await reply(
        update, context, locale, "support/faq_usage", typed=shorten(typed), count=len(FAQ_KEYS)
    )


@known_partner
async def faq_button(update: Update, context: MendContext, asked: Asked) -> None:
    """A question was tapped: its answer, in the chat where the list is."""
    await asked.press.answer()
    await _answer(update, context, asked.locale, chosen(context, "key"))


async def _answer(update: Update, context: MendContext, locale: str, key: str) -> None:
    question = context.mend.render.label(locale, f"support.faq_{key}")
    await reply(update, context, locale, "support/faq_answer", key=key, question=question)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("support", "calm", in_group=True, in_private=True),
        Command("faq", "start", in_group=True, in_private=True),
    )
    app.add_handler(CommandHandler("support", support_command))
    app.add_handler(CommandHandler("faq", faq_command))
    app.add_handler(CallbackQueryHandler(faq_button, pattern=choices("faq", key=FAQ_KEYS)))
