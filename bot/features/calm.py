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
from collections.abc import Callable
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import Application, CommandHandler

from bot.context import Command, MendContext, Services
from bot.flows import Flow, Option, Rows, Step, Turn
from bot.guards import Asked, known_partner
from bot.messages import reply, send_html
from bot.model import Couple, to_iso

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
async def breathe_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/breathe [rounds]: guided 4-4-4 breathing in this chat."""
    chat = update.effective_chat
    assert chat is not None
    locale, typed = asked.locale, asked.text
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
    context.application.create_task(
        _breathe_claimed(context, chat.id, locale, rounds, asked.thread_id), update=update
    )


# -- jealousy check ----------------------------------------------------------------------------

JEALOUS = "jealous"
STOP = Option("stop", "calm.stop")


def _choices(*keys: str) -> Rows:
    """A step's choices, one per row, and "Stop here" last."""
    return [*([Option(key, f"calm.{key}")] for key in keys), [STOP]]


def _then(next_step: str | None, keep: str | None = None) -> Callable[[Turn], str]:
    """An answer that goes on to `next_step` (None: the step the choice names), keeping the
    choice as data[keep]; "Stop here" ends the check wherever it is pressed."""

    def answer(turn: Turn) -> str:
        if turn.value == STOP.key:
            turn.data["choice"] = STOP.key
            return "stopped"
        if keep is not None:
            turn.data[keep] = turn.value
        return str(turn.value) if next_step is None else next_step

    return answer


# One message walks through the check: each step replaces the last. Only its owner moves it on.
CHECK = Flow(
    name=JEALOUS,
    first="notice",
    steps={
        "notice": Step(
            "calm/jealous_notice", _choices("noticed"), answer=_then("story"), edit=True
        ),
        "story": Step(
            "calm/jealous_story",
            _choices("new", "old", "unsure"),
            answer=_then("choose", keep="source"),
            edit=True,
        ),
        "choose": Step(
            "calm/jealous_choose",
            _choices("share", "park", "pause"),
            answer=_then(None, keep="choice"),
            edit=True,
        ),
        "share": Step("calm/jealous_share"),
        "park": Step("calm/jealous_park"),
        "pause": Step("calm/jealous_pause"),
        "stopped": Step("calm/jealous_stopped"),
    },
    not_yours="alert.calm_not_yours",
)


@known_partner
async def jealous_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/jealous: start a guided check for the person who asked, where they asked."""
    me, private = asked.partner, asked.private
    await context.mend.runner.begin(
        context,
        asked.couple,
        JEALOUS,
        owner=me,
        where="private" if private else "group",
        data={"name": me.name, "private": private, "source": None, "choice": None},
    )


def export_calm(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """The partner's own jealousy checks (never the other partner's)."""
    return {
        "jealousy_checks": [
            {
                "started_at": to_iso(run.started_at),
                "private": run.data.get("private"),
                "step": run.step or "done",
                "source": run.data.get("source"),
                "choice": run.data.get("choice"),
            }
            for run in services.runner.runs(couple.chat_id, JEALOUS, finished=True)
            if run.owner == user_id
        ],
    }


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("jealous", "calm", in_group=True, in_private=True),
        Command("breathe", "calm", in_group=True, in_private=True),
    )
    services.exporters["calm"] = export_calm
    services.runner.add(CHECK)
    app.add_handler(CommandHandler("jealous", jealous_command))
    app.add_handler(CommandHandler("breathe", breathe_command))
