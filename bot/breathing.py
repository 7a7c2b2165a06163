"""Guided 4-4-4 breathing in one edited message: /breathe (calm.py), and grounding during a
pause (pause.py).

A session is a few tens of seconds of edits, not a timer: it is not stored and does not survive
a restart. One session at a time per chat.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.context import MendContext
from bot.messages import send_html

log = logging.getLogger(__name__)

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


def claim(context: MendContext, chat_id: int) -> bool:
    """Mark the chat busy with a session now (so a second one asked for right after can't
    start); False if one runs there already."""
    chats = _breathing_chats(context)
    if chat_id in chats:
        return False
    chats.add(chat_id)
    return True


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
    if claim(context, chat_id):
        await breathe_claimed(context, chat_id, locale, rounds, thread_id)


async def breathe_claimed(
    context: MendContext, chat_id: int, locale: str, rounds: int, thread_id: int | None
) -> None:
    """The session itself, for a chat already claimed; frees the chat when done."""
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
