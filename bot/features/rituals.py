"""Daily rituals: the morning note, one thing I appreciated today, the bedtime positive.

Each partner chooses which rituals they want and when, on their own clock (`/rituals`, in the
group or in private). None is on until chosen: the guide's advice is to start with one ritual,
agreed together, and let more grow from there. At the chosen time the partner gets a quiet nudge
in their private chat to send their partner the note, with "Done", "Write it here" (the bot
passes the note on to the group), "Later" (an hour) and "Skip today". Whether one partner did
or skipped a ritual is never shown to the other.

Prompts wait out the partner's quiet hours, and one that comes due far too late (a bedtime
prompt pushed into the morning) or while the bot was down is dropped, never replayed: each
chosen ritual always has exactly one next prompt pending, put back at start-up if it was lost.
`/away 2026-12-24` pauses a partner's prompts through that day of their own calendar (inclusive;
they return the day after); `/back` resumes them at once. The weekly reflection and the letter
prompts (checkins.py) respect away-mode too. (progress.py starts and reconciles the series.)
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import asks
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.dates import day_as_moment
from bot.features.talk import phase_of, roadmap_month
from bot.guards import known_partner
from bot.messages import Buttons, button, reply, say, say_private
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.reading import read_clock, read_date
from bot.render import zone
from bot.storage import Record, Store
from bot.timers import Fired, Timers
from bot.when import next_local

SETTINGS_TABLE = "ritual_settings"
DAYS_TABLE = "ritual_days"
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
# A prompt that quiet hours pushed this far past its time no longer fits the day: dropped.
TOO_LATE = timedelta(hours=3)
MAX_NOTE = 1000
MAX_AWAY_DAYS = 366
KEEP_DAYS = 120  # how long a day's done/skipped mark is kept (milestones look back weeks)
SET = "rit:"  # /rituals buttons: rit:<action>:<owner>:<ritual>[:<HHMM>]
ACT = "ritp:"  # prompt buttons: ritp:<action>:<chat>:<ritual>:<YYYYMMDD>
FINAL = ("done", "skipped")


# -- settings ----------------------------------------------------------------------------------


def settings_of(store: Store, chat_id: int, user_id: int) -> Record:
    """A partner's ritual choices in a couple (all off, default times, until they choose)."""
    stored = next(
        (r for r in store.records(chat_id, SETTINGS_TABLE) if r["partner"] == user_id), None
    )
    chosen: Record = {"partner": user_id, "on": [], "at": {}, "away_until": None}
    if stored is not None:
        chosen.update(stored)
    chosen["at"] = {**DEFAULT_AT, **chosen["at"]}
    return chosen


def _save_settings(store: Store, chat_id: int, user_id: int, fields: Record) -> Record:
    with store.transaction(chat_id) as tx:
        table = tx.table(SETTINGS_TABLE)
        stored = next((r for r in table.all() if r["partner"] == user_id), None)
        if stored is None:
            table.insert({"partner": user_id, "on": [], "at": {}, "away_until": None, **fields})
        else:
            table.update(stored["id"], fields)
    return settings_of(store, chat_id, user_id)


def local_day(moment: datetime, partner: Partner) -> date:
    return moment.astimezone(zone(partner.timezone)).date()


def away_until(store: Store, chat_id: int, user_id: int) -> date | None:
    until = settings_of(store, chat_id, user_id)["away_until"]
    return date.fromisoformat(until) if until else None


def is_away(store: Store, couple: Couple, partner: Partner, moment: datetime) -> bool:
    """Whether the partner asked for no prompts on `moment`'s day (their calendar)."""
    until = away_until(store, couple.chat_id, partner.user_id)
    return until is not None and local_day(moment, partner) <= until


# -- the prompt series -------------------------------------------------------------------------


def _next_prompt(partner: Partner, at: str, after: datetime) -> datetime:
    return next_local(time.fromisoformat(at), partner.timezone, after)


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


def ensure(timers: Timers, couple: Couple, pending: list[Record] | None = None) -> None:
    """Every chosen ritual has its next prompt pending (a missed one was dropped). Cheap for
    the many couples without rituals: start-up runs this for every couple (progress.py)."""
    if not any(r.get("on") for r in timers.store.records(couple.chat_id, SETTINGS_TABLE)):
        return
    waiting = {
        (t.get("partner"), t["payload"].get("ritual"))
        for t in (timers.pending(couple.chat_id) if pending is None else pending)
        if t["kind"] == PROMPT
    }
    now = utcnow()
    for partner in couple.partners:
        chosen = settings_of(timers.store, couple.chat_id, partner.user_id)
        for ritual in chosen["on"]:
            if ritual in RITUALS and (partner.user_id, ritual) not in waiting:
                _schedule(timers, couple, partner, ritual, chosen["at"][ritual], now)


async def prompt_due(context: MendContext, fired: Fired) -> None:
    """A ritual's time: a quiet nudge in the partner's private chat."""
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    partner = couple.partner(fired.partner) if couple and fired.partner else None
    ritual = str(fired.payload.get("ritual"))
    if couple is None or partner is None or couple.status != "active" or ritual not in RITUALS:
        return
    chosen = settings_of(services.store, couple.chat_id, partner.user_id)
    now = utcnow()
    intended = from_iso(fired.payload.get("for")) or fired.due
    if fired.kind == PROMPT and ritual in chosen["on"]:
        # Tomorrow's first, so the series goes on whatever happens below; a retry of this
        # timer finds it already there.
        _schedule(
            services.timers,
            couple,
            partner,
            ritual,
            chosen["at"][ritual],
            max(now, intended),
            besides=fired.timer_id,
        )
    day = str(fired.payload.get("day"))
    if (
        ritual not in chosen["on"]
        or now - intended > TOO_LATE
        or partner.left_group
        or is_away(services.store, couple, partner, intended)
        or _status(services.store, couple.chat_id, partner.user_id, ritual, day) in FINAL
    ):
        return
    await _send_prompt(context, couple, partner, ritual, day, again=fired.kind == AGAIN)


def _status(store: Store, chat_id: int, user_id: int, ritual: str, day: str) -> str | None:
    record = _day_record(store, chat_id, user_id, ritual, day)
    return None if record is None else str(record["status"])


def _day_record(store: Store, chat_id: int, user_id: int, ritual: str, day: str) -> Record | None:
    return next(
        (
            r
            for r in store.records(chat_id, DAYS_TABLE)
            if r["partner"] == user_id and r["ritual"] == ritual and r["day"] == day
        ),
        None,
    )


def _mark(store: Store, chat_id: int, user_id: int, ritual: str, day: str, fields: Record) -> None:
    """Note how a ritual went on a day (kept a few months, for the milestones)."""
    oldest = (utcnow() - timedelta(days=KEEP_DAYS)).date().isoformat()
    with store.transaction(chat_id) as tx:
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
        stamped = {**fields, "updated_at": to_iso(utcnow())}
        if found is None:
            table.insert({"partner": user_id, "ritual": ritual, "day": day, **stamped})
        else:
            table.update(found["id"], stamped)
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


async def _send_prompt(
    context: MendContext, couple: Couple, partner: Partner, ritual: str, day: str, *, again: bool
) -> None:
    services = context.mend
    locale = partner_locale(services, partner)
    label = services.render.label
    data = f"{couple.chat_id}:{RITUALS.index(ritual)}:{day.replace('-', '')}"
    rows: Buttons = [
        [
            button(label(locale, "rituals.done"), f"{ACT}d:{data}"),
            button(label(locale, "rituals.write_here"), f"{ACT}w:{data}"),
        ],
        [
            button(label(locale, "rituals.later"), f"{ACT}l:{data}"),
            button(label(locale, "rituals.skip"), f"{ACT}s:{data}"),
        ],
    ]
    other = couple.other(partner.user_id)
    month = roadmap_month(couple.setup_completed_at, utcnow())
    sent = await say_private(
        context,
        couple,
        partner,
        "rituals/prompt",
        buttons=rows,
        ritual=ritual,
        name=partner.name,
        other=other.name if other else "",
        phase=phase_of(month),
        again=again,
    )
    if sent is not None:
        _mark(
            services.store,
            couple.chat_id,
            partner.user_id,
            ritual,
            day,
            {"status": "prompted", "message_id": sent.message_id},
        )


# -- the prompt's buttons ----------------------------------------------------------------------


async def prompt_button(update: Update, context: MendContext) -> None:
    """Done, write it here, later, skip today: only the partner the prompt is for, only while
    it is that day's current prompt."""
    query, user, message = update.callback_query, update.effective_user, update.effective_message
    assert query is not None and query.data is not None and user is not None
    services = context.mend
    parts = query.data.removeprefix(ACT).split(":")
    found = _prompt_target(services, parts, user.id, message.message_id if message else None)
    if found is None:
        locale = services.render.locale_for(user.language_code)
        await query.answer(services.render.label(locale, "alert.stale_button"), show_alert=True)
        return
    couple, partner, ritual, day = found
    locale = partner_locale(services, partner)
    label = services.render.label
    action = parts[0]
    store = services.store
    if action == "w":
        await query.answer()
        other = couple.other(partner.user_id)
        await asks.ask(
            context,
            couple,
            partner,
            "ritual_note",
            "rituals/note_ask",
            in_chat=partner.user_id,
            payload={"ritual": ritual, "day": day},
            ritual=ritual,
            other=other.name if other else "",
            most=MAX_NOTE,
        )
        return
    _cancel_again(services.timers, couple.chat_id, partner.user_id, ritual)
    with contextlib.suppress(BadRequest):  # already tidied
        await query.edit_message_reply_markup(None)
    if action == "l":
        due = utcnow() + SNOOZE
        services.timers.schedule(
            couple.chat_id,
            AGAIN,
            due,
            partner=partner.user_id,
            payload={"ritual": ritual, "day": day, "for": to_iso(due)},
        )
        _mark(store, couple.chat_id, partner.user_id, ritual, day, {"status": "snoozed"})
        await query.answer(label(locale, "alert.rituals_later"))
    elif action == "s":
        _mark(store, couple.chat_id, partner.user_id, ritual, day, {"status": "skipped"})
        await query.answer(label(locale, "alert.rituals_skipped"))
    else:
        _mark(store, couple.chat_id, partner.user_id, ritual, day, {"status": "done"})
        await query.answer(label(locale, "alert.rituals_done"))
        await _after_kept(context, couple)


def _prompt_target(
    services: Services, parts: list[str], user_id: int, message_id: int | None
) -> tuple[Couple, Partner, str, str] | None:
    """The couple, partner, ritual and day a prompt button is about, if it is still current."""
    if len(parts) != 4 or parts[0] not in ("d", "w", "l", "s") or not parts[2].isdigit():
        return None
    try:
        chat_id, index = int(parts[1]), int(parts[2])
        day = date(int(parts[3][:4]), int(parts[3][4:6]), int(parts[3][6:])).isoformat()
    except ValueError:
        return None
    couple = services.store.couple(chat_id)
    partner = couple.partner(user_id) if couple else None
    if couple is None or partner is None or not 0 <= index < len(RITUALS):
        return None
    ritual = RITUALS[index]
    record = _day_record(services.store, chat_id, user_id, ritual, day)
    if record is None or record["status"] in FINAL or record.get("message_id") != message_id:
        return None
    return couple, partner, ritual, day


def _cancel_again(timers: Timers, chat_id: int, user_id: int, ritual: str) -> None:
    for pending in timers.pending(chat_id, AGAIN):
        if pending.get("partner") == user_id and pending["payload"].get("ritual") == ritual:
            timers.cancel(chat_id, pending["id"])


async def note_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """The note written here: passed on to the group, and the ritual counts as kept."""
    services = context.mend
    couple, partner = answer.couple, answer.partner
    ritual, day = str(answer.payload.get("ritual")), str(answer.payload.get("day"))
    locale = partner_locale(services, partner)
    other = couple.other(partner.user_id)
    if ritual not in RITUALS:
        return
    if len(answer.text) > MAX_NOTE:
        await reply(
            update, context, locale, "rituals/note_too_long", most=MAX_NOTE, length=len(answer.text)
        )
        await asks.ask(
            context,
            couple,
            partner,
            "ritual_note",
            "rituals/note_ask",
            in_chat=partner.user_id,
            payload={"ritual": ritual, "day": day},
            ritual=ritual,
            other=other.name if other else "",
            most=MAX_NOTE,
        )
        return
    if _status(services.store, couple.chat_id, partner.user_id, ritual, day) == "done":
        await reply(update, context, locale, "rituals/note_already")
        return
    fresh = services.store.couple(couple.chat_id) or couple
    await say(
        context,
        fresh.chat_id,
        group_locale(services, fresh),
        "rituals/note_passed",
        ritual=ritual,
        name=partner.name,
        other=other.name if other else "",
        text=answer.text,
    )
    _cancel_again(services.timers, couple.chat_id, partner.user_id, ritual)
    _mark(services.store, couple.chat_id, partner.user_id, ritual, day, {"status": "done"})
    await reply(update, context, locale, "rituals/note_sent", other=other.name if other else "")
    await _after_kept(context, fresh)


async def _after_kept(context: MendContext, couple: Couple) -> None:
    from bot.features.progress import check_milestones  # progress builds on this module

    await check_milestones(context, couple)


# -- /rituals ----------------------------------------------------------------------------------


def _me(couples: list[Couple], user_id: int) -> tuple[Couple, Partner]:
    partner = couples[0].partner(user_id)
    assert partner is not None
    return couples[0], partner


def _locale(context: MendContext, update: Update, couple: Couple, me: Partner) -> str:
    chat = update.effective_chat
    if chat is not None and chat.type == Chat.PRIVATE:
        return partner_locale(context.mend, me)
    return group_locale(context.mend, couple)


def _overview(
    services: Services, couple: Couple, me: Partner, locale: str
) -> tuple[dict[str, Any], Buttons]:
    chosen = settings_of(services.store, couple.chat_id, me.user_id)
    label = services.render.label
    rows: list[list[InlineKeyboardButton]] = []
    for index, ritual in enumerate(RITUALS):
        name = label(locale, f"rituals.{ritual}")
        state = "rituals.on" if ritual in chosen["on"] else "rituals.off"
        rows.append(
            [
                button(label(locale, state, ritual=name), f"{SET}t:{me.user_id}:{index}"),
                button(
                    label(locale, "rituals.time", at=chosen["at"][ritual]),
                    f"{SET}c:{me.user_id}:{index}",
                ),
            ]
        )
    until = away_until(services.store, couple.chat_id, me.user_id)
    today = local_day(utcnow(), me)
    data = {
        "name": me.name,
        "zone": me.timezone,
        "rituals": [{"key": r, "on": r in chosen["on"], "at": chosen["at"][r]} for r in RITUALS],
        "away_until": day_as_moment(until) if until and until >= today else None,
        "reachable": me.private_chat,
    }
    return data, rows


@known_partner
async def rituals_command(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """/rituals: your rituals and their times, with buttons to change them."""
    user = update.effective_user
    assert user is not None
    couple, me = _me(couples, user.id)
    locale = _locale(context, update, couple, me)
    data, rows = _overview(context.mend, couple, me, locale)
    await reply(update, context, locale, "rituals/overview", buttons=rows, **data)


@known_partner
async def settings_button(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """Turning a ritual on or off and choosing its time: only its owner may."""
    query, user, message = update.callback_query, update.effective_user, update.effective_message
    assert query is not None and query.data is not None and user is not None
    services = context.mend
    couple = couples[0]
    parts = query.data.removeprefix(SET).split(":")
    me = couple.partner(user.id)
    assert me is not None
    locale = _locale(context, update, couple, me)
    label = services.render.label
    valid = (
        len(parts) in (3, 4)
        and parts[0] in ("t", "c", "a", "o")
        and parts[1].lstrip("-").isdigit()
        and parts[2].isdigit()
        and int(parts[2]) < len(RITUALS)
    )
    if not valid:
        await query.answer(label(locale, "alert.stale_button"), show_alert=True)
        return
    owner = couple.partner(int(parts[1]))
    if owner is None:
        await query.answer(label(locale, "alert.stale_button"), show_alert=True)
        return
    if owner.user_id != me.user_id:
        await query.answer(
            label(locale, "alert.rituals_not_yours", name=owner.name), show_alert=True
        )
        return
    action, ritual = parts[0], RITUALS[int(parts[2])]
    if action == "t":
        chosen = settings_of(services.store, couple.chat_id, me.user_id)
        on = [r for r in RITUALS if (r in chosen["on"]) != (r == ritual)]
        _save_settings(services.store, couple.chat_id, me.user_id, {"on": on})
        _reschedule(services, couple, me, ritual)
        data, rows = _overview(services, couple, me, locale)
        with contextlib.suppress(BadRequest):  # e.g. pressed twice: nothing to change
            await query.edit_message_text(
                services.render.message(locale, "rituals/overview", **data),
                reply_markup=InlineKeyboardMarkup(rows),
            )
        await query.answer()
    elif action == "c" and len(parts) == 3:
        await query.answer()
        presets: Buttons = [
            [
                button(at, f"{SET}a:{me.user_id}:{parts[2]}:{at.replace(':', '')}")
                for at in PRESETS[ritual]
            ],
            [button(label(locale, "rituals.other_time"), f"{SET}o:{me.user_id}:{parts[2]}")],
        ]
        await reply(
            update,
            context,
            locale,
            "rituals/pick_time",
            buttons=presets,
            ritual=ritual,
            zone=me.timezone,
        )
    elif action == "a" and len(parts) == 4 and (at := read_clock(parts[3])) is not None:
        await query.answer()
        with contextlib.suppress(BadRequest):  # already tidied
            await query.edit_message_reply_markup(None)
        await _set_time(update, context, couple, me, ritual, at, locale)
    elif action == "o" and len(parts) == 3:
        await query.answer()
        await asks.ask(
            context,
            couple,
            me,
            "ritual_time",
            "rituals/ask_time",
            in_chat=message.chat_id if message else couple.chat_id,
            reply_to=message.message_id if message else None,
            payload={"ritual": ritual},
            ritual=ritual,
            zone=me.timezone,
        )
    else:
        await query.answer(label(locale, "alert.stale_button"), show_alert=True)


async def _set_time(
    update: Update,
    context: MendContext,
    couple: Couple,
    me: Partner,
    ritual: str,
    at: str,
    locale: str,
) -> None:
    services = context.mend
    chosen = settings_of(services.store, couple.chat_id, me.user_id)
    at_times = {**chosen["at"], ritual: at}
    on = chosen["on"] if ritual in chosen["on"] else [*chosen["on"], ritual]
    _save_settings(services.store, couple.chat_id, me.user_id, {"at": at_times, "on": on})
    _reschedule(services, couple, me, ritual)
    await reply(
        update,
        context,
        locale,
        "rituals/time_set",
        ritual=ritual,
        at=at,
        zone=me.timezone,
        reachable=me.private_chat,
    )


async def time_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A typed time for a ritual."""
    couple, me = answer.couple, answer.partner
    locale = _locale(context, update, couple, me)
    ritual = str(answer.payload.get("ritual"))
    at = read_clock(answer.text)
    if ritual not in RITUALS:
        return
    if at is None:
        await reply(update, context, locale, "rituals/bad_time", typed=answer.text[:40])
        return
    await _set_time(update, context, couple, me, ritual, at, locale)


# -- away --------------------------------------------------------------------------------------


@known_partner
async def away_command(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """/away 2026-12-24: no prompts for you through that day (your calendar)."""
    user = update.effective_user
    assert user is not None
    couple, me = _me(couples, user.id)
    locale = _locale(context, update, couple, me)
    today = local_day(utcnow(), me)
    typed = " ".join(context.args or []).strip()
    last = read_date(typed, today) if typed else None
    if last is None or not today <= last <= today + timedelta(days=MAX_AWAY_DAYS):
        await reply(
            update,
            context,
            locale,
            "rituals/away_usage",
            example=day_as_moment(today + timedelta(days=7)),
            iso=(today + timedelta(days=7)).isoformat(),
            typed=typed[:40] if last is None else "",
            most=MAX_AWAY_DAYS,
        )
        return
    _set_away(context.mend, user.id, last.isoformat())
    await reply(
        update,
        context,
        locale,
        "rituals/away_set",
        last=day_as_moment(last),
        back_on=day_as_moment(last + timedelta(days=1)),
    )


@known_partner
async def back_command(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """/back: prompts again from now on."""
    user = update.effective_user
    assert user is not None
    couple, me = _me(couples, user.id)
    locale = _locale(context, update, couple, me)
    until = away_until(context.mend.store, couple.chat_id, me.user_id)
    was_away = until is not None and until >= local_day(utcnow(), me)
    _set_away(context.mend, user.id, None)
    await reply(update, context, locale, "rituals/back", was_away=was_away)


def _set_away(services: Services, user_id: int, last: str | None) -> None:
    """Away-mode is personal: it applies in every couple the person is part of."""
    for chat_id in services.store.chats_of_user(user_id):
        _save_settings(services.store, chat_id, user_id, {"away_until": last})


# -- export and wiring -------------------------------------------------------------------------


def rituals_export(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """The person's own choices and days; never the other partner's."""
    chosen = settings_of(services.store, couple.chat_id, user_id)
    days = [
        {k: r.get(k) for k in ("ritual", "day", "status")}
        for r in services.store.records(couple.chat_id, DAYS_TABLE)
        if r["partner"] == user_id
    ]
    return {
        "on": chosen["on"],
        "at": chosen["at"],
        "away_until": chosen["away_until"],
        "days": days,
    }


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("rituals", "care", in_group=True, in_private=True),
        Command("away", "personal", in_group=False, in_private=True),
        Command("back", "personal", in_group=False, in_private=True),
    )
    # Prompts wait out quiet hours; one missed while the bot was down is dropped, not replayed.
    services.timers.register(PROMPT, prompt_due, quiet=True)
    services.timers.register(AGAIN, prompt_due, quiet=True)
    services.exporters["rituals"] = rituals_export
    asks.on_answer("ritual_time", time_answer)
    asks.on_answer("ritual_note", note_answer)
    app.add_handler(CommandHandler("rituals", rituals_command))
    app.add_handler(CommandHandler("away", away_command))
    app.add_handler(CommandHandler("back", back_command))
    app.add_handler(CallbackQueryHandler(settings_button, pattern=f"^{SET}"))
    app.add_handler(CallbackQueryHandler(prompt_button, pattern=f"^{ACT}"))
