"""/export gives a partner their data; /forget erases the couple's, after a confirmation.

The confirmation is a flow (bot.flows): only the partner who asked can answer it, its buttons
name nothing that is ever reused (a button from before an earlier /forget is stale), and it
expires after FORGET_LIFETIME.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from telegram import Chat, InputFile, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CommandHandler

from bot.context import Command, MendContext, Services
from bot.couples import erase_couple, group_locale, partner_locale
from bot.flows import Flow, Option, Run, Step, Turn
from bot.guards import Asked, known_partner, partners_only
from bot.links import private_link_button, welcome_buttons
from bot.messages import reply, say
from bot.model import Couple, to_iso, utcnow
from bot.timers import TIMERS_TABLE

FORGET = "forget"
FORGET_LIFETIME = timedelta(minutes=10)


def export_document(services: Services, couples: list[Couple], user_id: int) -> dict[str, Any]:
    """Everything the bot keeps about this person: their settings, their couples' shared
    settings and plans, and their own private entries; never the other partner's private ones."""
    sections = []
    for couple in couples:
        me, other = couple.partner(user_id), couple.other(user_id)
        if me is None:
            continue
        section: dict[str, Any] = {
            "group": couple.title,
            "created_at": to_iso(couple.created_at),
            "setup_completed_at": to_iso(couple.setup_completed_at),
            "status": couple.status,
            "path": couple.path,
            "group_language": couple.language,
            "you": me.to_doc(),
            "partner": None if other is None else {"name": other.name, "role": other.role},
            "scheduled": [
                {"kind": r["kind"], "due": r["due"]}
                for r in services.store.records(couple.chat_id, TIMERS_TABLE)
                if r.get("partner") in (None, user_id)
            ],
        }
        for name, exporter in services.exporters.items():
            section[name] = exporter(services, couple, user_id)
        sections.append(section)
    return {"exported_at": to_iso(utcnow()), "user_id": user_id, "couples": sections}


@known_partner
async def export_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/export: the partner's data as a JSON document, always in their private chat."""
    services = context.mend
    me, couples = asked.partner, list(asked.couples)
    document = export_document(services, couples, me.user_id)
    data = json.dumps(document, ensure_ascii=False, indent=2).encode()
    filename = f"mend-export-{utcnow().date().isoformat()}.json"
    locale = partner_locale(services, me)
    caption = services.render.message(locale, "privacy/export_caption", count=len(couples))
    try:
        await context.bot.send_document(
            me.user_id, InputFile(data, filename=filename), caption=caption
        )
    except (Forbidden, BadRequest) as error:
        # They never opened the private chat, or blocked the bot: say so in the group.
        if asked.private or not _unreachable(error):
            raise
        locale = asked.locale
        await reply(
            update,
            context,
            locale,
            "privacy/export_unreachable",
            buttons=[[private_link_button(services, locale)]],
            name=me.name,
        )
        return
    if not asked.private:
        await reply(update, context, asked.locale, "privacy/export_sent", name=me.name)


def _unreachable(error: Exception) -> bool:
    return isinstance(error, Forbidden) or (
        isinstance(error, BadRequest) and "chat not found" in error.message.lower()
    )


async def forget_command(update: Update, context: MendContext) -> None:
    chat = update.effective_chat
    if chat is not None and chat.type == Chat.PRIVATE:
        user = update.effective_user
        locale = context.mend.render.locale_for(user.language_code if user else None)
        await reply(update, context, locale, "privacy/forget_in_group")
        return
    await _forget_in_group(update, context)


@partners_only
async def _forget_in_group(update: Update, context: MendContext, asked: Asked) -> None:
    """/forget in the group: ask the one who asked to confirm."""
    asker = asked.partner
    await context.mend.runner.begin(
        context, asked.couple, FORGET, owner=asker, data={"name": asker.name}
    )


def _confirmed(turn: Turn) -> str | None:
    """Yes: the couple is erased once the answer is delivered (see _erase); no: kept."""
    if turn.value == "yes":
        turn.data["erase"] = True
        return None
    return "kept"


async def _erase(context: MendContext, couple: Couple, run: Run) -> None:
    """After a confirmed /forget: erase everything, then say so with a way to start again."""
    if not run.data.get("erase"):
        return
    services = context.mend
    locale = group_locale(services, couple)
    erase_couple(services, couple.chat_id)
    await say(
        context,
        couple.chat_id,
        locale,
        "privacy/forget_done",
        name=run.data.get("name", ""),
        buttons=welcome_buttons(services, locale),
    )


FORGET_FLOW = Flow(
    name=FORGET,
    first="confirm",
    lifetime=FORGET_LIFETIME,
    not_yours="alert.forget_not_yours",
    finished=_erase,
    steps={
        "confirm": Step(
            "privacy/forget_confirm",
            [[Option("yes", "privacy.forget_yes")], [Option("no", "privacy.forget_no")]],
            answer=_confirmed,
        ),
        "kept": Step("privacy/forget_kept"),
    },
)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("export", "privacy", in_group=True, in_private=True),
        Command("forget", "privacy", in_group=True, in_private=False),
    )
    app.add_handler(CommandHandler("export", export_command))
    app.add_handler(CommandHandler("forget", forget_command))
    services.runner.add(FORGET_FLOW)
