"""The roadmap (day count, phases, milestones) and `/progress`.

Day 1 is the day setup completed. Months 1–3 stabilise, 4–6 strengthen intimacy, 7 onwards
build a new normal (the month count is talk.py's, so starters and prompts agree); the start of
months 4 and 7 is announced in the group by a timer, and the phase decides the wording of the
ritual prompts and the check-ins. The first phase begins with setup, which onboarding announces.

Milestones are celebrated in the group once each, ever, and only once the time they speak of
has passed (a week is seven days: the morning after a roadmap week, a timer looks):
- a first kept week — a roadmap week (days 1–7, 8–14, ...), once it is over, is kept when the
  weekly check-in begun in it was answered by both partners (both finished the reflection), or
  when each partner kept a daily ritual ("Done", or a note written here) on at least five of
  its seven days, by their own calendar;
- a first month — four kept weeks (not necessarily in a row: no streaks here);
- a first visit both rated safe — a visit whose record in visit.py has `both_safe` true (both
  rated it 4 or 5 and both let the group see their rating).

Nothing is celebrated straight after a painful reveal (a check-in with a score of 2 or less, or
two scores two or more apart, revealed within a day): the reveal offers a slow talk or the next
window instead (checkins.py), and a milestone waits for a lighter moment.

`/progress` (group or private) sends a chart — weekly scores per partner, checklist count per
month, pauses per week — and a short written summary. When the guides' warning signs last
(scores of 2 or less three check-ins running for a partner; three or more pauses a week, two
weeks running; a partner who answered none of the last three check-ins while not away), the
summary and, at most monthly, a private note to each partner suggest professional support
(/support). Once three months have passed since day 1, after checklists in three different months
without progress (neither partner ticked most of the statements in any of them, and the latest
has no more ticks than the first), each partner gets, privately and at most once a quarter, the
honest "when repair isn't working" reflection: it opens with what is working, waits for the end
of that partner's quiet hours, and is never a group verdict.

What it counts comes from the features that own it, through their read functions
(`services.reads`: the check-ins and checklists, the rituals kept, the pauses, the visits);
what it reacts to comes as events ("checkin.revealed", "checklist.done", "checkin.due",
"ritual.kept"). Its own series, the phases, starts with every other feature's once a couple is
set up, and is put back at start-up if it was lost.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, NotRequired, TypedDict

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import workers
from bot.context import Command, MendContext, Services
from bot.dates import add_months
from bot.guards import Asked, known_partner
from bot.messages import group_message, private_message, reply, say_private
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.reads import LOW_SCORE, WeeklyCheckin
from bot.render import SHORT_NAME, shorten
from bot.roadmap import PHASES, phase_of, roadmap_month
from bot.storage import Kind, Store
from bot.timers import Fired, Timers
from bot.when import local_to_utc

log = logging.getLogger(__name__)


class Roadmap(TypedDict):
    """Where the couple is on the roadmap: the phases and milestones already said, and when
    the private words about support and about repair not working last went out."""

    id: NotRequired[int]
    announced: list[str]  # phases, the first one from the start
    milestones: dict[str, str | None]  # milestone → when it was reached
    support_hint_at: str | None
    not_working_at: str | None


ROADMAP_TABLE = Kind[Roadmap]("roadmap")
PHASE = "roadmap_phase"
WEEK = "roadmap_week"  # the morning after a roadmap week: was it kept?
NOT_WORKING = "roadmap_not_working"  # the honest reflection, to one partner
PHASE_STARTS = {PHASES[1]: 3, PHASES[2]: 6}  # months after day 1
PHASE_AT = time(10, 0)
PHASE_LATE_LIMIT = timedelta(days=14)
WEEK_AT = time(10, 0)
WEEK_LATE_LIMIT = timedelta(days=1)
NOT_WORKING_LATE_LIMIT = timedelta(days=3)
# The chart is drawn in a worker process (bot.workers), which alone loads matplotlib.
CHART = "bot.charts:render_chart"
CHART_READY = "bot.charts:ready"
AFTER_PAINFUL = timedelta(days=1)  # no celebration this soon after a painful reveal
MILESTONES = ("first_week", "first_month", "first_safe_visit")
WEEKLY_MILESTONES = ("first_week", "first_month")  # reached by kept weeks
KEPT_RITUAL_DAYS = 5  # of a week's seven
KEPT_WEEKS_FOR_MONTH = 4
RUNNING = 3  # check-ins in a row, checklists in different months
PAUSES_A_WEEK = 3
SUPPORT_HINT_EVERY = timedelta(days=28)
NOT_WORKING_EVERY = timedelta(days=90)
NOT_WORKING_AFTER = 3  # months since day 1 before "not working" may be said
CHART_WEEKS = 12
CHART_MONTHS = 12


# -- the roadmap -------------------------------------------------------------------------------


def day_count(couple: Couple, now: datetime) -> int:
    """Day 1 is the day setup completed."""
    if couple.setup_completed_at is None:
        return 1
    return (now.date() - couple.setup_completed_at.date()).days + 1


def week_of(couple: Couple, day: date) -> int:
    """The roadmap week a day falls in: days 1–7 are week 1."""
    assert couple.setup_completed_at is not None
    return (day - couple.setup_completed_at.date()).days // 7 + 1


def roadmap(store: Store, chat_id: int) -> Roadmap | None:
    return next(iter(store.records(chat_id, ROADMAP_TABLE)), None)


def _change_roadmap(store: Store, chat_id: int, fields: Mapping[str, Any]) -> None:
    """Change the couple's roadmap record, made first if there is none."""
    with store.transaction(chat_id) as tx:
        table = tx.table(ROADMAP_TABLE)
        current = next(iter(table.all()), None)
        if current is None:
            fresh: Roadmap = {
                "announced": [PHASES[0]],
                "milestones": {},
                "support_hint_at": None,
                "not_working_at": None,
            }
            table.update(table.insert(fresh), fields)
        else:
            table.update(current["id"], fields)


def phase_moment(couple: Couple, phase: str) -> datetime:
    assert couple.setup_completed_at is not None
    first = couple.partners[0] if couple.partners else None
    start = add_months(couple.setup_completed_at, PHASE_STARTS[phase])
    return local_to_utc(start, PHASE_AT, first.timezone if first else None)


def week_end(couple: Couple, week: int) -> datetime:
    """The morning after roadmap week `week` (day 8 for week 1), on the first partner's clock."""
    assert couple.setup_completed_at is not None
    first = couple.partners[0] if couple.partners else None
    day = couple.setup_completed_at + timedelta(days=7 * week)
    return local_to_utc(day, WEEK_AT, first.timezone if first else None)


def ensure_week(timers: Timers, couple: Couple, *, besides: int | None = None) -> None:
    """While the weekly milestones aren't all reached, the end of the current roadmap week has
    its timer (when a kept week can be celebrated)."""
    record = roadmap(timers.store, couple.chat_id)
    if (
        couple.setup_completed_at is None
        or record is None
        or all(key in record["milestones"] for key in WEEKLY_MILESTONES)
        or any(t["id"] != besides for t in timers.pending(couple.chat_id, WEEK))
    ):
        return
    now = utcnow()
    week = week_of(couple, now.date())
    while week_end(couple, week) <= now:
        week += 1
    timers.schedule(couple.chat_id, WEEK, week_end(couple, week), payload={"week": week})


async def week_due(context: MendContext, fired: Fired) -> None:
    """A roadmap week is over: a kept one may be celebrated now; the next week's end is set."""
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    if couple is None or couple.status != "active":
        return
    # The next week's end first: this timer leaves the store with the first change it makes.
    ensure_week(services.timers, couple, besides=fired.timer_id)
    await check_milestones(context, couple)


def ensure(timers: Timers, couple: Couple, *, besides: int | None = None) -> None:
    """The roadmap record exists, the end of this roadmap week and the next phase to announce
    have their timers (for every couple at start-up, and once a couple is set up:
    Timers.reconcile)."""
    store = timers.store
    if couple.setup_completed_at is None:
        return
    if roadmap(store, couple.chat_id) is None:
        _change_roadmap(store, couple.chat_id, {})
    ensure_week(timers, couple)
    if any(t["id"] != besides for t in timers.pending(couple.chat_id, PHASE)):
        return
    record = roadmap(store, couple.chat_id)
    assert record is not None
    now = utcnow()
    for phase in PHASE_STARTS:
        if phase in record["announced"]:
            continue
        due = phase_moment(couple, phase)
        if now - due > PHASE_LATE_LIMIT:  # long past (a long downtime): not worth saying now
            _change_roadmap(store, couple.chat_id, {"announced": [*record["announced"], phase]})
            record = roadmap(store, couple.chat_id) or record
            continue
        timers.schedule(
            couple.chat_id, PHASE, max(due, now + timedelta(minutes=1)), payload={"phase": phase}
        )
        return


async def phase_due(context: MendContext, fired: Fired) -> None:
    """A new phase of the roadmap begins: said once, in the group (the word is owed with the
    mark that it was said)."""
    services = context.mend
    phase = str(fired.payload.get("phase"))
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        record = roadmap(services.store, fired.chat_id)
        if (
            couple is None
            or couple.status != "active"
            or record is None
            or phase not in PHASE_STARTS
        ):
            return
        ensure(services.timers, couple, besides=fired.timer_id)
        if phase in record["announced"]:
            return
        _change_roadmap(
            services.store, couple.chat_id, {"announced": [*record["announced"], phase]}
        )
        now = utcnow()
        services.outbox.put(
            tx,
            group_message(
                services,
                couple,
                "progress/phase",
                phase=phase,
                day=day_count(couple, now),
                month=roadmap_month(couple.setup_completed_at, now),
                late=fired.late,
                path=couple.path,
            ),
        )
    await services.outbox.deliver(context, fired.chat_id)
    await check_milestones(context, couple)


# -- milestones --------------------------------------------------------------------------------


def kept_weeks(services: Services, couple: Couple, now: datetime) -> list[int]:
    """The roadmap weeks that were kept (see the module's docstring for the rule), of those
    that are over by `now`: a week takes seven days."""
    if couple.setup_completed_at is None or len(couple.partners) < 2:
        return []
    over = week_of(couple, now.date()) - 1  # the weeks before the current one
    reads, store = services.reads, services.store
    kept: set[int] = set()
    for checkin in reads.weekly_checkins(store, couple.chat_id):
        if all(p.user_id in checkin.reflected for p in couple.partners):
            kept.add(week_of(couple, checkin.started_at.date()))
    per_partner = [
        Counter(week_of(couple, day) for day in reads.ritual_days(store, couple.chat_id, p.user_id))
        for p in couple.partners
    ]
    weeks = set().union(*per_partner)
    kept.update(w for w in weeks if all(c[w] >= KEPT_RITUAL_DAYS for c in per_partner))
    return sorted(w for w in kept if 1 <= w <= over)


def _reached(services: Services, couple: Couple, now: datetime) -> list[str]:
    kept = kept_weeks(services, couple, now)
    reached = []
    if kept:
        reached.append("first_week")
    if len(kept) >= KEPT_WEEKS_FOR_MONTH:
        reached.append("first_month")
    if services.reads.safe_visit(services.store, couple.chat_id):
        reached.append("first_safe_visit")
    return reached


def _after_painful_reveal(services: Services, couple: Couple, now: datetime) -> bool:
    """Whether a check-in revealed less than a day ago was painful (a low score, or scores two
    or more apart): no time for a celebration."""
    return any(
        c.painful and c.revealed_at is not None and now - c.revealed_at < AFTER_PAINFUL
        for c in _finished_checkins(services, couple.chat_id)
    )


async def check_milestones(context: MendContext, couple: Couple) -> None:
    """Celebrate each milestone the first time it is reached, and never again; never straight
    after a painful reveal (it waits for the next moment that looks)."""
    services = context.mend
    store = services.store
    now = utcnow()
    if (
        couple.setup_completed_at is None
        or roadmap(store, couple.chat_id) is None
        or _after_painful_reveal(services, couple, now)
    ):
        return
    reached = _reached(services, couple, now)
    with store.transaction(couple.chat_id) as tx:
        table = tx.table(ROADMAP_TABLE)
        record = next(iter(table.all()), None)
        if record is None:
            return
        milestones = dict(record["milestones"])
        new = [key for key in reached if key not in milestones]
        for key in new:
            # Marked and owed in one change: said once, even across a crash or an outage.
            milestones[key] = to_iso(utcnow())
            log.info("milestone reached: %s", key)
            services.outbox.put(
                tx,
                group_message(
                    services,
                    couple,
                    "progress/milestone",
                    milestone=key,
                    day=day_count(couple, utcnow()),
                    names=[p.name for p in couple.partners],
                ),
            )
        if new:
            table.update(record["id"], {"milestones": milestones})
    await services.outbox.deliver(context, couple.chat_id)


# -- signs -------------------------------------------------------------------------------------


def _finished_checkins(services: Services, chat_id: int) -> list[WeeklyCheckin]:
    return [c for c in services.reads.weekly_checkins(services.store, chat_id) if c.over]


def signs(services: Services, couple: Couple, now: datetime) -> dict[str, bool]:
    """The guides' signs that outside help could make a difference, when they last."""
    recent = _finished_checkins(services, couple.chat_id)[-RUNNING:]
    running = len(recent) == RUNNING
    low = running and any(
        all((score := c.scores.get(p.user_id)) is not None and score <= LOW_SCORE for c in recent)
        for p in couple.partners
    )
    silent = (
        running
        and len(couple.partners) == 2
        and any(
            all(not c.answered_by(p.user_id) and p.user_id not in c.away for c in recent)
            and any(c.answered_by(other.user_id) for c in recent)
            for p in couple.partners
            if (other := couple.other(p.user_id)) is not None
        )
    )
    started = services.reads.pauses(services.store, couple.chat_id)
    last_week = sum(1 for s in started if now - timedelta(days=7) < s <= now)
    week_before = sum(1 for s in started if now - timedelta(days=14) < s <= now - timedelta(days=7))
    pauses = last_week >= PAUSES_A_WEEK and week_before >= PAUSES_A_WEEK
    return {"low_scores": low, "frequent_pauses": pauses, "not_answering": silent}


def not_working(services: Services, couple: Couple, now: datetime) -> bool:
    """Three months since day 1, and the last three checklists, in three different months,
    without most statements checked by anyone and no more ticks than the first of them."""
    setup = couple.setup_completed_at
    if setup is None or now < add_months(setup, NOT_WORKING_AFTER):
        return False
    checklists = services.reads.checklists(services.store, couple.chat_id)
    done = checklists.done[-RUNNING:]
    if len(done) < RUNNING or len({c.month for c in done}) < RUNNING:
        return False
    totals = [sum(c.ticks.values()) for c in done]
    none_most = all(t < checklists.most for c in done for t in c.ticks.values())
    return none_most and totals[-1] <= totals[0]


def _due(
    record: Roadmap,
    key: Literal["support_hint_at", "not_working_at"],
    every: timedelta,
    now: datetime,
) -> bool:
    last = from_iso(record.get(key))
    return last is None or now - last >= every


async def after_checkin(context: MendContext, couple: Couple) -> None:
    """After a reveal: milestones, and (at most monthly) a private word about support."""
    await check_milestones(context, couple)
    services = context.mend
    now = utcnow()
    record = roadmap(services.store, couple.chat_id)
    found = signs(services, couple, now)
    if (
        record is None
        or not any(found.values())
        or not _due(record, "support_hint_at", SUPPORT_HINT_EVERY, now)
    ):
        return
    _change_roadmap(services.store, couple.chat_id, {"support_hint_at": to_iso(now)})
    for partner in couple.partners:
        await say_private(
            context,
            couple,
            partner,
            "progress/support_hint",
            low_scores=found["low_scores"],
            frequent_pauses=found["frequent_pauses"],
            not_answering=found["not_answering"],
        )


async def after_checklist(context: MendContext, couple: Couple) -> None:
    """After a monthly verdict: if months pass without progress, the honest reflection, to
    each partner privately (at most once a quarter), each outside their own quiet hours."""
    services = context.mend
    now = utcnow()
    record = roadmap(services.store, couple.chat_id)
    if (
        record is None
        or not not_working(services, couple, now)
        or not _due(record, "not_working_at", NOT_WORKING_EVERY, now)
    ):
        return
    with services.store.transaction(couple.chat_id) as tx:
        tx.table(ROADMAP_TABLE).update(record["id"], {"not_working_at": to_iso(now)})
        for partner in couple.partners:
            # A timer that waits out the partner's quiet hours (bot.timers).
            services.timers.schedule(
                couple.chat_id, NOT_WORKING, now, partner=partner.user_id, tx=tx
            )
    log.info("the not-working reflection is owed to both partners privately")


def _what_works(services: Services, couple: Couple, now: datetime) -> dict[str, int]:
    """What the two of them keep doing together, to say before anything else: check-ins both
    answered, checklists both answered, the months since day 1."""
    checkins = _finished_checkins(services, couple.chat_id)
    checklists = services.reads.checklists(services.store, couple.chat_id).done
    return {
        "checkins": sum(all(c.answered_by(p.user_id) for p in couple.partners) for c in checkins),
        "checklists": sum(len(c.ticks) == len(couple.partners) for c in checklists),
        "months": roadmap_month(couple.setup_completed_at, now) - 1,
    }


async def not_working_due(context: MendContext, fired: Fired) -> None:
    """The honest reflection reaches one partner, out of their quiet hours."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        partner: Partner | None = couple.partner(fired.partner or 0) if couple else None
        if couple is None or partner is None or couple.status != "active":
            return
        services.outbox.put(
            tx,
            private_message(
                services,
                partner,
                "progress/not_working",
                name=partner.name,
                path=couple.path,
                **_what_works(services, couple, utcnow()),
            ),
        )
    await services.outbox.deliver(context, fired.chat_id)


# -- /progress ---------------------------------------------------------------------------------


def _series(services: Services, couple: Couple, now: datetime) -> dict[str, Any]:
    """What the chart and the summary show."""
    reads, store = services.reads, services.store
    current_week = week_of(couple, now.date())
    weeks = list(range(max(1, current_week - CHART_WEEKS + 1), current_week + 1))
    scores: dict[int, dict[int, int]] = {p.user_id: {} for p in couple.partners}
    for checkin in reads.weekly_checkins(store, couple.chat_id):
        for partner in couple.partners:
            score = checkin.scores.get(partner.user_id)
            if score is not None:
                scores[partner.user_id][week_of(couple, checkin.started_at.date())] = score
    checklists = reads.checklists(store, couple.chat_id)
    done = checklists.done[-CHART_MONTHS:]
    ticks = {p.user_id: [c.ticks.get(p.user_id) for c in done] for p in couple.partners}
    pause_weeks = Counter(
        week_of(couple, started.date()) for started in reads.pauses(store, couple.chat_id)
    )
    return {
        "weeks": weeks,
        "scores": scores,
        "months": [c.month for c in done],
        "ticks": ticks,
        "statements": checklists.statements,
        "most": checklists.most,
        "pauses": [pause_weeks.get(w, 0) for w in weeks],
    }


def _plain(text: str, limit: int = SHORT_NAME) -> str:
    """A name (or a title) as matplotlib should draw it: short, no "$" read as mathematics, and
    no emoji (the chart's font has none)."""
    drawable = "".join(ch for ch in text if ord(ch) <= 0xFFFF).strip() or "?"
    return shorten(drawable, limit).replace("$", r"\$")


def _summary(
    services: Services, couple: Couple, series: dict[str, Any], now: datetime
) -> dict[str, Any]:
    month = roadmap_month(couple.setup_completed_at, now)
    people = []
    for partner in couple.partners:
        by_week = series["scores"][partner.user_id]
        recent = [by_week[w] for w in sorted(by_week)][-4:]
        earlier = [by_week[w] for w in sorted(by_week)][-8:-4]
        ticks = [t for t in series["ticks"][partner.user_id] if t is not None]
        people.append(
            {
                "name": partner.name,
                "last_score": recent[-1] if recent else None,
                "average": round(sum(recent) / len(recent), 1) if recent else None,
                "trend": (
                    None
                    if not recent or not earlier
                    else round(sum(recent) / len(recent) - sum(earlier) / len(earlier), 1)
                ),
                "ticks": ticks[-1] if ticks else None,
                "tick_change": ticks[-1] - ticks[-2] if len(ticks) >= 2 else None,
            }
        )
    record = roadmap(services.store, couple.chat_id)
    reached = record["milestones"] if record is not None else {}
    return {
        "day": day_count(couple, now),
        "month": month,
        "phase": phase_of(month),
        "week": week_of(couple, now.date()),
        "checkins": len(_finished_checkins(services, couple.chat_id)),
        "people": people,
        "total": series["statements"],
        "most": series["most"],
        "pauses_month": sum(series["pauses"][-4:]),
        "milestones": [k for k in MILESTONES if k in reached],
        "signs": signs(services, couple, now),
        "path": couple.path,
    }


@known_partner
async def progress_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/progress: the chart and a short summary (in private: the same, for your couple)."""
    chat = update.effective_chat
    assert chat is not None
    services = context.mend
    couple, locale = asked.couple, asked.locale
    if not couple.is_set_up:
        await reply(update, context, locale, "common/not_set_up")
        return
    now = utcnow()
    series = _series(services, couple, now)
    label = services.render.label
    titles = {
        key: label(locale, f"progress.chart_{key}")
        for key in ("scores", "checklist", "pauses", "week", "month")
    }
    drawable = {
        key: _plain(title, 40 if key in ("week", "month") else 80) for key, title in titles.items()
    }
    names = {p.user_id: _plain(p.name) for p in couple.partners}
    png: bytes = await workers.run(CHART, series, names, drawable)
    summary = _summary(services, couple, series, now)
    caption = services.render.message(
        locale, "progress/caption", day=summary["day"], phase=summary["phase"]
    )
    await context.bot.send_photo(
        chat.id, photo=png, caption=caption, message_thread_id=asked.thread_id
    )
    await reply(update, context, locale, "progress/summary", private=asked.private, **summary)
    await check_milestones(context, couple)


# -- export and wiring -------------------------------------------------------------------------


def progress_export(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """The roadmap is shared: its phases and milestones were said in the group."""
    record = roadmap(services.store, couple.chat_id)
    return {
        "day_one": to_iso(couple.setup_completed_at),
        "phases_announced": record.get("announced", []) if record is not None else [],
        "milestones": record.get("milestones", {}) if record is not None else {},
    }


async def _warm_up() -> None:
    """The chart's worker process started, matplotlib loaded, before the first /progress."""
    workers.warm_up(CHART_READY)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("progress", "together", in_group=True, in_private=True))
    services.on_start(_warm_up)
    services.timers.register(PHASE, phase_due, late_limit=PHASE_LATE_LIMIT, quiet=True, pause=True)
    services.timers.register(WEEK, week_due, late_limit=WEEK_LATE_LIMIT, quiet=True, pause=True)
    services.timers.register(
        NOT_WORKING, not_working_due, late_limit=NOT_WORKING_LATE_LIMIT, quiet=True
    )
    services.timers.reconcile_with(ensure)
    services.exporters["progress"] = progress_export
    services.on("checkin.due", check_milestones)
    services.on("ritual.kept", check_milestones)
    services.on("checkin.revealed", after_checkin)
    services.on("checklist.done", after_checklist)
    app.add_handler(CommandHandler("progress", progress_command))
