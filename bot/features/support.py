"""Beyond the bot: /support (help for the person who asked first, what to do when someone doesn't
feel safe, then when a therapist could help) and /faq (common questions, one button each).

What would expose someone is answered in private, to the person who asked: /support, and an
FAQ answer, whether asked for in private or from the group. The group sees nothing that names
them (a question tapped in the group is answered "Sent privately." on the button, nothing
more); sharing an answer with the partner is a button of its own, in private.

Safety help starts with a neutral line (it may show on a lock screen) and shows the emergency
number and helplines of the country the person's time zone lies in (bot.helplines), a word
about looking for help on a private device, and a quiet safety switch: it pauses the couple's
joint prompts (check-ins, the checklist, letters, worry windows, visit planning) without
telling the other partner why; they see at most that prompts are paused for now. Only the
person who paused them can switch them back on. The prompting features read the switch through
`services.reads.prompts_paused`. The same help follows a /setback that found fear of the
partner (the event "care.afraid").
"""

from __future__ import annotations

import contextlib
from typing import Any, NotRequired, TypedDict

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.guards import Asked, known_partner
from bot.helplines import helplines_for
from bot.links import private_link_button
from bot.messages import Buttons, button, choices, chosen, reply, say_private
from bot.model import Couple, Partner, to_iso, utcnow
from bot.render import shorten
from bot.storage import Kind, Store

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
SWITCH = "care"  # care:pause, care:resume: the safety switch under the help
AFRAID = "care.afraid"  # told by /setback when someone said they are afraid of their partner


class PromptsPaused(TypedDict):
    """A partner paused the couple's joint prompts with the safety switch (theirs to lift)."""

    id: NotRequired[int]
    by: int
    since: str | None


PAUSED_TABLE = Kind[PromptsPaused]("prompts_paused")


# -- the safety switch -----------------------------------------------------------------------


def prompts_paused(store: Store, chat_id: int) -> bool:
    """Whether a partner has paused the couple's joint prompts (services.reads)."""
    return bool(store.records(chat_id, PAUSED_TABLE))


def _paused_by(services: Services, couples: tuple[Couple, ...], user_id: int) -> bool:
    return any(
        r["by"] == user_id
        for couple in couples
        for r in services.store.records(couple.chat_id, PAUSED_TABLE)
    )


def _switch_buttons(services: Services, locale: str, paused: bool) -> Buttons:
    action = "resume" if paused else "pause"
    return [[button(services.render.label(locale, f"support.{action}"), f"{SWITCH}:{action}")]]


def _help(services: Services, partner: Partner | None) -> dict[str, Any]:
    """The numbers for the person's country, as the templates show them."""
    zone = partner.timezone if partner is not None else None
    found = helplines_for(zone)
    return {
        "zone": zone,
        "emergency": found.emergency.number if found.emergency else None,
        "lines": [{"kind": n.kind, "name": n.name, "number": n.number} for n in found.lines],
    }


async def _send_help(
    update: Update | None,
    context: MendContext,
    template: str,
    partner: Partner | None,
    couples: tuple[Couple, ...],
    locale: str,
) -> bool:
    """The help, privately: with the safety switch when the person is a partner."""
    services = context.mend
    paused = partner is not None and _paused_by(services, couples, partner.user_id)
    switch = None if partner is None or not couples else "resume" if paused else "pause"
    rows = _switch_buttons(services, locale, paused) if switch else None
    help_ = _help(services, partner)
    if update is not None:
        await reply(update, context, locale, template, buttons=rows, help=help_, switch=switch)
        return True
    assert partner is not None
    sent = await say_private(
        context, couples[0], partner, template, buttons=rows, help=help_, switch=switch
    )
    return sent is not None


@known_partner
async def switch_button(update: Update, context: MendContext, asked: Asked) -> None:
    """Pause the joint prompts, or lift one's own pause, in every couple of the presser."""
    services = context.mend
    me, locale = asked.partner, asked.locale
    pause = chosen(context, "action") == "pause"
    for couple in asked.couples:
        with services.store.transaction(couple.chat_id) as tx:
            table = tx.table(PAUSED_TABLE)
            mine = table.find(by=me.user_id)
            if pause and not mine:
                table.insert({"by": me.user_id, "since": to_iso(utcnow())})
            elif not pause:
                for record in mine:
                    table.remove(record["id"])
    await asked.press.answer()
    message = update.effective_message
    if message is not None:
        markup = InlineKeyboardMarkup(_switch_buttons(services, locale, pause))
        # A message too old to change keeps its button; the new one below has the right one.
        with contextlib.suppress(BadRequest):
            await message.edit_reply_markup(markup)
    await reply(
        update,
        context,
        locale,
        "support/paused" if pause else "support/resumed",
        buttons=_switch_buttons(services, locale, pause),
    )


async def _afraid(context: MendContext, couple: Couple, *, partner: int) -> None:
    """/setback found fear of the partner: the safety help, privately, to that person."""
    services = context.mend
    me = couple.partner(partner)
    if me is None:
        return
    couples = tuple(
        c for c in map(services.store.couple, services.store.chats_of_user(me.user_id)) if c
    )
    await _send_help(None, context, "support/safety", me, couples, partner_locale(services, me))


def export_support(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """Whether this person paused the joint prompts (never whether the other partner did)."""
    mine = [r for r in services.store.records(couple.chat_id, PAUSED_TABLE) if r["by"] == user_id]
    return {"joint_prompts_paused_since": mine[0]["since"] if mine else None}


# -- /support --------------------------------------------------------------------------------


async def support_command(update: Update, context: MendContext) -> None:
    """/support: in private, to anyone who asks; from the group, privately to the partner."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or user.is_bot:
        return
    services = context.mend
    if chat.type != Chat.PRIVATE:
        couple = services.store.couple(chat.id)
        if couple is None or not couple.is_partner(user.id):
            await _support_for_anyone(update, context, couple)
        else:
            await _support_from_group(update, context)
        return
    locale = services.render.locale_for(user.language_code)
    couples = tuple(
        c for c in map(services.store.couple, services.store.chats_of_user(user.id)) if c
    )
    partner = couples[0].partner(user.id) if couples else None
    if partner is not None:
        locale = partner_locale(services, partner)
    await _send_help(update, context, "support/support", partner, couples, locale)


@known_partner
async def _support_from_group(update: Update, context: MendContext, asked: Asked) -> None:
    """From the group: the help goes privately, and the group is told nothing; only if it
    can't be sent does the group get a neutral line with a way to the private chat."""
    me = asked.partner
    sent = await _send_help(
        None, context, "support/support", me, asked.couples, partner_locale(context.mend, me)
    )
    if not sent:
        await _unreachable(update, context, asked)


async def _support_for_anyone(update: Update, context: MendContext, couple: Couple | None) -> None:
    """Someone in the group who isn't one of the partners (a friend, family) asks for help:
    help is for anyone, so a neutral line points them to a private chat, where /support
    answers them (and nobody here sees what it says)."""
    services, user = context.mend, update.effective_user
    locale = (
        group_locale(services, couple)
        if couple is not None
        else services.render.locale_for(user.language_code if user else None)
    )
    label = services.render.label(locale, "support.open_private_chat")
    rows = [[InlineKeyboardButton(label, url=f"https://t.me/{context.bot.username}")]]
    await reply(update, context, locale, "support/for_anyone", buttons=rows)


async def _unreachable(update: Update, context: MendContext, asked: Asked) -> None:
    """The private chat isn't open: a neutral line (naming no one, nor what was asked)."""
    locale = asked.locale
    rows = [[private_link_button(context.mend, locale)]]
    await reply(update, context, locale, "common/open_private", buttons=rows)


# -- /faq ------------------------------------------------------------------------------------


def _faq_buttons(context: MendContext, locale: str) -> Buttons:
    render = context.mend.render
    return [[button(render.label(locale, f"support.faq_{key}"), f"{FAQ}{key}")] for key in FAQ_KEYS]


@known_partner
async def faq_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/faq: the questions as buttons; /faq <number>: that answer, privately."""
    locale, typed = asked.locale, asked.text
    if not typed:
        await reply(
            update, context, locale, "support/faq_menu", buttons=_faq_buttons(context, locale)
        )
        return
    if typed.isdigit() and 1 <= int(typed) <= len(FAQ_KEYS):
        if await _answer(context, asked, FAQ_KEYS[int(typed) - 1]):
            if not asked.private:
                await reply(update, context, locale, "support/faq_sent")
        else:
            await _unreachable(update, context, asked)
        return
    await reply(
        update, context, locale, "support/faq_usage", typed=shorten(typed), count=len(FAQ_KEYS)
    )


@known_partner
async def faq_button(update: Update, context: MendContext, asked: Asked) -> None:
    """A question was tapped: its answer, privately to whoever tapped it."""
    render = context.mend.render
    sent = await _answer(context, asked, chosen(context, "key"))
    if asked.private or sent:
        await asked.press.answer(
            None if asked.private else render.label(asked.locale, "alert.sent_privately")
        )
        return
    await asked.press.answer(
        render.label(asked.locale, "alert.open_private_first"), show_alert=True
    )


async def _answer(context: MendContext, asked: Asked, key: str) -> bool:
    """The answer in the asker's private chat, with a button to share it with the partner;
    False if that chat isn't open."""
    services = context.mend
    me = asked.partner
    locale = partner_locale(services, me)
    other = asked.couple.other(me.user_id)
    rows = (
        [[button(services.render.label(locale, "support.faq_share"), f"{FAQ}share:{key}")]]
        if other is not None
        else None
    )
    question = services.render.label(locale, f"support.faq_{key}")
    # Whom the button shares it with (someone in two couples has two partners).
    share_with = {"share_with": other.name} if other is not None else {}
    sent = await say_private(
        context,
        asked.couple,
        me,
        "support/faq_answer",
        buttons=rows,
        key=key,
        question=question,
        **share_with,
    )
    return sent is not None


@known_partner
async def faq_share(update: Update, context: MendContext, asked: Asked) -> None:
    """ "Share with my partner": the answer goes to the partner's private chat, with who sent it."""
    services = context.mend
    me, key = asked.partner, chosen(context, "key")
    other = asked.couple.other(me.user_id)
    label = services.render.label
    if not asked.private or other is None:
        await asked.press.answer()
        return
    question = label(partner_locale(services, other), f"support.faq_{key}")
    sent = await say_private(
        context, asked.couple, other, "support/faq_answer", key=key, question=question, by=me.name
    )
    alert = services.render.alert  # names shortened so that the alert fits
    if sent is None:
        text = alert(asked.locale, "alert.faq_partner_unreachable", name=other.name)
        await asked.press.answer(text, show_alert=True)
        return
    await asked.press.answer(alert(asked.locale, "alert.faq_shared", name=other.name))


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("support", "calm", in_group=True, in_private=True),
        Command("faq", "start", in_group=True, in_private=True),
    )
    services.reads.prompts_paused = prompts_paused
    services.exporters["support"] = export_support
    services.on(AFRAID, _afraid)
    app.add_handler(CommandHandler("support", support_command))
    app.add_handler(CommandHandler("faq", faq_command))
    app.add_handler(CallbackQueryHandler(faq_share, pattern=choices("faq:share", key=FAQ_KEYS)))
    app.add_handler(CallbackQueryHandler(faq_button, pattern=choices("faq", key=FAQ_KEYS)))
    app.add_handler(
        CallbackQueryHandler(switch_button, pattern=choices(SWITCH, action=("pause", "resume")))
    )
