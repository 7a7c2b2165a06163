"""/plan: the 30-day repair plan, written together in the group, pinned, reviewed monthly.

Four steps, as the guide's first week asks: (1) when to check in, (2) what the repairing partner
will do differently, (3) how hard feelings will be handled, (4) the next visit. Each step is a
message both partners see, with buttons for choices and a ForceReply question, aimed at whoever
tapped, for words. Either partner may answer a step, except the changes, which belong to the
partner doing the repair work when roles are set. Check-in times are typed in the typing
partner's time zone and shown to each partner in their own.

The agreed plan is posted as one message and pinned (if the group doesn't let the bot pin, it
says so). It lives in the couple's file, `/plan` shows it, `/plan edit` (or its buttons) changes
one section, and once a month a review asks what to keep and what to change. `/plan track`
leads to the infidelity track; `/plan delete` removes the plan and its reviews.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, time
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import asks
from bot.context import Command, MendContext, Services
from bot.couples import group_locale
from bot.dates import add_months, day_as_moment
from bot.features import boundaries, repair_track
from bot.features.repair_track import local_moments, stale
from bot.guards import partners_only
from bot.messages import Buttons, button, clear_buttons, reply, say, thread_of
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.reading import read_date, read_times_and_days
from bot.render import zone
from bot.storage import Record
from bot.timers import Fired, Timers
from bot.when import next_local

PLAN_TABLE = "plan"
REVIEW = "plan_review"
P = "plan:"
STEPS = ("checkins", "behaviours", "emotions", "visit")
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


# -- the stored plan -------------------------------------------------------------------------


def current_plan(services: Services, chat_id: int) -> Record | None:
    records = services.store.records(chat_id, PLAN_TABLE)
    return records[0] if records else None


def _update(services: Services, chat_id: int, fields: Record) -> Record | None:
    with services.store.transaction(chat_id) as tx:
        table = tx.table(PLAN_TABLE)
        rows = table.all()
        if not rows:
            return None
        table.update(rows[0]["id"], fields)
        return table.get(rows[0]["id"])


def _follow(services: Services, chat_id: int, update: Update) -> Record | None:
    """The plan, now talked about in the forum topic of `update`: its messages go there."""
    plan = current_plan(services, chat_id)
    thread = thread_of(update)
    if plan is None or plan.get("thread") == thread:
        return plan
    return _update(services, chat_id, {"thread": thread})


def _at_step(plan: Record | None, step: str) -> bool:
    return plan is not None and plan.get("step") == step


def _repairing(couple: Couple) -> Partner | None:
    return next((p for p in couple.partners if p.role == "repairing"), None)


def _may_answer(couple: Couple, step: str, user_id: int) -> Partner | None:
    """The partner who owns this step if it isn't `user_id`'s to answer; else None."""
    owner = _repairing(couple) if step == "behaviours" else None
    return owner if owner is not None and owner.user_id != user_id else None


# -- what the templates see ------------------------------------------------------------------


def _plan_view(services: Services, couple: Couple, plan: Record, locale: str) -> dict[str, Any]:
    now = utcnow()
    entered_in = plan.get("zone")
    slots = []
    for slot in plan.get("times") or []:
        moment = next_local(time.fromisoformat(slot["at"]), entered_in, now, slot.get("weekday"))
        slots.append({"weekday": slot.get("weekday"), "local": local_moments(couple, moment)})
    visit = plan.get("visit")
    review = services.timers.pending(couple.chat_id, REVIEW)
    review_at = from_iso(review[0]["due"]) if review else None
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
        "visit": None
        if visit in (None, "not_yet")
        else day_as_moment(datetime.fromisoformat(visit).date()),
        "agreed_at": from_iso(plan.get("agreed_at")),
        "review": local_moments(couple, review_at) if review_at else [],
        "track": repair_track.track_kind(services.store, couple.chat_id),
    }


def _name(couple: Couple, user_id: int | None) -> str:
    partner = couple.partner(user_id) if user_id is not None else None
    return partner.name if partner else "?"


# -- /plan -----------------------------------------------------------------------------------


@partners_only
async def plan_command(update: Update, context: MendContext, couple: Couple) -> None:
    """/plan shows the plan (or writes it together), /plan edit|track|delete."""
    services = context.mend
    locale = group_locale(services, couple)
    user = update.effective_user
    assert user is not None
    argument = " ".join(context.args or []).strip().lower()
    plan = _follow(services, couple.chat_id, update)
    if argument == "":
        if plan is None:
            await _begin(context, couple, user.id, thread_of(update))
        elif plan["state"] == "drafting":
            await _post_step(context, couple, plan)
        else:
            await _show(context, couple, plan, update)
    elif argument == "edit":
        if plan is None:
            await reply(update, context, locale, "plan/none")
        elif plan["state"] == "drafting":
            await _post_step(context, couple, plan)
        else:
            await _edit_menu(context, couple, update)
    elif argument == "track":
        await repair_track.show_track(context, couple, thread_of(update))
    elif argument == "delete":
        if plan is None:
            await reply(update, context, locale, "plan/none")
            return
        rows = [
            [
                button(services.render.label(locale, "plan.delete_yes"), f"{P}del:yes:{user.id}"),
                button(services.render.label(locale, "plan.delete_no"), f"{P}del:no:{user.id}"),
            ]
        ]
        await reply(
            update, context, locale, "plan/delete_confirm", buttons=rows, name=user.first_name
        )
    else:
        await reply(update, context, locale, "plan/usage", typed=argument[:40])


async def _begin(context: MendContext, couple: Couple, user_id: int, thread: int | None) -> None:
    now = utcnow()
    with context.mend.store.transaction(couple.chat_id) as tx:
        table = tx.table(PLAN_TABLE)
        if table.all():
            return
        plan_id = table.insert(
            {
                "state": "drafting",
                "step": "checkins",
                "editing": False,
                "started_by": user_id,
                "started_at": to_iso(now),
                "frequency": None,
                "times": [],
                "zone": None,
                "times_by": None,
                "behaviours": [],
                "emotions": [],
                "emotions_own": [],
                "visit": None,
                "agreed_at": None,
                "review_anchor": None,
                "pinned_message": None,
                "thread": thread,
            }
        )
        plan = table.get(plan_id)
    assert plan is not None
    await _post_step(context, couple, plan, first=True)


async def _show(context: MendContext, couple: Couple, plan: Record, update: Update) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    await reply(
        update,
        context,
        locale,
        "plan/plan",
        buttons=_plan_buttons(context, couple, locale),
        updated=None,
        **_plan_view(services, couple, plan, locale),
    )


def _plan_buttons(context: MendContext, couple: Couple, locale: str) -> Buttons:
    label = context.mend.render.label
    rows: list[list[Any]] = [
        [
            button(label(locale, "plan.edit_checkins"), f"{P}edit:checkins"),
            button(label(locale, "plan.edit_behaviours"), f"{P}edit:behaviours"),
        ],
        [
            button(label(locale, "plan.edit_emotions"), f"{P}edit:emotions"),
            button(label(locale, "plan.edit_visit"), f"{P}edit:visit"),
        ],
    ]
    if couple.path == "repair":
        rows.append([button(label(locale, "plan.track"), f"{repair_track.TRACK}show")])
    return rows


async def _edit_menu(
    context: MendContext, couple: Couple, update: Update | None, thread: int | None = None
) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    rows = _plan_buttons(context, couple, locale)
    if update is not None:
        await reply(update, context, locale, "plan/edit_menu", buttons=rows)
    else:
        await say(context, couple.chat_id, locale, "plan/edit_menu", buttons=rows, thread_id=thread)


# -- the steps -------------------------------------------------------------------------------


async def _post_step(
    context: MendContext, couple: Couple, plan: Record, *, first: bool = False
) -> None:
    """The message for the plan's current step, with its buttons."""
    services = context.mend
    locale = group_locale(services, couple)
    label = services.render.label
    step = plan["step"]
    editing = bool(plan.get("editing"))
    data: dict[str, Any] = {
        "first": first,
        "editing": editing,
        "number": STEPS.index(step) + 1,
        "steps": len(STEPS),
        **_plan_view(services, couple, plan, locale),
    }
    rows: list[list[Any]] = []
    if step == "checkins":
        rows = [[button(label(locale, f"plan.freq_{f}"), f"{P}freq:{f}") for f in FREQUENCIES]]
    elif step == "behaviours":
        entries = plan.get("behaviours", [])
        if len(entries) < MAX_BEHAVIOURS:
            rows.append([button(label(locale, "plan.add_behaviour"), f"{P}beh:add")])
        if entries:
            rows.append([button(label(locale, "plan.step_done"), f"{P}beh:done")])
        if editing:
            rows.extend(
                [button(label(locale, "plan.remove", number=i + 1), f"{P}beh:rm:{i}")]
                for i in range(len(entries))
            )
    elif step == "emotions":
        rows = [list(row) for row in _emotion_rows(context, locale, plan)]
    elif step == "visit":
        rows = [
            [
                button(label(locale, "plan.visit_date"), f"{P}visit:date"),
                button(label(locale, "plan.visit_not_yet"), f"{P}visit:none"),
            ]
        ]
    await say(
        context,
        couple.chat_id,
        locale,
        f"plan/step_{step}",
        buttons=rows,
        thread_id=plan.get("thread"),
        **data,
    )


def _emotion_rows(context: MendContext, locale: str, plan: Record) -> Buttons:
    label = context.mend.render.label
    chosen = plan.get("emotions", [])
    rows: list[list[Any]] = []
    for key in EMOTIONS:
        name = label(locale, f"plan.emo_{key}")
        shown = label(locale, "plan.chosen", name=name) if key in chosen else name
        rows.append([button(shown, f"{P}emo:{key}")])
    own = plan.get("emotions_own", [])
    if len(own) < MAX_OWN:
        rows.append([button(label(locale, "plan.emo_own"), f"{P}emo:own")])
    if plan.get("editing"):
        rows.extend(
            [button(label(locale, "plan.remove_own", number=i + 1), f"{P}emo:rm:{i}")]
            for i in range(len(own))
        )
    if chosen or own:
        rows.append([button(label(locale, "plan.step_done"), f"{P}emo:done")])
    return rows


async def _next_step(context: MendContext, couple: Couple, plan: Record) -> None:
    """A step is complete: the next one, or (after the last, or an edit) the plan itself."""
    services = context.mend
    step = plan["step"]
    if plan.get("editing") or step == STEPS[-1]:
        await _settle(context, couple)
        return
    updated = _update(services, couple.chat_id, {"step": STEPS[STEPS.index(step) + 1]})
    if updated is not None:
        await _post_step(context, couple, updated)


async def _settle(context: MendContext, couple: Couple) -> None:
    """Agree the plan (or the edited section): post it, pin it, keep its monthly review."""
    services = context.mend
    plan = current_plan(services, couple.chat_id)
    if plan is None:
        return
    first_time = plan["state"] == "drafting"
    edited = plan["step"] if plan.get("editing") else None
    now = utcnow()
    fields: Record = {"state": "agreed", "step": None, "editing": False}
    if first_time:
        # Monthly reviews fall on the agreement's day and minute.
        anchor = now.replace(second=0, microsecond=0)
        fields |= {"agreed_at": to_iso(now), "review_anchor": to_iso(anchor)}
    plan = _update(services, couple.chat_id, fields)
    assert plan is not None
    if first_time or not services.timers.pending(couple.chat_id, REVIEW):
        schedule_review(services.timers, couple.chat_id, plan)
    await _publish(context, couple, plan, edited)
    if (
        first_time
        and couple.path == "repair"
        and repair_track.track_kind(services.store, couple.chat_id) is None
    ):
        await repair_track.offer_track(context, couple, plan.get("thread"))


async def _publish(context: MendContext, couple: Couple, plan: Record, edited: str | None) -> None:
    """The plan as one message, pinned; the previous plan message unpinned."""
    services = context.mend
    locale = group_locale(services, couple)
    message = await say(
        context,
        couple.chat_id,
        locale,
        "plan/plan",
        buttons=_plan_buttons(context, couple, locale),
        updated=edited,
        thread_id=plan.get("thread"),
        **_plan_view(services, couple, plan, locale),
    )
    previous = plan.get("pinned_message")
    _update(services, couple.chat_id, {"pinned_message": message.message_id})
    try:
        await context.bot.pin_chat_message(
            couple.chat_id, message.message_id, disable_notification=True
        )
    except TelegramError:
        # Not allowed to pin here (a supergroup where the bot isn't an admin): just say so.
        await say(context, couple.chat_id, locale, "plan/pin_failed", thread_id=plan.get("thread"))
        return
    if previous and previous != message.message_id:
        with contextlib.suppress(TelegramError):
            await context.bot.unpin_chat_message(couple.chat_id, previous)


# -- buttons ---------------------------------------------------------------------------------


@partners_only
async def plan_button(update: Update, context: MendContext, couple: Couple) -> None:
    """Every /plan button; what it claims is checked against the plan as it stands now."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    services = context.mend
    locale = group_locale(services, couple)
    partner = couple.partner(user.id)
    assert partner is not None
    action, _, rest = query.data.removeprefix(P).partition(":")
    argument, _, extra = rest.partition(":")
    plan = _follow(services, couple.chat_id, update)
    step = {"freq": "checkins", "beh": "behaviours", "emo": "emotions", "visit": "visit"}.get(
        action
    )
    if step is not None:
        if not _at_step(plan, step):
            await query.answer(stale(context, locale), show_alert=True)
            return
        owner = _may_answer(couple, step, user.id)
        if owner is not None:
            await query.answer(
                services.render.label(locale, "alert.plan_not_yours", name=owner.name),
                show_alert=True,
            )
            return
        assert plan is not None
        await _step_button(update, context, couple, partner, plan, action, argument, extra)
    elif action == "edit" and argument in STEPS and plan and plan["state"] == "agreed":
        await query.answer()
        updated = _update(services, couple.chat_id, {"step": argument, "editing": True})
        assert updated is not None
        await _post_step(context, couple, updated)
    elif (
        action == "rev" and argument in ("keep", "change") and plan and (plan["state"] == "agreed")
    ):
        await query.answer()
        await clear_buttons(update)
        if argument == "keep":
            await say(
                context,
                couple.chat_id,
                locale,
                "plan/review_kept",
                name=user.first_name,
                thread_id=plan.get("thread"),
                **_plan_view(services, couple, plan, locale),
            )
        else:
            await _edit_menu(context, couple, None, plan.get("thread"))
    elif (
        action == "del"
        and argument in ("yes", "no")
        and plan
        and extra.isdigit()
        and (couple.is_partner(int(extra)))
    ):
        await _delete_button(update, context, couple, plan, argument, int(extra), locale)
    else:
        await query.answer(stale(context, locale), show_alert=True)


async def _step_button(
    update: Update,
    context: MendContext,
    couple: Couple,
    partner: Partner,
    plan: Record,
    action: str,
    argument: str,
    extra: str,
) -> None:
    query = update.callback_query
    assert query is not None
    services = context.mend
    locale = group_locale(services, couple)
    chat_id = couple.chat_id
    thread = plan.get("thread")
    if action == "freq" and argument in FREQUENCIES and not extra:
        await query.answer()
        await asks.ask(
            context,
            couple,
            partner,
            "plan_times",
            "plan/ask_times",
            in_chat=chat_id,
            thread_id=thread,
            payload={"frequency": argument},
            frequency=argument,
            zone=partner.timezone,
            typed=None,
        )
    elif action == "beh" and argument == "add" and not extra:
        await query.answer()
        await asks.ask(
            context,
            couple,
            partner,
            "plan_behaviour",
            "plan/ask_behaviour",
            in_chat=chat_id,
            thread_id=thread,
            limit=MAX_TEXT,
            too_long=None,
        )
    elif action == "beh" and argument == "done" and plan.get("behaviours") and not extra:
        await query.answer()
        await clear_buttons(update)
        await _next_step(context, couple, plan)
    elif action == "beh" and argument == "rm" and _index(extra, plan.get("behaviours", [])):
        await query.answer()
        await clear_buttons(update)
        entries = list(plan["behaviours"])
        del entries[int(extra)]
        updated = _update(services, chat_id, {"behaviours": entries})
        assert updated is not None
        await _post_step(context, couple, updated)
    elif action == "emo" and argument in EMOTIONS and not extra:
        await query.answer()
        chosen = list(plan.get("emotions", []))
        if argument in chosen:
            chosen.remove(argument)
        else:
            chosen = [key for key in EMOTIONS if key in chosen or key == argument]
        updated = _update(services, chat_id, {"emotions": chosen})
        assert updated is not None
        await _refresh_emotions(update, context, couple, updated, locale)
    elif action == "emo" and argument == "own" and not extra:
        await query.answer()
        await asks.ask(
            context,
            couple,
            partner,
            "plan_emotion",
            "plan/ask_emotion",
            in_chat=chat_id,
            thread_id=thread,
            limit=MAX_TEXT,
            too_long=None,
        )
    elif action == "emo" and argument == "rm" and _index(extra, plan.get("emotions_own", [])):
        await query.answer()
        own = list(plan["emotions_own"])
        del own[int(extra)]
        updated = _update(services, chat_id, {"emotions_own": own})
        assert updated is not None
        await _refresh_emotions(update, context, couple, updated, locale)
    elif (
        action == "emo"
        and argument == "done"
        and not extra
        and (plan.get("emotions") or plan.get("emotions_own"))
    ):
        await query.answer()
        await clear_buttons(update)
        await _next_step(context, couple, plan)
    elif action == "visit" and argument == "date" and not extra:
        await query.answer()
        await asks.ask(
            context,
            couple,
            partner,
            "plan_visit",
            "plan/ask_visit",
            in_chat=chat_id,
            thread_id=thread,
            zone=partner.timezone,
            typed=None,
        )
    elif action == "visit" and argument == "none" and not extra:
        await query.answer()
        await clear_buttons(update)
        updated = _update(services, chat_id, {"visit": "not_yet"})
        assert updated is not None
        await _next_step(context, couple, updated)
    else:
        await query.answer(stale(context, locale), show_alert=True)


def _index(text: str, entries: list[Any]) -> bool:
    return text.isdigit() and int(text) < len(entries)


async def _refresh_emotions(
    update: Update, context: MendContext, couple: Couple, plan: Record, locale: str
) -> None:
    """Show the choices made so far on the step's own message."""
    query = update.callback_query
    if query is None or query.message is None or not query.message.is_accessible:
        return
    services = context.mend
    html = services.render.message(
        locale,
        "plan/step_emotions",
        first=False,
        editing=bool(plan.get("editing")),
        number=STEPS.index("emotions") + 1,
        steps=len(STEPS),
        **_plan_view(services, couple, plan, locale),
    )
    markup = InlineKeyboardMarkup(_emotion_rows(context, locale, plan))
    with contextlib.suppress(TelegramError):  # "message is not modified" after a double tap
        await query.edit_message_text(html, reply_markup=markup)


async def _delete_button(
    update: Update,
    context: MendContext,
    couple: Couple,
    plan: Record,
    answer: str,
    asker: int,
    locale: str,
) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    services = context.mend
    if asker != user.id:
        await query.answer(
            services.render.label(locale, "alert.plan_delete_not_yours", name=_name(couple, asker)),
            show_alert=True,
        )
        return
    await query.answer()
    await clear_buttons(update)
    if answer == "no":
        await say(context, couple.chat_id, locale, "plan/delete_kept", thread_id=plan.get("thread"))
        return
    services.timers.cancel_kind(couple.chat_id, REVIEW)
    with services.store.transaction(couple.chat_id) as tx:
        tx.table(PLAN_TABLE).clear()
    if plan.get("pinned_message"):
        with contextlib.suppress(TelegramError):
            await context.bot.unpin_chat_message(couple.chat_id, plan["pinned_message"])
    await say(
        context,
        couple.chat_id,
        locale,
        "plan/deleted",
        name=user.first_name,
        thread_id=plan.get("thread"),
    )


# -- answers to the questions ----------------------------------------------------------------


async def _moved_on(context: MendContext, couple: Couple, update: Update) -> None:
    await say(
        context,
        couple.chat_id,
        group_locale(context.mend, couple),
        "plan/moved_on",
        thread_id=thread_of(update),
    )


async def times_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """Check-in times, typed in the answering partner's zone."""
    services, couple, partner = context.mend, answer.couple, answer.partner
    plan = _follow(services, couple.chat_id, update)
    if not _at_step(plan, "checkins"):
        await _moved_on(context, couple, update)
        return
    assert plan is not None
    frequency = str(answer.payload.get("frequency"))
    parsed = read_times_and_days(answer.text)
    if parsed is not None and parsed[1]:
        frequency = "weekly"  # days were named, so it's certain days
    if (
        parsed is None
        or frequency not in FREQUENCIES
        or (frequency == "weekly" and not parsed[1])
        or len(parsed[0]) > (MAX_WEEKLY_TIMES if frequency == "weekly" else MAX_TIMES_A_DAY)
    ):
        await asks.ask(
            context,
            couple,
            partner,
            "plan_times",
            "plan/ask_times",
            in_chat=couple.chat_id,
            thread_id=plan.get("thread"),
            payload={"frequency": frequency},
            frequency=frequency,
            zone=partner.timezone,
            typed=answer.text[:40],
        )
        return
    times, days = parsed
    weekdays: list[int | None] = [*days] if days else [None]
    slots = [{"at": at, "weekday": day} for day in weekdays for at in times]
    updated = _update(
        services,
        couple.chat_id,
        {
            "frequency": frequency,
            "times": slots,
            "zone": partner.timezone,
            "times_by": partner.user_id,
        },
    )
    assert updated is not None
    await _next_step(context, couple, updated)
    if frequency == "daily" and len(times) >= CRUTCH_TIMES_A_DAY:
        await repair_track.note_pitfall(context, couple, "crutch", thread=updated.get("thread"))


async def _free_text(
    update: Update,
    context: MendContext,
    answer: asks.Answer,
    step: str,
    field: str,
    kind: str,
    template: str,
    most: int,
) -> None:
    """A change or own words for hard moments: kept, and the step shown again."""
    services, couple, partner = context.mend, answer.couple, answer.partner
    plan = _follow(services, couple.chat_id, update)
    if not _at_step(plan, step) or _may_answer(couple, step, partner.user_id) is not None:
        await _moved_on(context, couple, update)
        return
    assert plan is not None
    thread = plan.get("thread")
    text = " ".join(answer.text.split())
    if boundaries.asks_for_surveillance(text):
        await say(
            context,
            couple.chat_id,
            group_locale(services, couple),
            "boundaries/not_surveillance",
            thread_id=thread,
            name=partner.name,
        )
        return
    if len(text) > MAX_TEXT:
        await asks.ask(
            context,
            couple,
            partner,
            kind,
            template,
            in_chat=couple.chat_id,
            thread_id=thread,
            limit=MAX_TEXT,
            too_long=len(text),
        )
        return
    entries = list(plan.get(field, []))
    if len(entries) >= most:
        await _post_step(context, couple, plan)
        return
    entries.append({"text": text, "by": partner.user_id})
    updated = _update(services, couple.chat_id, {field: entries})
    assert updated is not None
    await _post_step(context, couple, updated)
    await repair_track.check_text(context, couple, text, thread)


async def behaviour_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    await _free_text(
        update,
        context,
        answer,
        "behaviours",
        "behaviours",
        "plan_behaviour",
        "plan/ask_behaviour",
        MAX_BEHAVIOURS,
    )


async def emotion_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    await _free_text(
        update,
        context,
        answer,
        "emotions",
        "emotions_own",
        "plan_emotion",
        "plan/ask_emotion",
        MAX_OWN,
    )


async def visit_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """The next visit's date, read in the answering partner's zone."""
    services, couple, partner = context.mend, answer.couple, answer.partner
    plan = _follow(services, couple.chat_id, update)
    if not _at_step(plan, "visit"):
        await _moved_on(context, couple, update)
        return
    assert plan is not None
    today = utcnow().astimezone(zone(partner.timezone)).date()
    day = read_date(answer.text, today)
    if day is None or day < today or (day - today).days > VISIT_AHEAD_DAYS:
        await asks.ask(
            context,
            couple,
            partner,
            "plan_visit",
            "plan/ask_visit",
            in_chat=couple.chat_id,
            thread_id=plan.get("thread"),
            zone=partner.timezone,
            typed=answer.text[:40],
        )
        return
    updated = _update(services, couple.chat_id, {"visit": day.isoformat()})
    assert updated is not None
    await _next_step(context, couple, updated)


# -- the monthly review ----------------------------------------------------------------------


def next_review(anchor: datetime, after: datetime) -> datetime:
    """The first whole month after `anchor` that comes after `after`."""
    months = 1
    while (due := add_months(anchor, months)) <= after:
        months += 1
    return due


def schedule_review(timers: Timers, chat_id: int, plan: Record) -> None:
    anchor = from_iso(plan.get("review_anchor")) or utcnow()
    timers.cancel_kind(chat_id, REVIEW)
    timers.schedule(chat_id, REVIEW, next_review(anchor, utcnow()))


async def review_due(context: MendContext, fired: Fired) -> None:
    """A month has passed: what to keep, what to change; and the next review planned."""
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    plan = current_plan(services, fired.chat_id)
    if couple is None or couple.status != "active" or plan is None or plan["state"] != "agreed":
        return
    anchor = from_iso(plan.get("review_anchor")) or fired.due
    services.timers.schedule(fired.chat_id, REVIEW, next_review(anchor, max(fired.due, utcnow())))
    locale = group_locale(services, couple)
    label = services.render.label
    rows = [
        [
            button(label(locale, "plan.review_keep"), f"{P}rev:keep"),
            button(label(locale, "plan.review_change"), f"{P}rev:change"),
        ]
    ]
    months = _months_between(anchor, fired.due)
    await say(
        context,
        couple.chat_id,
        locale,
        "plan/review",
        buttons=rows,
        months=months,
        thread_id=plan.get("thread"),
        **_plan_view(services, couple, plan, locale),
    )


def _months_between(start: datetime, end: datetime) -> int:
    months = 0
    while add_months(start, months + 1) <= end:
        months += 1
    return max(months, 1)


def reconcile_reviews(timers: Timers, couple: Couple) -> None:
    """At start-up: an agreed plan always has its next monthly review (one missed during
    downtime is dropped, not replayed, and the series goes on)."""
    records = timers.store.records(couple.chat_id, PLAN_TABLE)
    if records and records[0]["state"] == "agreed" and not timers.pending(couple.chat_id, REVIEW):
        schedule_review(timers, couple.chat_id, records[0])


# -- wiring ----------------------------------------------------------------------------------


def export(services: Services, couple: Couple, user_id: int) -> dict[str, Any] | None:
    """The couple's shared plan: both partners wrote it in the group, so both get it whole."""
    plan = current_plan(services, couple.chat_id)
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


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("plan", "together"))
    # A review missed during downtime is dropped; reconcile_reviews plans the next one.
    services.timers.register(REVIEW, review_due, quiet=True)
    services.timers.reconcile_with(reconcile_reviews)
    services.exporters["plan"] = export
    asks.on_answer("plan_times", times_answer)
    asks.on_answer("plan_behaviour", behaviour_answer)
    asks.on_answer("plan_emotion", emotion_answer)
    asks.on_answer("plan_visit", visit_answer)
    app.add_handler(CommandHandler("plan", plan_command))
    app.add_handler(CallbackQueryHandler(plan_button, pattern=f"^{P}"))
