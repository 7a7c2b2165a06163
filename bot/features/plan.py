"""/plan: the 30-day repair plan, written together in the group, pinned, reviewed monthly.

Four steps, as the guide's first week asks: (1) when to check in, (2) what the repairing partner
will do differently, (3) how hard feelings will be handled, (4) the next visit. Each step is a
message both partners see, with buttons for choices; a button that wants words asks a question
beside the step, aimed at whoever tapped, and the step stays open for the other partner too.
Either partner may answer a step, except the changes, which belong to the partner doing the
repair work when roles are set. The plan's commitments bind both (bot.consent): the partner who
completes the last step proposes the plan (or the changed section), and it is agreed, posted and
pinned once the other says yes; until then the plan in place stays as it is. Check-in times
are typed in the typing partner's time zone and shown to each partner in their own.

The agreed plan is posted as one message and pinned (if the group doesn't let the bot pin, it
says so). With more people in the group than the two of them, it is pinned only if they chose to
have personal things posted there; if they chose privately, each gets a copy (bot.audience).
It lives in the couple's file, `/plan` shows it, `/plan edit` (or its buttons) changes one
section, and once a month a review asks what to keep and what to change. `/plan track`
leads to the infidelity track; `/plan delete` removes the plan and its reviews.

The next visit is the one planned with /visit, when there is one (read through
`services.reads.next_visit`, and the posted plan is shown anew when a visit is planned or called
off); else the date typed here, until it has passed.

The conversations are flows (bot.flows): PLAN writes the plan (or changes one section of it),
the draft kept with the run until it is proposed; PROPOSAL waits for the other partner's yes,
the draft kept with it until it is agreed; MENU is the plan's message with its buttons; SECTIONS
asks which section to change; REVIEW is the monthly review; DELETE confirms a deletion with the
partner who asked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime, time
from typing import Any, NotRequired, TypedDict

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot import asks, audience
from bot.consent import proposal
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.dates import add_months, day_as_moment
from bot.flows import STAY, Flow, Option, Rows, Run, Step, Turn, Unreadable, runner_of
from bot.guards import Asked, partners_only
from bot.messages import group_message, private_message, reply
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.outbox import GROUP
from bot.reading import read_date, read_times_and_days
from bot.render import shorten, zone
from bot.storage import Kind, Transaction
from bot.timers import Fired, Timers
from bot.transparency import declined
from bot.when import local_moments, next_local, outside_quiet_hours


class CheckinTime(TypedDict):
    """A check-in time of the plan, on the clock of the partner who typed it."""

    at: str  # "HH:MM"
    weekday: int | None  # None: every day


class PlanEntry(TypedDict):
    """A change or own words for hard moments, and who wrote it."""

    text: str
    by: int
    n: NotRequired[int]  # its number while the plan was written (not in plans from before flows)


class Plan(TypedDict):
    """The couple's plan, as agreed (the sections a run's draft holds, and what agreeing adds)."""

    id: NotRequired[int]
    state: str  # "agreed" ("drafting": a plan being written before its steps were a flow)
    frequency: str | None  # one of FREQUENCIES
    times: list[CheckinTime]
    zone: str | None  # the zone the times were typed in
    times_by: int | None
    behaviours: list[PlanEntry]
    emotions: list[str]  # of EMOTIONS
    emotions_own: list[PlanEntry]
    visit: str | None  # the next visit's ISO date, or "not_yet"
    agreed_at: str | None
    review_anchor: str | None  # monthly reviews fall on this day and minute
    pinned_message: int | None
    # Written while a plan was written before its steps were a flow.
    step: NotRequired[str | None]
    editing: NotRequired[bool]
    started_by: NotRequired[int]
    started_at: NotRequired[str | None]
    thread: NotRequired[int | None]


PLAN_TABLE = Kind[Plan]("plan")
REVIEW = "plan_review"
SECTIONS = ("checkins", "behaviours", "emotions", "visit")
# What each section changes in the stored plan.
SECTION_FIELDS = {
    "checkins": ("frequency", "times", "zone", "times_by"),
    "behaviours": ("behaviours",),
    "emotions": ("emotions", "emotions_own"),
    "visit": ("visit",),
}
FREQUENCIES = ("daily", "weekly")
# Ways to handle hard feelings, from the guides: the 30-minute pause, the insecurity window
# (20 minutes twice a week), I-statements, reflect-and-validate listening, 4-4-4 breathing.
EMOTIONS = ("pause", "window", "i_statements", "listening", "breathing")
# Kept small enough that the whole plan always fits in one Telegram message.
MAX_BEHAVIOURS = 6
MAX_OWN = 4
MAX_TEXT = 200
MAX_TIMES_A_DAY = 4
MAX_WEEKLY_TIMES = 2
CRUTCH_TIMES_A_DAY = 3  # check-ins this often lean on messaging alone
VISIT_AHEAD_DAYS = 730

PLAN_FLOW = "plan"
PROPOSAL_FLOW = "plan_proposal"  # the plan as written, waiting for the other partner's yes
MENU_FLOW = "plan_menu"
SECTIONS_FLOW = "plan_sections"
REVIEW_FLOW = "plan_review"
DELETE_FLOW = "plan_delete"
# Questions asked before the flows, whose late answers are told the step moved on.
OLD_QUESTIONS = ("plan_times", "plan_behaviour", "plan_emotion", "plan_visit")


# -- the stored plan -------------------------------------------------------------------------


def current_plan(services: Services, chat_id: int) -> Plan | None:
    """The agreed plan, if there is one."""
    return _agreed(services.store.records(chat_id, PLAN_TABLE))


def _agreed(records: list[Plan]) -> Plan | None:
    return next((r for r in records if r.get("state") == "agreed"), None)


def _repairing(couple: Couple) -> Partner | None:
    return next((p for p in couple.partners if p.role == "repairing"), None)


def _draft(plan: Plan | None) -> dict[str, Any]:
    """What a run keeps while the plan (or one section) is written: the plan's sections, each
    entry numbered so a button can name it."""
    stored: Mapping[str, Any] = plan or {}  # no plan yet: every section empty
    draft: dict[str, Any] = {
        "frequency": stored.get("frequency"),
        "times": list(stored.get("times") or []),
        "zone": stored.get("zone"),
        "times_by": stored.get("times_by"),
        "behaviours": [dict(e) for e in stored.get("behaviours") or []],
        "emotions": list(stored.get("emotions") or []),
        "emotions_own": [dict(e) for e in stored.get("emotions_own") or []],
        "visit": stored.get("visit"),
    }
    entries = [*draft["behaviours"], *draft["emotions_own"]]
    for number, entry in enumerate(entries):
        entry["n"] = number
    return {"first": False, "editing": None, "plan": draft, "serial": len(entries), "menu": None}


# -- what the templates see ------------------------------------------------------------------


def _plan_view(
    services: Services, couple: Couple, plan: Mapping[str, Any], locale: str
) -> dict[str, Any]:
    """The agreed plan, or a run's draft of it, as the templates show it."""
    now = utcnow()
    entered_in = plan.get("zone")
    slots = []
    for slot in plan.get("times") or []:
        moment = next_local(time.fromisoformat(slot["at"]), entered_in, now, slot.get("weekday"))
        slots.append({"weekday": slot.get("weekday"), "local": local_moments(couple, moment)})
    review = services.timers.pending(couple.chat_id, REVIEW)
    due = from_iso(review[0]["due"]) if review else None
    # The review waits out both partners' quiet hours (bot.timers): shown as it will come.
    review_at = outside_quiet_hours(due, couple.partners) if due else None
    owner = _repairing(couple)
    return {
        "frequency": plan.get("frequency"),
        "slots": slots,
        "entered_by": _name(couple, plan.get("times_by")),
        "entered_zone": entered_in,
        "behaviours": [
            {"text": b["text"], "by": _name(couple, b["by"])} for b in plan.get("behaviours", [])
        ],
        "owner": owner.name if owner else None,
        "emotions": [
            services.render.label(locale, f"plan.emo_{key}") for key in plan.get("emotions", [])
        ],
        "own": [
            {"text": o["text"], "by": _name(couple, o["by"])} for o in plan.get("emotions_own", [])
        ],
        **_next_visit(services, couple, plan.get("visit")),
        "agreed_at": from_iso(plan.get("agreed_at")),
        "review": local_moments(couple, review_at) if review_at else [],
        "track": services.reads.repair_track(services.store, couple.chat_id),
    }


def _next_visit(services: Services, couple: Couple, typed: str | None) -> dict[str, Any]:
    """The next visit: the one planned with /visit (its first and last day), else the day
    typed into the plan while it is still ahead."""
    planned = services.reads.next_visit(services.store, couple.chat_id)
    if planned is not None:
        first, last = planned
        return {"visit": day_as_moment(first), "visit_until": day_as_moment(last)}
    day = None if typed in (None, "not_yet") else datetime.fromisoformat(str(typed)).date()
    ahead = day is not None and day >= utcnow().date()
    return {"visit": day_as_moment(day) if day and ahead else None, "visit_until": None}


async def _refresh_plan(context: MendContext, couple: Couple) -> None:
    """A visit was planned or called off: the posted plan shows the next visit as it is now."""
    services = context.mend
    with services.store.transaction(couple.chat_id) as tx:
        plan = _agreed(tx.table(PLAN_TABLE).all())
        pinned = plan.get("pinned_message") if plan is not None else None
        for run in runner_of(services).runs_in(tx, MENU_FLOW):
            # The pinned plan, and its latest copy (/plan shows it again below) if another.
            for shown in dict.fromkeys(m for m in (pinned, run.message_id) if m is not None):
                runner_of(services).refresh(tx, couple, run, message_id=shown)
    await services.outbox.deliver(context, couple.chat_id)


def _name(couple: Couple, user_id: int | None) -> str:
    partner = couple.partner(user_id) if user_id is not None else None
    return partner.name if partner else "?"


def _draft_view(services: Services, couple: Couple, run: Run, locale: str) -> dict[str, Any]:
    """The plan as written so far, and the zone of the partner a question is for."""
    asked = couple.partner(run.asked or run.owner or 0)
    return {
        **_plan_view(services, couple, run.data["plan"], locale),
        "zone": asked.timezone if asked else None,
    }


def _agreed_view(services: Services, couple: Couple, run: Run, locale: str) -> dict[str, Any]:
    return _plan_view(services, couple, current_plan(services, couple.chat_id) or {}, locale)


# -- /plan -----------------------------------------------------------------------------------


@partners_only
async def plan_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/plan shows the plan (or writes it together), /plan edit|track|delete."""
    services = context.mend
    couple, partner = asked.couple, asked.partner
    argument = asked.text.lower()
    if argument in ("", "edit"):
        with services.store.transaction(couple.chat_id) as tx:
            _plan_or_step(tx, services, couple, edit=argument == "edit")
        await services.outbox.deliver(context, couple.chat_id)
    elif argument == "track":
        await services.emit("plan.track", context, couple)
    elif argument == "delete":
        with services.store.transaction(couple.chat_id) as tx:
            if _agreed(tx.table(PLAN_TABLE).all()) or any(
                runner_of(services).runs_in(tx, flow) for flow in (PLAN_FLOW, PROPOSAL_FLOW)
            ):
                _fresh(
                    tx, services, couple, DELETE_FLOW, owner=partner, data={"name": partner.name}
                )
            else:
                services.outbox.put(tx, group_message(services, couple, "plan/none"))
        await services.outbox.deliver(context, couple.chat_id)
    else:
        await reply(update, context, asked.locale, "plan/usage", typed=shorten(argument))


def _plan_or_step(tx: Transaction, services: Services, couple: Couple, *, edit: bool) -> None:
    """Inside the transaction: the plan (or, with `edit`, which section to change); while it
    is being written, the step it is at; without a plan, its first step."""
    runner = runner_of(services)
    records = tx.table(PLAN_TABLE).all()
    plan = _agreed(records)
    writing = runner.runs_in(tx, PLAN_FLOW) or runner.runs_in(tx, PROPOSAL_FLOW)
    if plan is not None:
        if edit:
            _fresh(tx, services, couple, SECTIONS_FLOW)
        else:
            _show_plan(tx, services, couple)
    elif writing:
        runner.reshow(tx, couple, writing[-1])
    elif records:
        _continue_old_draft(tx, services, couple, records[0])
    elif edit:
        services.outbox.put(tx, group_message(services, couple, "plan/none"))
    else:
        runner.start(
            tx, couple, PLAN_FLOW, owner=_repairing(couple), data=_draft(None), show={"first": True}
        )


def _continue_old_draft(tx: Transaction, services: Services, couple: Couple, old: Plan) -> None:
    """A plan being written before its steps were a flow: it goes on from the step it was at."""
    tx.table(PLAN_TABLE).clear()
    step = old.get("step") if old.get("step") in SECTIONS else SECTIONS[0]
    runner_of(services).start(
        tx, couple, PLAN_FLOW, owner=_repairing(couple), data=_draft(old), step=step
    )


def _fresh(tx: Transaction, services: Services, couple: Couple, flow: str, **start: Any) -> Run:
    """Inside the transaction: a new run of `flow`; its older runs' buttons go stale."""
    runner = runner_of(services)
    for old in runner.runs_in(tx, flow):
        runner.close(tx, old)
    return runner.start(tx, couple, flow, owner=start.pop("owner", None), **start)


def _show_plan(tx: Transaction, services: Services, couple: Couple) -> None:
    """Inside the transaction: the plan with its buttons (those of every copy of it work)."""
    shown = runner_of(services).runs_in(tx, MENU_FLOW)
    if shown:
        runner_of(services).reshow(tx, couple, shown[-1])
    else:
        _publish(tx, services, couple, updated=None)


def _publish(tx: Transaction, services: Services, couple: Couple, *, updated: str | None) -> Run:
    """Inside the transaction: the plan as agreed now, to be pinned once it is sent; the
    buttons of its earlier versions go stale."""
    return _fresh(
        tx,
        services,
        couple,
        MENU_FLOW,
        data={"updated": None, "repair": couple.path == "repair"},
        show={"updated": updated},
    )


def _section_rows() -> list[list[Option]]:
    return [
        [Option("checkins", "plan.edit_checkins"), Option("behaviours", "plan.edit_behaviours")],
        [Option("emotions", "plan.edit_emotions"), Option("visit", "plan.edit_visit")],
    ]


def _menu_options(run: Run) -> Rows:
    rows = _section_rows()
    if run.data.get("repair"):
        rows.append([Option("track", "plan.track")])
    return rows


def _edit(turn: Turn) -> str:
    """A button of the plan (or of "which part?"): change that section, or see the track."""
    if turn.value == "track":
        turn.emit("plan.track")
        return STAY
    plan = _agreed(turn.tx.table(PLAN_TABLE).all())
    if plan is not None:
        data = {**_draft(plan), "editing": turn.value}
        owner = _repairing(turn.couple)
        _fresh(
            turn.tx, turn.services, turn.couple, PLAN_FLOW, owner=owner, data=data, step=turn.value
        )
    return STAY


MENU = Flow(
    name=MENU_FLOW,
    first="plan",
    steps={"plan": Step("plan/plan", _menu_options, answer=_edit, who="partners")},
    view=_agreed_view,
)
CHOOSE_SECTION = Flow(
    name=SECTIONS_FLOW,
    first="sections",
    steps={"sections": Step("plan/edit_menu", _section_rows(), answer=_edit, who="partners")},
)


# -- writing the plan ------------------------------------------------------------------------


def _words(text: str) -> str:
    """A change or own words, spacing tidied; too long is asked again."""
    words = " ".join(text.split())
    if len(words) > MAX_TEXT:
        raise Unreadable("plan.too_long", limit=MAX_TEXT, length=len(words))
    return words


def _next_section(turn: Turn, section: str) -> str | None:
    """A section is complete: the next one, or (after the last, or an edit) the plan proposed
    to the other partner by the one who completed it."""
    if turn.data["editing"] or section == SECTIONS[-1]:
        _fresh(
            turn.tx,
            turn.services,
            turn.couple,
            PROPOSAL_FLOW,
            owner=turn.partner,
            data={k: turn.data[k] for k in ("plan", "editing", "serial")}
            | {"menu": None, "proposer": turn.partner.name},  # "owner" names the repairing one
            thread_id=turn.run.thread,
        )
        return None
    return SECTIONS[SECTIONS.index(section) + 1]


def _frequency(turn: Turn) -> str:
    return str(turn.value)  # "daily" or "weekly": the question asked beside the step


def _times(frequency: str) -> Callable[[Turn], str | None]:
    """Check-in times, typed in the answering partner's zone (days named mean certain days)."""

    def answer(turn: Turn) -> str | None:
        parsed = read_times_and_days(turn.value)
        chosen = "weekly" if parsed is not None and parsed[1] else frequency
        most = MAX_WEEKLY_TIMES if chosen == "weekly" else MAX_TIMES_A_DAY
        if parsed is None or (chosen == "weekly" and not parsed[1]) or len(parsed[0]) > most:
            raise Unreadable(f"plan.unreadable_{frequency}")
        times, days = parsed
        weekdays: list[int | None] = [*days] if days else [None]
        turn.data["plan"] |= {
            "frequency": chosen,
            "times": [{"at": at, "weekday": day} for day in weekdays for at in times],
            "zone": turn.partner.timezone,
            "times_by": turn.partner.user_id,
        }
        if chosen == "daily" and len(times) >= CRUTCH_TIMES_A_DAY:
            turn.emit("repair.pitfall", kind="crutch")
        return _next_section(turn, "checkins")

    return answer


def _removable(run: Run, field: str, label: str) -> list[list[Option]]:
    """While a section is changed: a button to remove each of its entries."""
    if not run.data["editing"]:
        return []
    entries = run.data["plan"][field]
    return [[Option(f"rm{e['n']}", label, {"number": i + 1})] for i, e in enumerate(entries)]


def _remove(turn: Turn, field: str) -> None:
    plan = turn.data["plan"]
    plan[field] = [e for e in plan[field] if f"rm{e['n']}" != turn.value]


def _written(turn: Turn, field: str, most: int, step: str) -> str:
    """A change or own words for hard moments: kept, and the step shown again (surveillance
    and control are never part of a plan: that is said, and the step stays as it is)."""
    text = str(turn.value)
    if (refused := declined(text)) is not None:
        template, values = refused
        turn.say(GROUP, template, name=turn.partner.name, **values)
        return STAY
    entries = turn.data["plan"][field]
    if len(entries) < most:
        entries.append({"text": text, "by": turn.partner.user_id, "n": turn.data["serial"]})
        turn.data["serial"] += 1
        turn.emit("repair.words", text=text)
    return step


def _behaviour_options(run: Run) -> Rows:
    entries = run.data["plan"]["behaviours"]
    rows: list[list[Option]] = []
    if len(entries) < MAX_BEHAVIOURS:
        rows.append([Option("add", "plan.add_behaviour")])
    if entries:
        rows.append([Option("done", "plan.step_done")])
    return [*rows, *_removable(run, "behaviours", "plan.remove")]


def _behaviours(turn: Turn) -> str | None:
    if turn.value == "add":
        return "behaviour"
    if turn.value == "done":
        return _next_section(turn, "behaviours")
    _remove(turn, "behaviours")
    return "behaviours"


def _emotion_options(run: Run) -> Rows:
    plan = run.data["plan"]
    chosen = plan["emotions"]
    rows = [
        [Option(key, f"plan.chosen.{key}" if key in chosen else f"plan.emo_{key}")]
        for key in EMOTIONS
    ]
    if len(plan["emotions_own"]) < MAX_OWN:
        rows.append([Option("own", "plan.emo_own")])
    rows.extend(_removable(run, "emotions_own", "plan.remove_own"))
    if chosen or plan["emotions_own"]:
        rows.append([Option("done", "plan.step_done")])
    return rows


def _emotions(turn: Turn) -> str | None:
    """A toggle (shown again in place), own words (asked beside), a removal, or done."""
    plan = turn.data["plan"]
    if turn.value == "own":
        return "emotion"
    if turn.value == "done":
        return _next_section(turn, "emotions")
    if turn.value in EMOTIONS:
        chosen = set(plan["emotions"]) ^ {turn.value}
        plan["emotions"] = [key for key in EMOTIONS if key in chosen]
    else:
        _remove(turn, "emotions_own")
    return "emotions"


def _visit(turn: Turn) -> str | None:
    if turn.value == "date":
        return "visit_date"
    turn.data["plan"]["visit"] = "not_yet"
    return _next_section(turn, "visit")


def _visit_date(turn: Turn) -> str | None:
    """The next visit's date, read in the answering partner's zone."""
    today = utcnow().astimezone(zone(turn.partner.timezone)).date()
    day = read_date(turn.value, today)
    if day is None or day < today or (day - today).days > VISIT_AHEAD_DAYS:
        raise Unreadable("plan.unreadable_visit")
    turn.data["plan"]["visit"] = day.isoformat()
    return _next_section(turn, "visit")


def _agree(turn: Turn) -> None:
    """The other partner agreed the plan (or the changed section): keep it, plan its monthly
    review, post it."""
    services, tx, couple = turn.services, turn.tx, turn.couple
    draft = {k: v for k, v in turn.data["plan"].items()}
    editing = turn.data["editing"]
    table = tx.table(PLAN_TABLE)
    plan = _agreed(table.all())
    if editing and plan is not None:
        table.update(plan["id"], {k: draft[k] for k in SECTION_FIELDS[editing]})
        plan_id = plan["id"]
    else:
        now = utcnow()
        table.clear()
        plan_id = table.insert(
            {
                "state": "agreed",
                "frequency": draft["frequency"],
                "times": draft["times"],
                "zone": draft["zone"],
                "times_by": draft["times_by"],
                "behaviours": draft["behaviours"],
                "emotions": draft["emotions"],
                "emotions_own": draft["emotions_own"],
                "visit": draft["visit"],
                "agreed_at": to_iso(now),
                # Monthly reviews fall on the agreement's day and minute.
                "review_anchor": to_iso(now.replace(second=0, microsecond=0)),
                "pinned_message": None,
            }
        )
    agreed = table.get(plan_id)
    assert agreed is not None
    if not editing or not services.timers.pending(couple.chat_id, REVIEW):
        schedule_review(services.timers, couple.chat_id, agreed, tx=tx)
    turn.data["menu"] = _publish(tx, services, couple, updated=editing).token
    if not editing:
        turn.emit("plan.agreed")


async def _pin(context: MendContext, couple: Couple, run: Run) -> None:
    """The plan just agreed is pinned, the one before unpinned (or the group is told the bot
    may not pin here). The plan is personal: it is pinned only where the couple wants personal
    things posted; with more people in the group and no choice yet, they are asked first, and
    when personal things go privately each partner gets a copy instead (bot.audience)."""
    services = context.mend
    posted = next(
        (
            r
            for r in runner_of(services).runs(couple.chat_id, MENU_FLOW)
            if r.token == run.data["menu"]
        ),
        None,
    )
    plan = current_plan(services, couple.chat_id)
    if posted is None or posted.message_id is None or plan is None:
        return
    place = audience.where(services.store, couple.chat_id)
    if place != "group":
        with services.store.transaction(couple.chat_id) as tx:
            if place == "ask":
                audience.ask(tx, services, couple)
            else:
                _private_copies(tx, services, couple, plan)
        await services.outbox.deliver(context, couple.chat_id)
        return
    await _pin_message(context, couple, plan, posted.message_id)


async def _pin_message(context: MendContext, couple: Couple, plan: Plan, message_id: int) -> None:
    services = context.mend
    with services.store.transaction(couple.chat_id) as tx:
        tx.table(PLAN_TABLE).update(plan["id"], {"pinned_message": message_id})
    try:
        await context.bot.pin_chat_message(couple.chat_id, message_id, disable_notification=True)
    except TelegramError:
        # Not allowed to pin here (a supergroup where the bot isn't an admin): just say so.
        with services.store.transaction(couple.chat_id) as tx:
            services.outbox.put(tx, group_message(services, couple, "plan/pin_failed"))
        await services.outbox.deliver(context, couple.chat_id)
        return
    previous = plan.get("pinned_message")
    if previous and previous != message_id:
        with contextlib.suppress(TelegramError):
            await context.bot.unpin_chat_message(couple.chat_id, previous)


def _private_copies(tx: Transaction, services: Services, couple: Couple, plan: Plan) -> None:
    """Inside the transaction: the agreed plan in each partner's private chat."""
    for partner in couple.partners:
        if partner.private_chat:
            view = _plan_view(services, couple, plan, partner_locale(services, partner))
            services.outbox.put(
                tx, private_message(services, partner, "plan/plan", updated=None, **view)
            )


async def _audience_decided(context: MendContext, couple: Couple, *, choice: str) -> None:
    """The couple chose where personal things go: the plan is pinned here, or (unpinned
    here) a copy goes to each of them."""
    services = context.mend
    plan = current_plan(services, couple.chat_id)
    if plan is None:
        return
    if choice == "group":
        shown = runner_of(services).runs(couple.chat_id, MENU_FLOW)
        if shown and shown[-1].message_id is not None:
            await _pin_message(context, couple, plan, shown[-1].message_id)
        return
    with services.store.transaction(couple.chat_id) as tx:
        _private_copies(tx, services, couple, plan)
        tx.table(PLAN_TABLE).update(plan["id"], {"pinned_message": None})
    await services.outbox.deliver(context, couple.chat_id)
    if plan.get("pinned_message"):
        with contextlib.suppress(TelegramError):
            await context.bot.unpin_chat_message(couple.chat_id, plan["pinned_message"])


def _section_step(section: str, options: Rows | Callable[[Run], Rows], **step: Any) -> Step:
    number = SECTIONS.index(section) + 1
    return Step(
        f"plan/step_{section}",
        options,
        data=lambda run: {"number": number, "steps": len(SECTIONS)},
        **step,
    )


def _times_question(frequency: str) -> Step:
    return Step(
        "plan/ask_times",
        read=str.strip,
        answer=_times(frequency),
        who="partners",
        beside="checkins",
        data=lambda run: {"frequency": frequency},
    )


PLAN = Flow(
    name=PLAN_FLOW,
    first="checkins",
    steps={
        "checkins": _section_step(
            "checkins",
            [[Option(f, f"plan.freq_{f}") for f in FREQUENCIES]],
            answer=_frequency,
            who="partners",
        ),
        "daily": _times_question("daily"),
        "weekly": _times_question("weekly"),
        "behaviours": _section_step("behaviours", _behaviour_options, answer=_behaviours),
        "behaviour": Step(
            "plan/ask_behaviour",
            read=_words,
            answer=lambda turn: _written(turn, "behaviours", MAX_BEHAVIOURS, "behaviours"),
            beside="behaviours",
        ),
        "emotions": _section_step(
            "emotions", _emotion_options, answer=_emotions, who="partners", refresh=True
        ),
        "emotion": Step(
            "plan/ask_emotion",
            read=_words,
            answer=lambda turn: _written(turn, "emotions_own", MAX_OWN, "emotions"),
            who="partners",
            beside="emotions",
        ),
        "visit": _section_step(
            "visit",
            [[Option("date", "plan.visit_date"), Option("none", "plan.visit_not_yet")]],
            answer=_visit,
            who="partners",
        ),
        "visit_date": Step(
            "plan/ask_visit", read=str.strip, answer=_visit_date, who="partners", beside="visit"
        ),
    },
    not_yours="alert.plan_not_yours",
    closed="plan/moved_on",
    view=_draft_view,
)


PROPOSAL = Flow(
    name=PROPOSAL_FLOW,
    first="consider",
    steps={
        "consider": proposal(
            "plan/proposed",
            what="plan",
            agreed=_agree,
            data=lambda run: {"updated": run.data["editing"]},
        )
    },
    finished=_pin,
    view=_draft_view,
)


# -- deleting --------------------------------------------------------------------------------


def _delete(turn: Turn) -> str | None:
    """The partner who asked confirms; then the plan's commitments bind both, so the other
    partner is asked to agree (`_deleted`)."""
    if turn.value == "no":
        turn.say(GROUP, "plan/delete_kept")
        return None
    return "agree"


def _deleted(turn: Turn) -> None:
    """The other partner agreed: the plan, its reviews and its open steps go."""
    services, tx = turn.services, turn.tx
    proposer = turn.couple.partner(turn.run.owner or 0) or turn.partner
    services.timers.cancel_kind(turn.couple.chat_id, REVIEW)
    plan = _agreed(tx.table(PLAN_TABLE).all())
    turn.data["unpin"] = plan.get("pinned_message") if plan else None
    tx.table(PLAN_TABLE).clear()
    for flow in (PLAN_FLOW, PROPOSAL_FLOW, MENU_FLOW, SECTIONS_FLOW, REVIEW_FLOW, DELETE_FLOW):
        for run in runner_of(services).runs_in(tx, flow):
            if run.token != turn.run.token:
                runner_of(services).close(tx, run)
    turn.say(GROUP, "plan/deleted", name=proposer.name)


async def _unpin(context: MendContext, couple: Couple, run: Run) -> None:
    if run.data.get("unpin"):
        with contextlib.suppress(TelegramError):
            await context.bot.unpin_chat_message(couple.chat_id, run.data["unpin"])


DELETE = Flow(
    name=DELETE_FLOW,
    first="confirm",
    steps={
        "confirm": Step(
            "plan/delete_confirm",
            [[Option("yes", "plan.delete_yes"), Option("no", "plan.delete_no")]],
            answer=_delete,
        ),
        "agree": proposal("plan/delete_proposed", what="plan_delete", agreed=_deleted),
    },
    not_yours="alert.plan_delete_not_yours",
    finished=_unpin,
)


# -- the monthly review ----------------------------------------------------------------------


def next_review(anchor: datetime, after: datetime) -> datetime:
    """The first whole month after `anchor` that comes after `after`."""
    months = 1
    while (due := add_months(anchor, months)) <= after:
        months += 1
    return due


def schedule_review(
    timers: Timers, chat_id: int, plan: Plan, *, tx: Transaction | None = None
) -> None:
    anchor = from_iso(plan.get("review_anchor")) or utcnow()
    timers.cancel_kind(chat_id, REVIEW)
    timers.schedule(chat_id, REVIEW, next_review(anchor, utcnow()), tx=tx)


async def review_due(context: MendContext, fired: Fired) -> None:
    """A month has passed: what to keep, what to change; and the next review planned. The
    review and the next one are owed in one transaction."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        plan = _agreed(tx.table(PLAN_TABLE).all())
        if couple is None or couple.status != "active" or plan is None:
            return
        if any(t["id"] != fired.timer_id for t in services.timers.pending(fired.chat_id, REVIEW)):
            return  # this review was asked already (the bot stopped before the timer was done)
        anchor = from_iso(plan.get("review_anchor")) or fired.due
        due = next_review(anchor, max(fired.due, utcnow()))
        services.timers.schedule(fired.chat_id, REVIEW, due, tx=tx)
        _fresh(
            tx, services, couple, REVIEW_FLOW, data={"months": _months_between(anchor, fired.due)}
        )
    await services.outbox.deliver(context, fired.chat_id)


def _months_between(start: datetime, end: datetime) -> int:
    months = 0
    while add_months(start, months + 1) <= end:
        months += 1
    return max(months, 1)


def _reviewed(turn: Turn) -> str | None:
    """Keep it as it is, or choose what to change."""
    if turn.value == "change":
        return "sections"
    services, couple = turn.services, turn.couple
    view = _agreed_view(services, couple, turn.run, group_locale(services, couple))
    turn.say(GROUP, "plan/review_kept", name=turn.partner.name, **view)
    return None


MONTHLY = Flow(
    name=REVIEW_FLOW,
    first="review",
    steps={
        "review": Step(
            "plan/review",
            [[Option("keep", "plan.review_keep"), Option("change", "plan.review_change")]],
            answer=_reviewed,
            who="partners",
        ),
        "sections": CHOOSE_SECTION.steps["sections"],
    },
    view=_agreed_view,
)


def reconcile_reviews(timers: Timers, couple: Couple) -> None:
    """At start-up: an agreed plan always has its next monthly review (one missed during
    downtime is dropped, not replayed, and the series goes on)."""
    plan = _agreed(timers.store.records(couple.chat_id, PLAN_TABLE))
    if plan is not None and not timers.pending(couple.chat_id, REVIEW):
        schedule_review(timers, couple.chat_id, plan)


# -- wiring ----------------------------------------------------------------------------------


def export(services: Services, couple: Couple, user_id: int) -> dict[str, Any] | None:
    """The couple's shared plan: both partners wrote it in the group, so both get it whole."""
    plan: Mapping[str, Any] | None = current_plan(services, couple.chat_id)
    writing = runner_of(services).runs(couple.chat_id, PLAN_FLOW) or runner_of(services).runs(
        couple.chat_id, PROPOSAL_FLOW
    )
    if plan is None and writing:
        plan = {**writing[-1].data["plan"], "state": "drafting", "agreed_at": None}
    if plan is None:
        return None
    return {
        k: plan.get(k)
        for k in (
            "state",
            "frequency",
            "times",
            "zone",
            "behaviours",
            "emotions",
            "emotions_own",
            "visit",
            "agreed_at",
        )
    }


async def _question_closed(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A reply to a question asked before the flows: that step has moved on."""
    await reply(update, context, group_locale(context.mend, answer.couple), "plan/moved_on")


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("plan", "together"))
    # A review missed during downtime is dropped; reconcile_reviews plans the next one.
    services.timers.register(REVIEW, review_due, quiet=True, pause=True)
    services.timers.reconcile_with(reconcile_reviews)
    services.exporters["plan"] = export
    services.on("visit.changed", _refresh_plan)
    runner_of(services).add(PLAN, PROPOSAL, MENU, CHOOSE_SECTION, MONTHLY, DELETE)
    services.on(audience.DECIDED, _audience_decided)
    for kind in OLD_QUESTIONS:
        asks.on_answer(kind, _question_closed)
    app.add_handler(CommandHandler("plan", plan_command))
