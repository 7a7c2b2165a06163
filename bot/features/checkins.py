"""The weekly check-in ("state of the union"), the monthly trust checklist, and the quarterly
appreciation letter with its prompt for a longer visit.

Weekly, on the couple's day and time (Sunday 19:00 on the first partner's clock unless one of
them chose another with `/checkin sunday 19:00`, on their own clock; the first one comes after a
first stretch of days with the bot), or at once with `/checkin`. A check-in is weekly: within a
week of the last one, `/checkin` asks the other partner whether they want another one now too,
and it starts only if they do. Each check-in is a non-anonymous 1–5 poll in the
group (how safe and connected the week felt) and, in each partner's private chat, the three
reflection questions (what went well, what still hurts, what I will do before the next one), one
at a time. After each answer its author decides: share it or keep it private. Nothing is shown
until both have finished or the deadline (24 hours) has passed; then the group sees what each
chose to share, question by question, side by side. Whoever hasn't finished gets one gentle
reminder 12 hours before the deadline. A partner who is away (`/away`) isn't asked.

Monthly, once per roadmap month (a calendar month counted from day 1): at the start of each
month after the first, or earlier in the month with `/checklist`: the guide's six statements as
a multi-answer poll. When both have answered (or after three days) the group gets the verdict —
most statements checked (four or more of six) means they are moving the right way — the change
since the month before, and a pointer to the monthly review of the repair plan and the
boundaries. A second `/checklist` in the same month shows this month's result and when the next
one comes: a month's answers are compared with another month's, never with an hour ago.

Quarterly, a few days after each third roadmap month: an appreciation letter each partner writes
in private. A letter can be taken back until both are written; then both appear in the group
together. The same message suggests a longer visit or a small retreat (/visit).

While a partner has paused the joint prompts (the safety switch of /support, read through
`services.reads.prompts_paused`), none of these comes: each series goes on, the occasions in
between are skipped, and /checkin or /checklist answers only that prompts are paused for now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any, NotRequired, TypedDict, TypeVar

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import audience, origin, polls
from bot.context import Command, MendContext, Services
from bot.couples import group_locale
from bot.dates import add_months
from bot.flows import STAY, Flow, Option, Run, Step, Turn, Unreadable, runner_of
from bot.guards import Asked, partners_only
from bot.links import PRIVATE_LINK
from bot.messages import group_message, private_message, reply
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.reading import read_clock, read_weekday
from bot.reads import Checklist, Checklists, WeeklyCheckin, painful
from bot.roadmap import phase_of, roadmap_month
from bot.storage import Kind, Store, Transaction
from bot.timers import TIMERS_TABLE, Fired, Timers
from bot.when import is_away, local_to_utc, next_local, outside_quiet_hours, quiet_until

log = logging.getLogger(__name__)


class Reflection(TypedDict):
    """One partner's answers to a check-in's three questions, and which to share."""

    texts: dict[str, str]  # question → answer
    share: dict[str, bool]  # question → shown in the group at the reveal
    done: bool
    step: NotRequired[int]  # the question it was at, before reflections were flows


class Checkin(TypedDict):
    """A weekly check-in: its poll's scores and the partners' private reflections."""

    id: NotRequired[int]
    state: str  # "open", "revealed" or "expired"
    started_at: str | None
    deadline: str | None
    phase: str
    by: int | None  # who started it with /checkin (None: its weekly time)
    scores: dict[str, int]  # user id → 1–5
    reflections: dict[str, Reflection]  # user id → theirs (a partner away wasn't asked)
    away: list[int]
    revealed_at: str | None
    thread: NotRequired[int | None]  # where it started (check-ins from before flows lack it)
    followed_up: NotRequired[bool]  # the features that follow check-ins heard of its reveal
    poll_id: NotRequired[str | None]  # written before polls were closed through the outbox


class CheckinSchedule(TypedDict):
    """The couple's weekly check-in day and time, once one of them chose."""

    id: NotRequired[int]
    weekday: int  # 0 is Monday
    at: str  # "HH:MM" on the clock of set_by (the first partner's, if None)
    on: bool
    set_by: int | None


class Schedule(CheckinSchedule):
    """The schedule in use (the stored one, or the default) and the zone its time is in."""

    zone: str | None


class MonthlyChecklist(TypedDict):
    """A month's trust checklist: the statements each partner ticked."""

    id: NotRequired[int]
    state: str  # "open", "done" or "expired"
    started_at: str | None
    deadline: str | None
    month: int  # the roadmap month it closes
    answers: dict[str, list[int]]  # user id → the statements ticked (indexes of STATEMENTS)
    done_at: NotRequired[str | None]
    thread: NotRequired[int | None]  # where it started (checklists from before flows lack it)
    poll_id: NotRequired[str | None]  # written before polls were closed through the outbox


class Letter(TypedDict):
    """One partner's letter of a round."""

    text: str
    written_at: str | None


class LetterRound(TypedDict):
    """A quarter's appreciation letters, private until both are written."""

    id: NotRequired[int]
    quarter: int
    state: str  # "open", "revealed" or "closed" (a new round began first)
    letters: dict[str, Letter]  # user id → their letter
    started_at: str | None
    revealed_at: NotRequired[str | None]


Answered = TypeVar("Answered", Checkin, MonthlyChecklist)  # what has a deadline to answer by

# Each partner's answers and letter are sealed at rest (bot.storage), bound to them.
CHECKINS_TABLE = Kind[Checkin]("checkins", private=("reflections.*.texts",))
SCHEDULE_TABLE = Kind[CheckinSchedule]("checkin_schedule")
CHECKLISTS_TABLE = Kind[MonthlyChecklist]("checklists")
LETTERS_TABLE = Kind[LetterRound]("letters", private=("letters.*.text",))

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
WEEK = timedelta(days=7)  # a check-in sooner than this after the last one needs both to want it
ANOTHER_LIFETIME = timedelta(hours=24)  # how long the question "another one now?" stays open


def _times(couple: Couple, moment: datetime) -> list[dict[str, Any]]:
    """A moment as each partner reads it on their own clock."""
    return [{"name": p.name, "zone": p.timezone, "at": moment} for p in couple.partners]


def _phase(couple: Couple) -> str:
    return phase_of(roadmap_month(couple.setup_completed_at, utcnow()))


# -- the weekly schedule -----------------------------------------------------------------------


def schedule_of(store: Store, couple: Couple) -> Schedule:
    """The couple's check-in day and time: theirs if they chose, else Sunday 19:00. The time
    is on the clock of the partner who chose it (the first partner's by default), and follows
    that partner if they move to another zone."""
    chosen: Schedule = {
        "weekday": DEFAULT_WEEKDAY,
        "at": DEFAULT_AT,
        "on": True,
        "set_by": None,
        "zone": None,
    }
    stored = next(iter(store.records(couple.chat_id, SCHEDULE_TABLE)), None)
    if stored is not None:
        for key in ("weekday", "at", "on", "set_by"):
            if key in stored:
                chosen[key] = stored[key]
    setter = couple.partner(chosen["set_by"]) if chosen["set_by"] else None
    if setter is None and couple.partners:
        setter = couple.partners[0]
    chosen["zone"] = setter.timezone if setter else None
    return chosen


def _next_weekly(schedule: Schedule, after: datetime) -> datetime:
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


def ensure(timers: Timers, couple: Couple) -> None:
    """Each recurring series has its next timer (for every couple at start-up, and once a
    couple is set up: Timers.reconcile)."""
    kinds = {t["kind"] for t in timers.pending(couple.chat_id)}
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
    if services.reads.prompts_paused(services.store, couple.chat_id):
        return  # the series goes on; this one isn't asked
    await start_checkin(context, couple)
    await services.emit("checkin.due", context, couple)


@partners_only
async def checkin_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/checkin starts one now; /checkin sunday 19:00 moves the weekly one; /checkin off|on."""
    services = context.mend
    couple, me, locale = asked.couple, asked.partner, asked.locale
    args = list(asked.words)
    if not args:
        if services.reads.prompts_paused(services.store, couple.chat_id):
            await reply(update, context, locale, "common/prompts_paused")
            return
        last = _last_checkin(services.store, couple.chat_id)
        started_at = from_iso(last["started_at"]) if last else None
        if (
            last is not None
            and last["state"] != "open"
            and started_at is not None
            and utcnow() - started_at < WEEK
        ):
            await _ask_for_another(context, couple, me, started_at)
            return
        started = await start_checkin(context, couple, by=me)
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
    # It starts outside both partners' quiet hours (bot.timers): shown as it will happen.
    starts = outside_quiet_hours(moment, couple.partners)
    await reply(
        update,
        context,
        locale,
        "checkins/schedule_set",
        weekday=schedule["weekday"],
        at=schedule["at"],
        zone=schedule["zone"],
        times=_times(couple, starts),
        quiet=[p.name for p in couple.partners if quiet_until(moment, p) is not None],
    )


def _last_checkin(store: Store, chat_id: int) -> Checkin | None:
    records = store.records(chat_id, CHECKINS_TABLE)
    return max(records, key=lambda r: str(r["started_at"]), default=None)


# -- another check-in within the week: only if both want it --------------------------------

ANOTHER = "checkin_another"


async def _ask_for_another(
    context: MendContext, couple: Couple, me: Partner, last: datetime
) -> None:
    """The last check-in was less than a week ago: the other partner is asked whether they
    want another one now too."""
    services = context.mend
    other = couple.other(me.user_id)
    upcoming = services.timers.pending(couple.chat_id, WEEKLY)
    await runner_of(services).begin(
        context,
        couple,
        ANOTHER,
        owner=me,
        data={
            "name": me.name,
            "other": other.name if other else "",
            "last": to_iso(last),
            "next": upcoming[0]["due"] if upcoming else None,
        },
    )


def _another_answered(turn: Turn) -> str | None:
    """Yes from the other partner starts it (once this run is done); no from either keeps the
    weekly rhythm. The one who asked can't say yes for the other."""
    if turn.value == "no":
        turn.data["declined_by"] = turn.partner.name
        return "declined"
    if turn.partner.user_id == turn.run.owner:
        turn.toast, turn.alert = "alert.checkins_another_yours", True
        return STAY
    turn.data["agreed_by"] = turn.partner.name
    return None


async def _another_agreed(context: MendContext, couple: Couple, run: Run) -> None:
    owner = couple.partner(run.owner) if run.owner is not None else None
    if run.data.get("agreed_by") and owner is not None:
        current = context.mend.store.couple(couple.chat_id) or couple
        if await start_checkin(context, current, by=owner) is None:
            running = open_checkin(context.mend.store, couple.chat_id)
            deadline = from_iso(running["deadline"]) if running else None
            with context.mend.store.transaction(couple.chat_id) as tx:
                context.mend.outbox.put(
                    tx,
                    group_message(
                        context.mend,
                        current,
                        "checkins/already_open",
                        times=_times(current, deadline) if deadline else [],
                    ),
                )
            await context.mend.outbox.deliver(context, couple.chat_id)


def _another_shown(services: Services, couple: Couple, run: Run, locale: str) -> dict[str, Any]:
    """When the last check-in began and the next one comes, as each partner reads them."""
    last, upcoming = from_iso(run.data.get("last")), from_iso(run.data.get("next"))
    return {
        "last": _times(couple, last) if last else [],
        "next": _times(couple, upcoming) if upcoming else [],
    }


ANOTHER_FLOW = Flow(
    name=ANOTHER,
    first="ask",
    steps={
        "ask": Step(
            "checkins/another_ask",
            [[Option("yes", "checkins.another_yes"), Option("no", "checkins.another_no")]],
            answer=_another_answered,
            who="partners",
        ),
        "declined": Step("checkins/another_declined"),
    },
    lifetime=ANOTHER_LIFETIME,
    single=True,
    view=_another_shown,
    finished=_another_agreed,
)


def _save_schedule(store: Store, couple: Couple, fields: Mapping[str, Any]) -> None:
    """Change the couple's schedule (stored as it is in use, then changed)."""
    current = schedule_of(store, couple)
    with store.transaction(couple.chat_id) as tx:
        table = tx.table(SCHEDULE_TABLE)
        table.clear()
        schedule_id = table.insert(
            {
                "weekday": current["weekday"],
                "at": current["at"],
                "on": current["on"],
                "set_by": current["set_by"],
            }
        )
        table.update(schedule_id, fields)


# -- the weekly check-in -----------------------------------------------------------------------

REFLECT = "reflect"  # a partner's three private questions, each followed by "share it?"
QUESTIONS_OFFER = "checkin_offer"  # "Send me the questions" under the group's check-in message


def open_checkin(store: Store, chat_id: int) -> Checkin | None:
    return next((r for r in store.records(chat_id, CHECKINS_TABLE) if r["state"] == "open"), None)


def _expire_stale(tx: Transaction, services: Services, table: Kind[Answered]) -> None:
    """An open check-in or checklist whose deadline passed during a downtime longer than its
    reveal may still come late is closed quietly, so it doesn't block the next one."""
    now = utcnow()
    records = tx.table(table)
    couple = tx.couple()
    for record in records.all():
        deadline = from_iso(record.get("deadline"))
        if record["state"] == "open" and deadline and now - deadline > REVEAL_LATE_LIMIT:
            records.update(record["id"], {"state": "expired"})
            if couple is not None:
                _close_runs(tx, services, _kind_of(table), record["id"])


def _kind_of(table: Kind[Answered]) -> str:
    return {CHECKINS_TABLE.name: "checkin", CHECKLISTS_TABLE.name: "checklist"}[table.name]


def _close_runs(tx: Transaction, services: Services, kind: str, record_id: int) -> None:
    """The conversations of a check-in (or letters round) that is over: their questions and
    buttons are stale from now on."""
    flows = {"checkin": (REFLECT, QUESTIONS_OFFER), "letters": (LETTER, LETTER_OFFER)}
    for flow in flows.get(kind, ()):
        for run in runner_of(services).runs_in(tx, flow):
            if run.data.get(kind) == record_id:
                runner_of(services).close(tx, run)


def _reflection_data(
    tx: Transaction, couple: Couple, partner: Partner, record: Checkin
) -> dict[str, Any]:
    other = couple.other(partner.user_id)
    return {
        "checkin": record["id"],
        "phase": record["phase"],
        "deadline": record["deadline"],
        "zone": partner.timezone,
        "other": other.name if other else "",
        # What is shared goes to each of them privately, not to the group (bot.audience).
        "privately": audience.where_in(tx) == "private",
    }


async def start_checkin(
    context: MendContext, couple: Couple, *, by: Partner | None = None
) -> Checkin | None:
    """Poll in the group, questions in private; None if one is running already.

    Everything it starts is one change: the check-in, each partner's questions, the group's
    message and poll, the deadline and the reminders. If Telegram fails half-way, the outbox
    sends the rest later; nothing is asked twice."""
    services = context.mend
    now = utcnow()
    deadline = now + ANSWER_WINDOW
    with services.store.transaction(couple.chat_id) as tx:
        current = tx.couple()
        assert current is not None
        _expire_stale(tx, services, CHECKINS_TABLE)
        if any(r["state"] == "open" for r in tx.table(CHECKINS_TABLE).all()):
            return None
        away = [p for p in current.partners if p.left_group or is_away(p, now)]
        asked = [p for p in current.partners if p not in away]
        record: Checkin = {
            "state": "open",
            "started_at": to_iso(now),
            "deadline": to_iso(deadline),
            "phase": _phase(current),
            "by": by.user_id if by else None,
            "scores": {},
            "reflections": {
                str(p.user_id): {"texts": {}, "share": {}, "done": False} for p in asked
            },
            "away": [p.user_id for p in away],
            "revealed_at": None,
            "thread": origin.thread_in(current.chat_id),
        }
        record["id"] = tx.table(CHECKINS_TABLE).insert(record)
        unreachable = [p for p in asked if not p.private_chat]
        for partner in asked:
            if partner.private_chat:
                runner_of(services).start(
                    tx,
                    current,
                    REFLECT,
                    owner=partner,
                    data=_reflection_data(tx, current, partner, record),
                )
        started: dict[str, Any] = {
            "phase": record["phase"],
            "name": by.name if by else None,
            "times": _times(current, deadline),
            "away": [p.name for p in away],
            "unreachable": [p.name for p in unreachable],
        }
        if unreachable:
            # The group's message offers the questions to whoever couldn't get them privately;
            # it is shown again after each press, so what it says is kept with it.
            kept = {**started, "times": [{**t, "at": to_iso(t["at"])} for t in started["times"]]}
            runner_of(services).start(
                tx, current, QUESTIONS_OFFER, owner=None, data={"checkin": record["id"], **kept}
            )
        else:
            services.outbox.put(tx, group_message(services, current, "checkins/started", **started))
        locale = group_locale(services, current)
        label = services.render.label
        services.outbox.put(
            tx,
            polls.outgoing(
                label(locale, "checkins.poll_question"),
                [label(locale, f"checkins.score_{n}") for n in range(1, SCORES + 1)],
                "checkin",
                payload={"checkin": record["id"]},
            ),
        )
        services.timers.schedule(
            current.chat_id, DEADLINE, deadline, payload={"checkin": record["id"]}, tx=tx
        )
        for partner in asked:
            services.timers.schedule(
                current.chat_id,
                REMIND,
                deadline - REMIND_BEFORE,
                partner=partner.user_id,
                payload={"checkin": record["id"]},
                tx=tx,
            )
    await services.outbox.deliver(context, couple.chat_id)
    log.info("weekly check-in started (%d asked privately)", len(asked) - len(unreachable))
    return record


def _question_data(run: Run) -> dict[str, Any]:
    """What a reflection question shows: which of the three, by when, in whose zone."""
    step = run.step or ""
    question = step.removeprefix("q_").removeprefix("s_")
    number = QUESTIONS.index(question) + 1 if question in QUESTIONS else len(QUESTIONS)
    return {
        "question": question,
        "number": number,
        "total": len(QUESTIONS),
        "first": step == "q_well",
        "deadline": from_iso(run.data.get("deadline")),
        "most": MAX_ANSWER,
    }


def _read_answer(most: int, reason: str) -> Callable[[str], str]:
    """A typed answer of at most `most` characters (longer: asked again, nothing kept)."""

    def read(text: str) -> str:
        answer = text.strip()
        if len(answer) > most:
            raise Unreadable(reason, most=most, length=len(answer))
        return answer

    return read


def _open_reflection(turn: Turn) -> tuple[Checkin, Reflection] | None:
    """The check-in of this reflection and the partner's part of it, while it is open."""
    record = turn.tx.table(CHECKINS_TABLE).get(int(turn.data["checkin"]))
    if record is None or record["state"] != "open":
        return None
    mine = record["reflections"].get(str(turn.partner.user_id))
    return (record, mine) if mine is not None else None


def _answered(question: str) -> Callable[[Turn], str | None]:
    def answer(turn: Turn) -> str | None:
        found = _open_reflection(turn)
        if found is None:
            return None
        record, mine = found
        mine["texts"][question] = turn.value
        turn.tx.table(CHECKINS_TABLE).update(record["id"], {"reflections": record["reflections"]})
        return f"s_{question}"

    return answer


def _shared(question: str) -> Callable[[Turn], str | None]:
    def answer(turn: Turn) -> str | None:
        found = _open_reflection(turn)
        if found is None:
            return None
        record, mine = found
        share = turn.value == "share"
        mine["share"][question] = share
        turn.toast = "alert.checkins_shared" if share else "alert.checkins_kept"
        later = QUESTIONS[QUESTIONS.index(question) + 1 :]
        if later:
            turn.tx.table(CHECKINS_TABLE).update(
                record["id"], {"reflections": record["reflections"]}
            )
            return f"q_{later[0]}"
        mine["done"] = True
        turn.tx.table(CHECKINS_TABLE).update(record["id"], {"reflections": record["reflections"]})
        if all(r.get("done") for r in record["reflections"].values()):
            _reveal(turn.tx, turn.runner.services, turn.couple, record, late=False)
        return "done"

    return answer


SHARE_OR_KEEP = [[Option("share", "checkins.share"), Option("keep", "checkins.keep")]]
READ_ANSWER = _read_answer(MAX_ANSWER, "alert.checkins_too_long")

REFLECTION = Flow(
    name=REFLECT,
    where="private",
    first="q_well",
    steps={
        **{
            f"q_{q}": Step(
                "checkins/question", read=READ_ANSWER, answer=_answered(q), data=_question_data
            )
            for q in QUESTIONS
        },
        **{
            f"s_{q}": Step(
                "checkins/share_ask", SHARE_OR_KEEP, answer=_shared(q), data=_question_data
            )
            for q in QUESTIONS
        },
        "done": Step("checkins/reflect_done", data=_question_data),
    },
    closed="checkins/closed_private",
    finished=lambda context, couple, run: _after_reveal(context, couple, int(run.data["checkin"])),
)


def _offer_questions(turn: Turn) -> str:
    """ "Send me the questions": the presser's questions come (again) in their private chat."""
    services = turn.runner.services
    record = turn.tx.table(CHECKINS_TABLE).get(int(turn.data["checkin"]))
    me = turn.partner
    mine = record["reflections"].get(str(me.user_id)) if record else None
    turn.alert = True
    if record is None or record["state"] != "open":
        turn.toast = "alert.stale_button"
    elif mine is not None and mine.get("done"):
        turn.toast = "alert.checkins_nothing_to_send"
    elif not me.private_chat:
        turn.toast = "alert.checkins_open_private"
    else:
        turn.alert = False
        turn.toast = "alert.checkins_sent_private"
        if mine is None:  # away when it started, back now
            record["reflections"][str(me.user_id)] = {"texts": {}, "share": {}, "done": False}
            turn.tx.table(CHECKINS_TABLE).update(
                record["id"], {"reflections": record["reflections"]}
            )
        _ask_again(turn.tx, services, turn.couple, me, record)
    return "offer"


def _ask_again(
    tx: Transaction, services: Services, couple: Couple, partner: Partner, record: Checkin
) -> None:
    """The partner's open reflection question (or share choice) once more; their first
    question if they haven't started."""
    mine = [r for r in runner_of(services).runs_in(tx, REFLECT) if r.owner == partner.user_id]
    current = [r for r in mine if r.data.get("checkin") == record["id"]]
    if current:
        runner_of(services).reshow(tx, couple, current[-1])
    else:
        runner_of(services).start(
            tx, couple, REFLECT, owner=partner, data=_reflection_data(tx, couple, partner, record)
        )


def _offer_data(run: Run) -> dict[str, Any]:
    """The group's check-in message as it is shown again: its times as moments."""
    return {"times": [{**t, "at": from_iso(t["at"])} for t in run.data.get("times", [])]}


QUESTIONS_OFFERED = Flow(
    name=QUESTIONS_OFFER,
    first="offer",
    steps={
        "offer": Step(
            "checkins/started",
            [
                [Option("link", "settings.private_link", callback=PRIVATE_LINK)],
                [Option("send", "checkins.send_questions")],
            ],
            data=_offer_data,
            answer=_offer_questions,
            who="partners",
            edit=True,
        ),
    },
)


def _reveal(
    tx: Transaction, services: Services, couple: Couple, record: Checkin, *, late: bool
) -> None:
    """Inside the couple's transaction: what each chose to share, side by side, question by
    question; the check-in's questions and reminders end here."""
    record = tx.table(CHECKINS_TABLE).get(record["id"]) or record
    tx.table(CHECKINS_TABLE).update(
        record["id"], {"state": "revealed", "revealed_at": to_iso(utcnow())}
    )
    for pending in services.timers.pending(couple.chat_id, REMIND):
        if pending["payload"].get("checkin") == record["id"]:
            tx.table(TIMERS_TABLE).remove(pending["id"])
    _close_runs(tx, services, "checkin", record["id"])
    questions = []
    for question in QUESTIONS:
        answers = []
        for partner in couple.partners:
            mine: Mapping[str, Any] = record["reflections"].get(str(partner.user_id), {})
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
    # A painful week (a low score, or scores two apart) ends with a slow talk or the next
    # window, not with plans for something nice.
    hurt = painful(int(score) for score in record["scores"].values())
    window = services.reads.next_window(services.store, couple.chat_id) if hurt else None
    services.outbox.put(tx, *polls.closing(tx, "checkin", checkin=record["id"]))
    # Personal: where the couple wants it (bot.audience), in the topic the check-in started in.
    audience.share(
        tx,
        services,
        couple,
        "checkins/reveal",
        thread=record.get("thread"),
        questions=questions,
        scores=scores,
        late=late,
        complete=complete,
        painful=hurt,
        window=_times(couple, window) if window else [],
    )


async def _after_reveal(context: MendContext, couple: Couple, checkin_id: int) -> None:
    """Once a check-in's reveal is owed: it is sent, and the features that follow check-ins
    hear of it ("checkin.revealed"). Runs once per check-in."""
    services = context.mend
    with services.store.transaction(couple.chat_id) as tx:
        record = tx.table(CHECKINS_TABLE).get(checkin_id)
        if record is None or record["state"] != "revealed" or record.get("followed_up"):
            return
        tx.table(CHECKINS_TABLE).update(checkin_id, {"followed_up": True})
    await services.outbox.deliver(context, couple.chat_id)
    await services.emit(
        "checkin.revealed", context, services.store.couple(couple.chat_id) or couple
    )


async def deadline_due(context: MendContext, fired: Fired) -> None:
    """The check-in's deadline: reveal what there is (if not yet), close the poll."""
    services = context.mend
    checkin_id = int(fired.payload.get("checkin", 0))
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        record = tx.table(CHECKINS_TABLE).get(checkin_id)
        if couple is None or record is None:
            return
        if record["state"] == "open":
            _reveal(tx, services, couple, record, late=fired.late)
    await _after_reveal(context, couple, checkin_id)


async def remind_due(context: MendContext, fired: Fired) -> None:
    """One gentle reminder to a partner who hasn't finished, with the open question again."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        me = couple.partner(fired.partner) if couple and fired.partner else None
        record = tx.table(CHECKINS_TABLE).get(int(fired.payload.get("checkin", 0)))
        mine = record["reflections"].get(str(me.user_id)) if record and me else None
        if (
            couple is None
            or me is None
            or record is None
            or mine is None
            or record["state"] != "open"
            or mine.get("done")
            or not me.private_chat
            or is_away(me, utcnow())
        ):
            return
        services.outbox.put(
            tx,
            private_message(
                services,
                me,
                "checkins/reminder",
                deadline=from_iso(record["deadline"]),
                zone=me.timezone,
                started=bool(mine["texts"]),
            ),
        )
        _ask_again(tx, services, couple, me, record)
    await services.outbox.deliver(context, fired.chat_id)


def score_vote(tx: Transaction, services: Services, vote: polls.Vote) -> None:
    """A 1–5 vote on the weekly poll (or taken back): kept with the check-in."""
    record = tx.table(CHECKINS_TABLE).get(int(vote.payload.get("checkin", 0)))
    if record is None:
        return None
    scores = dict(record["scores"])
    if vote.option_ids and 0 <= vote.option_ids[0] < SCORES:
        scores[str(vote.partner.user_id)] = vote.option_ids[0] + 1
    else:
        scores.pop(str(vote.partner.user_id), None)
    tx.table(CHECKINS_TABLE).update(record["id"], {"scores": scores})
    return None


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


def _next_checklist(timers: Timers, chat_id: int) -> datetime | None:
    """When the next month's checklist comes on its own."""
    upcoming = timers.pending(chat_id, MONTHLY)
    return from_iso(upcoming[0]["due"]) if upcoming else None


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
    if not services.reads.prompts_paused(services.store, couple.chat_id):
        await start_checklist(context, couple)


def open_checklist(store: Store, chat_id: int) -> MonthlyChecklist | None:
    return next((r for r in store.records(chat_id, CHECKLISTS_TABLE) if r["state"] == "open"), None)


@partners_only
async def checklist_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/checklist: this month's trust checklist now; once it was done, its result."""
    services = context.mend
    couple, locale = asked.couple, asked.locale
    if asked.args:
        await reply(update, context, locale, "checkins/checklist_usage")
        return
    if services.reads.prompts_paused(services.store, couple.chat_id):
        await reply(update, context, locale, "common/prompts_paused")
        return
    if await start_checklist(context, couple) is not None:
        return
    month = roadmap_month(couple.setup_completed_at, utcnow())
    records = services.store.records(couple.chat_id, CHECKLISTS_TABLE)
    running = open_checklist(services.store, couple.chat_id)
    this_month = max(
        (r for r in records if r["month"] == month), key=lambda r: r["id"], default=None
    )
    if running is not None or this_month is None:
        deadline = from_iso(running["deadline"]) if running else None
        await reply(
            update,
            context,
            locale,
            "checkins/checklist_open",
            times=_times(couple, deadline) if deadline else [],
        )
        return
    # This month had its checklist: its result, and when the next one comes.
    earlier = [r for r in records if r["state"] == "done" and r["month"] < month]
    upcoming = _next_checklist(services.timers, couple.chat_id)
    await reply(
        update,
        context,
        locale,
        "checkins/checklist_done",
        **_result(couple, this_month, earlier),
        month=month,
        times=_times(couple, upcoming) if upcoming else [],
    )


async def start_checklist(context: MendContext, couple: Couple) -> MonthlyChecklist | None:
    """This month's checklist: the intro, the poll and its deadline, owed in one change;
    None if one is open already, or this month had its own."""
    services = context.mend
    now = utcnow()
    deadline = now + CHECKLIST_WINDOW
    with services.store.transaction(couple.chat_id) as tx:
        current = tx.couple()
        assert current is not None
        _expire_stale(tx, services, CHECKLISTS_TABLE)
        month = roadmap_month(current.setup_completed_at, now)
        if any(
            r["state"] == "open" or r["month"] == month for r in tx.table(CHECKLISTS_TABLE).all()
        ):
            return None
        record: MonthlyChecklist = {
            "state": "open",
            "started_at": to_iso(now),
            "deadline": to_iso(deadline),
            "month": month,
            "answers": {},
            "thread": origin.thread_in(current.chat_id),
        }
        record["id"] = tx.table(CHECKLISTS_TABLE).insert(record)
        locale = group_locale(services, current)
        label = services.render.label
        options = [label(locale, f"checkins.statement_{key}") for key in STATEMENTS]
        options.append(label(locale, "checkins.statement_none"))
        services.outbox.put(
            tx,
            group_message(
                services,
                current,
                "checkins/checklist_intro",
                month=month,
                total=len(STATEMENTS),
                most=MOST,
                times=_times(current, deadline),
            ),
            polls.outgoing(
                label(locale, "checkins.checklist_question"),
                options,
                "checklist",
                multiple=True,
                payload={"checklist": record["id"]},
            ),
        )
        services.timers.schedule(
            current.chat_id, CHECKLIST_END, deadline, payload={"checklist": record["id"]}, tx=tx
        )
    await services.outbox.deliver(context, couple.chat_id)
    return record


def checklist_vote(tx: Transaction, services: Services, vote: polls.Vote) -> polls.FollowUp | None:
    """A partner ticked statements (or took the vote back); both in: the verdict."""
    checklist_id = int(vote.payload.get("checklist", 0))
    couple = vote.couple
    record = tx.table(CHECKLISTS_TABLE).get(checklist_id)
    if record is None or record["state"] != "open":
        return None
    answers = dict(record["answers"])
    if vote.option_ids:
        answers[str(vote.partner.user_id)] = sorted(
            i for i in vote.option_ids if 0 <= i < len(STATEMENTS)
        )
    else:
        answers.pop(str(vote.partner.user_id), None)
    tx.table(CHECKLISTS_TABLE).update(checklist_id, {"answers": answers})
    if not all(str(p.user_id) in answers for p in couple.partners):
        return None
    _verdict(tx, services, couple, {**record, "answers": answers}, late=False)
    return lambda context: _after_verdict(context, couple)


def finished_checklists(store: Store, chat_id: int) -> Checklists:
    """The finished checklists, oldest first, as other features read them (services.reads):
    how many statements each partner ticked."""
    done = sorted(
        (r for r in store.records(chat_id, CHECKLISTS_TABLE) if r["state"] == "done"),
        key=lambda r: r["id"],
    )
    return Checklists(
        done=tuple(
            Checklist(
                month=int(r["month"]),
                ticks={int(uid): len(ticked) for uid, ticked in r["answers"].items()},
            )
            for r in done
        ),
        statements=len(STATEMENTS),
        most=MOST,
    )


def _result(
    couple: Couple, record: MonthlyChecklist, earlier: list[MonthlyChecklist]
) -> dict[str, Any]:
    """A month's checklist as the group reads it: each partner's count, the change since the
    latest earlier month that had one (`since`: that month), and the verdict."""
    months = sorted((r for r in earlier if r["month"] < record["month"]), key=lambda r: r["id"])
    before = months[-1] if months else None
    partners = []
    counts: list[int] = []
    for partner in couple.partners:
        mine = record["answers"].get(str(partner.user_id))
        then = before["answers"].get(str(partner.user_id)) if before else None
        count = None if mine is None else len(mine)
        if count is not None:
            counts.append(count)
        partners.append(
            {
                "name": partner.name,
                "count": count,
                "change": None if count is None or then is None else count - len(then),
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
    return {
        "partners": partners,
        "verdict": verdict,
        "total": len(STATEMENTS),
        "most": MOST,
        "since": before["month"] if before else None,
        "first": not earlier,
    }


def _verdict(
    tx: Transaction,
    services: Services,
    couple: Couple,
    record: MonthlyChecklist,
    *,
    late: bool,
) -> None:
    """Inside the couple's transaction: most checked? The change since the month before, and
    the monthly review."""
    table = tx.table(CHECKLISTS_TABLE)
    previous = [r for r in table.all() if r["state"] == "done"]
    table.update(record["id"], {"state": "done", "done_at": to_iso(utcnow())})
    upcoming = _next_checklist(services.timers, couple.chat_id)
    message = group_message(
        services,
        couple,
        "checkins/checklist_verdict",
        **_result(couple, record, previous),
        month=record["month"],
        late=late,
        path=couple.path,
        times=_times(couple, upcoming) if upcoming else [],
    )
    message.thread_id = record.get("thread")
    services.outbox.put(tx, *polls.closing(tx, "checklist", checklist=record["id"]), message)


async def _after_verdict(context: MendContext, couple: Couple) -> None:
    """Once a verdict is owed: it is sent, and the features that follow the checklist hear of
    it ("checklist.done")."""
    services = context.mend
    await services.outbox.deliver(context, couple.chat_id)
    await services.emit("checklist.done", context, services.store.couple(couple.chat_id) or couple)


async def checklist_end_due(context: MendContext, fired: Fired) -> None:
    """Three days later: the verdict with what there is."""
    services = context.mend
    checklist_id = int(fired.payload.get("checklist", 0))
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        record = tx.table(CHECKLISTS_TABLE).get(checklist_id)
        if couple is None or record is None or record["state"] != "open":
            return
        _verdict(tx, services, couple, record, late=fired.late)
    await _after_verdict(context, couple)


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
    if not services.reads.prompts_paused(services.store, couple.chat_id):
        await start_letters(context, couple, int(fired.payload.get("quarter", 0)))


LETTER = "letter"  # a partner's appreciation letter, private until both are written
LETTER_OFFER = "letter_offer"  # "Write my letter" under the group's quarterly message


async def start_letters(context: MendContext, couple: Couple, quarter: int) -> int:
    """A new round of letters (an unrevealed earlier one closes: its letters stay private)."""
    services = context.mend
    now = utcnow()
    with services.store.transaction(couple.chat_id) as tx:
        current = tx.couple()
        assert current is not None
        table = tx.table(LETTERS_TABLE)
        for earlier in table.all():
            if earlier["state"] == "open":
                table.update(earlier["id"], {"state": "closed"})
                _close_runs(tx, services, "letters", earlier["id"])
        round_id = table.insert(
            {"quarter": quarter, "state": "open", "letters": {}, "started_at": to_iso(now)}
        )
        runner_of(services).start(
            tx,
            current,
            LETTER_OFFER,
            owner=None,
            data={"letters": round_id},
            show={"quarter": quarter, "phase": _phase(current), "most": MAX_LETTER},
        )
        for partner in current.partners:
            if partner.private_chat and not is_away(partner, now):
                _ask_letter(tx, services, current, partner, round_id)
    await services.outbox.deliver(context, couple.chat_id)
    return round_id


def _ask_letter(
    tx: Transaction, services: Services, couple: Couple, partner: Partner, round_id: int
) -> None:
    """The partner's letter question (again, if they were asked already)."""
    mine = [
        r
        for r in runner_of(services).runs_in(tx, LETTER)
        if r.owner == partner.user_id and r.data.get("letters") == round_id
    ]
    if mine:
        runner_of(services).reshow(tx, couple, mine[-1])
        return
    other = couple.other(partner.user_id)
    runner_of(services).start(
        tx,
        couple,
        LETTER,
        owner=partner,
        data={
            "letters": round_id,
            "other": other.name if other else "",
            "most": MAX_LETTER,
            "privately": audience.where_in(tx) == "private",
        },
    )


def _open_round(turn: Turn) -> LetterRound | None:
    letters = turn.tx.table(LETTERS_TABLE).get(int(turn.data["letters"]))
    return letters if letters is not None and letters["state"] == "open" else None


def _letter_written(turn: Turn) -> str | None:
    """A letter, kept until the other's is written too; then both appear together."""
    letters = _open_round(turn)
    me = turn.partner
    if letters is None or str(me.user_id) in letters["letters"]:
        return None
    written = {
        **letters["letters"],
        str(me.user_id): {"text": turn.value, "written_at": to_iso(utcnow())},
    }
    table = turn.tx.table(LETTERS_TABLE)
    if not all(str(p.user_id) in written for p in turn.couple.partners):
        table.update(letters["id"], {"letters": written})
        return "saved"
    table.update(
        letters["id"],
        {"letters": written, "state": "revealed", "revealed_at": to_iso(utcnow())},
    )
    _close_runs(turn.tx, turn.runner.services, "letters", letters["id"])
    shown = [
        {
            "name": p.name,
            "other": o.name if (o := turn.couple.other(p.user_id)) else "",
            "text": written[str(p.user_id)]["text"],
        }
        for p in turn.couple.partners
    ]
    audience.share(turn.tx, turn.services, turn.couple, "checkins/letters_reveal", letters=shown)
    return "revealed"


def _letter_withdrawn(turn: Turn) -> str | None:
    letters = _open_round(turn)
    me = str(turn.partner.user_id)
    if letters is None or me not in letters["letters"]:
        turn.toast = "alert.stale_button"
        return None
    kept = {k: v for k, v in letters["letters"].items() if k != me}
    turn.tx.table(LETTERS_TABLE).update(letters["id"], {"letters": kept})
    turn.toast = "alert.checkins_letter_withdrawn"
    return "withdrawn"


LETTER_FLOW = Flow(
    name=LETTER,
    where="private",
    first="write",
    steps={
        "write": Step(
            "checkins/letter_ask",
            read=_read_answer(MAX_LETTER, "alert.checkins_letter_too_long"),
            answer=_letter_written,
        ),
        "saved": Step(
            "checkins/letter_saved",
            [[Option("withdraw", "checkins.withdraw_letter")]],
            answer=_letter_withdrawn,
            data=lambda run: {"revealed": False},
        ),
        "withdrawn": Step(
            "checkins/letter_withdrawn",
            [[Option("again", "checkins.write_again")]],
            next="write",
        ),
        "revealed": Step("checkins/letter_saved", data=lambda run: {"revealed": True}),
    },
    closed="checkins/letter_closed",
)


def _offer_letter(turn: Turn) -> str:
    """ "Write my letter": the question comes (again) in the presser's private chat."""
    services = turn.runner.services
    letters = _open_round(turn)
    me = turn.partner
    turn.alert = True
    if letters is None:
        turn.toast = "alert.stale_button"
    elif str(me.user_id) in letters["letters"]:
        turn.toast = "alert.checkins_letter_written"
    elif not me.private_chat:
        turn.toast = "alert.checkins_open_private"
    else:
        turn.alert = False
        turn.toast = "alert.checkins_sent_private"
        _ask_letter(turn.tx, services, turn.couple, me, letters["id"])
    return "offer"


LETTER_OFFERED = Flow(
    name=LETTER_OFFER,
    first="offer",
    steps={
        "offer": Step(
            "checkins/quarterly",
            [[Option("write", "checkins.write_letter")]],
            answer=_offer_letter,
            who="partners",
            edit=True,
        ),
    },
)


# -- export and wiring -------------------------------------------------------------------------


def weekly_checkins(store: Store, chat_id: int) -> list[WeeklyCheckin]:
    """The couple's weekly check-ins, oldest first, as other features read them
    (services.reads): scores, who finished their reflection, who was away."""
    read = []
    checkins = sorted(store.records(chat_id, CHECKINS_TABLE), key=lambda r: str(r["started_at"]))
    for record in checkins:
        started = from_iso(record["started_at"])
        if started is None:
            continue
        read.append(
            WeeklyCheckin(
                started_at=started,
                over=record["state"] != "open",
                scores={int(uid): int(score) for uid, score in record["scores"].items()},
                reflected=frozenset(
                    int(uid) for uid, mine in record["reflections"].items() if mine.get("done")
                ),
                away=frozenset(record.get("away", [])),
                revealed_at=from_iso(record.get("revealed_at")),
            )
        )
    return read


def checkins_export(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """Scores and checklist ticks were public votes in the group; of the reflections and
    letters, the person's own, and only what the other chose to show the group."""
    me = str(user_id)
    weekly = []
    for record in services.store.records(couple.chat_id, CHECKINS_TABLE):
        mine: Mapping[str, Any] = record["reflections"].get(me, {})
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
    for letter_round in services.store.records(couple.chat_id, LETTERS_TABLE):
        letters.append(
            {
                "quarter": letter_round["quarter"],
                "state": letter_round["state"],
                "letters": {
                    uid: letter
                    for uid, letter in letter_round["letters"].items()
                    if uid == me or letter_round["state"] == "revealed"
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
    # Prompts: wait out quiet hours and a running pause; missed during downtime, dropped (the
    # next one comes).
    timers.register(WEEKLY, weekly_due, quiet=True, pause=True)
    timers.register(REMIND, remind_due, quiet=True)
    timers.register(MONTHLY, monthly_due, quiet=True, pause=True)
    timers.register(QUARTERLY, quarterly_due, quiet=True, pause=True)
    # Showing what was shared still makes sense days later, worded as late; it waits for a
    # running pause to end, as the prompts do.
    timers.register(DEADLINE, deadline_due, late_limit=REVEAL_LATE_LIMIT, quiet=True, pause=True)
    timers.register(
        CHECKLIST_END, checklist_end_due, late_limit=REVEAL_LATE_LIMIT, quiet=True, pause=True
    )
    timers.reconcile_with(ensure)
    services.exporters["checkins"] = checkins_export
    services.reads.weekly_checkins = weekly_checkins
    services.reads.checklists = finished_checklists
    runner_of(services).add(
        REFLECTION, QUESTIONS_OFFERED, LETTER_FLOW, LETTER_OFFERED, ANOTHER_FLOW
    )
    polls.on_answer("checkin", score_vote)
    polls.on_answer("checklist", checklist_vote)
    app.add_handler(CommandHandler("checkin", checkin_command))
    app.add_handler(CommandHandler("checklist", checklist_command))
