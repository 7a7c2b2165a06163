"""/visit: planning a visit that repairs, with a countdown, daily check-ins and a reflection.

The couple plans in the group, one step at a time: where they will be (whose calendar the dates
are read in), the arrival and departure days, what each partner needs to feel safe (each answers
their own), time for both serious talks and light, joyful things, and room for rest. Then:

- a countdown in the group a week and a day before (group timers that respect quiet hours, at a
  moment that is daytime for both partners; missed ones are dropped after downtime);
- each morning of the visit (after the arrival day, through the departure day) a short "how are
  you both feeling" check-in, in the morning of the place they are together;
- the day after the visit, in each partner's own morning, a private reflection: how safe and
  connected they felt (1–5), an optional note, and what the group may see. The group sees the
  answers once both have answered, or at a deadline; a reflection missed during downtime still
  comes, late.

A visit planned or called off is told to the features that follow it ("visit.changed"); /plan
reads the next visit's days through `services.reads.next_visit` and shows them.

The conversations are flows (bot.flows), each a table of steps: PLAN (where, the place, the
dates), then GOALS (the question to both, with "I'll say mine in person") next to one GOAL
question per partner, then TIME (activities, own ideas, rest); MORNING is one check-in and
REFLECTION one partner's reflection. Each run carries the id of its visit. The visit record
(dates, host, zone, goals, activities, reflections, `both_safe`) is this feature's own data; the
open runs say where each conversation stands. Timers queue what they say through the outbox in
one change with what they do, so a failure half-way resumes instead of repeating.

While a partner has paused the joint prompts (the safety switch of /support, read through
`services.reads.prompts_paused`), /visit plans nothing (calling a visit off still works), and
the countdown and the visit's morning check-ins are skipped.

Dates are calendar days of the place of the visit and stored as such ("2026-12-24"); every
moment derived from them is shown per partner, in their own time zone, except the mornings of
the visit: both are at its place then, so they are shown on its clock. The visit record
keeps `both_safe` (both rated 4 or more *and* both let the group see their rating); the
milestones read it through `services.reads.safe_visit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import Command, MendContext, Services
from bot.couples import group_locale
from bot.dates import day_as_moment
from bot.flows import Flow, Option, Rows, Run, Step, Turn, Unreadable, runner_of
from bot.guards import Asked, partners_only
from bot.links import private_link_button
from bot.messages import group_message, reply
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.outbox import GROUP
from bot.reading import read_date
from bot.render import shorten, zone
from bot.storage import Kind, Store, Transaction
from bot.timers import Fired, Timers
from bot.when import local_to_utc, next_local, quiet_until
from bot.zones import find_zone


class VisitReflection(TypedDict, total=False):
    """A partner's private reflection after a visit, kept answer by answer."""

    rating: int  # 1–5
    note: str
    share: str  # of SHARES: what the group may see
    answered_at: str | None


class Visit(TypedDict):
    """A visit: its plan, its morning check-ins and the reflections after it."""

    id: NotRequired[int]
    state: str  # "planning", "planned", "over" (reflections asked), "done" or "cancelled"
    planner: int
    created_at: str | None
    host: int | None  # the partner at home (None: a place elsewhere, in `zone`)
    zone: str | None  # the place's time zone when neither partner is at home there
    arrival: str | None  # ISO dates in the place's calendar, set while planning
    departure: str | None
    goals: dict[str, str]  # user id → what they need to feel safe ("": in person)
    activities: list[str]  # of ACTIVITIES
    ideas: list[str]
    rest: str | None  # of RESTS
    checkins: dict[str, dict[str, str]]  # ISO day → user id → mood
    reflections: dict[str, VisitReflection]  # user id → theirs
    both_safe: bool | None  # once revealed: both rated it safe and let the group see that
    planned_at: NotRequired[str | None]
    revealed_at: NotRequired[str | None]
    cancelled_at: NotRequired[str | None]
    cancelled_by: NotRequired[int]
    step: NotRequired[str | None]  # the planning step, before planning was a flow


# Each partner's reflection is sealed at rest (bot.storage), bound to them.
VISITS_TABLE = Kind[Visit]("visits", private=("reflections.*.rating", "reflections.*.note"))
COUNTDOWN = "visit_countdown"
CHECKIN = "visit_checkin"
REFLECT = "visit_reflect"
REVEAL = "visit_reveal"
TIMER_KINDS = (COUNTDOWN, CHECKIN, REFLECT, REVEAL)

COUNTDOWN_DAYS = (7, 1)
CHECKIN_AT = time(9, 30)
REFLECT_AT = time(10, 0)
PREFERRED_AT = time(10, 0)
AWAKE = (time(8, 0), time(21, 0))  # a group message lands in both partners' daytime if it can
REVEAL_AFTER = timedelta(days=3)
REFLECT_LATE_LIMIT = timedelta(days=14)
REVEAL_LATE_LIMIT = timedelta(days=60)
MAX_NIGHTS = 90
MAX_AHEAD = timedelta(days=2 * 366)
MAX_IDEAS = 5
MAX_IDEA = 200
MAX_TEXT = 500
SAFE_FROM = 4  # a rating of 4 or 5 counts as "felt safe and connected"

ACTIVITIES = ("cooking", "walks", "place", "calm_start", "talk", "evening")
LIGHT = ("cooking", "walks", "place", "calm_start")
RESTS = ("hour", "halfday", "ask")
MOODS = ("good", "mixed", "heavy")
SHARES = ("all", "rating", "none")
RATINGS = range(1, 6)


# -- dates -------------------------------------------------------------------------------------


def _day(text: str | None) -> date:
    """A day of the visit (read once planning has set it)."""
    assert text is not None
    return date.fromisoformat(text)


def _dates(visit: Mapping[str, Any]) -> dict[str, Any]:
    """The visit's first and last day as the templates show them (a record or a run's data)."""
    arrival, departure = _day(visit["arrival"]), _day(visit["departure"])
    return {
        "arrival": day_as_moment(arrival),
        "departure": day_as_moment(departure),
        "nights": (departure - arrival).days,
    }


# -- moments -----------------------------------------------------------------------------------


def _host_of(couple: Couple, visit: Visit) -> Partner | None:
    """The partner the visit is at home with, if it is at one's home."""
    host = visit.get("host")
    return couple.partner(host) if host else None


def place_zone(couple: Couple, visit: Visit) -> str | None:
    """The time zone of the place of the visit: the host's, or the city they named."""
    host = _host_of(couple, visit)
    return host.timezone if host is not None else visit.get("zone")


def _today(zone_name: str | None) -> date:
    return utcnow().astimezone(zone(zone_name)).date()


def _awake(moment: datetime, partner: Partner) -> bool:
    local = moment.astimezone(zone(partner.timezone)).time()
    return AWAKE[0] <= local <= AWAKE[1] and quiet_until(moment, partner) is None


def shared_moment(day: date, zone_name: str | None, partners: list[Partner]) -> datetime:
    """A moment on `day` (in the place's calendar) that is daytime, outside quiet hours, for
    every partner; the nearest to mid-morning at the place. Mid-morning if none is."""
    midnight = datetime.combine(day, time())
    preferred = PREFERRED_AT.hour * 60 + PREFERRED_AT.minute
    slots = sorted(
        (time(h, m) for h in range(6, 23) for m in (0, 30)),
        key=lambda t: abs(t.hour * 60 + t.minute - preferred),
    )
    for slot in slots:
        moment = local_to_utc(midnight, slot, zone_name)
        if all(_awake(moment, p) for p in partners):
            return moment
    return local_to_utc(midnight, PREFERRED_AT, zone_name)


def checkin_moment(couple: Couple, visit: Visit, day: date) -> datetime:
    """Morning at the place they are together; after the host's quiet hours, if any.
    (The visitor's own quiet hours are set for home, so they don't apply here.)"""
    zone_name = place_zone(couple, visit)
    moment = local_to_utc(datetime.combine(day, time()), CHECKIN_AT, zone_name)
    host = _host_of(couple, visit)
    later = quiet_until(moment, host) if host is not None else None
    return later or moment


def visit_end(couple: Couple, visit: Visit) -> datetime:
    """The end of the departure day, at the place."""
    after = _day(visit["departure"]) + timedelta(days=1)
    return local_to_utc(datetime.combine(after, time()), time(0), place_zone(couple, visit))


def reflect_moment(couple: Couple, visit: Visit, partner: Partner) -> datetime:
    """The partner's own morning once the visit is over (a traveller may get a day more)."""
    return next_local(REFLECT_AT, partner.timezone, visit_end(couple, visit) - timedelta(seconds=1))


def _checkin_days(visit: Visit) -> list[date]:
    arrival, departure = _day(visit["arrival"]), _day(visit["departure"])
    return [arrival + timedelta(days=n) for n in range(1, (departure - arrival).days + 1)]


def _next_checkin(couple: Couple, visit: Visit, after: datetime) -> tuple[date, datetime] | None:
    for day in _checkin_days(visit):
        moment = checkin_moment(couple, visit, day)
        if moment > after:
            return day, moment
    return None


# -- the store ---------------------------------------------------------------------------------


def visits(services: Services, chat_id: int) -> list[Visit]:
    return services.store.records(chat_id, VISITS_TABLE)


def _runs(services: Services, chat_id: int, visit_id: int, *flows: str) -> list[Run]:
    """The unfinished runs of these flows that belong to the visit (also inside a transaction:
    the store's reads see its changes)."""
    return [
        run
        for flow in flows
        for run in runner_of(services).runs(chat_id, flow)
        if run.data.get("visit") == visit_id
    ]


def upcoming(services: Services, couple: Couple) -> Visit | None:
    """The visit being planned, or planned and not over yet. (A plan left half-way before
    planning became a flow has no conversation to go on with; it is passed over.)"""
    for visit in visits(services, couple.chat_id):
        if visit["state"] == "planning" and _runs(services, couple.chat_id, visit["id"], *PLANNING):
            return visit
        if visit["state"] == "planned" and (
            _day(visit["departure"]) >= _today(place_zone(couple, visit))
        ):
            return visit
    return None


def _visit_of(turn: Turn) -> Visit:
    """The visit a run belongs to, inside the answer's transaction."""
    visit = turn.tx.table(VISITS_TABLE).get(int(turn.data["visit"]))
    assert visit is not None  # a visit's runs are closed before it could go
    return visit


def _cancel_timers(
    timers: Timers, chat_id: int, visit_id: int, kinds: tuple[str, ...] = TIMER_KINDS
) -> None:
    for kind in kinds:
        for record in timers.pending(chat_id, kind):
            if record["payload"].get("visit") == visit_id:
                timers.cancel(chat_id, record["id"])


def _close(services: Services, tx: Transaction, runs: list[Run]) -> None:
    for run in runs:
        runner_of(services).close(tx, run)


def _name(couple: Couple, user_id: int | None) -> str:
    partner = couple.partner(user_id) if user_id is not None else None
    return partner.name if partner else "?"


# -- /visit ------------------------------------------------------------------------------------


@partners_only
async def visit_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/visit shows (or starts planning) the next visit; /visit cancel calls it off."""
    services = context.mend
    couple, partner, args = asked.couple, asked.partner, asked.words
    if args and args != ("cancel",) and args != ("plan",):
        await reply(update, context, asked.locale, "visit/usage")
        return
    if args != ("cancel",) and services.reads.prompts_paused(services.store, couple.chat_id):
        await reply(update, context, asked.locale, "common/prompts_paused")
        return
    if not args:
        await _owed_reflection(context, couple, partner)
    with services.store.transaction(couple.chat_id) as tx:
        if args == ("cancel",):
            cancelled = _cancel(services, tx, couple, partner)
        else:
            cancelled = False
            _show(services, tx, couple, partner)
    await services.outbox.deliver(context, couple.chat_id)
    if cancelled:
        await services.emit(
            "visit.changed", context, services.store.couple(couple.chat_id) or couple
        )


def _cancel(services: Services, tx: Transaction, couple: Couple, partner: Partner) -> bool:
    """Call off the visit being planned or planned (True), or say there is none."""
    current = upcoming(services, couple)
    if current is None:
        services.outbox.put(tx, group_message(services, couple, "visit/none", cancelled=True))
        return False
    _cancel_timers(services.timers, couple.chat_id, current["id"])
    _close(services, tx, _runs(services, couple.chat_id, current["id"], *VISIT_FLOWS))
    tx.table(VISITS_TABLE).update(
        current["id"],
        {"state": "cancelled", "cancelled_at": to_iso(utcnow()), "cancelled_by": partner.user_id},
    )
    services.outbox.put(
        tx,
        group_message(
            services,
            couple,
            "visit/cancelled",
            name=partner.name,
            planned=current["state"] == "planned",
        ),
    )
    return True


def _show(services: Services, tx: Transaction, couple: Couple, partner: Partner) -> None:
    """The plan: offered, asked again where it stands, or shown."""
    current = upcoming(services, couple)
    if current is None:
        # One offer at a time: an older one's button is out of date.
        _close(services, tx, runner_of(services).runs_in(tx, PLAN))
        runner_of(services).start(
            tx,
            couple,
            PLAN,
            owner=partner,
            data={"visit": None, "names": [p.name for p in couple.partners], "zone": None},
        )
    elif current["state"] == "planning":
        for run in _runs(services, couple.chat_id, current["id"], PLAN, GOAL, TIME):
            # A typed question goes to whoever asked where the plan stands, except the goals:
            # each partner answers only their own.
            asked = None if run.flow == GOAL else partner
            runner_of(services).reshow(tx, couple, run, asked=asked, resumed=True)
    else:
        services.outbox.put(
            tx, group_message(services, couple, "visit/show", **_summary(services, couple, current))
        )


# -- planning: where and when ------------------------------------------------------------------


def _resumed(run: Run) -> dict[str, Any]:
    """What every planning question shows: the calendar it is read in; "resumed" is set when
    /visit asks it again."""
    return {"resumed": False, "zone": run.data.get("zone")}


def _begin(turn: Turn) -> str | None:
    """The "Plan a visit" button: a new visit record, unless one is in the works already."""
    services = turn.runner.services
    if upcoming(services, turn.couple) is not None:
        turn.toast = "alert.visit_exists"
        return None
    turn.data["visit"] = turn.tx.table(VISITS_TABLE).insert(
        {
            "state": "planning",
            "planner": turn.partner.user_id,
            "created_at": to_iso(utcnow()),
            "host": None,
            "zone": None,
            "arrival": None,
            "departure": None,
            "goals": {},
            "activities": [],
            "ideas": [],
            "rest": None,
            "checkins": {},
            "reflections": {},
            "both_safe": None,
        }
    )
    others = [r for r in turn.runner.runs_in(turn.tx, PLAN) if r.token != turn.run.token]
    _close(services, turn.tx, others)
    return "where"


def _host(index: int) -> str:
    """The option for "at the place of the partner at `index`"."""
    return f"host_{index}"


def _where_options(run: Run) -> Rows:
    return [
        *(
            [Option(_host(i), "visit.at_home", {"name": name})]
            for i, name in enumerate(run.data["names"])
        ),
        [Option("else", "visit.elsewhere")],
    ]


def _where(turn: Turn) -> str:
    """At one partner's place (their calendar), or somewhere else (a city to name)."""
    if turn.value == "else":
        return "place"
    host = {_host(i): p for i, p in enumerate(turn.couple.partners)}[turn.value]
    turn.tx.table(VISITS_TABLE).update(int(turn.data["visit"]), {"host": host.user_id})
    turn.data["zone"] = host.timezone
    return "arrival"


def _read_place(text: str) -> str:
    """A city (or a zone name) as the time zone whose calendar the dates are read in."""
    guess = find_zone(text)
    found = guess.zone or (guess.suggestions[0].zone if len(guess.suggestions) == 1 else None)
    if found is None:
        raise Unreadable("visit.reason.place_unknown", typed=shorten(text))
    return found


def _place(turn: Turn) -> str:
    turn.tx.table(VISITS_TABLE).update(int(turn.data["visit"]), {"zone": turn.value})
    turn.data["zone"] = turn.value
    return "arrival"


def _date_question(run: Run) -> dict[str, Any]:
    arrival = run.data.get("arrival")
    return {
        **_resumed(run),
        "which": run.step,
        "arrival": day_as_moment(_day(arrival)) if arrival else None,
        "example": day_as_moment(_today(run.data.get("zone")) + timedelta(days=30)),
    }


def _on_or_after(text: str, earliest: date) -> date:
    """A typed day; one without a year is the first such day on or after `earliest`."""
    day = read_date(text, earliest)
    if day is None:
        raise Unreadable("visit.reason.date_unreadable", typed=shorten(text))
    return day


def _read_day(text: str) -> str:
    """A typed day, kept as typed: the year of a day without one depends on the plan, so the
    answer reads it (this only makes sure it is a day at all)."""
    _on_or_after(text, utcnow().date())
    return text


def _arrival(turn: Turn) -> str:
    """The first day of the visit: not in the past, not years ahead."""
    visit = _visit_of(turn)
    today = _today(place_zone(turn.couple, visit))
    day = _on_or_after(turn.value, today)
    if day < today:
        raise Unreadable("visit.reason.date_past", typed=shorten(turn.value))
    if day_as_moment(day) - day_as_moment(today) > MAX_AHEAD:
        raise Unreadable("visit.reason.date_far")
    turn.tx.table(VISITS_TABLE).update(visit["id"], {"arrival": day.isoformat()})
    turn.data["arrival"] = day.isoformat()
    return "departure"


def _departure(turn: Turn) -> None:
    """The last day of the visit: not before the first, not months later. Then each partner
    is asked what they need, next to one question to both (with the way to skip one's own)."""
    visit = _visit_of(turn)
    arrival = _day(visit["arrival"])
    day = _on_or_after(turn.value, arrival)
    if day < arrival:
        raise Unreadable("visit.reason.date_before")
    if (day - arrival).days > MAX_NIGHTS:
        raise Unreadable("visit.reason.date_long", nights=MAX_NIGHTS)
    turn.tx.table(VISITS_TABLE).update(visit["id"], {"departure": day.isoformat()})
    runner, tx, couple = turn.runner, turn.tx, turn.couple
    dates = {"visit": visit["id"], "arrival": visit["arrival"], "departure": day.isoformat()}
    runner.start(tx, couple, GOALS, owner=None, data=dates)
    for partner in couple.partners:
        runner.start(tx, couple, GOAL, owner=partner, data={"visit": visit["id"]})
    return None


PLAN = "visit_plan"
PLAN_FLOW = Flow(
    name=PLAN,
    first="intro",
    steps={
        "intro": Step(
            "visit/intro", [[Option("plan", "visit.plan")]], answer=_begin, who="partners"
        ),
        "where": Step(
            "visit/ask_where", _where_options, answer=_where, who="partners", data=_resumed
        ),
        "place": Step(
            "visit/ask_place", read=_read_place, answer=_place, who="partners", data=_resumed
        ),
        "arrival": Step(
            "visit/ask_date",
            read=_read_day,
            answer=_arrival,
            who="partners",
            data=_date_question,
        ),
        "departure": Step(
            "visit/ask_date",
            read=_read_day,
            answer=_departure,
            who="partners",
            data=_date_question,
        ),
    },
    closed="visit/not_current",
)


# -- planning: what each partner needs -----------------------------------------------------------


def _read_text(most: int) -> Callable[[str], str]:
    """A reader of free text: up to `most` characters (nothing is cut without a word)."""

    def read(text: str) -> str:
        text = text.strip()
        if len(text) > most:
            raise Unreadable("visit.reason.too_long", most=most)
        return text

    return read


def _goal(turn: Turn) -> None:
    """What one partner needs to feel safe: only their own answer counts for them."""
    visit = _visit_of(turn)
    _goals_given(turn, visit, {**visit["goals"], str(turn.partner.user_id): turn.value})
    return None


def _skip_goal(turn: Turn) -> str | None:
    """The skip button: the presser's own question closes (pressed twice, or after answering
    it, nothing changes)."""
    visit = _visit_of(turn)
    mine = str(turn.partner.user_id)
    if mine in visit["goals"]:
        return "intro"
    services = turn.runner.services
    own = [
        r
        for r in _runs(services, turn.couple.chat_id, visit["id"], GOAL)
        if r.owner == turn.partner.user_id
    ]
    _close(services, turn.tx, own)
    return None if _goals_given(turn, visit, {**visit["goals"], mine: ""}) else "intro"


def _goals_given(turn: Turn, visit: Visit, goals: dict[str, str]) -> bool:
    """Keep the goals; once both partners have given theirs (or skipped), the plan goes on to
    time together. True when it does."""
    tx, couple, services = turn.tx, turn.couple, turn.runner.services
    tx.table(VISITS_TABLE).update(visit["id"], {"goals": goals})
    waiting = [p.name for p in couple.partners if str(p.user_id) not in goals]
    if waiting:
        turn.say(GROUP, "visit/goal_noted", waiting=waiting)
        return False
    for question in _runs(services, couple.chat_id, visit["id"], GOALS):
        if question.token != turn.run.token:
            runner_of(services).close(tx, question)
    turn.runner.start(
        tx, couple, TIME, owner=None, data={"visit": visit["id"], "activities": [], "ideas": []}
    )
    return True


GOALS = "visit_goals"
GOALS_FLOW = Flow(
    name=GOALS,
    first="intro",
    steps={
        "intro": Step(
            "visit/goals_intro",
            [[Option("skip", "visit.skip_goal")]],
            answer=_skip_goal,
            who="partners",
            edit=True,
            data=lambda run: {**_dates(run.data), **_resumed(run)},
        ),
    },
    closed="visit/not_current",
)
GOAL = "visit_goal"
GOAL_FLOW = Flow(
    name=GOAL,
    first="ask",
    steps={"ask": Step("visit/ask_goal", read=_read_text(MAX_TEXT), answer=_goal)},
    closed="visit/not_current",
)


# -- planning: time together and rest ------------------------------------------------------------


def _time_options(run: Run) -> Rows:
    chosen = run.data["activities"]
    return [
        *(
            [Option(key, f"visit.chosen_{key}" if key in chosen else f"visit.act_{key}")]
            for key in ACTIVITIES
        ),
        [Option("own", "visit.own_idea"), Option("done", "visit.time_done")],
    ]


def _choose(turn: Turn) -> str:
    """Tick or untick an activity (the menu shows it at once), add an idea, or go on."""
    chosen, ideas = list(turn.data["activities"]), list(turn.data["ideas"])
    if turn.value in ACTIVITIES:
        turn.data["activities"] = (
            [a for a in chosen if a != turn.value]
            if turn.value in chosen
            else [*chosen, turn.value]
        )
        return "time"
    if turn.value == "own":
        if len(ideas) >= MAX_IDEAS:
            turn.toast = "alert.visit_enough_ideas"
            return "time"
        return "idea"
    return "rest"


def _idea(turn: Turn) -> str:
    """An activity of their own for the visit; back to the menu, now showing it."""
    ideas = list(turn.data["ideas"])
    if len(ideas) < MAX_IDEAS:
        turn.data["ideas"] = [*ideas, turn.value]
    return "time"


def _planned(turn: Turn) -> None:
    """The plan is made: its timers are set and the group sees it whole."""
    services, tx = turn.runner.services, turn.tx
    visit_id = int(turn.data["visit"])
    tx.table(VISITS_TABLE).update(
        visit_id,
        {
            "activities": turn.data["activities"],
            "ideas": turn.data["ideas"],
            "rest": turn.value,
            "state": "planned",
            "planned_at": to_iso(utcnow()),
        },
    )
    visit = tx.table(VISITS_TABLE).get(visit_id)
    assert visit is not None
    schedule_visit(services.timers, turn.couple, visit, tx=tx)
    turn.say(GROUP, "visit/planned", **_summary(services, turn.couple, visit))
    turn.emit("visit.changed")
    return None


TIME = "visit_time"
TIME_FLOW = Flow(
    name=TIME,
    first="time",
    steps={
        # Ticks are shown by editing the menu in place; the rest question then takes its place.
        "time": Step(
            "visit/ask_time",
            _time_options,
            answer=_choose,
            who="partners",
            edit=True,
            data=_resumed,
        ),
        "idea": Step("visit/ask_idea", read=_read_text(MAX_IDEA), answer=_idea, who="partners"),
        "rest": Step(
            "visit/ask_rest",
            [[Option(key, f"visit.rest_{key}")] for key in RESTS],
            answer=_planned,
            who="partners",
            data=_resumed,
        ),
    },
    closed="visit/not_current",
)
PLANNING = (PLAN, GOALS, GOAL, TIME)


# -- the plan is made: timers ------------------------------------------------------------------


def schedule_visit(
    timers: Timers, couple: Couple, visit: Visit, *, tx: Transaction | None = None
) -> None:
    """The countdown, the first check-in, each partner's reflection and the reveal deadline."""
    now, chat_id, visit_id = utcnow(), couple.chat_id, visit["id"]
    arrival = _day(visit["arrival"])
    for days in COUNTDOWN_DAYS:
        moment = shared_moment(
            arrival - timedelta(days=days), place_zone(couple, visit), couple.partners
        )
        if moment > now:
            timers.schedule(
                chat_id, COUNTDOWN, moment, payload={"visit": visit_id, "days": days}, tx=tx
            )
    _schedule_next_checkin(timers, couple, visit, now, tx=tx)
    reflections = [reflect_moment(couple, visit, p) for p in couple.partners]
    for partner, moment in zip(couple.partners, reflections, strict=True):
        timers.schedule(
            chat_id, REFLECT, moment, partner=partner.user_id, payload={"visit": visit_id}, tx=tx
        )
    timers.schedule(
        chat_id, REVEAL, max(reflections) + REVEAL_AFTER, payload={"visit": visit_id}, tx=tx
    )


def _schedule_view(services: Services, couple: Couple, visit: Visit) -> list[dict[str, Any]]:
    """What is coming, soonest first, with each moment as each partner reads it."""
    view: dict[tuple[str, Any], dict[str, Any]] = {}
    for record in services.timers.pending(couple.chat_id):
        if record["kind"] not in (COUNTDOWN, CHECKIN, REFLECT):
            continue
        if record["payload"].get("visit") != visit["id"]:
            continue
        at = from_iso(record["due"])
        if at is None or at <= utcnow():
            continue  # the timer firing right now (a countdown shows the plan) isn't "coming"
        kind, days = record["kind"].removeprefix("visit_"), record["payload"].get("days")
        entry = view.setdefault((kind, days), {"kind": kind, "days": days, "times": []})
        if record["kind"] == CHECKIN:
            # A morning of the visit: both are at its place, so it is shown on that clock.
            entry["times"].append({"place": True, "zone": place_zone(couple, visit), "at": at})
            continue
        entry["times"].extend(
            {"place": False, "name": p.name, "zone": p.timezone, "at": at}
            for p in couple.partners
            if record.get("partner") in (None, p.user_id)
        )
    return list(view.values())


def _summary(services: Services, couple: Couple, visit: Visit) -> dict[str, Any]:
    zone_name = place_zone(couple, visit)
    arrival = _day(visit["arrival"])
    host = _host_of(couple, visit)
    return {
        **_dates(visit),
        "host": host.name if host else None,
        "zone": zone_name,
        "days_left": (arrival - _today(zone_name)).days,
        "goals": [
            {"name": p.name, "goal": visit["goals"].get(str(p.user_id)) or ""}
            for p in couple.partners
        ],
        "light": [a for a in visit["activities"] if a in LIGHT],
        "serious": [a for a in visit["activities"] if a not in LIGHT],
        "ideas": visit["ideas"],
        "rest": visit["rest"],
        "schedule": _schedule_view(services, couple, visit),
        "unset": [p.name for p in couple.partners if not p.timezone],
    }


# -- countdown and check-ins -------------------------------------------------------------------


def _fired_visit(tx: Transaction, fired: Fired) -> tuple[Couple, Visit] | None:
    """Inside the couple's transaction: the couple and the visit a timer is for."""
    couple = tx.couple()
    visit = tx.table(VISITS_TABLE).get(int(fired.payload.get("visit", 0)))
    if couple is None or visit is None or couple.status != "active":
        return None
    return couple, visit


async def countdown_due(context: MendContext, fired: Fired) -> None:
    """A week, or a day, before the visit."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        found = _fired_visit(tx, fired)
        if found is None or found[1]["state"] != "planned":
            return
        couple, visit = found
        if services.reads.prompts_paused(services.store, couple.chat_id):
            return
        message = group_message(
            services,
            couple,
            "visit/countdown",
            days=int(fired.payload.get("days", 1)),
            **_summary(services, couple, visit),
        )
        services.outbox.put(tx, message)
    await services.outbox.deliver(context, fired.chat_id)


async def checkin_due(context: MendContext, fired: Fired) -> None:
    """A morning of the visit: how are you both feeling? Then the next morning's is set."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        found = _fired_visit(tx, fired)
        day = str(fired.payload.get("day", ""))
        if found is None or found[1]["state"] != "planned" or day in found[1]["checkins"]:
            return
        couple, visit = found
        _schedule_next_checkin(services.timers, couple, visit, fired.due, tx=tx)
        if services.reads.prompts_paused(services.store, couple.chat_id):
            return  # the next morning's is set; this one isn't asked
        tx.table(VISITS_TABLE).update(visit["id"], {"checkins": {**visit["checkins"], day: {}}})
        runner_of(services).start(
            tx,
            couple,
            MORNING,
            owner=None,
            data={"visit": visit["id"], "date": day, **_checkin_view(couple, visit, day, {})},
        )
    await services.outbox.deliver(context, fired.chat_id)


def _schedule_next_checkin(
    timers: Timers,
    couple: Couple,
    visit: Visit,
    after: datetime,
    *,
    tx: Transaction | None = None,
) -> None:
    following = _next_checkin(couple, visit, max(after, utcnow()))
    if following is not None:
        timers.schedule(
            couple.chat_id,
            CHECKIN,
            following[1],
            payload={"visit": visit["id"], "day": following[0].isoformat()},
            tx=tx,
        )


def _checkin_view(
    couple: Couple, visit: Visit, day: str, moods: Mapping[str, str]
) -> dict[str, Any]:
    number = (_day(day) - _day(visit["arrival"])).days + 1
    return {
        "day": number,
        "last": day == visit["departure"],
        "first": number == 2,
        "answers": [{"name": p.name, "mood": moods.get(str(p.user_id))} for p in couple.partners],
    }


def _feel(turn: Turn) -> str:
    """A partner answers the morning check-in; the message shows both answers."""
    visit = _visit_of(turn)
    day = str(turn.data["date"])
    moods = {**visit["checkins"].get(day, {}), str(turn.partner.user_id): turn.value}
    turn.tx.table(VISITS_TABLE).update(visit["id"], {"checkins": {**visit["checkins"], day: moods}})
    turn.data.update(_checkin_view(turn.couple, visit, day, moods))
    return "feel"


MORNING = "visit_morning"
MORNING_FLOW = Flow(
    name=MORNING,
    first="feel",
    steps={
        "feel": Step(
            "visit/checkin",
            [[Option(mood, f"visit.mood_{mood}") for mood in MOODS]],
            answer=_feel,
            who="partners",
            edit=True,
        ),
    },
)


def ensure_checkins(timers: Timers, couple: Couple) -> None:
    """At start-up: a visit under way keeps its next morning check-in (a missed one was
    dropped, not replayed)."""
    for visit in timers.store.records(couple.chat_id, VISITS_TABLE):
        if visit["state"] != "planned":
            continue
        if any(
            r["payload"].get("visit") == visit["id"]
            for r in timers.pending(couple.chat_id, CHECKIN)
        ):
            continue
        _schedule_next_checkin(timers, couple, visit, utcnow())


# -- the reflection afterwards -----------------------------------------------------------------


async def reflect_due(context: MendContext, fired: Fired) -> None:
    """The day after: each partner is asked privately how safe and connected they felt."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        found = _fired_visit(tx, fired)
        if found is None or fired.partner is None:
            return
        couple, visit = found
        partner = couple.partner(fired.partner)
        if partner is None or visit["state"] not in ("planned", "over"):
            return
        if visit["state"] == "planned":
            _visit_over(services, tx, couple.chat_id, visit["id"])
        due = not _answered(visit, partner) and not _reflection_runs(
            services, couple.chat_id, visit["id"], partner
        )
        if due:
            _ask_reflection(services, tx, couple, visit, partner, late=fired.late)
    await services.outbox.deliver(context, fired.chat_id)
    if due:
        await _unless_reached(context, fired.chat_id, partner.user_id)


async def _owed_reflection(context: MendContext, couple: Couple, partner: Partner) -> None:
    """/visit from a partner who still owes the reflection of a visit that is over: it is
    asked (again) in private, and the group hears whether it got there."""
    services = context.mend
    finished = _awaiting_reflection(services, couple, partner.user_id)
    if finished is None:
        return
    with services.store.transaction(couple.chat_id) as tx:
        _ask_reflection(services, tx, couple, finished, partner)
    await services.outbox.deliver(context, couple.chat_id)
    await _unless_reached(context, couple.chat_id, partner.user_id, confirm=True)


async def _unless_reached(
    context: MendContext, chat_id: int, user_id: int, *, confirm: bool = False
) -> None:
    """Once the private question was delivered (or refused): a partner who can't be reached
    privately is told in the group how to open the chat; with `confirm`, the group hears that
    the question was sent."""
    services = context.mend
    with services.store.transaction(chat_id) as tx:
        couple = tx.couple()
        partner = couple.partner(user_id) if couple is not None else None
        if couple is None or partner is None:
            return
        if not partner.private_chat:
            message = group_message(
                services, couple, "visit/reflect_unreachable", name=partner.name
            )
            locale = group_locale(services, couple)
            message.buttons = [[private_link_button(services, locale)]]
            services.outbox.put(tx, message)
        elif confirm:
            services.outbox.put(
                tx, group_message(services, couple, "visit/reflect_sent", name=partner.name)
            )
    await services.outbox.deliver(context, chat_id)


def _visit_over(services: Services, tx: Transaction, chat_id: int, visit_id: int) -> None:
    """The visit is over: its morning check-ins close, the reflections may come."""
    tx.table(VISITS_TABLE).update(visit_id, {"state": "over"})
    _close(services, tx, _runs(services, chat_id, visit_id, MORNING))


def _answered(visit: Visit, partner: Partner) -> bool:
    return bool(visit["reflections"].get(str(partner.user_id), {}).get("share"))


def _reflection_runs(
    services: Services, chat_id: int, visit_id: int, partner: Partner
) -> list[Run]:
    return [r for r in _runs(services, chat_id, visit_id, REFLECTION) if r.owner == partner.user_id]


def _ask_reflection(
    services: Services,
    tx: Transaction,
    couple: Couple,
    visit: Visit,
    partner: Partner,
    *,
    late: bool = False,
) -> None:
    """The private question with its 1–5 buttons (or, if it was asked already, the step it is
    at, again); nothing if the partner can't be reached there (see _unless_reached)."""
    if not partner.private_chat:
        return
    asked = _reflection_runs(services, couple.chat_id, visit["id"], partner)
    if asked:
        runner_of(services).reshow(tx, couple, asked[0])
        return
    other = couple.other(partner.user_id)
    runner_of(services).start(
        tx,
        couple,
        REFLECTION,
        owner=partner,
        data={
            "visit": visit["id"],
            "arrival": visit["arrival"],
            "departure": visit["departure"],
            "name": partner.name,
            "other": other.name if other else "",
            "group": couple.title,
            "rating": None,
            "has_note": False,
            "share": None,
        },
        show={"late": late},
    )


def _awaiting_reflection(services: Services, couple: Couple, user_id: int) -> Visit | None:
    """A finished visit whose reflection this partner hasn't given yet."""
    return next(
        (
            v
            for v in visits(services, couple.chat_id)
            if v["state"] == "over" and not v["reflections"].get(str(user_id), {}).get("share")
        ),
        None,
    )


def _reflect(turn: Turn, **fields: Unpack[VisitReflection]) -> Visit:
    """Keep part of this partner's reflection; returns the visit as it is now."""
    visit = _visit_of(turn)
    reflections = {k: v.copy() for k, v in visit["reflections"].items()}
    reflections.setdefault(str(turn.partner.user_id), {}).update(fields)
    turn.tx.table(VISITS_TABLE).update(visit["id"], {"reflections": reflections})
    return {**visit, "reflections": reflections}


def _rate(turn: Turn) -> str:
    turn.data["rating"] = int(turn.value)
    _reflect(turn, rating=int(turn.value))
    return "note"


def _note(turn: Turn) -> str:
    _reflect(turn, note=turn.value)
    turn.data["has_note"] = True
    return "share"


def _share_options(run: Run) -> Rows:
    """A partner without a note chooses only between their rating and nothing."""
    shares = SHARES if run.data.get("has_note") else SHARES[1:]
    return [[Option(key, f"visit.share_{key}")] for key in shares]


def _share(turn: Turn) -> str:
    """What the group may see; once both have said, it sees it."""
    visit = _reflect(turn, share=turn.value, answered_at=to_iso(utcnow()))
    turn.data["share"] = turn.value
    if all(_answered(visit, p) for p in turn.couple.partners):
        services = turn.runner.services
        _cancel_timers(services.timers, turn.couple.chat_id, visit["id"], (REVEAL,))
        _reveal(services, turn.tx, turn.couple, visit, late=False)
    return "thanks"


def _reflection_dates(run: Run) -> dict[str, Any]:
    return {**_dates(run.data), "late": False}


REFLECTION = "visit_reflection"
REFLECTION_FLOW = Flow(
    name=REFLECTION,
    where="private",
    first="rate",
    steps={
        "rate": Step(
            "visit/reflect_ask",
            [[Option(str(n), "visit.rating", {"rating": n}) for n in RATINGS]],
            answer=_rate,
            data=_reflection_dates,
        ),
        "note": Step(
            "visit/reflect_rated",
            [[Option("yes", "visit.note_yes"), Option("no", "visit.note_no")]],
            answer=lambda turn: "write" if turn.value == "yes" else "share",
        ),
        "write": Step("visit/reflect_note_ask", read=_read_text(MAX_TEXT), answer=_note),
        "share": Step("visit/reflect_share_ask", _share_options, answer=_share),
        "thanks": Step("visit/reflect_thanks"),
    },
    closed="visit/reflect_closed",
)


async def reveal_due(context: MendContext, fired: Fired) -> None:
    """The deadline: the group sees what was shared so far."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        found = _fired_visit(tx, fired)
        if found is None:
            return
        couple, visit = found
        if visit["state"] == "planned":  # nobody could be asked (e.g. a long downtime)
            _visit_over(services, tx, couple.chat_id, visit["id"])
            visit["state"] = "over"
        if visit["state"] == "over":
            _reveal(services, tx, couple, visit, late=fired.late)
    await services.outbox.deliver(context, fired.chat_id)


def both_felt_safe(couple: Couple, visit: Visit) -> bool:
    """Both rated 4 or 5 and both let the group see their rating, so celebrating it reveals
    nothing that either kept private."""
    answers = [visit["reflections"].get(str(p.user_id), {}) for p in couple.partners]
    return len(answers) == 2 and all(
        a.get("share") in ("all", "rating") and int(a.get("rating", 0)) >= SAFE_FROM
        for a in answers
    )


def _reveal(
    services: Services, tx: Transaction, couple: Couple, visit: Visit, *, late: bool
) -> None:
    """Inside the couple's transaction: the group sees what each shared; questions still open
    are closed."""
    both_safe = both_felt_safe(couple, visit)
    tx.table(VISITS_TABLE).update(
        visit["id"], {"state": "done", "revealed_at": to_iso(utcnow()), "both_safe": both_safe}
    )
    _close(services, tx, _runs(services, couple.chat_id, visit["id"], REFLECTION))
    answers = []
    for partner in couple.partners:
        mine = visit["reflections"].get(str(partner.user_id), {})
        share = mine.get("share") or ("none" if "rating" in mine else None)
        answers.append(
            {
                "name": partner.name,
                "answered": share is not None,
                "rating": mine.get("rating") if share in ("all", "rating") else None,
                "note": mine.get("note") if share == "all" else None,
            }
        )
    message = group_message(
        services,
        couple,
        "visit/reveal",
        answers=answers,
        both_safe=both_safe,
        late=late,
        **_dates(visit),
    )
    services.outbox.put(tx, message)


VISIT_FLOWS = (*PLANNING, MORNING, REFLECTION)


# -- export ------------------------------------------------------------------------------------


def visits_export(services: Services, couple: Couple, user_id: int) -> list[dict[str, Any]]:
    """Visit plans are shared (made in the group); of the reflections, only the person's own."""
    exported = []
    for visit in visits(services, couple.chat_id):
        item = {
            k: visit.get(k)
            for k in (
                "state",
                "created_at",
                "arrival",
                "departure",
                "zone",
                "activities",
                "ideas",
                "rest",
                "both_safe",
            )
        }
        item["host"] = _name(couple, visit.get("host")) if visit.get("host") else None
        item["goals"] = {_name(couple, int(uid)): goal for uid, goal in visit["goals"].items()}
        item["my_reflection"] = visit["reflections"].get(str(user_id))
        exported.append(item)
    return exported


def next_visit(store: Store, chat_id: int) -> tuple[date, date] | None:
    """The first and last day of the planned visit not over yet, in its place's calendar
    (other features read it: services.reads)."""
    couple = store.couple(chat_id)
    if couple is None:
        return None
    coming = [
        (_day(v["arrival"]), _day(v["departure"]))
        for v in store.records(chat_id, VISITS_TABLE)
        if v["state"] == "planned" and _day(v["departure"]) >= _today(place_zone(couple, v))
    ]
    return min(coming, default=None)


def safe_visit(store: Store, chat_id: int) -> bool:
    """Whether a visit was rated safe by both (services.reads: a milestone)."""
    return any(v.get("both_safe") for v in store.records(chat_id, VISITS_TABLE))


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("visit", "together"))
    timers = services.timers
    # Countdown prompts and check-ins missed during downtime are dropped, not replayed; what
    # goes to the group waits for a running pause to end.
    timers.register(COUNTDOWN, countdown_due, quiet=True, pause=True)
    timers.register(CHECKIN, checkin_due, pause=True)
    # The reflection still makes sense days later; so does showing what was shared.
    timers.register(REFLECT, reflect_due, late_limit=REFLECT_LATE_LIMIT, quiet=True)
    timers.register(REVEAL, reveal_due, late_limit=REVEAL_LATE_LIMIT, pause=True)
    timers.reconcile_with(ensure_checkins)
    services.exporters["visits"] = visits_export
    services.reads.safe_visit = safe_visit
    services.reads.next_visit = next_visit
    runner_of(services).add(
        PLAN_FLOW, GOALS_FLOW, GOAL_FLOW, TIME_FLOW, MORNING_FLOW, REFLECTION_FLOW
    )
    app.add_handler(CommandHandler("visit", visit_command))
