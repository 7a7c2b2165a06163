"""The weekly check-in ("state of the union"), the monthly trust checklist, and the quarterly
appreciation letter with its prompt for a longer visit.

Weekly, on the couple's day and time (Sunday 19:00 on the first partner's clock unless one of
them chose another with `/checkin sunday 19:00`, on their own clock; the first one comes after a
first stretch of days with the bot), or at once with `/checkin`: a non-anonymous 1–5 poll in the
group (how safe and connected the week felt) and, in each partner's private chat, the three
reflection questions (what went well, what still hurts, what I will do before the next one), one
at a time. After each answer its author decides: share it or keep it private. Nothing is shown
until both have finished or the deadline (24 hours) has passed; then the group sees what each
chose to share, question by question, side by side. Whoever hasn't finished gets one gentle
reminder 12 hours before the deadline. A partner who is away (`/away`) isn't asked.

Monthly, at the end of each roadmap month (or with `/checklist`): the guide's six statements as
a multi-answer poll. When both have answered (or after three days) the group gets the verdict —
most statements checked (four or more of six) means they are moving the right way — the change
since last month, and a pointer to the monthly review of the repair plan and the boundaries.

Quarterly, a few days after each third roadmap month: an appreciation letter each partner writes
in private. A letter can be taken back until both are written; then both appear in the group
together. The same message suggests a longer visit or a small retreat (/visit).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import asks, polls
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.dates import add_months
from bot.features.onboarding import LINK as PRIVATE_LINK
from bot.features.rituals import is_away
from bot.features.talk import phase_of, roadmap_month
from bot.guards import partners_only
from bot.messages import Buttons, button, reply, say, say_private
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.reading import read_clock, read_weekday
from bot.storage import Record, Store
from bot.timers import Fired, Timers
from bot.when import local_to_utc, next_local

log = logging.getLogger(__name__)

CHECKINS_TABLE = "checkins"
SCHEDULE_TABLE = "checkin_schedule"
CHECKLISTS_TABLE = "checklists"
LETTERS_TABLE = "letters"

WEEKLY = "checkin_weekly"
REMIND = "checkin_remind"
DEADLINE = "checkin_deadline"
MONTHLY = "checklist_monthly"
CHECKLIST_END = "checklist_deadline"
QUARTERLY = "quarterly"

DEFAULT_WEEKDAY, DEFAULT_AT = 6, "19:00"
ANSWER_WINDOW = timedelta(hours=24)
REMIND_BEFORE = timedelta(hours=12)
FIRST_AFTER_SETUP = timedelta(days=5)
CHECKLIST_WINDOW = timedelta(days=3)
CHECKLIST_AT = time(19, 0)
QUARTER_AT = time(18, 0)
QUARTER_AFTER = timedelta(days=4)
QUESTIONS = ("well", "hurts", "will_do")
SCORES = 5
STATEMENTS = ("open", "promises", "jealousy", "together", "plans", "hopeful")
MOST = 4  # "most" of the six statements: more than half
MAX_ANSWER = 500  # six of them fit side by side in one message
MAX_LETTER = 1500  # two of them fit in one message
REVEAL_LATE_LIMIT = timedelta(days=7)
MINE = "chk:"  # private buttons: chk:<action>:<chat>:<record>[:<question>:<choice>]
OURS = "chkg:"  # group buttons: chkg:<action>:<record>


def _times(couple: Couple, moment: datetime) -> list[dict[str, Any]]:
    """A moment as each partner reads it on their own clock."""
    return [{"name": p.name, "zone": p.timezone, "at": moment} for p in couple.partners]


def _record(store: Store, chat_id: int, table: str, record_id: Any) -> Record | None:
    return next((r for r in store.records(chat_id, table) if r["id"] == record_id), None)


def _update(store: Store, chat_id: int, table: str, record_id: int, fields: Record) -> None:
    with store.transaction(chat_id) as tx:
        tx.table(table).update(record_id, fields)


def _phase(couple: Couple) -> str:
    return phase_of(roadmap_month(couple.setup_completed_at, utcnow()))


def _stale(context: MendContext, locale: str) -> str:
    return context.mend.render.label(locale, "alert.stale_button")


async def _ask_private(
    context: MendContext, couple: Couple, partner: Partner, kind: str, template: str, **data: Any
) -> bool:
    """A question in the partner's private chat; False if it can't reach them."""
    if not partner.private_chat:
        return False
    try:
        await asks.ask(context, couple, partner, kind, template, in_chat=partner.user_id, **data)
    except Forbidden:
        return False
    except BadRequest as error:
        if "chat not found" not in error.message.lower():
            raise
        return False
    return True


# -- the weekly schedule -----------------------------------------------------------------------


def schedule_of(store: Store, couple: Couple) -> Record:
    """The couple's check-in day and time: theirs if they chose, else Sunday 19:00. The time
    is on the clock of the partner who chose it (the first partner's by default), and follows
    that partner if they move to another zone."""
    chosen: Record = {"weekday": DEFAULT_WEEKDAY, "at": DEFAULT_AT, "on": True, "set_by": None}
    stored = next(iter(store.records(couple.chat_id, SCHEDULE_TABLE)), None)
    if stored is not None:
        chosen.update({k: stored[k] for k in ("weekday", "at", "on", "set_by") if k in stored})
    setter = couple.partner(chosen["set_by"]) if chosen["set_by"] else None
    if setter is None and couple.partners:
        setter = couple.partners[0]
    chosen["zone"] = setter.timezone if setter else None
    return chosen


def _next_weekly(schedule: Record, after: datetime) -> datetime:
    return next_local(
        time.fromisoformat(schedule["at"]), schedule["zone"], after, schedule["weekday"]
    )


def ensure_weekly(
    timers: Timers, couple: Couple, *, besides: int | None = None, after: datetime | None = None
) -> None:
    """The next weekly check-in is pending (unless they turned it off)."""
    schedule = schedule_of(timers.store, couple)
    if not schedule["on"] or any(
        t["id"] != besides for t in timers.pending(couple.chat_id, WEEKLY)
    ):
        return
    if after is None:
        after = utcnow()
        if couple.setup_completed_at and not timers.store.records(couple.chat_id, CHECKINS_TABLE):
            # A first stretch of days together before the first one.
            after = max(after, couple.setup_completed_at + FIRST_AFTER_SETUP)
    timers.schedule(couple.chat_id, WEEKLY, _next_weekly(schedule, after))


def ensure(timers: Timers, couple: Couple, pending: list[Record] | None = None) -> None:
    """Each recurring series has its next timer (at start-up, run by progress.py for every
    couple, and once a couple is set up); `pending`: the couple's timers, if read already."""
    kinds = {t["kind"] for t in (timers.pending(couple.chat_id) if pending is None else pending)}
    if WEEKLY not in kinds:
        ensure_weekly(timers, couple)
    if MONTHLY not in kinds:
        ensure_monthly(timers, couple)
    if QUARTERLY not in kinds:
        ensure_quarterly(timers, couple)


async def weekly_due(context: MendContext, fired: Fired) -> None:
    """The couple's check-in time."""
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    if couple is None or couple.status != "active" or not couple.is_set_up:
        return
    schedule = schedule_of(services.store, couple)
    if not schedule["on"]:
        return
    now = utcnow()
    # The time follows its partner's zone: if that changed since this timer was set, come at
    # the right local time, when that is still ahead.
    target = _next_weekly(schedule, now - timedelta(hours=26))
    if now + timedelta(minutes=10) < target < now + timedelta(days=1):
        ensure_weekly(
            services.timers, couple, besides=fired.timer_id, after=target - timedelta(seconds=1)
        )
        return
    ensure_weekly(
        services.timers,
        couple,
        besides=fired.timer_id,
        after=max(now, target) + timedelta(minutes=15),
    )
    await start_checkin(context, couple)
    from bot.features.progress import check_milestones  # progress builds on this module

    await check_milestones(context, couple)


@partners_only
async def checkin_command(update: Update, context: MendContext, couple: Couple) -> None:
    """/checkin starts one now; /checkin sunday 19:00 moves the weekly one; /checkin off|on."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    services = context.mend
    locale = group_locale(services, couple)
    args = [a.lower() for a in context.args or []]
    me = couple.partner(user.id)
    assert me is not None
    if not args:
        thread = message.message_thread_id if message.is_topic_message else None
        started = await start_checkin(context, couple, by=me, thread_id=thread)
        if started is None:
            running = open_checkin(services.store, couple.chat_id)
            deadline = from_iso(running["deadline"]) if running else None
            await reply(
                update,
                context,
                locale,
                "checkins/already_open",
                times=_times(couple, deadline) if deadline else [],
            )
        return
    if args in (["off"], ["aus"]):
        _save_schedule(services.store, couple, {"on": False})
        services.timers.cancel_kind(couple.chat_id, WEEKLY)
        await reply(update, context, locale, "checkins/schedule_off")
        return
    if args in (["on"], ["an"]):
        _save_schedule(services.store, couple, {"on": True})
    elif (
        len(args) >= 2
        and (weekday := read_weekday(args[0])) is not None
        and (at := read_clock(" ".join(args[1:]))) is not None
    ):
        _save_schedule(
            services.store, couple, {"weekday": weekday, "at": at, "on": True, "set_by": me.user_id}
        )
    else:
        await reply(update, context, locale, "checkins/usage")
        return
    services.timers.cancel_kind(couple.chat_id, WEEKLY)
    ensure_weekly(services.timers, couple, after=utcnow())
    schedule = schedule_of(services.store, couple)
    upcoming = services.timers.pending(couple.chat_id, WEEKLY)
    moment = from_iso(upcoming[0]["due"]) if upcoming else _next_weekly(schedule, utcnow())
    assert moment is not None
    await reply(
        update,
        context,
        locale,
        "checkins/schedule_set",
        weekday=schedule["weekday"],
        at=schedule["at"],
        zone=schedule["zone"],
        times=_times(couple, moment),
    )


def _save_schedule(store: Store, couple: Couple, fields: Record) -> None:
    current = {k: v for k, v in schedule_of(store, couple).items() if k != "zone"}
    with store.transaction(couple.chat_id) as tx:
        table = tx.table(SCHEDULE_TABLE)
        table.clear()
        table.insert({**current, **fields})


# -- the weekly check-in -----------------------------------------------------------------------


def open_checkin(store: Store, chat_id: int) -> Record | None:
    return next((r for r in store.records(chat_id, CHECKINS_TABLE) if r["state"] == "open"), None)


def _expire_stale(services: Services, chat_id: int, table: str) -> None:
    """An open check-in or checklist whose deadline passed during a downtime longer than its
    reveal may still come late is closed quietly, so it doesn't block the next one."""
    now = utcnow()
    for record in services.store.records(chat_id, table):
        deadline = from_iso(record.get("deadline"))
        if record["state"] == "open" and deadline and now - deadline > REVEAL_LATE_LIMIT:
            _update(services.store, chat_id, table, record["id"], {"state": "expired"})
            if record.get("poll_id"):
                polls.close(services, chat_id, record["poll_id"])


async def start_checkin(
    context: MendContext, couple: Couple, *, by: Partner | None = None, thread_id: int | None = None
) -> Record | None:
    """Poll in the group, questions in private; None if one is running already."""
    services = context.mend
    store = services.store
    _expire_stale(services, couple.chat_id, CHECKINS_TABLE)
    if open_checkin(store, couple.chat_id) is not None:
        return None
    now = utcnow()
    deadline = now + ANSWER_WINDOW
    phase = _phase(couple)
    away = [p for p in couple.partners if p.left_group or is_away(store, couple, p, now)]
    with store.transaction(couple.chat_id) as tx:
        checkin_id = tx.table(CHECKINS_TABLE).insert(
            {
                "state": "open",
                "started_at": to_iso(now),
                "deadline": to_iso(deadline),
                "phase": phase,
                "by": by.user_id if by else None,
                "scores": {},
                "reflections": {},
                "away": [p.user_id for p in away],
                "poll_id": None,
                "revealed_at": None,
            }
        )
    unreachable = []
    for partner in couple.partners:
        if partner in away:
            continue
        _set_reflection(
            store,
            couple.chat_id,
            checkin_id,
            partner.user_id,
            {"step": 0, "texts": {}, "share": {}, "done": False},
        )
        if not await _ask_question(context, couple, partner, checkin_id, 0, deadline):
            unreachable.append(partner)
    locale = group_locale(services, couple)
    rows: Buttons = []
    if unreachable:
        label = services.render.label
        rows = [
            [button(label(locale, "settings.private_link"), PRIVATE_LINK)],
            [button(label(locale, "checkins.send_questions"), f"{OURS}q:{checkin_id}")],
        ]
    await say(
        context,
        couple.chat_id,
        locale,
        "checkins/started",
        buttons=rows,
        thread_id=thread_id,
        phase=phase,
        name=by.name if by else None,
        times=_times(couple, deadline),
        away=[p.name for p in away],
        unreachable=[p.name for p in unreachable],
    )
    render = services.render
    poll = await polls.send_poll(
        context,
        couple,
        "checkin",
        render.label(locale, "checkins.poll_question"),
        [render.label(locale, f"checkins.score_{n}") for n in range(1, SCORES + 1)],
        payload={"checkin": checkin_id},
        thread_id=thread_id,
    )
    assert poll.poll is not None
    _update(store, couple.chat_id, CHECKINS_TABLE, checkin_id, {"poll_id": poll.poll.id})
    services.timers.schedule(couple.chat_id, DEADLINE, deadline, payload={"checkin": checkin_id})
    for partner in couple.partners:
        if partner not in away:
            services.timers.schedule(
                couple.chat_id,
                REMIND,
                deadline - REMIND_BEFORE,
                partner=partner.user_id,
                payload={"checkin": checkin_id},
            )
    log.info(
        "weekly check-in started (%d asked privately)",
        len(couple.partners) - len(away) - len(unreachable),
    )
    return _record(store, couple.chat_id, CHECKINS_TABLE, checkin_id)


def _set_reflection(
    store: Store, chat_id: int, checkin_id: int, user_id: int, fields: Record
) -> Record:
    """Change one partner's reflection inside a check-in; returns the check-in."""
    with store.transaction(chat_id) as tx:
        table = tx.table(CHECKINS_TABLE)
        record = table.get(checkin_id)
        assert record is not None
        reflections = {k: dict(v) for k, v in record["reflections"].items()}
        reflections.setdefault(str(user_id), {}).update(fields)
        table.update(checkin_id, {"reflections": reflections})
        record["reflections"] = reflections
    return record


async def _ask_question(
    context: MendContext,
    couple: Couple,
    partner: Partner,
    checkin_id: int,
    step: int,
    deadline: datetime,
    *,
    again: bool = False,
) -> bool:
    other = couple.other(partner.user_id)
    return await _ask_private(
        context,
        couple,
        partner,
        "checkin_reflect",
        "checkins/question",
        payload={"checkin": checkin_id, "step": step},
        first=step == 0 and not again,
        question=QUESTIONS[step],
        number=step + 1,
        total=len(QUESTIONS),
        phase=_phase(couple),
        other=other.name if other else "",
        deadline=deadline,
        zone=partner.timezone,
        most=MAX_ANSWER,
    )


async def reflect_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """One reflection answer, kept private; then its author chooses whether to share it."""
    services = context.mend
    couple, me = answer.couple, answer.partner
    locale = partner_locale(services, me)
    checkin_id, step = answer.payload.get("checkin"), answer.payload.get("step")
    record = _record(services.store, couple.chat_id, CHECKINS_TABLE, checkin_id)
    mine = record["reflections"].get(str(me.user_id)) if record else None
    if (
        record is None
        or record["state"] != "open"
        or mine is None
        or mine["step"] != step
        or not isinstance(step, int)
        or QUESTIONS[step] in mine["texts"]
    ):
        await reply(update, context, locale, "checkins/closed_private")
        return
    text = answer.text.strip()
    deadline = from_iso(record["deadline"])
    assert deadline is not None
    if len(text) > MAX_ANSWER:
        await reply(update, context, locale, "checkins/too_long", most=MAX_ANSWER, length=len(text))
        await _ask_question(context, couple, me, record["id"], step, deadline, again=True)
        return
    _set_reflection(
        services.store,
        couple.chat_id,
        record["id"],
        me.user_id,
        {"texts": {**mine["texts"], QUESTIONS[step]: text}},
    )
    await _ask_share(context, couple, me, record["id"], step)


async def _ask_share(
    context: MendContext, couple: Couple, me: Partner, checkin_id: int, step: int
) -> None:
    services = context.mend
    locale = partner_locale(services, me)
    data = f"{couple.chat_id}:{checkin_id}:{step}"
    rows: Buttons = [
        [
            button(services.render.label(locale, "checkins.share"), f"{MINE}s:{data}:1"),
            button(services.render.label(locale, "checkins.keep"), f"{MINE}s:{data}:0"),
        ]
    ]
    other = couple.other(me.user_id)
    await say_private(
        context,
        couple,
        me,
        "checkins/share_ask",
        buttons=rows,
        question=QUESTIONS[step],
        other=other.name if other else "",
    )


async def _share_choice(update: Update, context: MendContext, parts: list[str]) -> bool:
    """chk:s:<chat>:<checkin>:<step>:<1|0> — the author shares an answer or keeps it."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    services = context.mend
    if len(parts) != 5 or not all(p.lstrip("-").isdigit() for p in parts[1:]):
        return False
    chat_id, checkin_id, step, choice = (int(p) for p in parts[1:])
    couple = services.store.couple(chat_id)
    me = couple.partner(user.id) if couple else None
    record = _record(services.store, chat_id, CHECKINS_TABLE, checkin_id) if me else None
    mine = record["reflections"].get(str(user.id)) if record else None
    if (
        couple is None
        or me is None
        or record is None
        or mine is None
        or record["state"] != "open"
        or choice not in (0, 1)
        or mine["step"] != step
        or not 0 <= step < len(QUESTIONS)
        or QUESTIONS[step] not in mine["texts"]
    ):
        return False
    locale = partner_locale(services, me)
    step_after = step + 1
    done = step_after == len(QUESTIONS)
    _set_reflection(
        services.store,
        chat_id,
        checkin_id,
        me.user_id,
        {
            "share": {**mine["share"], QUESTIONS[step]: choice == 1},
            "step": step_after,
            "done": done,
        },
    )
    alert = "alert.checkins_shared" if choice else "alert.checkins_kept"
    await query.answer(services.render.label(locale, alert))
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)
    deadline = from_iso(record["deadline"])
    assert deadline is not None
    if not done:
        await _ask_question(context, couple, me, checkin_id, step_after, deadline)
        return True
    other = couple.other(me.user_id)
    await say_private(
        context,
        couple,
        me,
        "checkins/reflect_done",
        other=other.name if other else "",
        deadline=deadline,
        zone=me.timezone,
    )
    await _reveal_if_complete(context, couple, checkin_id)
    return True


async def _reveal_if_complete(context: MendContext, couple: Couple, checkin_id: int) -> None:
    record = _record(context.mend.store, couple.chat_id, CHECKINS_TABLE, checkin_id)
    if record is None or record["state"] != "open":
        return
    asked = record["reflections"].values()
    if asked and all(r.get("done") for r in asked):
        await _reveal(context, couple, record, late=False)


def answered_by(record: Record, user_id: int) -> bool:
    """A partner answered a check-in: finished the reflection or gave a score."""
    mine = record["reflections"].get(str(user_id), {})
    return bool(mine.get("done")) or str(user_id) in record["scores"]


async def _reveal(context: MendContext, couple: Couple, record: Record, *, late: bool) -> None:
    """What each chose to share, side by side: question by question, both partners."""
    services = context.mend
    store = services.store
    _update(
        store,
        couple.chat_id,
        CHECKINS_TABLE,
        record["id"],
        {"state": "revealed", "revealed_at": to_iso(utcnow())},
    )
    for pending in services.timers.pending(couple.chat_id, REMIND):
        if pending["payload"].get("checkin") == record["id"]:
            services.timers.cancel(couple.chat_id, pending["id"])
    questions = []
    for question in QUESTIONS:
        answers = []
        for partner in couple.partners:
            mine = record["reflections"].get(str(partner.user_id), {})
            text = mine.get("texts", {}).get(question)
            shared = bool(mine.get("share", {}).get(question))
            status = "shared" if text and shared else "private" if text else "none"
            answers.append(
                {
                    "name": partner.name,
                    "status": status,
                    "text": text if status == "shared" else None,
                    "away": partner.user_id in record["away"],
                }
            )
        questions.append({"key": question, "answers": answers})
    scores = [
        {"name": p.name, "score": record["scores"].get(str(p.user_id))} for p in couple.partners
    ]
    # Complete: everyone who was asked finished (a partner away this week wasn't asked).
    complete = all(r.get("done") for r in record["reflections"].values())
    await say(
        context,
        couple.chat_id,
        group_locale(services, couple),
        "checkins/reveal",
        questions=questions,
        scores=scores,
        late=late,
        complete=complete,
    )
    from bot.features.progress import after_checkin  # progress builds on this module

    await after_checkin(context, couple)


async def deadline_due(context: MendContext, fired: Fired) -> None:
    """The check-in's deadline: reveal what there is (if not yet), close the poll."""
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    record = _record(services.store, fired.chat_id, CHECKINS_TABLE, fired.payload.get("checkin"))
    if couple is None or record is None:
        return
    if record.get("poll_id"):
        await polls.stop(context, couple.chat_id, record["poll_id"])
    if record["state"] == "open":
        record = _record(services.store, fired.chat_id, CHECKINS_TABLE, record["id"]) or record
        await _reveal(context, couple, record, late=fired.late)


async def remind_due(context: MendContext, fired: Fired) -> None:
    """One gentle reminder to a partner who hasn't finished, with the open question again."""
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    me = couple.partner(fired.partner) if couple and fired.partner else None
    record = _record(services.store, fired.chat_id, CHECKINS_TABLE, fired.payload.get("checkin"))
    mine = record["reflections"].get(str(me.user_id)) if record and me else None
    if (
        couple is None
        or me is None
        or record is None
        or mine is None
        or record["state"] != "open"
        or mine.get("done")
        or is_away(services.store, couple, me, utcnow())
    ):
        return
    deadline = from_iso(record["deadline"])
    assert deadline is not None
    if (
        await say_private(
            context,
            couple,
            me,
            "checkins/reminder",
            deadline=deadline,
            zone=me.timezone,
            started=bool(mine["texts"]),
        )
        is None
    ):
        return
    await _continue(context, couple, me, record, mine)


async def score_vote(context: MendContext, vote: polls.Vote) -> None:
    """A 1–5 vote on the weekly poll (or taken back): kept with the check-in."""
    store = context.mend.store
    record = _record(store, vote.couple.chat_id, CHECKINS_TABLE, vote.payload.get("checkin"))
    if record is None:
        return
    scores = dict(record["scores"])
    if vote.option_ids and 0 <= vote.option_ids[0] < SCORES:
        scores[str(vote.partner.user_id)] = vote.option_ids[0] + 1
    else:
        scores.pop(str(vote.partner.user_id), None)
    _update(store, vote.couple.chat_id, CHECKINS_TABLE, record["id"], {"scores": scores})


# -- the monthly checklist ---------------------------------------------------------------------


def _shifted(couple: Couple, store: Store, day: datetime, at: time) -> datetime:
    """A day's moment in the first partner's zone, a day later if the check-in is that day."""
    schedule = schedule_of(store, couple)
    first = couple.partners[0] if couple.partners else None
    if schedule["on"] and day.weekday() == schedule["weekday"]:
        day += timedelta(days=1)
    return local_to_utc(day, at, first.timezone if first else None)


def checklist_moment(couple: Couple, store: Store, month: int) -> datetime:
    """The end of roadmap month `month`: when its checklist comes."""
    assert couple.setup_completed_at is not None
    return _shifted(couple, store, add_months(couple.setup_completed_at, month), CHECKLIST_AT)


def ensure_monthly(
    timers: Timers, couple: Couple, *, besides: int | None = None, at_least: int = 1
) -> None:
    """The next month's checklist is pending (after month `at_least` - 1 has had its own)."""
    _ensure_numbered(timers, couple, MONTHLY, "month", checklist_moment, besides, at_least)


def _ensure_numbered(
    timers: Timers,
    couple: Couple,
    kind: str,
    key: str,
    moment: Callable[[Couple, Store, int], datetime],
    besides: int | None,
    at_least: int,
) -> None:
    """A numbered series (month n, quarter n): the first number not yet past is pending,
    unless one is already (a retried timer, `besides`, doesn't count)."""
    if couple.setup_completed_at is None or any(
        t["id"] != besides for t in timers.pending(couple.chat_id, kind)
    ):
        return
    now = utcnow()
    number = at_least
    while moment(couple, timers.store, number) <= now:
        number += 1
    timers.schedule(
        couple.chat_id, kind, moment(couple, timers.store, number), payload={key: number}
    )


async def monthly_due(context: MendContext, fired: Fired) -> None:
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    if couple is None or couple.status != "active" or not couple.is_set_up:
        return
    ensure_monthly(
        services.timers,
        couple,
        besides=fired.timer_id,
        at_least=int(fired.payload.get("month", 0)) + 1,
    )
    await start_checklist(context, couple)


def open_checklist(store: Store, chat_id: int) -> Record | None:
    return next((r for r in store.records(chat_id, CHECKLISTS_TABLE) if r["state"] == "open"), None)


@partners_only
async def checklist_command(update: Update, context: MendContext, couple: Couple) -> None:
    """/checklist: this month's trust checklist now."""
    message = update.effective_message
    assert message is not None
    locale = group_locale(context.mend, couple)
    if context.args:
        await reply(update, context, locale, "checkins/checklist_usage")
        return
    thread = message.message_thread_id if message.is_topic_message else None
    if await start_checklist(context, couple, thread_id=thread) is None:
        running = open_checklist(context.mend.store, couple.chat_id)
        deadline = from_iso(running["deadline"]) if running else None
        await reply(
            update,
            context,
            locale,
            "checkins/checklist_open",
            times=_times(couple, deadline) if deadline else [],
        )


async def start_checklist(
    context: MendContext, couple: Couple, *, thread_id: int | None = None
) -> Record | None:
    services = context.mend
    store = services.store
    _expire_stale(services, couple.chat_id, CHECKLISTS_TABLE)
    if open_checklist(store, couple.chat_id) is not None:
        return None
    now = utcnow()
    deadline = now + CHECKLIST_WINDOW
    month = roadmap_month(couple.setup_completed_at, now)
    with store.transaction(couple.chat_id) as tx:
        checklist_id = tx.table(CHECKLISTS_TABLE).insert(
            {
                "state": "open",
                "started_at": to_iso(now),
                "deadline": to_iso(deadline),
                "month": month,
                "answers": {},
                "poll_id": None,
            }
        )
    locale = group_locale(services, couple)
    label = services.render.label
    await say(
        context,
        couple.chat_id,
        locale,
        "checkins/checklist_intro",
        thread_id=thread_id,
        month=month,
        total=len(STATEMENTS),
        most=MOST,
        times=_times(couple, deadline),
    )
    options = [label(locale, f"checkins.statement_{key}") for key in STATEMENTS]
    options.append(label(locale, "checkins.statement_none"))
    poll = await polls.send_poll(
        context,
        couple,
        "checklist",
        label(locale, "checkins.checklist_question"),
        options,
        multiple=True,
        payload={"checklist": checklist_id},
        thread_id=thread_id,
    )
    assert poll.poll is not None
    _update(store, couple.chat_id, CHECKLISTS_TABLE, checklist_id, {"poll_id": poll.poll.id})
    services.timers.schedule(
        couple.chat_id, CHECKLIST_END, deadline, payload={"checklist": checklist_id}
    )
    return _record(store, couple.chat_id, CHECKLISTS_TABLE, checklist_id)


async def checklist_vote(context: MendContext, vote: polls.Vote) -> None:
    """A partner ticked statements (or took the vote back); both in: the verdict."""
    store = context.mend.store
    couple = vote.couple
    record = _record(store, couple.chat_id, CHECKLISTS_TABLE, vote.payload.get("checklist"))
    if record is None or record["state"] != "open":
        return
    answers = dict(record["answers"])
    if vote.option_ids:
        answers[str(vote.partner.user_id)] = sorted(
            i for i in vote.option_ids if 0 <= i < len(STATEMENTS)
        )
    else:
        answers.pop(str(vote.partner.user_id), None)
    _update(store, couple.chat_id, CHECKLISTS_TABLE, record["id"], {"answers": answers})
    if all(str(p.user_id) in answers for p in couple.partners):
        record["answers"] = answers
        await _verdict(context, couple, record, late=False)


def done_checklists(store: Store, chat_id: int) -> list[Record]:
    """Finished checklists, oldest first."""
    return sorted(
        (r for r in store.records(chat_id, CHECKLISTS_TABLE) if r["state"] == "done"),
        key=lambda r: r["id"],
    )


async def _verdict(context: MendContext, couple: Couple, record: Record, *, late: bool) -> None:
    """Most checked? The change since last month, and the monthly review."""
    services = context.mend
    store = services.store
    previous = done_checklists(store, couple.chat_id)
    before = previous[-1]["answers"] if previous else {}
    _update(
        store,
        couple.chat_id,
        CHECKLISTS_TABLE,
        record["id"],
        {"state": "done", "done_at": to_iso(utcnow())},
    )
    partners = []
    counts: list[int] = []
    for partner in couple.partners:
        mine = record["answers"].get(str(partner.user_id))
        earlier = before.get(str(partner.user_id))
        count = None if mine is None else len(mine)
        if count is not None:
            counts.append(count)
        partners.append(
            {
                "name": partner.name,
                "count": count,
                "change": None if count is None or earlier is None else count - len(earlier),
            }
        )
    most = [c for c in counts if c >= MOST]
    if len(counts) == len(couple.partners) and len(most) == len(counts):
        verdict = "right_way"
    elif most:
        verdict = "mixed"
    elif counts:
        verdict = "not_yet"
    else:
        verdict = "no_answers"
    if record.get("poll_id"):
        await polls.stop(context, couple.chat_id, record["poll_id"])
    await say(
        context,
        couple.chat_id,
        group_locale(services, couple),
        "checkins/checklist_verdict",
        partners=partners,
        verdict=verdict,
        total=len(STATEMENTS),
        most=MOST,
        month=record["month"],
        late=late,
        first=not previous,
        path=couple.path,
    )
    from bot.features.progress import after_checklist  # progress builds on this module

    await after_checklist(context, couple)


async def checklist_end_due(context: MendContext, fired: Fired) -> None:
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    record = _record(
        services.store, fired.chat_id, CHECKLISTS_TABLE, fired.payload.get("checklist")
    )
    if couple is not None and record is not None and record["state"] == "open":
        await _verdict(context, couple, record, late=fired.late)


# -- quarterly: letters and a longer visit -----------------------------------------------------


def quarter_moment(couple: Couple, store: Store, quarter: int) -> datetime:
    assert couple.setup_completed_at is not None
    day = add_months(couple.setup_completed_at, 3 * quarter) + QUARTER_AFTER
    return _shifted(couple, store, day, QUARTER_AT)


def ensure_quarterly(
    timers: Timers, couple: Couple, *, besides: int | None = None, at_least: int = 1
) -> None:
    """The next quarter's letters are pending."""
    _ensure_numbered(timers, couple, QUARTERLY, "quarter", quarter_moment, besides, at_least)


async def quarterly_due(context: MendContext, fired: Fired) -> None:
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    if couple is None or couple.status != "active" or not couple.is_set_up:
        return
    ensure_quarterly(
        services.timers,
        couple,
        besides=fired.timer_id,
        at_least=int(fired.payload.get("quarter", 0)) + 1,
    )
    await start_letters(context, couple, int(fired.payload.get("quarter", 0)))


async def start_letters(context: MendContext, couple: Couple, quarter: int) -> int:
    """A new round of letters (an unrevealed earlier one closes: its letters stay private)."""
    services = context.mend
    store = services.store
    with store.transaction(couple.chat_id) as tx:
        table = tx.table(LETTERS_TABLE)
        for earlier in table.all():
            if earlier["state"] == "open":
                table.update(earlier["id"], {"state": "closed"})
        round_id = table.insert(
            {"quarter": quarter, "state": "open", "letters": {}, "started_at": to_iso(utcnow())}
        )
    locale = group_locale(services, couple)
    rows = [[button(services.render.label(locale, "checkins.write_letter"), f"{OURS}l:{round_id}")]]
    await say(
        context,
        couple.chat_id,
        locale,
        "checkins/quarterly",
        buttons=rows,
        quarter=quarter,
        phase=_phase(couple),
        most=MAX_LETTER,
    )
    now = utcnow()
    for partner in couple.partners:
        if not is_away(store, couple, partner, now):
            await _ask_letter(context, couple, partner, round_id)
    return round_id


async def _ask_letter(
    context: MendContext, couple: Couple, partner: Partner, round_id: int
) -> bool:
    other = couple.other(partner.user_id)
    return await _ask_private(
        context,
        couple,
        partner,
        "letter",
        "checkins/letter_ask",
        payload={"round": round_id},
        other=other.name if other else "",
        most=MAX_LETTER,
    )


@partners_only
async def group_button(update: Update, context: MendContext, couple: Couple) -> None:
    """chkg:l:<round> ("Write my letter") and chkg:q:<check-in> ("Send me the questions"):
    what is asked comes in the presser's private chat."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    services = context.mend
    locale = group_locale(services, couple)
    parts = query.data.removeprefix(OURS).split(":")
    me = couple.partner(user.id)
    assert me is not None
    if len(parts) == 2 and parts[0] == "q" and parts[1].isdigit():
        await _send_questions_again(update, context, couple, me, int(parts[1]))
        return
    letters = (
        _record(services.store, couple.chat_id, LETTERS_TABLE, int(parts[1]))
        if len(parts) == 2 and parts[0] == "l" and parts[1].isdigit()
        else None
    )
    if letters is None or letters["state"] != "open":
        await query.answer(_stale(context, locale), show_alert=True)
        return
    if str(me.user_id) in letters["letters"]:
        await query.answer(
            services.render.label(locale, "alert.checkins_letter_written"), show_alert=True
        )
        return
    if await _ask_letter(context, couple, me, letters["id"]):
        await query.answer(services.render.label(locale, "alert.checkins_sent_private"))
    else:
        await query.answer(
            services.render.label(locale, "alert.checkins_open_private"), show_alert=True
        )


async def _send_questions_again(
    update: Update, context: MendContext, couple: Couple, me: Partner, checkin_id: int
) -> None:
    """A partner who couldn't be reached (or was away) asks for this week's questions."""
    query = update.callback_query
    assert query is not None
    services = context.mend
    locale = group_locale(services, couple)
    record = _record(services.store, couple.chat_id, CHECKINS_TABLE, checkin_id)
    if record is None or record["state"] != "open":
        await query.answer(_stale(context, locale), show_alert=True)
        return
    mine = record["reflections"].get(str(me.user_id))
    if mine is not None and mine.get("done"):
        await query.answer(
            services.render.label(locale, "alert.checkins_nothing_to_send"), show_alert=True
        )
        return
    if mine is None:
        mine = {"step": 0, "texts": {}, "share": {}, "done": False}
        _set_reflection(services.store, couple.chat_id, checkin_id, me.user_id, mine)
    if await _continue(context, couple, me, record, mine):
        await query.answer(services.render.label(locale, "alert.checkins_sent_private"))
    else:
        await query.answer(
            services.render.label(locale, "alert.checkins_open_private"), show_alert=True
        )


async def _continue(
    context: MendContext, couple: Couple, me: Partner, record: Record, mine: Record
) -> bool:
    """The partner's next step again: the share choice they owe, or the open question."""
    deadline = from_iso(record["deadline"])
    assert deadline is not None
    step = int(mine["step"])
    if QUESTIONS[step] in mine["texts"]:
        if not me.private_chat:
            return False
        await _ask_share(context, couple, me, record["id"], step)
        return True
    return await _ask_question(context, couple, me, record["id"], step, deadline, again=step > 0)


async def letter_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A letter, kept until the other's is written too; then both appear together."""
    services = context.mend
    couple, me = answer.couple, answer.partner
    locale = partner_locale(services, me)
    letters = _record(services.store, couple.chat_id, LETTERS_TABLE, answer.payload.get("round"))
    if letters is None or letters["state"] != "open" or str(me.user_id) in letters["letters"]:
        await reply(update, context, locale, "checkins/letter_closed")
        return
    text = answer.text.strip()
    if len(text) > MAX_LETTER:
        await reply(
            update, context, locale, "checkins/letter_too_long", most=MAX_LETTER, length=len(text)
        )
        await _ask_letter(context, couple, me, letters["id"])
        return
    written = {
        **letters["letters"],
        str(me.user_id): {"text": text, "written_at": to_iso(utcnow())},
    }
    _update(services.store, couple.chat_id, LETTERS_TABLE, letters["id"], {"letters": written})
    other = couple.other(me.user_id)
    if all(str(p.user_id) in written for p in couple.partners):
        _update(
            services.store,
            couple.chat_id,
            LETTERS_TABLE,
            letters["id"],
            {"state": "revealed", "revealed_at": to_iso(utcnow())},
        )
        await reply(
            update,
            context,
            locale,
            "checkins/letter_saved",
            revealed=True,
            other=other.name if other else "",
        )
        shown = [
            {
                "name": p.name,
                "other": o.name if (o := couple.other(p.user_id)) else "",
                "text": written[str(p.user_id)]["text"],
            }
            for p in couple.partners
        ]
        await say(
            context,
            couple.chat_id,
            group_locale(services, couple),
            "checkins/letters_reveal",
            letters=shown,
        )
        return
    rows: Buttons = [
        [
            button(
                services.render.label(locale, "checkins.withdraw_letter"),
                f"{MINE}w:{couple.chat_id}:{letters['id']}",
            )
        ]
    ]
    await reply(
        update,
        context,
        locale,
        "checkins/letter_saved",
        buttons=rows,
        revealed=False,
        other=other.name if other else "",
    )


async def _letter_choice(update: Update, context: MendContext, parts: list[str]) -> bool:
    """chk:w:<chat>:<round> takes a letter back; chk:a:<chat>:<round> asks for it again."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    services = context.mend
    if len(parts) != 3 or not parts[1].lstrip("-").isdigit() or not parts[2].isdigit():
        return False
    chat_id, round_id = int(parts[1]), int(parts[2])
    couple = services.store.couple(chat_id)
    me = couple.partner(user.id) if couple else None
    letters = _record(services.store, chat_id, LETTERS_TABLE, round_id) if me else None
    if couple is None or me is None or letters is None or letters["state"] != "open":
        return False
    locale = partner_locale(services, me)
    mine = str(me.user_id) in letters["letters"]
    if parts[0] == "w" and mine:
        _update(
            services.store,
            chat_id,
            LETTERS_TABLE,
            round_id,
            {"letters": {k: v for k, v in letters["letters"].items() if k != str(me.user_id)}},
        )
        await query.answer(services.render.label(locale, "alert.checkins_letter_withdrawn"))
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)
        rows: Buttons = [
            [
                button(
                    services.render.label(locale, "checkins.write_again"),
                    f"{MINE}a:{chat_id}:{round_id}",
                )
            ]
        ]
        await say_private(context, couple, me, "checkins/letter_withdrawn", buttons=rows)
        return True
    if parts[0] == "a" and not mine:
        await query.answer()
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(None)
        await _ask_letter(context, couple, me, round_id)
        return True
    return False


async def private_button(update: Update, context: MendContext) -> None:
    """Buttons in a partner's private chat; each names its couple, and is checked against it."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    parts = query.data.removeprefix(MINE).split(":")
    handled = False
    if parts[0] == "s":
        handled = await _share_choice(update, context, parts)
    elif parts[0] in ("w", "a"):
        handled = await _letter_choice(update, context, parts)
    if not handled:
        locale = context.mend.render.locale_for(user.language_code)
        await query.answer(_stale(context, locale), show_alert=True)


# -- export and wiring -------------------------------------------------------------------------


def checkins_export(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """Scores and checklist ticks were public votes in the group; of the reflections and
    letters, the person's own, and only what the other chose to show the group."""
    me = str(user_id)
    weekly = []
    for record in services.store.records(couple.chat_id, CHECKINS_TABLE):
        mine = record["reflections"].get(me, {})
        shared_by_other = {}
        if record["state"] != "open":
            for uid, theirs in record["reflections"].items():
                if uid != me:
                    shared_by_other = {
                        q: t
                        for q, t in theirs.get("texts", {}).items()
                        if theirs.get("share", {}).get(q)
                    }
        weekly.append(
            {
                "started_at": record["started_at"],
                "scores": record["scores"],
                "my_reflection": {"texts": mine.get("texts", {}), "share": mine.get("share", {})},
                "shared_by_partner": shared_by_other,
            }
        )
    letters = []
    for record in services.store.records(couple.chat_id, LETTERS_TABLE):
        letters.append(
            {
                "quarter": record["quarter"],
                "state": record["state"],
                "letters": {
                    uid: letter
                    for uid, letter in record["letters"].items()
                    if uid == me or record["state"] == "revealed"
                },
            }
        )
    checklists = [
        {k: r.get(k) for k in ("started_at", "month", "answers", "state")}
        for r in services.store.records(couple.chat_id, CHECKLISTS_TABLE)
    ]
    return {
        "schedule": schedule_of(services.store, couple),
        "weekly": weekly,
        "checklists": checklists,
        "letters": letters,
    }


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("checkin", "care"), Command("checklist", "care"))
    timers = services.timers
    # Prompts: wait out quiet hours; missed during downtime, dropped (the next one comes).
    timers.register(WEEKLY, weekly_due, quiet=True)
    timers.register(REMIND, remind_due, quiet=True)
    timers.register(MONTHLY, monthly_due, quiet=True)
    timers.register(QUARTERLY, quarterly_due, quiet=True)
    # Showing what was shared still makes sense days later, worded as late.
    timers.register(DEADLINE, deadline_due, late_limit=REVEAL_LATE_LIMIT, quiet=True)
    timers.register(CHECKLIST_END, checklist_end_due, late_limit=REVEAL_LATE_LIMIT, quiet=True)
    services.exporters["checkins"] = checkins_export
    polls.on_answer("checkin", score_vote)
    polls.on_answer("checklist", checklist_vote)
    asks.on_answer("checkin_reflect", reflect_answer)
    asks.on_answer("letter", letter_answer)
    app.add_handler(CommandHandler("checkin", checkin_command))
    app.add_handler(CommandHandler("checklist", checklist_command))
    app.add_handler(CallbackQueryHandler(private_button, pattern=f"^{MINE}"))
    app.add_handler(CallbackQueryHandler(group_button, pattern=f"^{OURS}"))
