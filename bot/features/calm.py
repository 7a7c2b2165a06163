"""When it gets hard: /jealous (a guided check, step by step in one message) and /breathe
(guided 4-4-4 breathing in one edited message, bot/breathing.py).

A jealousy check always happens in the private chat of the partner who asked, also when they
sent /jealous in the group: the group sees nothing that names them (only a neutral way to the
private chat if it isn't open yet). Telling the partner is a choice of its own, a button at the
end. Only the partner who started a check can move it on; its state is kept in the couple's
file, so a forged or stale press is recognised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.breathing import DEFAULT_ROUNDS, MAX_ROUNDS, breathe_claimed, claim
from bot.context import Command, MendContext, Services
from bot.flows import STAY, Flow, Option, Rows, Step, Turn, runner_of
from bot.guards import Asked, known_partner
from bot.links import private_link_button
from bot.messages import reply
from bot.model import Couple, to_iso
from bot.render import shorten

log = logging.getLogger(__name__)

# -- breathing ---------------------------------------------------------------------------------


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
                typed=shorten(typed),
                rounds=DEFAULT_ROUNDS,
                max_rounds=MAX_ROUNDS,
            )
            return
        rounds = int(typed)
    if not claim(context, chat.id):
        await reply(update, context, locale, "calm/breathe_busy")
        return
    context.application.create_task(
        breathe_claimed(context, chat.id, locale, rounds, asked.thread_id), update=update
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


def _tell_partner(turn: Turn) -> str:
    """ "Tell my partner": a quiet note in the partner's private chat that there is something
    to talk about (nothing of the check itself)."""
    other = turn.couple.other(turn.partner.user_id)
    if other is None or not other.private_chat:
        turn.toast, turn.alert = "alert.calm_partner_unreachable", True
        return STAY
    turn.say(other, "calm/jealous_note", name=turn.partner.name)
    turn.data["other"] = other.name
    return "told"


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
        "share": Step(
            "calm/jealous_share", [[Option("tell", "calm.tell_partner")]], answer=_tell_partner
        ),
        "told": Step("calm/jealous_told"),
        "park": Step("calm/jealous_park"),
        "pause": Step("calm/jealous_pause"),
        "stopped": Step("calm/jealous_stopped"),
    },
    not_yours="alert.calm_not_yours",
)


@known_partner
async def jealous_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/jealous: a guided check for the person who asked, in their private chat."""
    me = asked.partner
    if not asked.private and not me.private_chat:
        rows = [[private_link_button(context.mend, asked.locale)]]
        await reply(update, context, asked.locale, "common/open_private", buttons=rows)
        return
    await runner_of(context.mend).begin(
        context,
        asked.couple,
        JEALOUS,
        owner=me,
        where="private",
        data={
            "name": me.name,
            "private": True,
            "source": None,
            "choice": None,
            **({"other": other.name} if (other := asked.couple.other(me.user_id)) else {}),
        },
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
            for run in runner_of(services).runs(couple.chat_id, JEALOUS, finished=True)
            if run.owner == user_id
        ],
    }


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("jealous", "calm", in_group=True, in_private=True),
        Command("breathe", "calm", in_group=True, in_private=True),
    )
    services.exporters["calm"] = export_calm
    runner_of(services).add(CHECK)
    app.add_handler(CommandHandler("jealous", jealous_command))
    app.add_handler(CommandHandler("breathe", breathe_command))
