"""Insecurity windows and parked worries.

A window is an agreed, contained time to talk about anxieties: by default two 20-minute windows
a week, at days and times the couple picks. A time is entered in the setter's zone and shown to
each partner in their own. A window doesn't open in either partner's quiet hours: one whose time
falls in them opens when they end, and that is the time shown everywhere (when it is set, it
says whose quiet hours move it, and to when). `/worry` (private) parks a worry until the next
window of the couple it belongs to (a person in several couples says which, once: bot.which);
when it opens, the group sees that it opens and the structure for talking (I-statements,
reflect, validate, ask), while each partner is reminded privately of their own worries there and
decides, one by one, whether to share the text in that group (each offer names it). Whether
anyone parked a worry, and how many, is theirs: the group's messages read the same either way.
When it closes, a short wrap-up says where unfinished things go. While a partner has paused the
joint prompts (the safety switch of /support, read through `services.reads.prompts_paused`),
windows don't open; the worries stay parked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, NotRequired, TypedDict

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import asks, audience, which
from bot.context import Command, MendContext, Services
from bot.couples import entries_group, partner_locale
from bot.flows import Flow, Option, Rows, Run, Step, Turn, Unreadable, literal, runner_of
from bot.guards import Asked, known_partner, partners_only
from bot.links import private_link_button
from bot.messages import group_message, private_message, reply
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.outbox import GROUP
from bot.reading import read_clock, read_duration, read_weekday
from bot.render import Renderer, shorten, weekday_name
from bot.storage import Kind, Store, Transaction
from bot.timers import TIMERS_TABLE, Fired, Timers
from bot.when import next_local, outside_quiet_hours, quiet_until


class WindowSlot(TypedDict):
    """A weekly window: its day and time on the clock of the partner who set it."""

    id: NotRequired[int]
    weekday: int  # 0 is Monday
    at: str  # "HH:MM"
    zone: str | None
    minutes: int
    set_by: int


class Worry(TypedDict):
    """A worry parked for the next window, and what its author decided."""

    id: NotRequired[int]
    author: int
    text: str
    created_at: str | None
    status: str  # "parked", "shared" or "let_go"
    settled_at: NotRequired[str | None]  # once it is shared or let go


SLOTS_TABLE = Kind[WindowSlot]("window_slots")
WORRIES_TABLE = Kind[Worry]("worries", private=("text",), owner="author")  # sealed at rest
WINDOW_OPEN = "window_open"
WINDOW_CLOSE = "window_close"
DEFAULT_MINUTES = 20
MIN_MINUTES, MAX_MINUTES = 10, 60
MAX_SLOTS = 4
MAX_WORRY = 1000
TIME_PRESETS = ("07:30", "12:30", "18:00", "19:00", "20:00", "21:00")


def slots(services: Services, chat_id: int) -> list[WindowSlot]:
    return sorted(services.store.records(chat_id, SLOTS_TABLE), key=lambda r: r["id"])


def next_opening(slot: WindowSlot, after: datetime) -> datetime:
    """The slot's next time on the setter's clock (quiet hours aside: see `opening`)."""
    return next_local(time.fromisoformat(slot["at"]), slot["zone"], after, slot["weekday"])


def opening(slot: WindowSlot, after: datetime, couple: Couple) -> datetime:
    """When the slot's next window really opens: its time, or the end of the quiet hours of
    either partner that it falls in."""
    return outside_quiet_hours(next_opening(slot, after), couple.partners)


# -- the schedule --------------------------------------------------------------------------


@partners_only
async def window_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/window, /window add sunday 7pm, /window remove 2, /window length 30."""
    services = context.mend
    couple, partner, args = asked.couple, asked.partner, asked.words
    if not args:
        await runner_of(services).begin(
            context, couple, SCHEDULE, owner=None, data=_schedule_data(services, couple)
        )
        return
    said: tuple[str, dict[str, Any]] | None = None
    with services.store.transaction(couple.chat_id) as tx:
        if args[0] == "add" and len(args) >= 3:
            weekday, at = read_weekday(args[1]), read_clock(" ".join(args[2:]))
            if weekday is not None and at is not None:
                said = _add(tx, services, couple, partner, weekday, at)
        elif args[0] == "remove" and len(args) == 2 and args[1].isdigit():
            said = _remove(tx, services, couple, int(args[1]))
        elif args[0] == "length" and len(args) >= 2:
            minutes = read_duration(" ".join(args[1:]))
            if minutes is not None and MIN_MINUTES <= minutes <= MAX_MINUTES:
                table = tx.table(SLOTS_TABLE)
                for slot in table.all():
                    table.update(slot["id"], {"minutes": minutes})
                said = ("windows/length_set", {"minutes": minutes})
        if said is not None:
            services.outbox.put(tx, group_message(services, couple, said[0], **said[1]))
    if said is None:
        await reply(
            update,
            context,
            asked.locale,
            "windows/usage",
            low=MIN_MINUTES,
            high=MAX_MINUTES,
            most=MAX_SLOTS,
        )
        return
    await services.outbox.deliver(context, couple.chat_id)


def _add(
    tx: Transaction,
    services: Services,
    couple: Couple,
    partner: Partner,
    weekday: int,
    at: str,
) -> tuple[str, dict[str, Any]]:
    """Inside the couple's transaction: a new window, on the clock of the partner who set it,
    with its first opening pending; returns what to say."""
    table = tx.table(SLOTS_TABLE)
    current = table.all()
    if len(current) >= MAX_SLOTS:
        return "windows/full", {"most": MAX_SLOTS}
    minutes = next((s["minutes"] for s in current), DEFAULT_MINUTES)
    slot: WindowSlot = {
        "weekday": weekday,
        "at": at,
        "zone": partner.timezone,
        "minutes": minutes,
        "set_by": partner.user_id,
    }
    slot_id = table.insert(slot)
    chosen = next_opening(slot, utcnow())
    opens = opening(slot, utcnow(), couple)
    _ensure(services.timers, couple.chat_id, WINDOW_OPEN, slot_id, opens)
    return "windows/added", {
        "name": partner.name,
        "times": [{"name": p.name, "zone": p.timezone, "at": opens} for p in couple.partners],
        "minutes": minutes,
        "zone_missing": partner.timezone is None,
        # Quiet hours move this opening: whose, and the time that was chosen, on the setter's
        # clock (the times above are when it opens).
        "quiet": [p.name for p in couple.partners if quiet_until(chosen, p) is not None],
        "chosen": chosen,
        "zone": partner.timezone,
    }


def _remove(
    tx: Transaction, services: Services, couple: Couple, number: int
) -> tuple[str, dict[str, Any]] | None:
    """Inside the couple's transaction: window `number` (as listed) goes, with its timers."""
    current = sorted(tx.table(SLOTS_TABLE).all(), key=lambda r: r["id"])
    if not 1 <= number <= len(current):
        return None
    slot_id = current[number - 1]["id"]
    for timer in services.timers.pending(couple.chat_id, WINDOW_OPEN):
        if timer["payload"].get("slot") == slot_id:
            services.timers.cancel(couple.chat_id, timer["id"])
    tx.table(SLOTS_TABLE).remove(slot_id)
    return "windows/removed", {"number": number, "left": len(current) - 1}


# -- the schedule with buttons: /window, then a day and a time ---------------------------------

SCHEDULE, ADD = "windows", "window_add"


def _schedule_data(services: Services, couple: Couple) -> dict[str, Any]:
    return {
        "slots": [
            {k: s[k] for k in ("id", "weekday", "at", "zone", "minutes")}
            for s in slots(services, couple.chat_id)
        ],
        "default": DEFAULT_MINUTES,
    }


def _schedule_shown(services: Services, couple: Couple, run: Run, locale: str) -> dict[str, Any]:
    """Each window's next opening as each partner reads it (after quiet hours, if it falls
    in them)."""
    now = utcnow()
    return {
        "windows": [
            {
                "number": index + 1,
                "minutes": slot["minutes"],
                "times": [
                    {"name": p.name, "zone": p.timezone, "at": opening(slot, now, couple)}
                    for p in couple.partners
                ],
            }
            for index, slot in enumerate(run.data["slots"])
        ],
    }


def _schedule_options(run: Run) -> Rows:
    rows: list[list[Option]] = []
    if len(run.data["slots"]) < MAX_SLOTS:
        rows.append([Option("add", "windows.add")])
    rows.extend(
        [Option(f"remove_{slot['id']}", "windows.remove", {"number": index + 1})]
        for index, slot in enumerate(run.data["slots"])
    )
    return rows


def _schedule_pressed(turn: Turn) -> str:
    """Add (a day and a time follow, as messages of their own) or remove a window."""
    services = turn.runner.services
    if turn.value == "add":
        turn.runner.start(turn.tx, turn.couple, ADD, owner=turn.partner)
        return "list"
    slot_id = int(str(turn.value).removeprefix("remove_"))
    listed = [s["id"] for s in sorted(turn.tx.table(SLOTS_TABLE).all(), key=lambda r: r["id"])]
    if slot_id not in listed:
        turn.toast, turn.alert = "alert.stale_button", True
        return "list"
    said = _remove(turn.tx, services, turn.couple, listed.index(slot_id) + 1)
    if said is not None:
        turn.say(GROUP, said[0], **said[1])
    turn.data.update(_schedule_data_in(turn))
    return "list"


def _schedule_data_in(turn: Turn) -> dict[str, Any]:
    current = sorted(turn.tx.table(SLOTS_TABLE).all(), key=lambda r: r["id"])
    return {
        "slots": [{k: s[k] for k in ("id", "weekday", "at", "zone", "minutes")} for s in current]
    }


def _weekday_text(day: int) -> Callable[[Renderer, str], str]:
    return lambda render, locale: weekday_name(day, locale)


def _day_chosen(turn: Turn) -> str:
    turn.data["weekday"] = int(str(turn.value).removeprefix("d"))
    turn.data["zone"] = turn.partner.timezone
    return "time"


def _time_chosen(turn: Turn) -> str | None:
    if turn.value == "other":
        return "typed"
    at = read_clock(str(turn.value).removeprefix("t"))
    if at is not None:
        _added(turn, at)
    return None


def _read_time(text: str) -> str:
    at = read_clock(text)
    if at is None:
        raise Unreadable("alert.windows_bad_time", typed=shorten(text))
    return at


def _added(turn: Turn, at: str) -> None:
    """The window is added; the flow ends with the word of it in the group."""
    said = _add(turn.tx, turn.runner.services, turn.couple, turn.partner, turn.data["weekday"], at)
    turn.say(GROUP, said[0], **said[1])


WINDOWS_FLOW = Flow(
    name=SCHEDULE,
    first="list",
    steps={
        "list": Step(
            "windows/schedule",
            _schedule_options,
            answer=_schedule_pressed,
            who="partners",
            edit=True,
        ),
    },
    view=_schedule_shown,
)
ADD_FLOW = Flow(
    name=ADD,
    first="day",
    steps={
        "day": Step(
            "windows/pick_day",
            [[Option(f"d{day}", text=_weekday_text(day))] for day in range(7)],
            answer=_day_chosen,
        ),
        "time": Step(
            "windows/pick_time",
            [
                *([Option(f"t{at.replace(':', '')}", text=literal(at))] for at in TIME_PRESETS),
                [Option("other", "windows.other_time")],
            ],
            answer=_time_chosen,
        ),
        "typed": Step(
            "windows/ask_time", read=_read_time, answer=lambda turn: _added(turn, turn.value)
        ),
    },
)


# -- opening and closing ----------------------------------------------------------------------


async def window_opens(context: MendContext, fired: Fired) -> None:
    """The window opens: the structure in the group, each one's worries (and how many) in
    private only. Everything it says is owed in one change, so a failure half-way resumes."""
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
            opening(slot, now, couple),
            besides=fired.timer_id,
        )
        if services.reads.prompts_paused(services.store, couple.chat_id):
            return  # the next one is set; this one doesn't open
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
                late=fired.late,
                names=[p.name for p in couple.partners],
            ),
        )
        for partner in couple.partners:
            mine = [w for w in parked if w["author"] == partner.user_id]
            if mine and partner.private_chat:
                # Each offer to share names the group it would go to.
                services.outbox.put(
                    tx,
                    private_message(
                        services,
                        partner,
                        "windows/your_worries",
                        count=len(mine),
                        group=couple.title,
                    ),
                )
                for worry in mine:
                    runner_of(services).start(
                        tx,
                        couple,
                        WORRY_FLOW,
                        owner=partner,
                        data={"worry": worry["id"], "group": couple.title},
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
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
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
        services.outbox.put(
            tx,
            group_message(
                services,
                couple,
                "windows/closed",
                late=fired.late,
                times=times,
            ),
        )
    await services.outbox.deliver(context, fired.chat_id)


# -- worries ------------------------------------------------------------------------------


@known_partner
async def worry_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/worry <text> in private parks a worry for the next window."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    services = context.mend
    couple, partner, locale = asked.couple, asked.partner, asked.locale
    if not asked.private:
        # Never repeat or store what was typed here: worries belong in the private chat.
        rows = [[private_link_button(services, locale)]]
        await reply(
            update, context, locale, "windows/worry_in_private", buttons=rows, name=partner.name
        )
        return
    text = asked.typed
    if not text:
        await asks.ask(
            context,
            couple,
            partner,
            "worry",
            "windows/worry_ask",
            in_chat=chat.id,
            reply_to=message.message_id,
            parked=sum(
                _parked_count(services.store.records(c.chat_id, WORRIES_TABLE), partner.user_id)
                for c in asked.couples
            ),
        )
        return
    await park(update, context, partner, text)


def _parked_count(worries: list[Worry], user_id: int) -> int:
    return sum(1 for w in worries if w["author"] == user_id and w["status"] == "parked")


async def park(update: Update, context: MendContext, partner: Partner, text: str) -> None:
    """A worry is parked with the couple it belongs to (bot.which: a person in several couples
    says which group it is for)."""
    if len(text) > MAX_WORRY:
        locale = partner_locale(context.mend, partner)
        await reply(
            update, context, locale, "windows/worry_too_long", most=MAX_WORRY, length=len(text)
        )
        return
    await which.keep(update, context, partner.user_id, WORRY_FLOW, {"text": text})


def _parked(
    services: Services, tx: Transaction, couple: Couple, me: Partner, given: dict[str, Any]
) -> None:
    """Inside the couple's transaction: the worry is parked until its next window, and its
    author told when that is (and, in several couples, which group's window it is)."""
    worries = tx.table(WORRIES_TABLE)
    worries.insert(
        {
            "author": me.user_id,
            "text": str(given["text"]),
            "created_at": to_iso(utcnow()),
            "status": "parked",
        }
    )
    upcoming = sorted(
        services.timers.pending(couple.chat_id, WINDOW_OPEN), key=lambda t: str(t["due"])
    )
    services.outbox.put(
        tx,
        private_message(
            services,
            me,
            "windows/worry_parked",
            opening=from_iso(upcoming[0]["due"]) if upcoming else None,
            zone=me.timezone,
            parked=_parked_count(worries.all(), me.user_id),
            group=entries_group(services.store, couple, me.user_id),
        ),
    )


async def worry_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    await park(update, context, answer.partner, answer.text.strip())


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
    if shared:  # personal: where the couple wants it (bot.audience)
        audience.share(
            turn.tx,
            turn.services,
            turn.couple,
            "windows/worry_shared",
            thread=turn.run.thread,  # the topic the window opened in
            name=turn.partner.name,
            text=worry["text"],
        )
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


def next_window(store: Store, chat_id: int) -> datetime | None:
    """When the couple's next window opens (other features read it: services.reads)."""
    upcoming = [
        due
        for t in store.records(chat_id, TIMERS_TABLE)
        if t["kind"] == WINDOW_OPEN and (due := from_iso(t["due"])) is not None
    ]
    return min(upcoming, default=None)


def windows_export(services: Services, couple: Couple, user_id: int) -> list[dict[str, Any]]:
    return [
        {k: s[k] for k in ("weekday", "at", "zone", "minutes")}
        for s in slots(services, couple.chat_id)
    ]


def reconcile(timers: Timers, couple: Couple) -> None:
    """Every window has its next opening pending (a missed one was dropped at start-up)."""
    for slot in timers.store.records(couple.chat_id, SLOTS_TABLE):
        _ensure(timers, couple.chat_id, WINDOW_OPEN, slot["id"], opening(slot, utcnow(), couple))


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("window", "together"),
        Command("worry", "personal", in_group=False, in_private=True),
    )
    # An opening missed by more than a window's length is dropped (the next one comes); a
    # closing is still worth a late word. Openings wait out quiet hours; closings don't.
    services.timers.register(
        WINDOW_OPEN,
        window_opens,
        late_limit=timedelta(minutes=MAX_MINUTES),
        quiet=True,
        pause=True,
    )
    services.timers.register(WINDOW_CLOSE, window_closes, late_limit=timedelta(hours=12))
    services.timers.reconcile_with(reconcile)
    services.exporters["worries"] = worries_export
    services.exporters["windows"] = windows_export
    services.reads.next_window = next_window
    which.on_keep(WORRY_FLOW, _parked)
    runner_of(services).add(WORRY, WINDOWS_FLOW, ADD_FLOW)
    asks.on_answer("worry", worry_answer)
    app.add_handler(CommandHandler("window", window_command))
    app.add_handler(CommandHandler("worry", worry_command))
