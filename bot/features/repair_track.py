"""The infidelity track, the voluntary transparency exercises, and gentle notes on pitfalls.

A couple on the repair path is asked, once (after their first plan, and again with
`/plan track`), to name the kind of breach: infidelity, an emotional bond, dishonesty, broken
promises or neglect. The kind decides which scripts /script offers first and what they suggest
(read through `services.reads.breach`). For infidelity, the track adds what that deeper repair
needs: full responsibility, disclosure as far as the hurt partner needs it, no contact with the
person involved, and a timeline back to autonomy built together. The timeline's stages and the
no-contact agreement are boundaries with review dates: the track's buttons ask for them with
the events "track.add_stage", "track.no_contact" and "track.timeline".

The transparency exercises are three weekly invitations (share highlights unprompted; a voice
note after something that might worry; meet a new friend over video): voluntary, never a test,
stoppable at any time.

Pitfall notes (moving too fast, repair as punishment, technology as a crutch, blaming the
distance) appear at the moment a pattern shows up, at most once per pitfall per month. Other
features report what they see with events: "repair.pitfall" (kind and the note's values) and
"repair.words" (text the couple wrote into their plan or boundaries). "plan.agreed" (a first
plan) offers the track on the repair path; "plan.track" shows it. Which track a couple is on is
read by the other repair features through `services.reads.repair_track`.

The kind of breach, and with it the track, binds both (bot.consent): the partner who answers
proposes it, and it applies once the other agrees (the flow TRACK_FLOW); until then, what is in
place stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, NotRequired, TypedDict

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot import audience
from bot.consent import proposal
from bot.context import MendContext, Services
from bot.couples import group_locale
from bot.flows import Flow, Run, Turn, runner_of
from bot.guards import Asked, known_partner
from bot.messages import (
    Buttons,
    answer_stale,
    button,
    chosen,
    clear_buttons,
    group_message,
    reply,
    say,
)
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.storage import Kind, Store
from bot.timers import Fired, Timers


class Exercises(TypedDict):
    """The transparency exercises: three weekly invitations."""

    state: str  # "running", "stopped" or "done"
    started_at: str | None
    week: int  # the last week invited to (0: none yet)
    thread: int | None  # the forum topic they were started in


class TrackState(TypedDict):
    """The couple's one record of the track: which one they are on, and the exercises."""

    id: NotRequired[int]
    kind: str | None  # one of TRACK_KINDS, once a partner said
    exercises: Exercises | None
    breach: NotRequired[str | None]  # one of BREACHES, if they named it
    chosen_by: NotRequired[int]  # who proposed it
    agreed_by: NotRequired[int]  # who agreed (a track chosen before proposals lacks it)
    chosen_at: NotRequired[str | None]


class Pitfall(TypedDict):
    """When the note on a pitfall was last shown (at most once a month)."""

    id: NotRequired[int]
    kind: str  # one of PITFALLS
    shown_at: str | None


TRACK_TABLE = Kind[TrackState]("repair_track")
PITFALLS_TABLE = Kind[Pitfall]("pitfalls")
EXERCISE = "transparency_week"
EXERCISE_WEEKS = 3
EXERCISE_EVERY = timedelta(days=7)
# A weekly invitation missed during downtime may still come a little late, never in a burst.
EXERCISE_LATE_LIMIT = timedelta(days=2)
PITFALL_QUIET = timedelta(days=30)
PITFALLS = ("too_fast", "punishment", "crutch", "distance")
TRACK_KINDS = ("infidelity", "other")
# The kinds of breach a couple can name; all but infidelity are on the "other" track.
BREACHES = ("infidelity", "emotional", "dishonesty", "promises", "neglect")
TRACK_FLOW = "repair_track"  # which track: proposed by one partner, agreed by the other

TRACK = "trk:"
# trk:kind:<track or breach>, trk:ask (name the kind again), trk:ex:start|stop, trk:show, and
# what the track asks of the boundaries
TRACK_CHOICE = re.compile(
    r"^trk:(?P<action>kind|ask|ex|show|add_stage|no_contact|timeline)"
    r"(?::(?P<argument>other|start|stop|" + "|".join(BREACHES) + r"))?$"
)
# What the track's buttons ask of the boundaries (told with an event: "track.<action>").
FOR_BOUNDARIES = ("add_stage", "no_contact", "timeline")


# -- pitfalls ----------------------------------------------------------------------------------

# Reading free text for a pattern is a hint, never a verdict: the note that follows is gentle.
_BLAMES_DISTANCE = re.compile(
    r"(because of|due to|blame|fault of|caused by|thanks to)\s+(the\s+|our\s+|this\s+)?"
    r"(long[- ]?)?distance"
    r"|\bthe\s+distance\s+(made|makes|is why|was why|did|does)"
    r"|if\s+we\s+(weren't|were\s+not|didn't\s+live)\s+(so\s+)?far"
    r"|wegen\s+(der|unserer|dieser)\s+(entfernung|distanz|fernbeziehung)"
    r"|(entfernung|distanz|fernbeziehung)\s+(ist|war)\s+schuld"
    r"|(entfernung|distanz)\s+hat\s+(mich|uns)",
    re.IGNORECASE,
)
_LEANS_ON_MESSAGING = re.compile(
    r"\b(every|each)\s+(hour|\d+\s+(minutes?|hours?))"
    r"|always\s+(be\s+)?(reachable|available|online)"
    r"|(answer|reply|respond|text\s+back)\s+(right\s+away|immediately|instantly|within)"
    r"|non-?stop|constantly|all\s+day\s+long"
    r"|jede\s+stunde|alle\s+\d+\s+(minuten|stunden)|immer\s+(erreichbar|online)"
    r"|sofort\s+(antworten|zurückschreiben)|ständig",
    re.IGNORECASE,
)


def blames_distance(text: str) -> bool:
    return _BLAMES_DISTANCE.search(text) is not None


def leans_on_messaging(text: str) -> bool:
    return _LEANS_ON_MESSAGING.search(text) is not None


async def note_pitfall(
    context: MendContext, couple: Couple, kind: str, *, thread: int | None = None, **data: Any
) -> bool:
    """Show the gentle note for a pitfall unless it was shown in the last month; True if shown."""
    if kind not in PITFALLS:
        raise ValueError(f"unknown pitfall {kind!r}")
    services = context.mend
    now = utcnow()
    with services.store.transaction(couple.chat_id) as tx:
        table = tx.table(PITFALLS_TABLE)
        earlier = table.find(kind=kind)
        if any(now - (from_iso(r["shown_at"]) or now) < PITFALL_QUIET for r in earlier):
            return False
        for record in earlier:
            table.remove(record["id"])
        table.insert({"kind": kind, "shown_at": to_iso(now)})
    await say(
        context,
        couple.chat_id,
        group_locale(services, couple),
        f"repair/pitfall_{kind}",
        thread_id=thread,
        **data,
    )
    return True


async def check_text(
    context: MendContext, couple: Couple, text: str, thread: int | None = None
) -> None:
    """Free text the couple wrote into their plan or boundaries: two pitfalls show in words."""
    if blames_distance(text):
        await note_pitfall(context, couple, "distance", thread=thread)
    if leans_on_messaging(text):
        await note_pitfall(context, couple, "crutch", thread=thread)


# -- the track -------------------------------------------------------------------------------


def track_state(store: Store, chat_id: int) -> TrackState | None:
    records = store.records(chat_id, TRACK_TABLE)
    return records[0] if records else None


def track_kind(store: Store, chat_id: int) -> str | None:
    state = track_state(store, chat_id)
    return None if state is None else state.get("kind")


def breach_kind(store: Store, chat_id: int) -> str | None:
    """The kind of breach the couple named (one of BREACHES), if they did; a couple who chose
    the infidelity track before kinds were named named infidelity."""
    state = track_state(store, chat_id)
    if state is None:
        return None
    return state.get("breach") or ("infidelity" if state.get("kind") == "infidelity" else None)


def _save_track(services: Services, chat_id: int, fields: Mapping[str, Any]) -> TrackState:
    """Change the couple's track record, made first if there is none."""
    with services.store.transaction(chat_id) as tx:
        table = tx.table(TRACK_TABLE)
        rows = table.all()
        record_id = rows[0]["id"] if rows else table.insert({"kind": None, "exercises": None})
        table.update(record_id, fields)
        record = table.get(record_id)
    assert record is not None
    return record


def _role_holder(couple: Couple, role: str) -> Partner | None:
    return next((p for p in couple.partners if p.role == role), None)


async def _post(
    context: MendContext,
    couple: Couple,
    template: str,
    rows: Callable[[str], Buttons],
    thread: int | None,
    **data: Any,
) -> None:
    """What is said about the track is personal: where the couple wants it (bot.audience),
    with its buttons in each reader's language."""
    services = context.mend
    with services.store.transaction(couple.chat_id) as tx:
        audience.share(tx, services, couple, template, thread=thread, buttons=rows, **data)
    await services.outbox.deliver(context, couple.chat_id)


async def offer_track(context: MendContext, couple: Couple, thread: int | None = None) -> None:
    """Ask what kind of breach it was (either partner may answer, the other agrees; "rather
    not say" too)."""
    label = context.mend.render.label

    def rows(locale: str) -> Buttons:
        return [
            *(
                [button(label(locale, f"repair.breach_{breach}"), f"{TRACK}kind:{breach}")]
                for breach in BREACHES
            ),
            [button(label(locale, "repair.breach_unsaid"), f"{TRACK}kind:other")],
        ]

    await _post(context, couple, "repair/track_offer", rows, thread)


async def show_track(context: MendContext, couple: Couple, thread: int | None = None) -> None:
    """`/plan track`: the question if it hasn't been answered, else where the couple stands."""
    kind = track_kind(context.mend.store, couple.chat_id)
    if kind is None:
        await offer_track(context, couple, thread)
    elif kind == "infidelity":
        await _show_infidelity_track(context, couple, None, thread)
    else:
        await _show_other(context, couple, None, thread)


def _exercises_running(services: Services, chat_id: int) -> bool:
    state = track_state(services.store, chat_id)
    exercises = None if state is None else state.get("exercises")
    return bool(exercises and exercises.get("state") == "running")


async def _show_infidelity_track(
    context: MendContext, couple: Couple, changed_by: str | None, thread: int | None
) -> None:
    services = context.mend
    label = services.render.label
    running = _exercises_running(services, couple.chat_id)

    def rows(locale: str) -> Buttons:
        shown: list[list[Any]] = [
            [button(label(locale, "repair.add_no_contact"), f"{TRACK}no_contact")],
            [
                button(label(locale, "repair.add_stage"), f"{TRACK}add_stage"),
                button(label(locale, "repair.see_timeline"), f"{TRACK}timeline"),
            ],
        ]
        if not running:
            shown.append([button(label(locale, "repair.start_exercises"), f"{TRACK}ex:start")])
        shown.append([button(label(locale, "repair.not_our_track"), f"{TRACK}ask")])
        return shown

    repairing, hurt = _role_holder(couple, "repairing"), _role_holder(couple, "hurt")
    await _post(
        context,
        couple,
        "repair/track",
        rows,
        thread,
        changed_by=changed_by,
        repairing=repairing.name if repairing else None,
        hurt=hurt.name if hurt else None,
    )


async def _show_other(
    context: MendContext, couple: Couple, changed_by: str | None, thread: int | None
) -> None:
    services = context.mend
    label = services.render.label
    running = _exercises_running(services, couple.chat_id)

    def rows(locale: str) -> Buttons:
        shown: list[list[Any]] = []
        if not running:
            shown.append([button(label(locale, "repair.start_exercises"), f"{TRACK}ex:start")])
        shown.append([button(label(locale, "repair.rename_breach"), f"{TRACK}ask")])
        return shown

    await _post(
        context,
        couple,
        "repair/track_other",
        rows,
        thread,
        changed_by=changed_by,
        breach=breach_kind(services.store, couple.chat_id),
    )


@known_partner
async def track_button(update: Update, context: MendContext, asked: Asked) -> None:
    """The track's buttons: which track, the exercises on or off (in the group, or in private
    when personal things go to each partner privately)."""
    services = context.mend
    couple, locale, query, thread = asked.couple, asked.locale, asked.press, asked.thread_id
    me, name = asked.partner, asked.first_name
    action, argument = chosen(context, "action"), chosen(context, "argument")
    if action == "kind" and argument in (*TRACK_KINDS, *BREACHES):
        await query.answer()
        await clear_buttons(update)
        kind = "infidelity" if argument == "infidelity" else "other"
        breach = argument if argument in BREACHES else None
        state = track_state(services.store, couple.chat_id)
        current = None if state is None else state.get("kind")
        if state is not None and (current, breach_kind(services.store, couple.chat_id)) == (
            kind,
            breach,
        ):
            await show_track(context, couple, thread)
            return
        # Answered in private (personal things go to each of them privately): the other
        # partner is asked privately too.
        await runner_of(services).begin(
            context,
            couple,
            TRACK_FLOW,
            owner=me,
            data={"kind": kind, "breach": breach, "current": current, "agreed": False},
            where="private" if asked.private else "group",
            thread_id=thread,
        )
        other = couple.other(me.user_id)
        if asked.private and other is not None:
            await reply(update, context, locale, "consent/asked", partner=other.name)
    elif action == "show" and not argument:
        await query.answer()
        await show_track(context, couple, thread)
    elif action == "ask" and not argument:
        await query.answer()
        await clear_buttons(update)
        await offer_track(context, couple, thread)
    elif action in FOR_BOUNDARIES and not argument:
        await query.answer()
        await services.emit(f"track.{action}", context, couple, partner=me)
    elif action == "ex" and argument == "start":
        if _exercises_running(services, couple.chat_id):
            await query.answer(
                services.render.alert(locale, "alert.repair_exercises_running"), show_alert=True
            )
            return
        await query.answer()
        await start_exercises(context, couple, name, thread)
    elif action == "ex" and argument == "stop":
        if not _exercises_running(services, couple.chat_id):
            await answer_stale(update, context, locale)
            return
        await query.answer()
        await clear_buttons(update)
        services.timers.cancel_kind(couple.chat_id, EXERCISE)
        _save_track(
            services,
            couple.chat_id,
            {
                "exercises": {
                    **(_exercise_state(services, couple.chat_id) or {}),
                    "state": "stopped",
                }
            },
        )
        await say(
            context,
            couple.chat_id,
            locale,
            "repair/exercises_stopped",
            thread_id=thread,
            name=name,
        )
    else:
        await answer_stale(update, context, locale)


def _track_agreed(turn: Turn) -> None:
    """The other partner agreed: the couple is on the proposed track from now on."""
    proposer = turn.couple.partner(turn.run.owner or 0) or turn.partner
    table = turn.tx.table(TRACK_TABLE)
    rows = table.all()
    record_id = rows[0]["id"] if rows else table.insert({"kind": None, "exercises": None})
    table.update(
        record_id,
        {
            "kind": turn.data["kind"],
            "breach": turn.data.get("breach"),
            "chosen_by": proposer.user_id,
            "agreed_by": turn.partner.user_id,
            "chosen_at": to_iso(utcnow()),
        },
    )
    turn.data["agreed"] = True


async def _show_agreed(context: MendContext, couple: Couple, run: Run) -> None:
    """Once a track is agreed, what it holds (shown after the agreement's messages)."""
    if not run.data.get("agreed"):
        return
    proposer = couple.partner(run.owner or 0)
    name = proposer.name if proposer else None
    if run.data["kind"] == "infidelity":
        await _show_infidelity_track(context, couple, name, run.thread)
    else:
        await _show_other(context, couple, name, run.thread)


CHOOSING = Flow(
    name=TRACK_FLOW,
    first="consider",
    superseded=True,
    steps={"consider": proposal("repair/track_proposed", what="track", agreed=_track_agreed)},
    finished=_show_agreed,
)


# -- the transparency exercises ---------------------------------------------------------------


def _exercise_state(services: Services, chat_id: int) -> Exercises | None:
    state = track_state(services.store, chat_id)
    exercises = None if state is None else state.get("exercises")
    return exercises.copy() if exercises else None


async def start_exercises(
    context: MendContext, couple: Couple, started_by: str, thread: int | None = None
) -> None:
    """Three weekly invitations, the first right away (once outside quiet hours)."""
    services = context.mend
    now = utcnow()
    services.timers.cancel_kind(couple.chat_id, EXERCISE)
    _save_track(
        services,
        couple.chat_id,
        {"exercises": {"state": "running", "started_at": to_iso(now), "week": 0, "thread": thread}},
    )
    services.timers.schedule(couple.chat_id, EXERCISE, now, payload={"week": 1})
    await say(
        context,
        couple.chat_id,
        group_locale(services, couple),
        "repair/exercises_started",
        thread_id=thread,
        name=started_by,
        weeks=EXERCISE_WEEKS,
    )


async def exercise_due(context: MendContext, fired: Fired) -> None:
    """A week's invitation: posted, and the next one planned (three in all), in one change."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        exercises = _exercise_state(services, fired.chat_id)
        if couple is None or couple.status != "active" or not exercises:
            return
        week = int(fired.payload.get("week", 1))
        if exercises.get("state") != "running" or not 1 <= week <= EXERCISE_WEEKS:
            return
        locale = group_locale(services, couple)
        last = week == EXERCISE_WEEKS
        invitation = group_message(
            services,
            couple,
            "repair/exercise_week",
            week=week,
            weeks=EXERCISE_WEEKS,
            late=fired.late,
        )
        if not last:
            label = services.render.label(locale, "repair.stop_exercises")
            invitation.buttons = [[button(label, f"{TRACK}ex:stop")]]
        invitation.thread_id = exercises.get("thread")
        services.outbox.put(tx, invitation)
        exercises["week"] = week
        if last:
            exercises["state"] = "done"
        else:
            services.timers.schedule(
                couple.chat_id,
                EXERCISE,
                fired.due + EXERCISE_EVERY,
                payload={"week": week + 1},
                tx=tx,
            )
        _save_track(services, couple.chat_id, {"exercises": exercises})
    await services.outbox.deliver(context, fired.chat_id)


def reconcile_exercises(timers: Timers, couple: Couple) -> None:
    """After downtime: if a week's invitation was dropped, the series goes on with the next."""
    records = timers.store.records(couple.chat_id, TRACK_TABLE)
    exercises = records[0].get("exercises") if records else None
    if not exercises or exercises.get("state") != "running":
        return
    if timers.pending(couple.chat_id, EXERCISE):
        return
    started = from_iso(exercises.get("started_at")) or utcnow()
    now = utcnow()
    for week in range(int(exercises.get("week", 0)) + 1, EXERCISE_WEEKS + 1):
        due = started + EXERCISE_EVERY * (week - 1)
        if due > now:
            timers.schedule(couple.chat_id, EXERCISE, due, payload={"week": week})
            return
    with timers.store.transaction(couple.chat_id) as tx:
        tx.table(TRACK_TABLE).update(
            records[0]["id"], {"exercises": {**exercises, "state": "done"}}
        )


# -- wiring ----------------------------------------------------------------------------------


def export(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """The couple's shared track choice, exercise progress and the notes they were shown."""
    state = track_state(services.store, couple.chat_id)
    return {
        "track": state.get("kind") if state is not None else None,
        "breach": state.get("breach") if state is not None else None,
        "exercises": state.get("exercises") if state is not None else None,
        "notes_shown": [
            {"pitfall": r["kind"], "shown_at": r["shown_at"]}
            for r in services.store.records(couple.chat_id, PITFALLS_TABLE)
        ],
    }


async def _pitfall(context: MendContext, couple: Couple, *, kind: str, **data: Any) -> None:
    await note_pitfall(context, couple, kind, **data)


async def _words(context: MendContext, couple: Couple, *, text: str) -> None:
    await check_text(context, couple, text)


async def _plan_agreed(context: MendContext, couple: Couple) -> None:
    """A first plan on the repair path: ask, once, whether the breach was infidelity."""
    if couple.path == "repair" and track_kind(context.mend.store, couple.chat_id) is None:
        await offer_track(context, couple)


async def _track_asked(context: MendContext, couple: Couple) -> None:
    await show_track(context, couple)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.timers.register(
        EXERCISE, exercise_due, late_limit=EXERCISE_LATE_LIMIT, quiet=True, pause=True
    )
    services.on("repair.pitfall", _pitfall)
    services.on("repair.words", _words)
    services.on("plan.agreed", _plan_agreed)
    services.on("plan.track", _track_asked)
    services.timers.reconcile_with(reconcile_exercises)
    services.exporters["repair_track"] = export
    services.reads.repair_track = track_kind
    services.reads.breach = breach_kind
    runner_of(services).add(CHOOSING)
    app.add_handler(CallbackQueryHandler(track_button, pattern=TRACK_CHOICE))
