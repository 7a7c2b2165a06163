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

Dates are calendar days of the place of the visit and stored as such ("2026-12-24"); every
moment derived from them is computed per partner, in their own time zone. The visit record
keeps `both_safe` (both rated 4 or more *and* both let the group see their rating) for the
milestones feature to read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import asks
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.dates import day_as_moment
from bot.features.onboarding import LINK as PRIVATE_LINK
from bot.guards import known_partner, partners_only
from bot.messages import Buttons, button, clear_buttons, reply, say, say_private
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.reading import read_date
from bot.render import zone
from bot.storage import Record
from bot.timers import Fired, Timers
from bot.when import local_to_utc, next_local, quiet_until
from bot.zones import find_zone

VISITS_TABLE = "visits"
COUNTDOWN = "visit_countdown"
CHECKIN = "visit_checkin"
REFLECT = "visit_reflect"
REVEAL = "visit_reveal"
TIMER_KINDS = (COUNTDOWN, CHECKIN, REFLECT, REVEAL)
GROUP = "visit:"  # buttons in the group
MINE = "visitme:"  # buttons in a partner's private chat (the reflection)

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
MAX_TEXT = 500
SAFE_FROM = 4  # a rating of 4 or 5 counts as "felt safe and connected"

ACTIVITIES = ("cooking", "walks", "place", "calm_start", "talk", "evening")
LIGHT = ("cooking", "walks", "place", "calm_start")
RESTS = ("hour", "halfday", "ask")
MOODS = ("good", "mixed", "heavy")
SHARES = ("all", "rating", "none")


# -- dates -------------------------------------------------------------------------------------


def _day(text: str) -> date:
    return date.fromisoformat(text)


# -- moments -----------------------------------------------------------------------------------


def place_zone(couple: Couple, visit: Record) -> str | None:
    """The time zone of the place of the visit: the host's, or the city they named."""
    host = couple.partner(visit["host"]) if visit.get("host") else None
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


def checkin_moment(couple: Couple, visit: Record, day: date) -> datetime:
    """Morning at the place they are together; after the host's quiet hours, if any.
    (The visitor's own quiet hours are set for home, so they don't apply here.)"""
    zone_name = place_zone(couple, visit)
    moment = local_to_utc(datetime.combine(day, time()), CHECKIN_AT, zone_name)
    host = couple.partner(visit["host"]) if visit.get("host") else None
    later = quiet_until(moment, host) if host is not None else None
    return later or moment


def visit_end(couple: Couple, visit: Record) -> datetime:
    """The end of the departure day, at the place."""
    after = _day(visit["departure"]) + timedelta(days=1)
    return local_to_utc(datetime.combine(after, time()), time(0), place_zone(couple, visit))


def reflect_moment(couple: Couple, visit: Record, partner: Partner) -> datetime:
    """The partner's own morning once the visit is over (a traveller may get a day more)."""
    return next_local(REFLECT_AT, partner.timezone, visit_end(couple, visit) - timedelta(seconds=1))


def _checkin_days(visit: Record) -> list[date]:
    arrival, departure = _day(visit["arrival"]), _day(visit["departure"])
    return [arrival + timedelta(days=n) for n in range(1, (departure - arrival).days + 1)]


def _next_checkin(couple: Couple, visit: Record, after: datetime) -> tuple[date, datetime] | None:
    for day in _checkin_days(visit):
        moment = checkin_moment(couple, visit, day)
        if moment > after:
            return day, moment
    return None


# -- the store ---------------------------------------------------------------------------------


def visits(services: Services, chat_id: int) -> list[Record]:
    return services.store.records(chat_id, VISITS_TABLE)


def _visit(services: Services, chat_id: int, visit_id: int) -> Record | None:
    return next((v for v in visits(services, chat_id) if v["id"] == visit_id), None)


def upcoming(services: Services, couple: Couple) -> Record | None:
    """The visit being planned, or planned and not over yet."""
    for visit in visits(services, couple.chat_id):
        if visit["state"] == "planning":
            return visit
        if visit["state"] == "planned" and (
            _day(visit["departure"]) >= _today(place_zone(couple, visit))
        ):
            return visit
    return None


def _update(services: Services, chat_id: int, visit_id: int, fields: Record) -> None:
    with services.store.transaction(chat_id) as tx:
        tx.table(VISITS_TABLE).update(visit_id, fields)


def _cancel_timers(
    timers: Timers, chat_id: int, visit_id: int, kinds: tuple[str, ...] = TIMER_KINDS
) -> None:
    for kind in kinds:
        for record in timers.pending(chat_id, kind):
            if record["payload"].get("visit") == visit_id:
                timers.cancel(chat_id, record["id"])


def _name(couple: Couple, user_id: int | None) -> str:
    partner = couple.partner(user_id) if user_id is not None else None
    return partner.name if partner else "?"


# -- /visit ------------------------------------------------------------------------------------


@partners_only
async def visit_command(update: Update, context: MendContext, couple: Couple) -> None:
    """/visit shows (or starts planning) the next visit; /visit cancel calls it off."""
    user = update.effective_user
    assert user is not None
    services = context.mend
    locale = group_locale(services, couple)
    args = [a.lower() for a in context.args or []]
    current = upcoming(services, couple)
    if args and args != ["cancel"] and args != ["plan"]:
        await reply(update, context, locale, "visit/usage")
        return
    if args == ["cancel"]:
        if current is None:
            await reply(update, context, locale, "visit/none", cancelled=True)
            return
        _cancel_timers(services.timers, couple.chat_id, current["id"])
        _update(
            services,
            couple.chat_id,
            current["id"],
            {"state": "cancelled", "cancelled_at": to_iso(utcnow()), "cancelled_by": user.id},
        )
        await reply(
            update,
            context,
            locale,
            "visit/cancelled",
            name=user.first_name,
            planned=current["state"] == "planned",
        )
        return
    partner = couple.partner(user.id)
    assert partner is not None
    if not args and (finished := _awaiting_reflection(services, couple, user.id)) is not None:
        if await _ask_reflection(context, couple, finished, partner, late=False):
            await reply(update, context, locale, "visit/reflect_sent", name=partner.name)
        else:
            link = [[button(services.render.label(locale, "settings.private_link"), PRIVATE_LINK)]]
            await reply(
                update,
                context,
                locale,
                "visit/reflect_unreachable",
                buttons=link,
                name=partner.name,
            )
    if current is None:
        rows = [[button(services.render.label(locale, "visit.plan"), f"{GROUP}plan")]]
        await reply(update, context, locale, "visit/intro", buttons=rows)
        return
    if current["state"] == "planning":
        await _prompt_step(context, couple, current, partner, again=True)
        return
    await reply(update, context, locale, "visit/show", **_summary(services, couple, current))


# -- planning, step by step --------------------------------------------------------------------


@partners_only
async def visit_button(update: Update, context: MendContext, couple: Couple) -> None:
    """Every planning and check-in button in the group: `visit:<action>[:<visit>[:<arg>]]`."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    services = context.mend
    locale = group_locale(services, couple)
    parts = query.data.removeprefix(GROUP).split(":")
    action = parts[0]
    partner = couple.partner(user.id)
    assert partner is not None
    if action == "plan" and len(parts) == 1:
        await _start_plan(update, context, couple, partner)
        return
    visit = None
    if len(parts) >= 2 and parts[1].isdigit():
        visit = _visit(services, couple.chat_id, int(parts[1]))
    arg = parts[2] if len(parts) >= 3 else ""
    handled = False
    if visit is not None and action == "feel" and len(parts) == 4:
        handled = await _feel(update, context, couple, visit, arg, parts[3])
    elif visit is not None and visit["state"] == "planning" and len(parts) <= 3:
        handled = await _planning_button(update, context, couple, visit, partner, action, arg)
    if not handled:
        await query.answer(services.render.label(locale, "alert.stale_button"), show_alert=True)


async def _start_plan(
    update: Update, context: MendContext, couple: Couple, partner: Partner
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.mend
    locale = group_locale(services, couple)
    if upcoming(services, couple) is not None:
        await query.answer(services.render.label(locale, "alert.visit_exists"), show_alert=True)
        return
    now = utcnow()
    with services.store.transaction(couple.chat_id) as tx:
        visit_id = tx.table(VISITS_TABLE).insert(
            {
                "state": "planning",
                "step": "where",
                "planner": partner.user_id,
                "created_at": to_iso(now),
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
    await query.answer()
    await clear_buttons(update)
    visit = _visit(services, couple.chat_id, visit_id)
    assert visit is not None
    await _prompt_step(context, couple, visit, partner)


async def _planning_button(
    update: Update,
    context: MendContext,
    couple: Couple,
    visit: Record,
    partner: Partner,
    action: str,
    arg: str,
) -> bool:
    """One planning step's button; False if it doesn't fit the step the plan is at."""
    query = update.callback_query
    assert query is not None
    services = context.mend
    chat_id, step = couple.chat_id, visit["step"]
    if action == "where" and step == "where":
        if arg == "else":
            _update(services, chat_id, visit["id"], {"step": "place", "planner": partner.user_id})
        elif arg.isdigit() and couple.is_partner(int(arg)):
            _update(
                services,
                chat_id,
                visit["id"],
                {"step": "arrival", "host": int(arg), "planner": partner.user_id},
            )
        else:
            return False
    elif action == "skipgoal" and step == "goals" and not arg:
        goals = dict(visit["goals"])
        goals.setdefault(str(partner.user_id), "")
        _update(services, chat_id, visit["id"], {"goals": goals})
    elif action == "act" and step == "time" and arg in ACTIVITIES:
        chosen = list(visit["activities"])
        if arg in chosen:
            chosen.remove(arg)
        else:
            chosen.append(arg)
        _update(services, chat_id, visit["id"], {"activities": chosen})
        fresh = _visit(services, chat_id, visit["id"])
        assert fresh is not None
        if query.message is not None and query.message.is_accessible:
            await query.edit_message_reply_markup(
                InlineKeyboardMarkup(_time_buttons(services, couple, fresh))
            )
        await query.answer()  # after the edit, so the ticks are there when the spinner stops
        return True
    elif action == "own" and step == "time" and not arg:
        if len(visit["ideas"]) >= MAX_IDEAS:
            locale = group_locale(services, couple)
            await query.answer(
                services.render.label(locale, "alert.visit_enough_ideas"), show_alert=True
            )
            return True
        await query.answer()
        await asks.ask(
            context,
            couple,
            partner,
            "visit_idea",
            "visit/ask_idea",
            in_chat=chat_id,
            payload={"visit": visit["id"]},
        )
        return True
    elif action == "done" and step == "time" and not arg:
        _update(services, chat_id, visit["id"], {"step": "rest"})
    elif action == "rest" and step == "rest" and arg in RESTS:
        await query.answer()
        await clear_buttons(update)
        await _finish_plan(context, couple, visit["id"], arg)
        return True
    else:
        return False
    await query.answer()
    if action != "skipgoal":
        await clear_buttons(update)
    fresh = _visit(services, chat_id, visit["id"])
    assert fresh is not None
    if action == "skipgoal":
        await _after_goal(context, couple, fresh)
    else:
        await _prompt_step(context, couple, fresh, partner)
    return True


async def _prompt_step(
    context: MendContext,
    couple: Couple,
    visit: Record,
    partner: Partner,
    *,
    again: bool = False,
    error: str | None = None,
    typed: str = "",
) -> None:
    """Ask for what the plan needs next (again, after /visit, if it was left half-way)."""
    services = context.mend
    locale = group_locale(services, couple)
    render, step, chat_id = services.render, visit["step"], couple.chat_id
    common: dict[str, Any] = {"again": again, "zone": place_zone(couple, visit)}
    if step == "where":
        rows: Buttons = [
            *(
                [
                    button(
                        render.label(locale, "visit.at_home", name=p.name),
                        f"{GROUP}where:{visit['id']}:{p.user_id}",
                    )
                ]
                for p in couple.partners
            ),
            [button(render.label(locale, "visit.elsewhere"), f"{GROUP}where:{visit['id']}:else")],
        ]
        await say(context, chat_id, locale, "visit/ask_where", buttons=rows, **common)
    elif step == "place":
        await asks.ask(
            context,
            couple,
            partner,
            "visit_place",
            "visit/ask_place",
            in_chat=chat_id,
            payload={"visit": visit["id"]},
            error=error,
            typed=typed,
            **common,
        )
    elif step in ("arrival", "departure"):
        arrival = _day(visit["arrival"]) if visit.get("arrival") else None
        await asks.ask(
            context,
            couple,
            partner,
            f"visit_{step}",
            "visit/ask_date",
            in_chat=chat_id,
            payload={"visit": visit["id"]},
            which=step,
            error=error,
            typed=typed,
            max_nights=MAX_NIGHTS,
            arrival=day_as_moment(arrival) if arrival else None,
            example=day_as_moment(_today(common["zone"]) + timedelta(days=30)),
            **common,
        )
    elif step == "goals":
        waiting = [p for p in couple.partners if str(p.user_id) not in visit["goals"]]
        if not again:
            skip = [
                [button(render.label(locale, "visit.skip_goal"), f"{GROUP}skipgoal:{visit['id']}")]
            ]
            await say(
                context,
                chat_id,
                locale,
                "visit/goals_intro",
                buttons=skip,
                **_dates(visit),
                **common,
            )
        for person in waiting:
            await asks.ask(
                context,
                couple,
                person,
                "visit_goal",
                "visit/ask_goal",
                in_chat=chat_id,
                payload={"visit": visit["id"]},
            )
    elif step == "time":
        await say(
            context,
            chat_id,
            locale,
            "visit/ask_time",
            buttons=_time_buttons(services, couple, visit),
            ideas=visit["ideas"],
            **common,
        )
    elif step == "rest":
        rows = [
            [button(render.label(locale, f"visit.rest_{key}"), f"{GROUP}rest:{visit['id']}:{key}")]
            for key in RESTS
        ]
        await say(context, chat_id, locale, "visit/ask_rest", buttons=rows, **common)


def _dates(visit: Record) -> dict[str, Any]:
    arrival, departure = _day(visit["arrival"]), _day(visit["departure"])
    return {
        "arrival": day_as_moment(arrival),
        "departure": day_as_moment(departure),
        "nights": (departure - arrival).days,
    }


def _time_buttons(services: Services, couple: Couple, visit: Record) -> Buttons:
    locale = group_locale(services, couple)
    render = services.render
    rows: list[list[Any]] = []
    for key in ACTIVITIES:
        label = render.label(locale, f"visit.act_{key}")
        if key in visit["activities"]:
            label = render.label(locale, "visit.chosen", label=label)
        rows.append([button(label, f"{GROUP}act:{visit['id']}:{key}")])
    rows.append(
        [
            button(render.label(locale, "visit.own_idea"), f"{GROUP}own:{visit['id']}"),
            button(render.label(locale, "visit.time_done"), f"{GROUP}done:{visit['id']}"),
        ]
    )
    return rows


# -- free-text answers -------------------------------------------------------------------------


def _planning(services: Services, answer: asks.Answer, step: str) -> Record | None:
    visit = _visit(services, answer.couple.chat_id, int(answer.payload.get("visit", 0)))
    if visit is None or visit["state"] != "planning" or visit["step"] != step:
        return None
    return visit


async def _not_current(update: Update, context: MendContext, couple: Couple) -> None:
    await reply(update, context, group_locale(context.mend, couple), "visit/not_current")


async def place_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """The city of a visit somewhere else: its zone is the calendar the dates are read in."""
    couple, services = answer.couple, context.mend
    visit = _planning(services, answer, "place")
    if visit is None:
        await _not_current(update, context, couple)
        return
    guess = await asyncio.to_thread(find_zone, answer.text)
    found = guess.zone or (guess.suggestions[0].zone if len(guess.suggestions) == 1 else None)
    if found is None:
        await _prompt_step(
            context, couple, visit, answer.partner, error="unknown", typed=answer.text[:40]
        )
        return
    _update(services, couple.chat_id, visit["id"], {"zone": found, "step": "arrival"})
    fresh = _visit(services, couple.chat_id, visit["id"])
    assert fresh is not None
    await _prompt_step(context, couple, fresh, answer.partner)


async def arrival_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """The first day of the visit: not in the past, not years ahead."""

    def problem(day: date, visit: Record) -> str | None:
        today = _today(place_zone(answer.couple, visit))
        if day < today:
            return "past"
        return "far" if day_as_moment(day) - day_as_moment(today) > MAX_AHEAD else None

    await _date_answer(update, context, answer, "arrival", "departure", problem)


async def departure_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """The last day of the visit: not before the first, not months later."""

    def problem(day: date, visit: Record) -> str | None:
        arrival = _day(visit["arrival"])
        if day < arrival:
            return "before"
        return "long" if (day - arrival).days > MAX_NIGHTS else None

    await _date_answer(update, context, answer, "departure", "goals", problem)


async def _date_answer(
    update: Update,
    context: MendContext,
    answer: asks.Answer,
    step: str,
    next_step: str,
    problem: Callable[[date, Record], str | None],
) -> None:
    """A typed date for `step`: read forgivingly, checked, stored, then on to `next_step`
    (or the same question again, saying what was wrong)."""
    couple, services = answer.couple, context.mend
    visit = _planning(services, answer, step)
    if visit is None:
        await _not_current(update, context, couple)
        return
    earliest = _day(visit["arrival"]) if step == "departure" else _today(place_zone(couple, visit))
    day = read_date(answer.text, earliest)
    error = "unreadable" if day is None else problem(day, visit)
    if error is not None or day is None:
        await _prompt_step(
            context, couple, visit, answer.partner, error=error, typed=answer.text[:40]
        )
        return
    _update(services, couple.chat_id, visit["id"], {step: day.isoformat(), "step": next_step})
    fresh = _visit(services, couple.chat_id, visit["id"])
    assert fresh is not None
    await _prompt_step(context, couple, fresh, answer.partner)


async def goal_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """What one partner needs to feel safe: only their own answer counts for them."""
    couple, services = answer.couple, context.mend
    visit = _planning(services, answer, "goals")
    if visit is None:
        await _not_current(update, context, couple)
        return
    goals = dict(visit["goals"])
    goals[str(answer.partner.user_id)] = answer.text[:MAX_TEXT]
    _update(services, couple.chat_id, visit["id"], {"goals": goals})
    fresh = _visit(services, couple.chat_id, visit["id"])
    assert fresh is not None
    await _after_goal(context, couple, fresh)


async def _after_goal(context: MendContext, couple: Couple, visit: Record) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    waiting = [p.name for p in couple.partners if str(p.user_id) not in visit["goals"]]
    if waiting:
        await say(context, couple.chat_id, locale, "visit/goal_noted", waiting=waiting)
        return
    _update(services, couple.chat_id, visit["id"], {"step": "time"})
    fresh = _visit(services, couple.chat_id, visit["id"])
    assert fresh is not None
    planner = couple.partner(visit["planner"]) or couple.partners[0]
    await _prompt_step(context, couple, fresh, planner)


async def idea_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """An activity of their own for the visit."""
    couple, services = answer.couple, context.mend
    visit = _planning(services, answer, "time")
    if visit is None or len(visit["ideas"]) >= MAX_IDEAS:
        await _not_current(update, context, couple)
        return
    ideas = [*visit["ideas"], answer.text[:200]]
    _update(services, couple.chat_id, visit["id"], {"ideas": ideas})
    fresh = _visit(services, couple.chat_id, visit["id"])
    assert fresh is not None
    await _prompt_step(context, couple, fresh, answer.partner)


# -- the plan is made: timers ------------------------------------------------------------------


async def _finish_plan(context: MendContext, couple: Couple, visit_id: int, rest: str) -> None:
    services = context.mend
    _update(
        services,
        couple.chat_id,
        visit_id,
        {"rest": rest, "state": "planned", "step": None, "planned_at": to_iso(utcnow())},
    )
    visit = _visit(services, couple.chat_id, visit_id)
    assert visit is not None
    schedule_visit(services.timers, couple, visit)
    await say(
        context,
        couple.chat_id,
        group_locale(services, couple),
        "visit/planned",
        **_summary(services, couple, visit),
    )


def schedule_visit(timers: Timers, couple: Couple, visit: Record) -> None:
    """The countdown, the first check-in, each partner's reflection and the reveal deadline."""
    now, chat_id, visit_id = utcnow(), couple.chat_id, visit["id"]
    arrival = _day(visit["arrival"])
    for days in COUNTDOWN_DAYS:
        moment = shared_moment(
            arrival - timedelta(days=days), place_zone(couple, visit), couple.partners
        )
        if moment > now:
            timers.schedule(chat_id, COUNTDOWN, moment, payload={"visit": visit_id, "days": days})
    first = _next_checkin(couple, visit, now)
    if first is not None:
        timers.schedule(
            chat_id, CHECKIN, first[1], payload={"visit": visit_id, "day": first[0].isoformat()}
        )
    reflections = [reflect_moment(couple, visit, p) for p in couple.partners]
    for partner, moment in zip(couple.partners, reflections, strict=True):
        timers.schedule(
            chat_id, REFLECT, moment, partner=partner.user_id, payload={"visit": visit_id}
        )
    timers.schedule(chat_id, REVEAL, max(reflections) + REVEAL_AFTER, payload={"visit": visit_id})


def _schedule_view(services: Services, couple: Couple, visit: Record) -> list[dict[str, Any]]:
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
        entry["times"].extend(
            {"name": p.name, "zone": p.timezone, "at": at}
            for p in couple.partners
            if record.get("partner") in (None, p.user_id)
        )
    return list(view.values())


def _summary(services: Services, couple: Couple, visit: Record) -> dict[str, Any]:
    zone_name = place_zone(couple, visit)
    arrival = _day(visit["arrival"])
    host = couple.partner(visit["host"]) if visit.get("host") else None
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


def _fired_visit(services: Services, fired: Fired) -> tuple[Couple, Record] | None:
    couple = services.store.couple(fired.chat_id)
    visit = _visit(services, fired.chat_id, int(fired.payload.get("visit", 0)))
    if couple is None or visit is None or couple.status != "active":
        return None
    return couple, visit


async def countdown_due(context: MendContext, fired: Fired) -> None:
    """A week, or a day, before the visit."""
    services = context.mend
    found = _fired_visit(services, fired)
    if found is None or found[1]["state"] != "planned":
        return
    couple, visit = found
    await say(
        context,
        couple.chat_id,
        group_locale(services, couple),
        "visit/countdown",
        days=int(fired.payload.get("days", 1)),
        **_summary(services, couple, visit),
    )


async def checkin_due(context: MendContext, fired: Fired) -> None:
    """A morning of the visit: how are you both feeling? Then the next morning's is set."""
    services = context.mend
    found = _fired_visit(services, fired)
    if found is None or found[1]["state"] != "planned":
        return
    couple, visit = found
    day = str(fired.payload.get("day", ""))
    checkins = dict(visit["checkins"])
    checkins.setdefault(day, {})
    _update(services, couple.chat_id, visit["id"], {"checkins": checkins})
    _schedule_next_checkin(services.timers, couple, visit, fired.due)
    await _send_checkin(context, couple, visit, day, {})


def _schedule_next_checkin(timers: Timers, couple: Couple, visit: Record, after: datetime) -> None:
    following = _next_checkin(couple, visit, max(after, utcnow()))
    if following is not None:
        timers.schedule(
            couple.chat_id,
            CHECKIN,
            following[1],
            payload={"visit": visit["id"], "day": following[0].isoformat()},
        )


def _checkin_view(
    couple: Couple, visit: Record, day: str, answers: dict[str, str]
) -> dict[str, Any]:
    number = (_day(day) - _day(visit["arrival"])).days + 1
    return {
        "day": number,
        "last": day == visit["departure"],
        "first": number == 2,
        "answers": [{"name": p.name, "mood": answers.get(str(p.user_id))} for p in couple.partners],
    }


def _checkin_buttons(services: Services, locale: str, visit: Record, day: str) -> Buttons:
    return [
        [
            button(
                services.render.label(locale, f"visit.mood_{mood}"),
                f"{GROUP}feel:{visit['id']}:{day}:{mood}",
            )
            for mood in MOODS
        ]
    ]


async def _send_checkin(
    context: MendContext, couple: Couple, visit: Record, day: str, answers: dict[str, str]
) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    await say(
        context,
        couple.chat_id,
        locale,
        "visit/checkin",
        buttons=_checkin_buttons(services, locale, visit, day),
        **_checkin_view(couple, visit, day, answers),
    )


async def _feel(
    update: Update, context: MendContext, couple: Couple, visit: Record, day: str, mood: str
) -> bool:
    """A partner answers the morning check-in; the message shows both answers."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    if mood not in MOODS or day not in visit["checkins"] or visit["state"] == "cancelled":
        return False
    services = context.mend
    checkins = {k: dict(v) for k, v in visit["checkins"].items()}
    checkins[day][str(user.id)] = mood
    _update(services, couple.chat_id, visit["id"], {"checkins": checkins})
    if query.message is not None and query.message.is_accessible:
        locale = group_locale(services, couple)
        html = services.render.message(
            locale, "visit/checkin", **_checkin_view(couple, visit, day, checkins[day])
        )
        markup = InlineKeyboardMarkup(_checkin_buttons(services, locale, visit, day))
        try:
            await query.edit_message_text(html, reply_markup=markup)
        except BadRequest as error:
            if "not modified" not in error.message.lower():
                raise
    await query.answer()
    return True


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
    found = _fired_visit(services, fired)
    if found is None or fired.partner is None:
        return
    couple, visit = found
    partner = couple.partner(fired.partner)
    if partner is None or visit["state"] not in ("planned", "over"):
        return
    if visit["state"] == "planned":
        _update(services, couple.chat_id, visit["id"], {"state": "over"})
    if not await _ask_reflection(context, couple, visit, partner, late=fired.late):
        group = group_locale(services, couple)
        link = [[button(services.render.label(group, "settings.private_link"), PRIVATE_LINK)]]
        await say(
            context,
            couple.chat_id,
            group,
            "visit/reflect_unreachable",
            buttons=link,
            name=partner.name,
        )


async def _ask_reflection(
    context: MendContext, couple: Couple, visit: Record, partner: Partner, *, late: bool
) -> bool:
    """The private question with its 1–5 buttons; False if the partner can't be reached."""
    prefix = f"{MINE}{couple.chat_id}:{visit['id']}:"
    rows = [[button(str(n), f"{prefix}rate:{n}") for n in range(1, 6)]]
    sent = await say_private(
        context,
        couple,
        partner,
        "visit/reflect_ask",
        buttons=rows,
        name=partner.name,
        late=late,
        group=couple.title,
        **_dates(visit),
    )
    return sent is not None


def _awaiting_reflection(services: Services, couple: Couple, user_id: int) -> Record | None:
    """A finished visit whose reflection this partner hasn't given yet."""
    return next(
        (
            v
            for v in visits(services, couple.chat_id)
            if v["state"] == "over" and not v["reflections"].get(str(user_id), {}).get("share")
        ),
        None,
    )


@known_partner
async def reflection_button(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """`visitme:<chat>:<visit>:<action>[:<arg>]` in a partner's private chat."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and query.data is not None and user is not None and chat is not None
    services = context.mend
    parts = query.data.removeprefix(MINE).split(":")
    couple = None
    if len(parts) in (4, 5) and parts[0].lstrip("-").isdigit() and parts[1].isdigit():
        couple = next((c for c in couples if c.chat_id == int(parts[0])), None)
    visit = _visit(services, couple.chat_id, int(parts[1])) if couple else None
    me = couple.partner(user.id) if couple else None
    mine = visit["reflections"].get(str(user.id), {}) if visit else {}
    action, arg = (parts[2], parts[3]) if len(parts) >= 4 else ("", "")
    valid = (
        chat.type == Chat.PRIVATE
        and couple is not None
        and visit is not None
        and me is not None
        and visit["state"] == "over"
        and not mine.get("share")
        and (
            (action == "rate" and arg in ("1", "2", "3", "4", "5"))
            or (action == "note" and arg in ("yes", "no") and "rating" in mine)
            or (action == "share" and arg in SHARES and "rating" in mine)
        )
    )
    if not valid or couple is None or visit is None or me is None:
        locale = (
            partner_locale(services, me) if me else services.render.locale_for(user.language_code)
        )
        await query.answer(services.render.label(locale, "alert.stale_button"), show_alert=True)
        return
    await query.answer()
    await clear_buttons(update)
    if action == "rate":
        _set_reflection(services, couple, visit["id"], user.id, {"rating": int(arg)})
        rows = [
            [
                button(
                    services.render.label(partner_locale(services, me), "visit.note_yes"),
                    f"{MINE}{couple.chat_id}:{visit['id']}:note:yes",
                ),
                button(
                    services.render.label(partner_locale(services, me), "visit.note_no"),
                    f"{MINE}{couple.chat_id}:{visit['id']}:note:no",
                ),
            ]
        ]
        await say_private(context, couple, me, "visit/reflect_rated", buttons=rows, rating=int(arg))
    elif action == "note" and arg == "yes":
        await asks.ask(
            context,
            couple,
            me,
            "visit_note",
            "visit/reflect_note_ask",
            in_chat=user.id,
            payload={"visit": visit["id"]},
        )
    elif action == "note":
        await _ask_share(context, couple, visit["id"], me, has_note=False)
    else:
        _set_reflection(
            services, couple, visit["id"], user.id, {"share": arg, "answered_at": to_iso(utcnow())}
        )
        await say_private(context, couple, me, "visit/reflect_thanks", share=arg)
        await _reveal_if_complete(context, couple, visit["id"])


def _set_reflection(
    services: Services, couple: Couple, visit_id: int, user_id: int, fields: Record
) -> None:
    with services.store.transaction(couple.chat_id) as tx:
        table = tx.table(VISITS_TABLE)
        visit = table.get(visit_id)
        assert visit is not None
        reflections = {k: dict(v) for k, v in visit["reflections"].items()}
        reflections.setdefault(str(user_id), {}).update(fields)
        table.update(visit_id, {"reflections": reflections})


async def note_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """The optional note to the reflection, written in private."""
    couple, services = answer.couple, context.mend
    visit = _visit(services, couple.chat_id, int(answer.payload.get("visit", 0)))
    mine = visit["reflections"].get(str(answer.partner.user_id), {}) if visit else {}
    if visit is None or visit["state"] != "over" or mine.get("share") or "rating" not in mine:
        await reply(
            update, context, partner_locale(services, answer.partner), "visit/reflect_closed"
        )
        return
    _set_reflection(
        services, couple, visit["id"], answer.partner.user_id, {"note": answer.text[:MAX_TEXT]}
    )
    await _ask_share(context, couple, visit["id"], answer.partner, has_note=True)


async def _ask_share(
    context: MendContext, couple: Couple, visit_id: int, me: Partner, *, has_note: bool
) -> None:
    services = context.mend
    locale = partner_locale(services, me)
    prefix = f"{MINE}{couple.chat_id}:{visit_id}:share:"
    shares = SHARES if has_note else SHARES[1:]
    rows = [
        [button(services.render.label(locale, f"visit.share_{key}"), f"{prefix}{key}")]
        for key in shares
    ]
    other = couple.other(me.user_id)
    await say_private(
        context,
        couple,
        me,
        "visit/reflect_share_ask",
        buttons=rows,
        has_note=has_note,
        other=other.name if other else "",
    )


async def _reveal_if_complete(context: MendContext, couple: Couple, visit_id: int) -> None:
    visit = _visit(context.mend, couple.chat_id, visit_id)
    if visit is None:
        return
    done = [p for p in couple.partners if visit["reflections"].get(str(p.user_id), {}).get("share")]
    if len(done) == len(couple.partners):
        _cancel_timers(context.mend.timers, couple.chat_id, visit_id, (REVEAL,))
        await _reveal(context, couple, visit, late=False)


async def reveal_due(context: MendContext, fired: Fired) -> None:
    """The deadline: the group sees what was shared so far."""
    found = _fired_visit(context.mend, fired)
    if found is None:
        return
    couple, visit = found
    if visit["state"] == "planned":  # nobody could be asked (e.g. a long downtime)
        _update(context.mend, couple.chat_id, visit["id"], {"state": "over"})
        visit["state"] = "over"
    if visit["state"] == "over":
        await _reveal(context, couple, visit, late=fired.late)


def both_felt_safe(couple: Couple, visit: Record) -> bool:
    """Both rated 4 or 5 and both let the group see their rating, so celebrating it reveals
    nothing that either kept private."""
    answers = [visit["reflections"].get(str(p.user_id), {}) for p in couple.partners]
    return len(answers) == 2 and all(
        a.get("share") in ("all", "rating") and int(a.get("rating", 0)) >= SAFE_FROM
        for a in answers
    )


async def _reveal(context: MendContext, couple: Couple, visit: Record, *, late: bool) -> None:
    services = context.mend
    both_safe = both_felt_safe(couple, visit)
    _update(
        services,
        couple.chat_id,
        visit["id"],
        {"state": "done", "revealed_at": to_iso(utcnow()), "both_safe": both_safe},
    )
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
    await say(
        context,
        couple.chat_id,
        group_locale(services, couple),
        "visit/reveal",
        answers=answers,
        both_safe=both_safe,
        late=late,
        **_dates(visit),
    )


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


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("visit", "together"))
    timers = services.timers
    # Countdown prompts and check-ins missed during downtime are dropped, not replayed.
    timers.register(COUNTDOWN, countdown_due, quiet=True)
    timers.register(CHECKIN, checkin_due)
    # The reflection still makes sense days later; so does showing what was shared.
    timers.register(REFLECT, reflect_due, late_limit=REFLECT_LATE_LIMIT, quiet=True)
    timers.register(REVEAL, reveal_due, late_limit=REVEAL_LATE_LIMIT)
    timers.reconcile_with(ensure_checkins)
    services.exporters["visits"] = visits_export
    asks.on_answer("visit_place", place_answer)
    asks.on_answer("visit_arrival", arrival_answer)
    asks.on_answer("visit_departure", departure_answer)
    asks.on_answer("visit_goal", goal_answer)
    asks.on_answer("visit_idea", idea_answer)
    asks.on_answer("visit_note", note_answer)
    app.add_handler(CommandHandler("visit", visit_command))
    app.add_handler(CallbackQueryHandler(visit_button, pattern=f"^{GROUP}"))
    app.add_handler(CallbackQueryHandler(reflection_button, pattern=f"^{MINE}"))
