"""When it gets hard: /jealous (a guided check, step by step in one message) and /breathe
(guided 4-4-4 breathing in one edited message).

`run_breathing` is reusable: the pause feature offers it as grounding. A breathing session is a
few tens of seconds of edits, not a timer: it is not stored and does not survive a restart.
Only the partner who started a jealousy check can move it on; its state is kept in the couple's
file, so a forged or stale press is recognised.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Command, MendContext, Services
from bot.features.talk import asking_partner, reader_locale
from bot.guards import known_partner
from bot.messages import Buttons, button, reply, say, send_html
from bot.model import Couple, to_iso, utcnow
from bot.storage.store import Record

log = logging.getLogger(__name__)

# -- breathing ---------------------------------------------------------------------------------

# Seconds each phase (in, hold, out) lasts; tests make it tiny. COUNT is what people are told.
PHASE_SECONDS = 4.0
COUNT = 4
BREATH_PHASES = ("in", "hold", "out")
DEFAULT_ROUNDS = 4
MAX_ROUNDS = 10
# Chats with a breathing session running right now (in memory on purpose: it never outlives
# the process, so a crash can't leave a chat "busy").
_BREATHING_KEY = "calm.breathing"


def _breathing_chats(context: MendContext) -> set[int]:
    chats: set[int] = context.bot_data.setdefault(_BREATHING_KEY, set())
    return chats


def breathing_in(context: MendContext, chat_id: int) -> bool:
    """Whether a breathing session is running in this chat now."""
    return chat_id in _breathing_chats(context)


async def run_breathing(
    context: MendContext,
    chat_id: int,
    locale: str,
    *,
    rounds: int = DEFAULT_ROUNDS,
    thread_id: int | None = None,
) -> None:
    """Guide `rounds` of 4-4-4 breathing by editing one message, then close with a short line.

    Takes about rounds × 3 × PHASE_SECONDS: start it with `application.create_task` so other
    updates aren't held up. Does nothing if a session already runs in this chat; stops quietly
    if the message can no longer be edited (deleted, chat gone).
    """
    chats = _breathing_chats(context)
    if chat_id in chats:
        return
    chats.add(chat_id)
    await _breathe_claimed(context, chat_id, locale, rounds, thread_id)


async def _breathe_claimed(
    context: MendContext, chat_id: int, locale: str, rounds: int, thread_id: int | None
) -> None:
    """The session itself, for a chat already marked busy; frees the chat when done."""
    render = context.mend.render
    try:
        message: Message | None = None
        for round_number in range(1, rounds + 1):
            for phase in BREATH_PHASES:
                if not context.application.running:
                    return  # the bot is shutting down: don't hold it up for the last breaths
                html = render.message(
                    locale,
                    "calm/breathe_step",
                    round=round_number,
                    rounds=rounds,
                    phase=phase,
                    count=COUNT,
                )
                if message is None:
                    message = await send_html(context, chat_id, html, thread_id=thread_id)
                else:
                    await _edit(message, html)
                await asyncio.sleep(PHASE_SECONDS)
        if message is not None:
            await _edit(message, render.message(locale, "calm/breathe_done", rounds=rounds))
    except (BadRequest, Forbidden) as error:
        # The message was deleted or the chat is gone: nobody is following any more.
        log.info("breathing stopped early (%s)", type(error).__name__)
    finally:
        _breathing_chats(context).discard(chat_id)


async def _edit(message: Message, html: str) -> None:
    try:
        await message.edit_text(html)
    except (BadRequest, Forbidden):
        raise
    except NetworkError:
        # A lost edit: the next phase's edit catches up; the rhythm matters more.
        log.info("a breathing edit was lost")


@known_partner
async def breathe_command(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """/breathe [rounds]: guided 4-4-4 breathing in this chat."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    couple, me = couples[0], asking_partner(couples, update)
    locale = reader_locale(context, update, couple, me)
    typed = " ".join(context.args or []).strip()
    rounds = DEFAULT_ROUNDS
    if typed:
        if not typed.isdigit() or not 1 <= int(typed) <= MAX_ROUNDS:
            await reply(
                update,
                context,
                locale,
                "calm/breathe_usage",
                typed=typed[:40],
                rounds=DEFAULT_ROUNDS,
                max_rounds=MAX_ROUNDS,
            )
            return
        rounds = int(typed)
    chats = _breathing_chats(context)
    if chat.id in chats:
        await reply(update, context, locale, "calm/breathe_busy")
        return
    chats.add(chat.id)  # claimed now, so a second /breathe right after can't start another
    thread_id = message.message_thread_id if message.is_topic_message else None
    context.application.create_task(
        _breathe_claimed(context, chat.id, locale, rounds, thread_id), update=update
    )


# -- jealousy check ----------------------------------------------------------------------------

JEALOUS = "jealous:"
CHECKS_TABLE = "jealous_checks"
KEEP_CHECKS = 30
ALERT_NAME_LENGTH = 40
STOP = "stop"
# What each step offers, and where each choice leads.
CHOICES: dict[str, tuple[str, ...]] = {
    "notice": ("noticed",),
    "story": ("new", "old", "unsure"),
    "choose": ("share", "park", "pause"),
}
NEXT_STEP = {"noticed": "story", "new": "choose", "old": "choose", "unsure": "choose"}


def _step_buttons(context: MendContext, locale: str, step: str) -> Buttons:
    render = context.mend.render
    rows: list[list[Any]] = [
        [button(render.label(locale, f"calm.{choice}"), f"{JEALOUS}{choice}")]
        for choice in CHOICES[step]
    ]
    rows.append([button(render.label(locale, "calm.stop"), f"{JEALOUS}{STOP}")])
    return rows


@known_partner
async def jealous_command(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """/jealous: start a guided check for the person who asked."""
    chat = update.effective_chat
    assert chat is not None
    couple, me = couples[0], asking_partner(couples, update)
    locale = reader_locale(context, update, couple, me)
    private = chat.type == Chat.PRIVATE
    sent = await reply(
        update,
        context,
        locale,
        "calm/jealous_notice",
        buttons=_step_buttons(context, locale, "notice"),
        name=me.name,
        private=private,
    )
    if sent is None:
        return
    with context.mend.store.transaction(couple.chat_id) as tx:
        checks = tx.table(CHECKS_TABLE)
        checks.insert(
            {
                "chat_id": sent.chat_id,
                "message_id": sent.message_id,
                "owner": me.user_id,
                "private": private,
                "step": "notice",
                "source": None,
                "choice": None,
                "started_at": to_iso(utcnow()),
            }
        )
        for old in sorted(checks.all(), key=lambda r: int(r["id"]))[:-KEEP_CHECKS]:
            checks.remove(int(old["id"]))


def _find_check(
    context: MendContext, couples: list[Couple], chat_id: int, message_id: int
) -> tuple[Couple, Record] | None:
    for couple in couples:
        for record in context.mend.store.records(couple.chat_id, CHECKS_TABLE):
            if record.get("chat_id") == chat_id and record.get("message_id") == message_id:
                return couple, record
    return None


@known_partner
async def jealous_button(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """A step of the check: only its owner moves it on; the other partner gets a kind alert."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and query.data is not None and chat is not None and user is not None
    render = context.mend.render
    me = asking_partner(couples, update)
    locale = reader_locale(context, update, couples[0], me)
    choice = query.data.removeprefix(JEALOUS)
    message = query.message
    found = None if message is None else _find_check(context, couples, chat.id, message.message_id)
    if found is None:
        await query.answer(render.label(locale, "alert.stale_button"), show_alert=True)
        return
    couple, check = found
    if check.get("owner") != user.id:
        owner = couple.partner(int(check.get("owner", 0)))
        name = owner.name[:ALERT_NAME_LENGTH] if owner else "?"  # alerts hold 200 characters
        await query.answer(render.label(locale, "alert.calm_not_yours", name=name), show_alert=True)
        return
    step = str(check.get("step"))
    if step not in CHOICES or (choice != STOP and choice not in CHOICES[step]):
        await query.answer(render.label(locale, "alert.stale_button"), show_alert=True)
        return
    changes: dict[str, Any] = {"step": NEXT_STEP.get(choice, "done")}
    if step == "story":
        changes["source"] = choice
    elif step == "choose":
        changes["choice"] = choice
    if choice == STOP:
        changes["choice"] = STOP
    with context.mend.store.transaction(couple.chat_id) as tx:
        checks = tx.table(CHECKS_TABLE)
        current = checks.get(int(check["id"]))
        moved_on = current is not None and current.get("step") == step
        if moved_on:
            checks.update(int(check["id"]), changes)
    if not moved_on:  # a second press of the same step, already handled
        await query.answer(render.label(locale, "alert.stale_button"), show_alert=True)
        return
    await query.answer()
    await _show_step(update, context, couple, locale, {**check, **changes})


async def _show_step(
    update: Update, context: MendContext, couple: Couple, locale: str, check: Record
) -> None:
    """Edit the check's message into its next step (or send it anew if it can't be edited)."""
    query = update.callback_query
    assert query is not None
    step, choice = check["step"], check.get("choice")
    data: dict[str, Any] = {"private": bool(check.get("private")), "source": check.get("source")}
    buttons: Buttons | None = None
    if step in CHOICES:
        template = f"calm/jealous_{step}"
        buttons = _step_buttons(context, locale, step)
    elif choice == STOP:
        template = "calm/jealous_stopped"
    else:
        template = f"calm/jealous_{choice}"
    html = context.mend.render.message(locale, template, **data)
    try:
        await query.edit_message_text(
            html, reply_markup=InlineKeyboardMarkup(buttons) if buttons else None
        )
    except BadRequest:
        chat_id = int(check["chat_id"])
        sent = await say(context, chat_id, locale, template, buttons=buttons, **data)
        with context.mend.store.transaction(couple.chat_id) as tx:
            tx.table(CHECKS_TABLE).update(int(check["id"]), {"message_id": sent.message_id})


def export_calm(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """The partner's own jealousy checks (never the other partner's)."""
    return {
        "jealousy_checks": [
            {
                "started_at": r.get("started_at"),
                "private": r.get("private"),
                "step": r.get("step"),
                "source": r.get("source"),
                "choice": r.get("choice"),
            }
            for r in services.store.records(couple.chat_id, CHECKS_TABLE)
            if r.get("owner") == user_id
        ],
    }


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("jealous", "calm", in_group=True, in_private=True),
        Command("breathe", "calm", in_group=True, in_private=True),
    )
    services.exporters["calm"] = export_calm
    app.add_handler(CommandHandler("jealous", jealous_command))
    app.add_handler(CommandHandler("breathe", breathe_command))
    app.add_handler(CallbackQueryHandler(jealous_button, pattern=f"^{JEALOUS}"))
