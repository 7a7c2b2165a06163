"""/export gives a partner their data; /forget erases the couple's, after a confirmation.

The confirmation is a flow (bot.flows): only the partner who asked can answer it, its buttons
name nothing that is ever reused (a button from before an earlier /forget is stale), and it
expires after FORGET_LIFETIME.

The couple's data is both partners', so one partner's /forget doesn't erase the other's at once.
Once confirmed, the couple is *closing*: nothing runs any more (every timer is on hold, every
open question closes, commands are answered that the data is being erased), and the other
partner is told in private. For FORGET_AFTER days each of them can still /export their own data;
then the couple's whole file is erased, the shared setup and both partners' private entries
together. Private entries belong to one couple each (bot.which): a partner's entries for another
couple of theirs are in that couple's file, and stay. The other partner can have it erased
sooner (a button under their notice). A couple with one partner only is erased at once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict

from telegram import Chat, InputFile, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CommandHandler

from bot.context import Command, MendContext, Services
from bot.couples import erase_couple, group_locale, partner_locale
from bot.flows import Flow, Option, Run, Step, Turn, runner_of
from bot.guards import Asked, partner_with_data, partners_only
from bot.links import private_link_button, welcome_buttons
from bot.messages import reply, say
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.storage import Kind
from bot.timers import TIMERS_TABLE, Fired

log = logging.getLogger(__name__)

FORGET = "forget"
FORGET_LIFETIME = timedelta(minutes=10)
FORGET_AFTER = timedelta(days=7)  # the other partner's time to /export before all is erased
ERASE_LATER = "forget_erase"  # the timer that erases a closing couple
NOTICE = "forget_notice"  # the other partner's private notice, with "erase it now"


class Closing(TypedDict):
    """A partner's /forget, confirmed: who asked, when, and when everything is erased."""

    id: NotRequired[int]
    asked_by: int
    asked_at: str | None
    erase_at: str | None


CLOSING_TABLE = Kind[Closing]("closing")


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


@partner_with_data
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
    await runner_of(context.mend).begin(
        context,
        asked.couple,
        FORGET,
        owner=asker,
        data={"name": asker.name, "alone": not asked.couple.is_full},
    )


def _confirmed(turn: Turn) -> str | None:
    """Yes: a couple of one is erased once the answer is delivered (see _erased); a couple of
    two closes: nothing runs, the other is told, and all is erased after FORGET_AFTER."""
    if turn.value != "yes":
        return "kept"
    couple = turn.tx.couple()
    assert couple is not None
    other = couple.other(turn.partner.user_id)
    if other is None:
        turn.data["erase"] = True
        return None
    erase_at = utcnow() + FORGET_AFTER
    _close(turn, couple, other, erase_at)
    turn.data.update(
        other=other.name,
        other_private=other.private_chat,
        erase_at=to_iso(erase_at),
        times=[{"name": p.name, "zone": p.timezone} for p in couple.partners],
    )
    return "closing"


def _close(turn: Turn, couple: Couple, other: Partner, erase_at: datetime) -> None:
    """Inside the confirmation's transaction: the couple closes and its erasure is set."""
    services, tx = turn.services, turn.tx
    couple.status = "closing"
    tx.save(couple)
    tx.table(CLOSING_TABLE).insert(
        {
            "asked_by": turn.partner.user_id,
            "asked_at": to_iso(utcnow()),
            "erase_at": to_iso(erase_at),
        }
    )
    for run in runner_of(services).open_runs(tx):
        if run.token != turn.run.token:
            runner_of(services).close(tx, run)
    services.timers.suspend_all(couple.chat_id, tx=tx)
    services.timers.schedule(couple.chat_id, ERASE_LATER, erase_at, tx=tx)
    if other.private_chat:
        runner_of(services).start(
            tx,
            couple,
            NOTICE,
            owner=other,
            where="private",
            data={
                "name": turn.partner.name,
                "group": couple.title,
                "erase_at": to_iso(erase_at),
                "zone": other.timezone,
            },
        )
    log.info("a couple closes; its data is erased in %d days", FORGET_AFTER.days)


def _closing_view(run: Run) -> dict[str, Any]:
    """The erasure's moment, for the templates (kept as text in the run)."""
    return {"erase_at": from_iso(run.data.get("erase_at"))}


async def _erased(context: MendContext, couple: Couple, run: Run) -> None:
    """After a confirmed /forget in a couple of one, or "erase it now" from the other
    partner: erase everything, then say so in the group with a way to start again."""
    if run.data.get("erase"):
        await _erase(context, couple.chat_id, run.data.get("by", run.data.get("name", "")))


async def _erase(context: MendContext, chat_id: int, name: str) -> None:
    services = context.mend
    couple = services.store.couple(chat_id)
    if couple is None:
        return
    locale = group_locale(services, couple)
    erase_couple(services, chat_id)
    await say(
        context,
        chat_id,
        locale,
        "privacy/forget_done",
        name=name,
        buttons=welcome_buttons(services, locale),
    )


async def erase_later(context: MendContext, fired: Fired) -> None:
    """The other partner's days to /export have passed: the couple's data goes."""
    couple = context.mend.store.couple(fired.chat_id)
    if couple is None or couple.status != "closing":
        return
    await _erase(context, fired.chat_id, "")
    log.info("erased a couple's data %d days after /forget", FORGET_AFTER.days)


def _now_or_wait(turn: Turn) -> str | None:
    """The other partner's "erase it now", confirmed: erased once this answer is delivered."""
    if turn.value != "yes":
        return "notice"
    turn.data.update(erase=True, by=turn.partner.name)
    return None


FORGET_FLOW = Flow(
    name=FORGET,
    first="confirm",
    lifetime=FORGET_LIFETIME,
    not_yours="alert.forget_not_yours",
    finished=_erased,
    steps={
        "confirm": Step(
            "privacy/forget_confirm",
            [[Option("yes", "privacy.forget_yes")], [Option("no", "privacy.forget_no")]],
            answer=_confirmed,
            data=lambda run: {"days": FORGET_AFTER.days, "alone": run.data.get("alone", False)},
        ),
        "kept": Step("privacy/forget_kept"),
        "closing": Step("privacy/forget_closing", data=_closing_view),
    },
)

NOTICE_FLOW = Flow(
    name=NOTICE,
    where="private",
    first="notice",
    finished=_erased,
    steps={
        "notice": Step(
            "privacy/forget_notice",
            [[Option("now", "privacy.erase_now")]],
            next="confirm_now",
            edit=True,
            data=_closing_view,
        ),
        "confirm_now": Step(
            "privacy/forget_now_confirm",
            [[Option("yes", "privacy.forget_yes")], [Option("no", "privacy.erase_wait")]],
            answer=_now_or_wait,
            edit=True,
            data=_closing_view,
        ),
    },
)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("export", "privacy", in_group=True, in_private=True),
        Command("forget", "privacy", in_group=True, in_private=False),
    )
    app.add_handler(CommandHandler("export", export_command))
    app.add_handler(CommandHandler("forget", forget_command))
    runner_of(services).add(FORGET_FLOW, NOTICE_FLOW)
    # Erasing must happen, whatever the downtime.
    services.timers.register(ERASE_LATER, erase_later, late_limit=timedelta(days=3650))
