"""Daily rituals: the morning note, the appreciation of the day, the bedtime positive.

Each partner chooses which rituals they want and when, on their own clock (`/rituals`, in the
group or in private). None is on until chosen: the guide's advice is to start with one ritual,
agreed together, and let more grow from there. At the chosen time the partner gets a quiet nudge
in their private chat to send their partner the note, with "Done", "Write it here" (the bot
passes the note on to the group), "Later" (an hour) and "Skip today". Whether one partner did
or skipped a ritual is never shown to the other.

A prompt comes at the time the partner chose, on their clock. A time inside their own quiet
hours is said when it is chosen (and marked in /rituals): the nudge still comes then, because
they asked for it, but silently, as everything that reaches someone in quiet hours does
(bot.quiet). One that comes due while the bot was down is dropped, never replayed: each chosen
ritual always has exactly one next prompt pending, put back at start-up if it was lost.
`/away 2026-12-24` pauses a partner's prompts through that day of their own calendar (inclusive;
they return the day after); `/back` resumes them at once. Away-mode is a personal setting kept
with the partner (bot.when.is_away): the weekly reflection and the letter prompts respect it too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, NotRequired, TypedDict

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import Command, MendContext, Services
from bot.couples import update_partner
from bot.dates import day_as_moment
from bot.flows import Flow, Option, Rows, Run, Step, Turn, Unreadable, literal, runner_of
from bot.guards import Asked, known_partner
from bot.messages import reply
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.outbox import GROUP
from bot.quiet import partner_is_quiet
from bot.reading import read_clock, read_date
from bot.render import Renderer, shorten
from bot.roadmap import phase_of, roadmap_month
from bot.storage import Kind, Store, Transaction
from bot.timers import TIMERS_TABLE, Fired, Timers
from bot.when import is_away, local_day, next_local


class RitualSettings(TypedDict):
    """A partner's ritual choices in a couple (away-mode moved to the partner in schema 2)."""

    id: NotRequired[int]
    partner: int
    on: list[str]  # the rituals chosen, of RITUALS
    at: dict[str, str]  # ritual → "HH:MM" on the partner's clock (DEFAULT_AT for the rest)


class RitualDay(TypedDict):
    """How one ritual went for a partner on a day of their calendar (kept KEEP_DAYS)."""

    id: NotRequired[int]
    partner: int
    ritual: str
    day: str  # ISO date
    status: str  # "prompted", "snoozed", "skipped" or "done"
    updated_at: str | None


SETTINGS_TABLE = Kind[RitualSettings]("ritual_settings")
DAYS_TABLE = Kind[RitualDay]("ritual_days")
PROMPT = "ritual_prompt"
AGAIN = "ritual_again"
RITUALS = ("morning", "appreciation", "bedtime")
DEFAULT_AT = {"morning": "08:00", "appreciation": "18:00", "bedtime": "21:30"}
PRESETS = {
    "morning": ("07:00", "07:30", "08:00", "08:30", "09:00"),
    "appreciation": ("12:30", "17:00", "18:00", "19:00", "20:00"),
    "bedtime": ("21:00", "21:30", "22:00", "22:30", "23:00"),
}
SNOOZE = timedelta(hours=1)
# A prompt this far past its time (a slow start after downtime) no longer fits the day: dropped.
TOO_LATE = timedelta(hours=3)
MAX_NOTE = 1000
MAX_AWAY_DAYS = 366
KEEP_DAYS = 120  # how long a day's done/skipped mark is kept (milestones look back weeks)
FINAL = ("done", "skipped")


# -- settings ----------------------------------------------------------------------------------


def settings_of(store: Store, chat_id: int, user_id: int) -> RitualSettings:
    """A partner's ritual choices in a couple (all off, default times, until they choose)."""
    stored = next(
        (r for r in store.records(chat_id, SETTINGS_TABLE) if r["partner"] == user_id), None
    )
    chosen: RitualSettings = {"partner": user_id, "on": [], "at": {}}
    if stored is not None:
        chosen.update(stored)
    chosen["at"] = {**DEFAULT_AT, **chosen["at"]}
    return chosen


# -- the prompt series -------------------------------------------------------------------------


def _next_prompt(partner: Partner, at: str, after: datetime) -> datetime:
    return next_local(time.fromisoformat(at), partner.timezone, after)


def in_quiet_hours(partner: Partner, at: str) -> bool:
    """Whether the partner's next `at` falls in their own quiet hours (the nudge then comes
    without a sound)."""
    return partner_is_quiet(partner, _next_prompt(partner, at, utcnow()))


def _schedule(
    timers: Timers,
    couple: Couple,
    partner: Partner,
    ritual: str,
    at: str,
    after: datetime,
    besides: int | None = None,
) -> None:
    """The ritual's next prompt for the partner, unless one is already pending."""
    if any(
        t.get("partner") == partner.user_id
        and t["payload"].get("ritual") == ritual
        and t["id"] != besides
        for t in timers.pending(couple.chat_id, PROMPT)
    ):
        return
    due = _next_prompt(partner, at, after)
    timers.schedule(
        couple.chat_id,
        PROMPT,
        due,
        partner=partner.user_id,
        payload={"ritual": ritual, "day": local_day(due, partner).isoformat(), "for": to_iso(due)},
    )


def _reschedule(services: Services, couple: Couple, partner: Partner, ritual: str) -> None:
    """After a change of choice or time: the old prompt goes, a new one comes if it is on."""
    timers = services.timers
    for kind in (PROMPT, AGAIN):
        for pending in timers.pending(couple.chat_id, kind):
            if (
                pending.get("partner") == partner.user_id
                and pending["payload"].get("ritual") == ritual
            ):
                timers.cancel(couple.chat_id, pending["id"])
    chosen = settings_of(services.store, couple.chat_id, partner.user_id)
    if ritual in chosen["on"]:
        _schedule(timers, couple, partner, ritual, chosen["at"][ritual], utcnow())


def ensure(timers: Timers, couple: Couple) -> None:
    """Every chosen ritual has its next prompt pending (a missed one was dropped). Cheap for
    the many couples without rituals: it runs when a couple is set up, and at start-up for
    one that lost a timer as stale or has none (Timers.reconcile_with)."""
    if not any(r.get("on") for r in timers.store.records(couple.chat_id, SETTINGS_TABLE)):
        return
    waiting = {
        (t.get("partner"), t["payload"].get("ritual"))
        for t in timers.pending(couple.chat_id, PROMPT)
    }
    now = utcnow()
    for partner in couple.partners:
        chosen = settings_of(timers.store, couple.chat_id, partner.user_id)
        for ritual in chosen["on"]:
            if ritual in RITUALS and (partner.user_id, ritual) not in waiting:
                _schedule(timers, couple, partner, ritual, chosen["at"][ritual], now)


async def prompt_due(context: MendContext, fired: Fired) -> None:
    """A ritual's time: a quiet nudge in the partner's private chat (its series goes on, and
    the nudge is owed, in one change)."""
    services = context.mend
    ritual, day = str(fired.payload.get("ritual")), str(fired.payload.get("day"))
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        partner = couple.partner(fired.partner) if couple and fired.partner else None
        if couple is None or partner is None or couple.status != "active":
            return
        if ritual not in RITUALS:
            return
        chosen = settings_of(services.store, couple.chat_id, partner.user_id)
        now = utcnow()
        intended = from_iso(fired.payload.get("for")) or fired.due
        if fired.kind == PROMPT and ritual in chosen["on"]:
            _schedule(
                services.timers,
                couple,
                partner,
                ritual,
                chosen["at"][ritual],
                max(now, intended),
                besides=fired.timer_id,
            )
        if (
            ritual not in chosen["on"]
            or now - intended > TOO_LATE
            or partner.left_group
            or not partner.private_chat
            or is_away(partner, intended)
            or _status(services.store, couple.chat_id, partner.user_id, ritual, day) in FINAL
        ):
            return
        # One nudge per ritual has buttons: the one before (yesterday's, or the one snoozed)
        # loses them, unless a note is being written to it.
        for older in runner_of(services).runs_in(tx, NUDGE):
            mine = older.owner == partner.user_id and older.data.get("ritual") == ritual
            if mine and older.step == "prompt":
                runner_of(services).close(tx, older)
        other = couple.other(partner.user_id)
        runner_of(services).start(
            tx,
            couple,
            NUDGE,
            owner=partner,
            data={
                "ritual": ritual,
                "day": day,
                "name": partner.name,
                "other": other.name if other else "",
                "phase": phase_of(roadmap_month(couple.setup_completed_at, now)),
                "again": fired.kind == AGAIN,
                "most": MAX_NOTE,
            },
        )
        _mark(tx, partner.user_id, ritual, day, "prompted")
    await services.outbox.deliver(context, fired.chat_id)


def _status(store: Store, chat_id: int, user_id: int, ritual: str, day: str) -> str | None:
    record = _day_record(store, chat_id, user_id, ritual, day)
    return None if record is None else str(record["status"])


def _day_record(
    store: Store, chat_id: int, user_id: int, ritual: str, day: str
) -> RitualDay | None:
    return next(
        (
            r
            for r in store.records(chat_id, DAYS_TABLE)
            if r["partner"] == user_id and r["ritual"] == ritual and r["day"] == day
        ),
        None,
    )


def _mark(tx: Transaction, user_id: int, ritual: str, day: str, status: str) -> None:
    """Inside the couple's transaction: note how a ritual went on a day (kept a few months,
    for the milestones)."""
    oldest = (utcnow() - timedelta(days=KEEP_DAYS)).date().isoformat()
    table = tx.table(DAYS_TABLE)
    records = table.all()
    found = next(
        (
            r
            for r in records
            if r["partner"] == user_id and r["ritual"] == ritual and r["day"] == day
        ),
        None,
    )
    now = to_iso(utcnow())
    if found is None:
        table.insert(
            {"partner": user_id, "ritual": ritual, "day": day, "status": status, "updated_at": now}
        )
    else:
        table.update(found["id"], {"status": status, "updated_at": now})
    for old in records:
        if old["day"] < oldest:
            table.remove(old["id"])


def done_days(store: Store, chat_id: int, user_id: int) -> set[date]:
    """The days (their own calendar) on which the partner kept at least one ritual."""
    return {
        date.fromisoformat(r["day"])
        for r in store.records(chat_id, DAYS_TABLE)
        if r["partner"] == user_id and r["status"] == "done"
    }


# -- the nudge: done, write it here, later, skip today -------------------------------------------

NUDGE = "ritual_nudge"


def _open_day(turn: Turn) -> bool:
    """Whether the nudge's day is still open (not done or skipped since, by another nudge)."""
    record = next(
        (
            r
            for r in turn.tx.table(DAYS_TABLE).all()
            if r["partner"] == turn.partner.user_id
            and r["ritual"] == turn.data["ritual"]
            and r["day"] == turn.data["day"]
        ),
        None,
    )
    return record is None or record["status"] not in FINAL


def _cancel_again(tx: Transaction, timers: Timers, user_id: int, ritual: str) -> None:
    couple = tx.couple()
    assert couple is not None
    for pending in timers.pending(couple.chat_id, AGAIN):
        if pending.get("partner") == user_id and pending["payload"].get("ritual") == ritual:
            tx.table(TIMERS_TABLE).remove(pending["id"])


def _nudged(turn: Turn) -> str | None:
    """Done, write it here, later (an hour), skip today: only while that day is open."""
    services = turn.runner.services
    me, ritual, day = turn.partner, str(turn.data["ritual"]), str(turn.data["day"])
    if not _open_day(turn):
        turn.toast, turn.alert = "alert.stale_button", True
        return None
    if turn.value == "write":
        return "note"
    _cancel_again(turn.tx, services.timers, me.user_id, ritual)
    if turn.value == "later":
        due = utcnow() + SNOOZE
        services.timers.schedule(
            turn.couple.chat_id,
            AGAIN,
            due,
            partner=me.user_id,
            payload={"ritual": ritual, "day": day, "for": to_iso(due)},
            tx=turn.tx,
        )
        _mark(turn.tx, me.user_id, ritual, day, "snoozed")
        turn.toast = "alert.rituals_later"
    elif turn.value == "skip":
        _mark(turn.tx, me.user_id, ritual, day, "skipped")
        turn.toast = "alert.rituals_skipped"
    else:
        _mark(turn.tx, me.user_id, ritual, day, "done")
        turn.data["kept"] = True
        turn.toast = "alert.rituals_done"
    return None


def _read_note(text: str) -> str:
    if len(text) > MAX_NOTE:
        raise Unreadable("alert.rituals_note_too_long", most=MAX_NOTE, length=len(text))
    return text


def _note_written(turn: Turn) -> str | None:
    """The note written here: passed on to the group, and the ritual counts as kept."""
    if not _open_day(turn):
        return "already"
    ritual = str(turn.data["ritual"])
    turn.say(
        GROUP,
        "rituals/note_passed",
        ritual=ritual,
        name=turn.partner.name,
        other=turn.data["other"],
        text=turn.value,
    )
    _cancel_again(turn.tx, turn.runner.services.timers, turn.partner.user_id, ritual)
    _mark(turn.tx, turn.partner.user_id, ritual, str(turn.data["day"]), "done")
    turn.data["kept"] = True
    return "sent"


async def _nudge_finished(context: MendContext, couple: Couple, run: Run) -> None:
    if run.data.get("kept"):
        await context.mend.emit("ritual.kept", context, couple)


NUDGE_FLOW = Flow(
    name=NUDGE,
    where="private",
    first="prompt",
    steps={
        "prompt": Step(
            "rituals/prompt",
            [
                [Option("done", "rituals.done"), Option("write", "rituals.write_here")],
                [Option("later", "rituals.later"), Option("skip", "rituals.skip")],
            ],
            answer=_nudged,
        ),
        "note": Step("rituals/note_ask", read=_read_note, answer=_note_written),
        "sent": Step("rituals/note_sent"),
        "already": Step("rituals/note_already"),
    },
    not_yours="alert.rituals_not_yours",
    finished=_nudge_finished,
)


# -- /rituals ----------------------------------------------------------------------------------


def _overview(store: Store, couple: Couple, me: Partner) -> dict[str, Any]:
    """What /rituals shows: each ritual on or off and its time, away-mode, reachability."""
    chosen = settings_of(store, couple.chat_id, me.user_id)
    until = me.away_until
    today = local_day(utcnow(), me)
    return {
        "name": me.name,
        "zone": me.timezone,
        "rituals": [
            {
                "key": r,
                "on": r in chosen["on"],
                "at": chosen["at"][r],
                "quiet": in_quiet_hours(me, chosen["at"][r]),
            }
            for r in RITUALS
        ],
        "away_until": until.isoformat() if until and until >= today else None,
        "reachable": me.private_chat,
    }


def _overview_shown(run: Run) -> dict[str, Any]:
    until = run.data.get("away_until")
    return {"away_until": day_as_moment(date.fromisoformat(until)) if until else None}


def _toggle_text(key: str, state: str) -> Callable[[Renderer, str], str]:
    def text(render: Renderer, locale: str) -> str:
        return render.label(locale, state, ritual=render.label(locale, f"rituals.{key}"))

    return text


def _toggles(run: Run) -> Rows:
    """Per ritual: on/off, and its time."""
    return [
        [
            Option(
                f"t{index}",
                text=_toggle_text(item["key"], "rituals.on" if item["on"] else "rituals.off"),
            ),
            Option(f"c{index}", "rituals.time", {"at": item["at"]}),
        ]
        for index, item in enumerate(run.data["rituals"])
    ]


def _settings_changed(turn: Turn, ritual: str, fields: Mapping[str, Any]) -> None:
    """Save the owner's choice, move the ritual's prompts, and show the overview anew."""
    services = turn.runner.services
    me = turn.partner
    table = turn.tx.table(SETTINGS_TABLE)
    stored = next((r for r in table.all() if r["partner"] == me.user_id), None)
    if stored is None:
        table.update(table.insert({"partner": me.user_id, "on": [], "at": {}}), fields)
    else:
        table.update(stored["id"], fields)
    _reschedule(services, turn.couple, me, ritual)
    turn.data.update(_overview(services.store, turn.couple, me))


def _overview_pressed(turn: Turn) -> str | None:
    """A ritual's toggle (the overview is shown anew) or its time (the times to pick from)."""
    kind, index = str(turn.value)[0], int(str(turn.value)[1:])
    ritual = RITUALS[index]
    if kind == "c":
        # The times come as a message of their own; the overview stays as it is.
        turn.runner.start(
            turn.tx,
            turn.couple,
            TIME,
            owner=turn.partner,
            where=turn.run.where,
            data={**turn.data, "ritual": ritual, "overview": turn.run.token},
        )
        return "overview"
    chosen = settings_of(turn.runner.services.store, turn.couple.chat_id, turn.partner.user_id)
    _settings_changed(
        turn, ritual, {"on": [r for r in RITUALS if (r in chosen["on"]) != (r == ritual)]}
    )
    return "overview"


def _time_options(run: Run) -> Rows:
    presets = PRESETS[str(run.data["ritual"])]
    return [
        [Option(f"a{at.replace(':', '')}", text=literal(at)) for at in presets],
        [Option("other", "rituals.other_time")],
    ]


def _time_chosen(turn: Turn) -> str | None:
    if turn.value == "other":
        return "typed"
    at = read_clock(str(turn.value)[1:])
    return _set_time(turn, at) if at is not None else None


def _read_time(text: str) -> str:
    at = read_clock(text)
    if at is None:
        raise Unreadable("alert.rituals_bad_time", typed=shorten(text))
    return at


def _set_time(turn: Turn, at: str) -> str:
    """The ritual's new time (and it is on): said with what will happen if it falls in the
    partner's quiet hours, and the overview it was chosen from shows it at once."""
    ritual, me = str(turn.data["ritual"]), turn.partner
    chosen = settings_of(turn.runner.services.store, turn.couple.chat_id, me.user_id)
    on = chosen["on"] if ritual in chosen["on"] else [*chosen["on"], ritual]
    _settings_changed(turn, ritual, {"at": {**chosen["at"], ritual: at}, "on": on})
    turn.data.update(
        at=at, quiet=in_quiet_hours(me, at), quiet_start=me.quiet_start, quiet_end=me.quiet_end
    )
    overview = next(
        (
            run
            for run in turn.runner.runs_in(turn.tx, SETUP)
            if run.token == turn.data.get("overview")
        ),
        None,
    )
    if overview is not None:
        turn.runner.refresh(
            turn.tx, turn.couple, overview, _overview(turn.services.store, turn.couple, me)
        )
    return "set"


SETUP, TIME = "rituals", "ritual_time"
SETUP_FLOW = Flow(
    name=SETUP,
    first="overview",
    steps={
        "overview": Step(
            "rituals/overview",
            _toggles,
            answer=_overview_pressed,
            edit=True,
            data=_overview_shown,
        ),
    },
    not_yours="alert.rituals_not_yours",
)
TIME_FLOW = Flow(
    name=TIME,
    first="time",
    steps={
        "time": Step("rituals/pick_time", _time_options, answer=_time_chosen),
        "typed": Step(
            "rituals/ask_time", read=_read_time, answer=lambda turn: _set_time(turn, turn.value)
        ),
        "set": Step(
            "rituals/time_set",
            data=lambda run: {
                "reachable": bool(run.data.get("reachable")),
                "quiet": bool(run.data.get("quiet")),
                "quiet_start": run.data.get("quiet_start"),
                "quiet_end": run.data.get("quiet_end"),
            },
        ),
    },
    not_yours="alert.rituals_not_yours",
)


@known_partner
async def rituals_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/rituals: your rituals and their times, with buttons to change them (only yours)."""
    couple, me = asked.couple, asked.partner
    await runner_of(context.mend).begin(
        context,
        couple,
        SETUP,
        owner=me,
        where="private" if asked.private else "group",
        data=_overview(context.mend.store, couple, me),
    )


# -- away --------------------------------------------------------------------------------------


@known_partner
async def away_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/away 2026-12-24: no prompts for you through that day (your calendar)."""
    me, locale, typed = asked.partner, asked.locale, asked.text
    today = local_day(utcnow(), me)
    last = read_date(typed, today) if typed else None
    if last is None or not today <= last <= today + timedelta(days=MAX_AWAY_DAYS):
        await reply(
            update,
            context,
            locale,
            "rituals/away_usage",
            example=day_as_moment(today + timedelta(days=7)),
            iso=(today + timedelta(days=7)).isoformat(),
            typed=shorten(typed) if last is None else "",
            most=MAX_AWAY_DAYS,
        )
        return
    _set_away(context.mend, me.user_id, last)
    await reply(
        update,
        context,
        locale,
        "rituals/away_set",
        last=day_as_moment(last),
        back_on=day_as_moment(last + timedelta(days=1)),
    )


@known_partner
async def back_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/back: prompts again from now on."""
    me = asked.partner
    was_away = me.away_until is not None and me.away_until >= local_day(utcnow(), me)
    _set_away(context.mend, me.user_id, None)
    await reply(update, context, asked.locale, "rituals/back", was_away=was_away)


def _set_away(services: Services, user_id: int, last: date | None) -> None:
    """Away-mode is personal: it applies in every couple the person is part of."""

    def change(partner: Partner) -> None:
        partner.away_until = last

    update_partner(services, user_id, change)


# -- export and wiring -------------------------------------------------------------------------


def rituals_export(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """The person's own choices and days; never the other partner's."""
    chosen = settings_of(services.store, couple.chat_id, user_id)
    me = couple.partner(user_id)
    away = me.away_until if me is not None else None
    days = [
        {k: r.get(k) for k in ("ritual", "day", "status")}
        for r in services.store.records(couple.chat_id, DAYS_TABLE)
        if r["partner"] == user_id
    ]
    return {
        "on": chosen["on"],
        "at": chosen["at"],
        "away_until": away.isoformat() if away is not None else None,
        "days": days,
    }


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("rituals", "care", in_group=True, in_private=True),
        Command("away", "personal", in_group=False, in_private=True),
        Command("back", "personal", in_group=False, in_private=True),
    )
    # Prompts come at the partner's own chosen time (silently, in their quiet hours); one
    # missed while the bot was down is dropped, not replayed.
    services.timers.register(PROMPT, prompt_due)
    services.timers.register(AGAIN, prompt_due)
    services.timers.reconcile_with(ensure)
    services.exporters["rituals"] = rituals_export
    services.reads.ritual_days = done_days
    runner_of(services).add(NUDGE_FLOW, SETUP_FLOW, TIME_FLOW)
    app.add_handler(CommandHandler("rituals", rituals_command))
    app.add_handler(CommandHandler("away", away_command))
    app.add_handler(CommandHandler("back", back_command))
