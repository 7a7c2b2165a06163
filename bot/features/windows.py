"""Insecurity windows and parked worries.

A window is an agreed, contained time to talk about anxieties: by default two 20-minute windows
a week, at days and times the couple picks. A time is entered in the setter's zone and shown to
each partner in their own. `/worry` (private) parks a worry until the next window; when it opens,
the group sees how many are waiting and the structure for talking (I-statements, reflect,
validate, ask), while each partner is reminded privately of their own worries and decides,
one by one, whether to share the text. When it closes, a short wrap-up says where unfinished
things go.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from babel.dates import format_date
from telegram import Chat, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import asks
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.features.onboarding import LINK as PRIVATE_LINK
from bot.flows import Flow, Option, Step, Turn
from bot.guards import known_partner, partners_only
from bot.messages import button, group_message, private_message, reply, say
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.outbox import GROUP
from bot.reading import read_clock, read_duration, read_weekday
from bot.storage import Record
from bot.timers import Fired, Timers
from bot.when import next_local

SLOTS_TABLE = "window_slots"
WORRIES_TABLE = "worries"
WINDOW_OPEN = "window_open"
WINDOW_CLOSE = "window_close"
DEFAULT_MINUTES = 20
MIN_MINUTES, MAX_MINUTES = 10, 60
MAX_SLOTS = 4
MAX_WORRY = 1000
TIME_PRESETS = ("07:30", "12:30", "18:00", "19:00", "20:00", "21:00")
WINDOW = "win:"


def slots(services: Services, chat_id: int) -> list[Record]:
    return sorted(services.store.records(chat_id, SLOTS_TABLE), key=lambda r: r["id"])


def next_opening(slot: Record, after: datetime) -> datetime:
    return next_local(time.fromisoformat(slot["at"]), slot["zone"], after, slot["weekday"])


def _views(couple: Couple, slot_records: list[Record]) -> list[dict[str, Any]]:
    """Each window's next opening as each partner reads it."""
    now = utcnow()
    return [
        {
            "number": index + 1,
            "minutes": slot["minutes"],
            "times": [
                {"name": p.name, "zone": p.timezone, "at": next_opening(slot, now)}
                for p in couple.partners
            ],
        }
        for index, slot in enumerate(slot_records)
    ]


def _weekday_name(locale: str, weekday: int) -> str:
    return format_date(datetime(2024, 1, 1 + weekday), "EEEE", locale=locale)


# -- the schedule --------------------------------------------------------------------------


@partners_only
async def window_command(update: Update, context: MendContext, couple: Couple) -> None:
    """/window, /window add sunday 7pm, /window remove 2, /window length 30."""
    user = update.effective_user
    assert user is not None
    services = context.mend
    locale = group_locale(services, couple)
    args = [a.lower() for a in context.args or []]
    partner = couple.partner(user.id)
    assert partner is not None
    if not args:
        await _show(update, context, couple, locale)
        return
    if args[0] == "add" and len(args) >= 3:
        weekday, at = read_weekday(args[1]), read_clock(" ".join(args[2:]))
        if weekday is not None and at is not None:
            await _add(update, context, couple, partner, weekday, at)
            return
    elif args[0] == "remove" and len(args) == 2 and args[1].isdigit():
        if await _remove(update, context, couple, int(args[1])):
            return
    elif args[0] == "length" and len(args) >= 2:
        minutes = read_duration(" ".join(args[1:]))
        if minutes is not None and MIN_MINUTES <= minutes <= MAX_MINUTES:
            with services.store.transaction(couple.chat_id) as tx:
                table = tx.table(SLOTS_TABLE)
                for slot in table.all():
                    table.update(slot["id"], {"minutes": minutes})
            await reply(update, context, locale, "windows/length_set", minutes=minutes)
            return
    await reply(
        update, context, locale, "windows/usage", low=MIN_MINUTES, high=MAX_MINUTES, most=MAX_SLOTS
    )


async def _show(update: Update, context: MendContext, couple: Couple, locale: str) -> None:
    services = context.mend
    current = slots(services, couple.chat_id)
    render = services.render
    rows: list[list[Any]] = []
    if len(current) < MAX_SLOTS:
        rows.append([button(render.label(locale, "windows.add"), f"{WINDOW}add")])
    for index, slot in enumerate(current):
        rows.append(
            [
                button(
                    render.label(locale, "windows.remove", number=index + 1),
                    f"{WINDOW}remove:{slot['id']}",
                )
            ]
        )
    await reply(
        update,
        context,
        locale,
        "windows/schedule",
        buttons=rows,
        windows=_views(couple, current),
        default=DEFAULT_MINUTES,
    )


async def _add(
    update: Update, context: MendContext, couple: Couple, partner: Partner, weekday: int, at: str
) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    if len(slots(services, couple.chat_id)) >= MAX_SLOTS:
        await reply(update, context, locale, "windows/full", most=MAX_SLOTS)
        return
    minutes = next((s["minutes"] for s in slots(services, couple.chat_id)), DEFAULT_MINUTES)
    slot = {
        "weekday": weekday,
        "at": at,
        "zone": partner.timezone,
        "minutes": minutes,
        "set_by": partner.user_id,
    }
    with services.store.transaction(couple.chat_id) as tx:
        slot_id = tx.table(SLOTS_TABLE).insert(slot)
    opening = next_opening(slot, utcnow())
    _ensure(services.timers, couple.chat_id, WINDOW_OPEN, slot_id, opening)
    times = [{"name": p.name, "zone": p.timezone, "at": opening} for p in couple.partners]
    await reply(
        update,
        context,
        locale,
        "windows/added",
        name=partner.name,
        times=times,
        minutes=minutes,
        zone_missing=partner.timezone is None,
    )


async def _remove(update: Update, context: MendContext, couple: Couple, number: int) -> bool:
    services = context.mend
    current = slots(services, couple.chat_id)
    if not 1 <= number <= len(current):
        return False
    slot_id = current[number - 1]["id"]
    _drop_slot(services, couple.chat_id, slot_id)
    await reply(
        update,
        context,
        group_locale(services, couple),
        "windows/removed",
        number=number,
        left=len(current) - 1,
    )
    return True


def _drop_slot(services: Services, chat_id: int, slot_id: int) -> None:
    for timer in services.timers.pending(chat_id, WINDOW_OPEN):
        if timer["payload"].get("slot") == slot_id:
            services.timers.cancel(chat_id, timer["id"])
    with services.store.transaction(chat_id) as tx:
        tx.table(SLOTS_TABLE).remove(slot_id)


@partners_only
async def window_button(update: Update, context: MendContext, couple: Couple) -> None:
    """Adding a window with buttons: a day, then a time (or a typed one); removing one."""
    query, user, message = update.callback_query, update.effective_user, update.effective_message
    assert query is not None and query.data is not None and user is not None
    services, render = context.mend, context.mend.render
    locale = group_locale(services, couple)
    partner = couple.partner(user.id)
    assert partner is not None
    parts = query.data.removeprefix(WINDOW).split(":")
    stale = render.label(locale, "alert.stale_button")
    if parts == ["add"]:
        await query.answer()
        rows = [[button(_weekday_name(locale, d), f"{WINDOW}day:{d}")] for d in range(7)]
        await reply(update, context, locale, "windows/pick_day", buttons=rows)
    elif len(parts) == 2 and parts[0] == "day" and parts[1].isdigit() and int(parts[1]) < 7:
        await query.answer()
        day = int(parts[1])
        rows = [[button(at, f"{WINDOW}at:{day}:{at.replace(':', '')}")] for at in TIME_PRESETS]
        rows.append([button(render.label(locale, "windows.other_time"), f"{WINDOW}other:{day}")])
        await reply(
            update,
            context,
            locale,
            "windows/pick_time",
            buttons=rows,
            day=_weekday_name(locale, day),
            zone=partner.timezone,
        )
    elif len(parts) == 3 and parts[0] == "at" and parts[1].isdigit() and int(parts[1]) < 7:
        at = read_clock(parts[2])
        if at is None:
            await query.answer(stale, show_alert=True)
            return
        await query.answer()
        await _add(update, context, couple, partner, int(parts[1]), at)
    elif len(parts) == 2 and parts[0] == "other" and parts[1].isdigit() and int(parts[1]) < 7:
        await query.answer()
        await asks.ask(
            context,
            couple,
            partner,
            "window_time",
            "windows/ask_time",
            in_chat=couple.chat_id,
            payload={"weekday": int(parts[1])},
            reply_to=message.message_id if message else None,
            day=_weekday_name(locale, int(parts[1])),
            zone=partner.timezone,
        )
    elif len(parts) == 2 and parts[0] == "remove" and parts[1].isdigit():
        current = [s["id"] for s in slots(services, couple.chat_id)]
        if int(parts[1]) not in current:
            await query.answer(stale, show_alert=True)
            return
        await query.answer()
        await _remove(update, context, couple, current.index(int(parts[1])) + 1)
    else:
        await query.answer(stale, show_alert=True)


async def window_time_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    at = read_clock(answer.text)
    if at is None:
        await reply(
            update,
            context,
            group_locale(context.mend, answer.couple),
            "windows/bad_time",
            typed=answer.text[:40],
        )
        return
    await _add(update, context, answer.couple, answer.partner, int(answer.payload["weekday"]), at)


# -- opening and closing ----------------------------------------------------------------------


async def window_opens(context: MendContext, fired: Fired) -> None:
    """The window opens: the structure and the count in the group, each one's worries in
    private. Everything it says is owed in one change, so a failure half-way resumes."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        slot = tx.table(SLOTS_TABLE).get(int(fired.payload.get("slot", 0)))
        if couple is None or slot is None:
            return
        now = utcnow()
        # The next one first, so the series goes on whatever happens below.
        _ensure(
            services.timers,
            couple.chat_id,
            WINDOW_OPEN,
            slot["id"],
            next_opening(slot, now),
            besides=fired.timer_id,
        )
        _ensure(
            services.timers,
            couple.chat_id,
            WINDOW_CLOSE,
            slot["id"],
            now + timedelta(minutes=slot["minutes"]),
        )
        parked = [w for w in tx.table(WORRIES_TABLE).all() if w["status"] == "parked"]
        services.outbox.put(
            tx,
            group_message(
                services,
                couple,
                "windows/opened",
                minutes=slot["minutes"],
                waiting=len(parked),
                late=fired.late,
                names=[p.name for p in couple.partners],
            ),
        )
        for partner in couple.partners:
            mine = [w for w in parked if w["author"] == partner.user_id]
            if mine and partner.private_chat:
                services.outbox.put(
                    tx, private_message(services, partner, "windows/your_worries", count=len(mine))
                )
                for worry in mine:
                    services.runner.start(
                        tx,
                        couple,
                        WORRY_FLOW,
                        owner=partner,
                        data={"worry": worry["id"]},
                        show={"text": worry["text"]},
                    )
    await services.outbox.deliver(context, fired.chat_id)


def _ensure(
    timers: Timers,
    chat_id: int,
    kind: str,
    slot_id: int,
    due: datetime,
    besides: int | None = None,
) -> None:
    """Schedule a slot's timer of `kind` unless one is already pending."""
    if not any(
        t["payload"].get("slot") == slot_id and t["id"] != besides
        for t in timers.pending(chat_id, kind)
    ):
        timers.schedule(chat_id, kind, due, payload={"slot": slot_id})


async def window_closes(context: MendContext, fired: Fired) -> None:
    """The window closes: a short wrap-up, and where unfinished things go."""
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    if couple is None:
        return
    upcoming = sorted(
        (t for t in services.timers.pending(fired.chat_id, WINDOW_OPEN)),
        key=lambda t: str(t["due"]),
    )
    times = []
    if upcoming:
        opening = from_iso(upcoming[0]["due"])
        times = [{"name": p.name, "zone": p.timezone, "at": opening} for p in couple.partners]
    still_parked = sum(
        1 for w in services.store.records(couple.chat_id, WORRIES_TABLE) if w["status"] == "parked"
    )
    await say(
        context,
        couple.chat_id,
        group_locale(services, couple),
        "windows/closed",
        late=fired.late,
        times=times,
        parked=still_parked,
    )


# -- worries ------------------------------------------------------------------------------


@known_partner
async def worry_command(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """/worry <text> in private parks a worry for the next window."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    assert chat is not None and user is not None and message is not None
    services = context.mend
    couple = couples[0]
    partner = couple.partner(user.id)
    assert partner is not None
    if chat.type != Chat.PRIVATE:
        # Never repeat or store what was typed here: worries belong in the private chat.
        locale = group_locale(services, couple)
        rows = [[button(services.render.label(locale, "settings.private_link"), PRIVATE_LINK)]]
        await reply(
            update, context, locale, "windows/worry_in_private", buttons=rows, name=partner.name
        )
        return
    text = " ".join(context.args or []).strip()
    if not text:
        await asks.ask(
            context,
            couple,
            partner,
            "worry",
            "windows/worry_ask",
            in_chat=chat.id,
            reply_to=message.message_id,
            parked=_parked_count(services, couple, user.id),
        )
        return
    await park(update, context, couple, partner, text)


def _parked_count(services: Services, couple: Couple, user_id: int) -> int:
    return sum(
        1
        for w in services.store.records(couple.chat_id, WORRIES_TABLE)
        if w["author"] == user_id and w["status"] == "parked"
    )


async def park(
    update: Update, context: MendContext, couple: Couple, partner: Partner, text: str
) -> None:
    services = context.mend
    locale = partner_locale(services, partner)
    if len(text) > MAX_WORRY:
        await reply(update, context, locale, "windows/worry_too_long", most=MAX_WORRY)
        return
    with services.store.transaction(couple.chat_id) as tx:
        tx.table(WORRIES_TABLE).insert(
            {
                "author": partner.user_id,
                "text": text,
                "created_at": to_iso(utcnow()),
                "status": "parked",
            }
        )
    upcoming = sorted(
        services.timers.pending(couple.chat_id, WINDOW_OPEN), key=lambda t: str(t["due"])
    )
    opening = from_iso(upcoming[0]["due"]) if upcoming else None
    await reply(
        update,
        context,
        locale,
        "windows/worry_parked",
        opening=opening,
        zone=partner.timezone,
        parked=_parked_count(services, couple, partner.user_id),
    )


async def worry_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    await park(update, context, answer.couple, answer.partner, answer.text.strip())


def _settle_worry(turn: Turn) -> None:
    """Share, keep or let go of a parked worry: its author's choice alone."""
    worries = turn.tx.table(WORRIES_TABLE)
    worry = worries.get(int(turn.data["worry"]))
    if worry is None or worry["status"] != "parked" or worry["author"] != turn.partner.user_id:
        turn.toast = "alert.stale_button"
        return
    if turn.value == "keep":
        turn.toast = "alert.worry_kept"
        return
    shared = turn.value == "share"
    worries.update(
        worry["id"],
        {"status": "shared" if shared else "let_go", "settled_at": to_iso(utcnow())},
    )
    if shared:
        turn.say(GROUP, "windows/worry_shared", name=turn.partner.name, text=worry["text"])
    turn.toast = "alert.worry_shared" if shared else "alert.worry_dropped"


WORRY_FLOW = "worry"
WORRY = Flow(
    name=WORRY_FLOW,
    where="private",
    first="choose",
    steps={
        "choose": Step(
            "windows/worry_item",
            [
                [
                    Option("share", "worry.share"),
                    Option("keep", "worry.keep"),
                    Option("drop", "worry.drop"),
                ]
            ],
            answer=_settle_worry,
        ),
    },
)


def worries_export(services: Services, couple: Couple, user_id: int) -> list[dict[str, Any]]:
    """A partner's own worries only: the other's stay theirs."""
    return [
        {k: w.get(k) for k in ("text", "created_at", "status", "settled_at")}
        for w in services.store.records(couple.chat_id, WORRIES_TABLE)
        if w["author"] == user_id
    ]


def windows_export(services: Services, couple: Couple, user_id: int) -> list[dict[str, Any]]:
    return [
        {k: s[k] for k in ("weekday", "at", "zone", "minutes")}
        for s in slots(services, couple.chat_id)
    ]


def reconcile(timers: Timers, couple: Couple) -> None:
    """Every window has its next opening pending (a missed one was dropped at start-up)."""
    for slot in timers.store.records(couple.chat_id, SLOTS_TABLE):
        _ensure(timers, couple.chat_id, WINDOW_OPEN, slot["id"], next_opening(slot, utcnow()))


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("window", "together"),
        Command("worry", "personal", in_group=False, in_private=True),
    )
    # An opening missed by more than a window's length is dropped (the next one comes); a
    # closing is still worth a late word. Openings wait out quiet hours; closings don't.
    services.timers.register(
        WINDOW_OPEN, window_opens, late_limit=timedelta(minutes=MAX_MINUTES), quiet=True
    )
    services.timers.register(WINDOW_CLOSE, window_closes, late_limit=timedelta(hours=12))
    services.timers.reconcile_with(reconcile)
    services.exporters["worries"] = worries_export
    services.exporters["windows"] = windows_export
    services.runner.add(WORRY)
    asks.on_answer("window_time", window_time_answer)
    asks.on_answer("worry", worry_answer)
    app.add_handler(CommandHandler("window", window_command))
    app.add_handler(CommandHandler("worry", worry_command))
    app.add_handler(CallbackQueryHandler(window_button, pattern=f"^{WINDOW}"))
