"""/pause: the cooling-off protocol.

A partner asks for a break (30 minutes by default, 20 at least — the time a flooded body needs
to calm — and 24 hours at most). The group sees who paused and when both come back, each in
their own time; grounding is offered (breathing, a private journaling prompt, or just rest).
Only the partner who paused ends it early (/resume): the one who needed the break decides when
they are ready; the other can send a quiet "ready when you are". Either partner may add time
(/extend), and the group sees who did. At the end both are invited back with a gentle way to
restart. One pause at a time per couple.

While a pause runs, the group's prompts (check-ins, reviews, reveals, window openings) wait for
its end: the timers read when it ends (`services.reads.pause_ends`), and are told when it has.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.breathing import run_breathing
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.flows import STAY, Flow, Option, Step, Turn, runner_of
from bot.guards import Asked, partners_only
from bot.messages import (
    group_message,
    reply,
    say_private,
)
from bot.model import Couple, from_iso, to_iso, utcnow
from bot.reading import read_duration
from bot.render import shorten
from bot.storage import Kind, Store, Transaction
from bot.timers import Fired


class Pause(TypedDict):
    """A cooling-off pause: who took it, until when, and when it ended and by whom."""

    id: NotRequired[int]
    by: int
    started_at: str | None
    ends_at: str | None  # moved on by /extend
    minutes: int  # the length asked for at the start
    ended_at: str | None  # None while it runs
    ended_by: int | None  # who ended it early (None: its time was up)


PAUSES_TABLE = Kind[Pause]("pauses")
PAUSE_END = "pause_end"
DEFAULT_MINUTES = 30
MIN_MINUTES = 20
MAX_MINUTES = 24 * 60
DEFAULT_EXTENSION = 15
MIN_EXTENSION = 5
BREATHE = "pause.breathe"  # the event of a partner who chose to breathe during a pause
# A pause end missed during downtime is still worth a word up to this late.
LATE_LIMIT = timedelta(hours=24)


def active_pause(services: Services, chat_id: int) -> Pause | None:
    """The couple's running pause, if any."""
    return _running_in(services.store, chat_id)


def _running_in(store: Store, chat_id: int) -> Pause | None:
    now = utcnow()
    return next((r for r in store.records(chat_id, PAUSES_TABLE) if _runs(r, now)), None)


def _runs(pause: Pause, now: datetime) -> bool:
    """Whether a pause runs at `now`: not ended, and its time not up more than LATE_LIMIT ago
    (its end was then dropped as stale: the bot was down, or out of the group, that long; it
    must not hold back prompts and new pauses for ever)."""
    ends = from_iso(pause["ends_at"])
    return pause["ended_at"] is None and (ends is None or now - ends <= LATE_LIMIT)


def _times(couple: Couple, moment: datetime) -> list[dict[str, Any]]:
    """A moment as each partner reads it on their own clock."""
    return [{"name": p.name, "zone": p.timezone, "at": moment} for p in couple.partners]


@partners_only
async def pause_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/pause [length]: start a pause, or see what is left of the running one.

    A pause always starts: a length that can't be read is the usual 30 minutes, one under 20
    minutes is 20, one over a day is a day, and the message says why."""
    services = context.mend
    couple, me, locale = asked.couple, asked.partner, asked.locale
    running = active_pause(services, couple.chat_id)
    if running is not None:
        ends_at = from_iso(running["ends_at"])
        assert ends_at is not None
        left = max(0, round((ends_at - utcnow()).total_seconds() / 60))
        await reply(
            update,
            context,
            locale,
            "pause/running",
            by=_name(couple, running["by"]),
            minutes_left=left,
            times=_times(couple, ends_at),
        )
        return
    typed = asked.text
    minutes, adjusted = _length(typed)
    now = utcnow()
    ends_at = now + timedelta(minutes=minutes)
    with services.store.transaction(couple.chat_id) as tx:
        pauses = tx.table(PAUSES_TABLE)
        if any(_runs(r, now) for r in pauses.all()):
            return  # another /pause got there first
        for stale in (r for r in pauses.all() if r["ended_at"] is None):
            pauses.update(stale["id"], {"ended_at": stale["ends_at"]})  # it ended then
        pause_id = tx.table(PAUSES_TABLE).insert(
            {
                "by": me.user_id,
                "started_at": to_iso(now),
                "ends_at": to_iso(ends_at),
                "minutes": minutes,
                "ended_at": None,
                "ended_by": None,
            }
        )
        services.timers.schedule(
            couple.chat_id, PAUSE_END, ends_at, payload={"pause": pause_id}, tx=tx
        )
        # The grounding buttons belong to this pause: pressed after it, they are stale.
        runner_of(services).start(
            tx,
            couple,
            GROUNDING.name,
            owner=me,
            data={"pause": pause_id, "journal": []},
            show={
                "name": asked.first_name,
                "minutes": minutes,
                "times": _times(couple, ends_at),
                "adjusted": adjusted,
                "typed": shorten(typed),
                "low": MIN_MINUTES,
                "high": MAX_MINUTES,
            },
        )
    await services.outbox.deliver(context, couple.chat_id)


def _length(typed: str) -> tuple[int, str | None]:
    """The pause's minutes from what was typed, held to 20–1440, and why it was changed
    ("unread", "short", "long"), if it was."""
    if not typed:
        return DEFAULT_MINUTES, None
    minutes = read_duration(typed)
    if minutes is None:
        return DEFAULT_MINUTES, "unread"
    if minutes < MIN_MINUTES:
        return MIN_MINUTES, "short"
    if minutes > MAX_MINUTES:
        return MAX_MINUTES, "long"
    return minutes, None


def _name(couple: Couple, user_id: int) -> str:
    partner = couple.partner(user_id)
    return partner.name if partner else "?"


def _ground(turn: Turn) -> str:
    """Grounding during the pause, for whoever pressed: breathing, a private journaling
    prompt (once per partner and pause), or rest. The buttons stay for the other partner."""
    partner = turn.partner
    if turn.value == "rest":
        turn.toast = "alert.pause_rest_answer"
    elif turn.value == "journal":
        if not partner.private_chat:
            turn.toast, turn.alert = "alert.pause_open_private_first", True
        elif partner.user_id in turn.data["journal"]:
            turn.toast = "alert.pause_prompt_sent_already"
        else:
            turn.data["journal"].append(partner.user_id)
            turn.say(partner, "pause/journal_prompt", name=partner.name)
            turn.toast = "alert.pause_sent_private"
    else:
        turn.emit(BREATHE, partner=partner.user_id)
    return STAY


GROUNDING = Flow(
    name="grounding",
    first="ground",
    steps={
        "ground": Step(
            "pause/started",
            [
                [Option("breathe", "pause.breathe")],
                [Option("journal", "pause.journal")],
                [Option("rest", "pause.rest")],
            ],
            answer=_ground,
            who="partners",
        )
    },
)


async def _breathe(context: MendContext, couple: Couple, *, partner: int) -> None:
    """Breathing in the partner's private chat when it is open, else in the group; it runs for
    a while, so it runs beside the handling of other updates, not in their way."""
    services = context.mend
    who = couple.partner(partner)
    if who is None:
        return
    if who.private_chat:
        breathing = run_breathing(context, who.user_id, partner_locale(services, who))
    else:
        breathing = run_breathing(context, couple.chat_id, group_locale(services, couple))
    context.application.create_task(breathing)


def _close_grounding(services: Services, tx: Transaction, pause_id: int) -> None:
    """Inside the couple's transaction: the pause's grounding buttons go with it."""
    for run in runner_of(services).runs_in(tx, GROUNDING.name):
        if run.data.get("pause") == pause_id:
            runner_of(services).close(tx, run)


async def _running(update: Update, context: MendContext, asked: Asked) -> Pause | None:
    """The running pause, or None after saying there is none."""
    running = active_pause(context.mend, asked.couple.chat_id)
    if running is None:
        await reply(update, context, asked.locale, "pause/none")
    return running


@partners_only
async def resume_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/resume: the partner who paused ends it; the other sends a quiet "ready when you are"."""
    services = context.mend
    couple, me, locale = asked.couple, asked.partner, asked.locale
    running = await _running(update, context, asked)
    if running is None:
        return
    pauser = couple.partner(running["by"])
    if running["by"] != me.user_id and pauser is not None:
        sent = await say_private(
            context, couple, pauser, "pause/ready_when_you_are", name=asked.first_name
        )
        if sent is None:  # they can't be reached privately: the quiet word goes to the group
            await reply(
                update,
                context,
                locale,
                "pause/ready_when_you_are_group",
                name=asked.first_name,
                pauser=pauser.name,
            )
        else:
            await reply(update, context, locale, "pause/ready_sent", pauser=pauser.name)
        return
    with services.store.transaction(couple.chat_id) as tx:
        _end(services, tx, running, me.user_id)
        services.outbox.put(
            tx,
            group_message(
                services,
                couple,
                "pause/ended",
                early=True,
                late=False,
                name=asked.first_name,
                names=[p.name for p in couple.partners],
                ended_at=utcnow(),
                times=[],
            ),
        )
    await services.outbox.deliver(context, couple.chat_id)
    services.timers.after_pause(couple.chat_id)


@partners_only
async def extend_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/extend [minutes]: either partner adds time (15 minutes by default); the group sees who."""
    services = context.mend
    couple, locale = asked.couple, asked.locale
    running = await _running(update, context, asked)
    if running is None:
        return
    ends_at, started_at = from_iso(running["ends_at"]), from_iso(running["started_at"])
    assert ends_at is not None and started_at is not None
    most = MAX_MINUTES - round((ends_at - started_at).total_seconds() / 60)
    minutes = read_duration(" ".join(asked.args)) if asked.args else DEFAULT_EXTENSION
    if minutes is None or not MIN_EXTENSION <= minutes <= max(MIN_EXTENSION, most):
        await reply(
            update,
            context,
            locale,
            "pause/extend_usage",
            low=MIN_EXTENSION,
            high=max(MIN_EXTENSION, most),
            default=DEFAULT_EXTENSION,
            full=most <= 0,
        )
        return
    new_end = ends_at + timedelta(minutes=minutes)
    pauser = _name(couple, running["by"])
    with services.store.transaction(couple.chat_id) as tx:
        services.timers.cancel_kind(couple.chat_id, PAUSE_END)
        tx.table(PAUSES_TABLE).update(running["id"], {"ends_at": to_iso(new_end)})
        services.timers.schedule(
            couple.chat_id, PAUSE_END, new_end, payload={"pause": running["id"]}, tx=tx
        )
        services.outbox.put(
            tx,
            group_message(
                services,
                couple,
                "pause/extended",
                name=asked.first_name,
                pauser=None if running["by"] == asked.partner.user_id else pauser,
                minutes=minutes,
                times=_times(couple, new_end),
            ),
        )
    await services.outbox.deliver(context, couple.chat_id)


def _end(services: Services, tx: Transaction, pause: Pause, ended_by: int | None) -> None:
    """Inside the couple's transaction: the pause ends now, its end timer goes."""
    couple = tx.couple()
    assert couple is not None
    services.timers.cancel_kind(couple.chat_id, PAUSE_END)
    tx.table(PAUSES_TABLE).update(pause["id"], {"ended_at": to_iso(utcnow()), "ended_by": ended_by})
    _close_grounding(services, tx, pause["id"])


async def pause_over(context: MendContext, fired: Fired) -> None:
    """The agreed time is up: invite both back, gently (and say so if the word comes late).

    The pause ends and the word is owed in one change; the outbox delivers it once, even if
    Telegram fails or the bot stops in between."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        pause = tx.table(PAUSES_TABLE).get(int(fired.payload.get("pause", 0)))
        if couple is None or pause is None or pause["ended_at"] is not None:
            return
        tx.table(PAUSES_TABLE).update(pause["id"], {"ended_at": to_iso(fired.due)})
        _close_grounding(services, tx, pause["id"])
        services.outbox.put(
            tx,
            group_message(
                services,
                couple,
                "pause/ended",
                early=False,
                late=fired.late,
                name=_name(couple, pause["by"]),
                names=[p.name for p in couple.partners],
                ended_at=fired.due,
                times=_times(couple, fired.due),
            ),
        )
    await services.outbox.deliver(context, fired.chat_id)
    services.timers.after_pause(fired.chat_id)


def pauses_export(services: Services, couple: Couple, user_id: int) -> list[dict[str, Any]]:
    """Pauses are shared: both partners saw them in the group."""
    return [
        {k: r[k] for k in ("started_at", "ends_at", "ended_at", "minutes")}
        | {"mine": r["by"] == user_id}
        for r in services.store.records(couple.chat_id, PAUSES_TABLE)
    ]


def pause_starts(store: Store, chat_id: int) -> list[datetime]:
    """When each of the couple's pauses began (services.reads)."""
    return [
        started
        for r in store.records(chat_id, PAUSES_TABLE)
        if (started := from_iso(r["started_at"])) is not None
    ]


def pause_ends(store: Store, chat_id: int) -> datetime | None:
    """When the couple's running pause ends, if one runs (services.reads)."""
    running = _running_in(store, chat_id)
    return from_iso(running["ends_at"]) if running is not None else None


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("pause", "calm"),
        Command("resume", "calm"),
        Command("extend", "calm"),
    )
    services.timers.register(PAUSE_END, pause_over, late_limit=LATE_LIMIT, one_write=True)
    services.exporters["pauses"] = pauses_export
    services.reads.pauses = pause_starts
    services.reads.pause_ends = pause_ends
    app.add_handler(CommandHandler("pause", pause_command))
    app.add_handler(CommandHandler("resume", resume_command))
    app.add_handler(CommandHandler("extend", extend_command))
    runner_of(services).add(GROUNDING)
    services.on(BREATHE, _breathe)
