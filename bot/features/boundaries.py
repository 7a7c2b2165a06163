"""/boundaries: temporary scaffolds, each with a review date, and the review itself.

A boundary is one of the guide's first-month suggestions (daily check-ins at agreed times,
openness about new close friendships, nothing deleted or hidden) or the couple's own words. It
always has a review date: one month is pencilled in when it is added, and the couple can pick
2 weeks, 1 month, 3 months or type a date. At the review each partner chooses keep, loosen or
end; a boundary ends only when both choose to end it, otherwise the more careful of the two
choices holds (keep before loosen before end). Ending one because it is no longer needed is a
milestone.

Transparency, never surveillance: a boundary that asks for someone's location, passwords or
messages is not added; the couple is told why, kindly.

The infidelity track's timeline back to autonomy is made of boundaries too ("stages"), and its
no-contact agreement is a suggestion here; repair_track.py names those entry points.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import asks
from bot.context import Command, MendContext, Services
from bot.couples import group_locale
from bot.dates import add_months
from bot.features import repair_track
from bot.features.repair_track import local_moments, note_pitfall, stale
from bot.guards import partners_only
from bot.messages import Buttons, button, clear_buttons, reply, say, thread_of
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.reading import read_date
from bot.render import zone
from bot.storage import Record
from bot.timers import Fired
from bot.when import local_to_utc

BOUNDARIES_TABLE = "boundaries"
REVIEW = "boundary_review"
B = "bnd:"
SUGGESTIONS = ("checkins", "friendships", "no_hiding")  # the guide's first-month scaffolds
NO_CONTACT = "no_contact"  # offered on the infidelity track
KNOWN_SUGGESTIONS = (*SUGGESTIONS, NO_CONTACT)
CHOICES = ("keep", "loosen", "end")  # the most careful first
DATE_CHOICES = ("2w", "1m", "3m", "typed")
# Kept small enough that the whole list always fits in one Telegram message.
MAX_ACTIVE = 10
MAX_TEXT = 160
REVIEW_AT = time(19, 0)  # a typed review day is reviewed in the evening of whoever typed it
REVIEW_LATE_LIMIT = timedelta(days=30)
MAX_AHEAD = timedelta(days=366)
# Pitfall thresholds.
FAR_REVIEW = timedelta(days=120)  # a review this far off starts to look like a rule with no end
KEPT_TOO_OFTEN = 3  # kept at this many reviews in a row
ONE_SIDED = 4  # one partner added this many of the active boundaries, the other at most one
EARLY_DAYS = 28  # ending every boundary within the first four weeks


# -- surveillance is never a boundary --------------------------------------------------------

_SURVEILLANCE = re.compile(
    r"\blocat(e|ion|ing)|\bgps\b|find\s*my|live\s*location|\btrack(ing|er)\b"
    r"|\btrack\s+(my|your|his|her|their|each\s+other)"
    r"|pass\s*(word|code)|pin\s*code|\bunlock"
    r"|\b(read|check|see|go(ing)?\s+through|look(ing)?\s+at|access)\w*\s+"
    r"(all\s+|each\s+other'?s?\s+|my\s+|your\s+|his\s+|her\s+|their\s+|the\s+|our\s+)?"
    r"(phones?|messages?|chats?|texts?|dms?|e-?mails?|inbox|accounts?|whatsapp)"
    r"|\bspy|\bmonitor|screen\s*time|screenshots?"
    r"|standort|ortung|\borten\b|passw|kennw|entsperr|handy\s+(kontroll|durchsuch|check)"
    r"|(nachrichten|chats|mails|handy)\s+(lesen|kontrollieren|durchsehen|checken|durchsuchen)"
    r"|überwach|spionier",
    re.IGNORECASE,
)


def asks_for_surveillance(text: str) -> bool:
    """Location, passwords, reading messages: policing, not transparency."""
    return _SURVEILLANCE.search(text) is not None


# -- storage ---------------------------------------------------------------------------------


def all_boundaries(services: Services, chat_id: int) -> list[Record]:
    return sorted(services.store.records(chat_id, BOUNDARIES_TABLE), key=lambda r: r["id"])


def _live(records: list[Record]) -> list[Record]:
    return [r for r in records if r["state"] in ("active", "reviewing")]


def _get(services: Services, chat_id: int, boundary_id: str) -> Record | None:
    if not boundary_id.isdigit():
        return None
    return next((r for r in all_boundaries(services, chat_id) if r["id"] == int(boundary_id)), None)


def _update(services: Services, chat_id: int, boundary_id: int, fields: Record) -> Record:
    with services.store.transaction(chat_id) as tx:
        table = tx.table(BOUNDARIES_TABLE)
        table.update(boundary_id, fields)
        record = table.get(boundary_id)
    assert record is not None
    return record


def _here(services: Services, couple: Couple, record: Record, update: Update) -> Record:
    """Messages about a boundary follow the forum topic where it was last talked about."""
    thread = thread_of(update)
    if record.get("thread") == thread:
        return record
    return _update(services, couple.chat_id, record["id"], {"thread": thread})


def _schedule_review(services: Services, couple: Couple, record: Record, due: datetime) -> Record:
    """(Re)set a boundary's review date: one pending timer per boundary."""
    timers = services.timers
    if record.get("timer") is not None:
        timers.cancel(couple.chat_id, record["timer"])
    timer_id = timers.schedule(couple.chat_id, REVIEW, due, payload={"boundary": record["id"]})
    return _update(
        services, couple.chat_id, record["id"], {"review_at": to_iso(due), "timer": timer_id}
    )


def _name(couple: Couple, user_id: int | None) -> str:
    partner = couple.partner(user_id) if user_id is not None else None
    return partner.name if partner else "?"


def _view(services: Services, couple: Couple, record: Record, locale: str) -> dict[str, Any]:
    """What a template needs to show one boundary, its review date in each partner's zone."""
    suggestion = record.get("suggestion")
    review_at = from_iso(record.get("review_at"))
    days = (
        {review_at.astimezone(zone(p.timezone)).date() for p in couple.partners}
        if (review_at)
        else set()
    )
    return {
        "id": record["id"],
        "text": record.get("text"),
        "suggestion": suggestion,
        "title": services.render.label(locale, f"boundaries.suggestion_{suggestion}")
        if suggestion
        else None,
        "source": record["source"],
        "stage": record.get("stage"),
        "by": _name(couple, record.get("by")),
        "state": record["state"],
        "loosened": record.get("loosened", 0),
        "review": local_moments(couple, review_at) if review_at else [],
        "same_day": len(days) <= 1,  # the review falls on the same date for both
    }


def _short(view: dict[str, Any], limit: int = 36) -> str:
    text = str(view["title"] or view["text"] or "")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- listing ---------------------------------------------------------------------------------


@partners_only
async def boundaries_command(update: Update, context: MendContext, couple: Couple) -> None:
    """/boundaries, /boundaries add <own words>."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    if not args:
        await show_list(context, couple, update)
        return
    if args[0].lower() in ("add", "neu", "new") and len(args) > 1:
        user = update.effective_user
        assert user is not None
        await add(
            context, couple, user.id, "own", text=" ".join(args[1:]), thread=thread_of(update)
        )
        return
    await reply(update, context, group_locale(context.mend, couple), "boundaries/usage")


async def show_list(
    context: MendContext, couple: Couple, update: Update | None = None, thread: int | None = None
) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    label = services.render.label
    records = all_boundaries(services, couple.chat_id)
    live = [_view(services, couple, r, locale) for r in _live(records)]
    boundaries = [v for v in live if v["source"] != "stage"]
    stages = [v for v in live if v["source"] == "stage"]
    ended = [r for r in records if r["state"] == "ended"]
    taken = {v["suggestion"] for v in live}
    infidelity = repair_track.track_kind(services.store, couple.chat_id) == "infidelity"
    offered = [s for s in (*SUGGESTIONS, *((NO_CONTACT,) if infidelity else ())) if s not in taken]
    rows: list[list[Any]] = []
    if len(live) < MAX_ACTIVE:
        rows.extend([button(label(locale, f"boundaries.add_{s}"), f"{B}sug:{s}")] for s in offered)
        rows.append([button(label(locale, "boundaries.add_own"), f"{B}own")])
        if infidelity:
            rows.append([button(label(locale, "repair.add_stage"), repair_track.ADD_STAGE)])
    rows.extend(
        [button(label(locale, "boundaries.review_now", what=_short(v)), f"{B}review:{v['id']}")]
        for v in live
    )
    data: dict[str, Any] = {
        "boundaries": boundaries,
        "stages": stages,
        "ended": len(ended),
        "ended_stages": sum(1 for r in ended if r["source"] == "stage"),
        "infidelity": infidelity,
    }
    if update is not None:
        await reply(update, context, locale, "boundaries/list", buttons=rows, **data)
    else:
        await say(
            context,
            couple.chat_id,
            locale,
            "boundaries/list",
            buttons=rows,
            thread_id=thread,
            **data,
        )


# -- adding ----------------------------------------------------------------------------------


async def add(
    context: MendContext,
    couple: Couple,
    user_id: int,
    source: str,
    *,
    text: str | None = None,
    suggestion: str | None = None,
    thread: int | None = None,
) -> Record | None:
    """Add a boundary (or a timeline stage) with a pencilled-in review date in one month."""
    services = context.mend
    locale = group_locale(services, couple)
    chat_id = couple.chat_id
    if text is not None:
        text = " ".join(text.split())
        if asks_for_surveillance(text):
            await say(
                context,
                chat_id,
                locale,
                "boundaries/not_surveillance",
                thread_id=thread,
                name=_name(couple, user_id),
            )
            return None
        if not text or len(text) > MAX_TEXT:
            await say(
                context,
                chat_id,
                locale,
                "boundaries/too_long",
                thread_id=thread,
                limit=MAX_TEXT,
                length=len(text),
            )
            return None
    records = all_boundaries(services, chat_id)
    live = _live(records)
    if len(live) >= MAX_ACTIVE:
        await say(context, chat_id, locale, "boundaries/full", thread_id=thread, limit=MAX_ACTIVE)
        return None
    if suggestion is not None and any(r.get("suggestion") == suggestion for r in live):
        await show_list(context, couple, thread=thread)
        return None
    now = utcnow()
    stage = None
    if source == "stage":
        stage = 1 + sum(1 for r in records if r["source"] == "stage")
    with services.store.transaction(chat_id) as tx:
        boundary_id = tx.table(BOUNDARIES_TABLE).insert(
            {
                "text": text,
                "suggestion": suggestion,
                "source": source,
                "stage": stage,
                "by": user_id,
                "added_at": to_iso(now),
                "review_at": None,
                "timer": None,
                "state": "active",
                "choices": {},
                "kept_in_row": 0,
                "loosened": 0,
                "review_message": None,
                "ended_at": None,
                "thread": thread,
            }
        )
        record = tx.table(BOUNDARIES_TABLE).get(boundary_id)
    assert record is not None
    record = _schedule_review(services, couple, record, add_months(now, 1))
    await say(
        context,
        chat_id,
        locale,
        "boundaries/added",
        buttons=_date_buttons(context, locale, record["id"]),
        thread_id=thread,
        boundary=_view(services, couple, record, locale),
    )
    if text is not None:
        await repair_track.check_text(context, couple, text, thread)
    await _check_one_sided(context, couple, thread)
    return record


async def _check_one_sided(context: MendContext, couple: Couple, thread: int | None) -> None:
    """Many boundaries from one partner can turn repair into punishment."""
    live = [
        r
        for r in _live(all_boundaries(context.mend, couple.chat_id))
        if r["source"] in ("suggested", "own")
    ]
    for partner in couple.partners:
        mine = sum(1 for r in live if r.get("by") == partner.user_id)
        if mine >= ONE_SIDED and len(live) - mine <= 1:
            await note_pitfall(
                context, couple, "punishment", thread=thread, reason="one_sided", name=partner.name
            )
            return


def _date_buttons(context: MendContext, locale: str, boundary_id: int) -> Buttons:
    label = context.mend.render.label
    return [
        [
            button(label(locale, f"boundaries.date_{c}"), f"{B}date:{boundary_id}:{c}")
            for c in DATE_CHOICES[:3]
        ],
        [button(label(locale, "boundaries.date_typed"), f"{B}date:{boundary_id}:typed")],
    ]


async def text_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """Own words for a boundary or a stage, answered to the question."""
    source = answer.payload.get("source")
    if source not in ("own", "stage"):
        return
    await add(
        context,
        answer.couple,
        answer.partner.user_id,
        str(source),
        text=answer.text,
        thread=thread_of(update),
    )


# -- review dates ----------------------------------------------------------------------------


async def _choose_date(
    update: Update, context: MendContext, couple: Couple, record: Record, choice: str, locale: str
) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    partner = couple.partner(user.id)
    assert partner is not None
    await query.answer()
    if choice == "typed":
        await asks.ask(
            context,
            couple,
            partner,
            "bnd_date",
            "boundaries/ask_date",
            in_chat=couple.chat_id,
            thread_id=record.get("thread"),
            payload={"boundary": record["id"]},
            boundary=_view(context.mend, couple, record, locale),
            zone=partner.timezone,
            typed=None,
        )
        return
    await clear_buttons(update)
    now = utcnow()
    due = {"2w": now + timedelta(days=14), "1m": add_months(now, 1), "3m": add_months(now, 3)}[
        choice
    ]
    await _set_date(context, couple, record, due, partner)


async def date_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A typed review date: read in the typing partner's zone, reviewed that evening."""
    services, couple, partner = context.mend, answer.couple, answer.partner
    record = _get(services, couple.chat_id, str(answer.payload.get("boundary", "")))
    locale = group_locale(services, couple)
    if record is None or record["state"] != "active":
        await say(
            context, couple.chat_id, locale, "boundaries/moved_on", thread_id=thread_of(update)
        )
        return
    record = _here(services, couple, record, update)
    now = utcnow()
    today = now.astimezone(zone(partner.timezone)).date()
    day = read_date(answer.text, today)
    due = _evening(day, partner) if day is not None else None
    if due is None or due <= now or due - now > MAX_AHEAD:
        await asks.ask(
            context,
            couple,
            partner,
            "bnd_date",
            "boundaries/ask_date",
            in_chat=couple.chat_id,
            thread_id=record.get("thread"),
            payload={"boundary": record["id"]},
            boundary=_view(services, couple, record, locale),
            zone=partner.timezone,
            typed=answer.text[:40],
        )
        return
    await _set_date(context, couple, record, due, partner)
    if due - now > FAR_REVIEW:
        await note_pitfall(
            context,
            couple,
            "punishment",
            thread=record.get("thread"),
            reason="far",
            name=partner.name,
        )


def _evening(day: date, partner: Partner) -> datetime:
    return local_to_utc(datetime.combine(day, REVIEW_AT), REVIEW_AT, partner.timezone)


async def _set_date(
    context: MendContext, couple: Couple, record: Record, due: datetime, partner: Partner
) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    record = _schedule_review(services, couple, record, due)
    await say(
        context,
        couple.chat_id,
        locale,
        "boundaries/date_set",
        name=partner.name,
        thread_id=record.get("thread"),
        boundary=_view(services, couple, record, locale),
    )


# -- the review ------------------------------------------------------------------------------


async def review_due(context: MendContext, fired: Fired) -> None:
    """A boundary's review date: each partner chooses keep, loosen or end."""
    services = context.mend
    couple = services.store.couple(fired.chat_id)
    if couple is None or couple.status != "active":
        return
    record = _get(services, fired.chat_id, str(fired.payload.get("boundary", "")))
    if record is None or record["state"] != "active" or record.get("timer") != fired.timer_id:
        return
    await _open_review(context, couple, record, late=fired.late)


async def _open_review(
    context: MendContext,
    couple: Couple,
    record: Record,
    *,
    late: bool = False,
    asked_by: str | None = None,
) -> None:
    services = context.mend
    locale = group_locale(services, couple)
    if record.get("timer") is not None:
        services.timers.cancel(couple.chat_id, record["timer"])
    # Asked again while a review is open: the choices made so far stay.
    choices = record.get("choices", {}) if record["state"] == "reviewing" else {}
    record = _update(
        services,
        couple.chat_id,
        record["id"],
        {"state": "reviewing", "choices": choices, "timer": None},
    )
    message = await say(
        context,
        couple.chat_id,
        locale,
        "boundaries/review",
        buttons=_choice_buttons(context, locale, record["id"]),
        thread_id=record.get("thread"),
        **_review_data(services, couple, record, locale, late, asked_by),
    )
    _update(services, couple.chat_id, record["id"], {"review_message": message.message_id})


def _review_data(
    services: Services,
    couple: Couple,
    record: Record,
    locale: str,
    late: bool,
    asked_by: str | None,
) -> dict[str, Any]:
    chosen = record.get("choices", {})
    return {
        "boundary": _view(services, couple, record, locale),
        "added_at": from_iso(record["added_at"]),
        "late": late,
        "asked_by": asked_by,
        "chosen": [p.name for p in couple.partners if str(p.user_id) in chosen],
        "waiting": [p.name for p in couple.partners if str(p.user_id) not in chosen],
    }


def _choice_buttons(context: MendContext, locale: str, boundary_id: int) -> Buttons:
    label = context.mend.render.label
    return [
        [
            button(label(locale, f"boundaries.choice_{c}"), f"{B}choose:{boundary_id}:{c}")
            for c in CHOICES
        ]
    ]


async def _choose(
    update: Update, context: MendContext, couple: Couple, record: Record, choice: str, locale: str
) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    services = context.mend
    choices = {**record.get("choices", {}), str(user.id): choice}
    record = _update(services, couple.chat_id, record["id"], {"choices": choices})
    label = services.render.label(
        locale,
        "alert.boundaries_noted",
        choice=services.render.label(locale, f"boundaries.choice_{choice}"),
    )
    await query.answer(label)
    if not all(str(p.user_id) in choices for p in couple.partners):
        if query.message is not None and query.message.is_accessible:
            html = services.render.message(
                locale,
                "boundaries/review",
                **_review_data(services, couple, record, locale, False, None),
            )
            markup = InlineKeyboardMarkup(_choice_buttons(context, locale, record["id"]))
            with contextlib.suppress(BadRequest):  # the same choice tapped twice: no change
                await query.edit_message_text(html, reply_markup=markup)
        return
    await clear_buttons(update)
    await _outcome(context, couple, record, choices, locale)


async def _outcome(
    context: MendContext, couple: Couple, record: Record, choices: dict[str, str], locale: str
) -> None:
    """Both have chosen: it ends only if both chose end; otherwise the more careful choice."""
    services = context.mend
    result = min(choices.values(), key=CHOICES.index)
    now = utcnow()
    shown = [
        {
            "name": p.name,
            "choice": services.render.label(locale, f"boundaries.choice_{choices[str(p.user_id)]}"),
        }
        for p in couple.partners
    ]
    if result == "end":
        record = _update(
            services,
            couple.chat_id,
            record["id"],
            {"state": "ended", "ended_at": to_iso(now), "choices": {}},
        )
        await say(
            context,
            couple.chat_id,
            locale,
            "boundaries/outcome",
            result=result,
            thread_id=record.get("thread"),
            choices=shown,
            boundary=_view(services, couple, record, locale),
        )
        await _check_early_end(context, couple, record.get("thread"))
        return
    kept_in_row = record.get("kept_in_row", 0) + 1 if result == "keep" else 0
    record = _update(
        services,
        couple.chat_id,
        record["id"],
        {
            "state": "active",
            "choices": {},
            "kept_in_row": kept_in_row,
            "loosened": record.get("loosened", 0) + (result == "loosen"),
        },
    )
    record = _schedule_review(services, couple, record, add_months(now, 1))
    rows = list(_date_buttons(context, locale, record["id"]))
    if result == "loosen":
        rows.insert(
            0,
            [
                button(
                    services.render.label(locale, "boundaries.reword"), f"{B}reword:{record['id']}"
                )
            ],
        )
    await say(
        context,
        couple.chat_id,
        locale,
        "boundaries/outcome",
        buttons=rows,
        result=result,
        thread_id=record.get("thread"),
        choices=shown,
        boundary=_view(services, couple, record, locale),
    )
    if kept_in_row >= KEPT_TOO_OFTEN:
        await note_pitfall(
            context,
            couple,
            "punishment",
            thread=record.get("thread"),
            reason="kept",
            name=_name(couple, record.get("by")),
        )


async def _check_early_end(context: MendContext, couple: Couple, thread: int | None) -> None:
    """Every scaffold gone within the first weeks: perhaps a little fast."""
    if couple.setup_completed_at is None:
        return
    if utcnow() - couple.setup_completed_at > timedelta(days=EARLY_DAYS):
        return
    if not _live(all_boundaries(context.mend, couple.chat_id)):
        await note_pitfall(context, couple, "too_fast", thread=thread)


async def reword_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """The looser wording of a boundary."""
    services, couple = context.mend, answer.couple
    locale = group_locale(services, couple)
    record = _get(services, couple.chat_id, str(answer.payload.get("boundary", "")))
    thread = thread_of(update)
    if record is None or record["state"] != "active":
        await say(context, couple.chat_id, locale, "boundaries/moved_on", thread_id=thread)
        return
    text = " ".join(answer.text.split())
    if asks_for_surveillance(text):
        await say(
            context,
            couple.chat_id,
            locale,
            "boundaries/not_surveillance",
            thread_id=thread,
            name=answer.partner.name,
        )
        return
    if not text or len(text) > MAX_TEXT:
        await say(
            context,
            couple.chat_id,
            locale,
            "boundaries/too_long",
            thread_id=thread,
            limit=MAX_TEXT,
            length=len(text),
        )
        return
    record = _update(
        services, couple.chat_id, record["id"], {"text": text, "suggestion": None, "thread": thread}
    )
    await say(
        context,
        couple.chat_id,
        locale,
        "boundaries/reworded",
        name=answer.partner.name,
        thread_id=thread,
        boundary=_view(services, couple, record, locale),
    )
    await repair_track.check_text(context, couple, text, thread)


# -- buttons ---------------------------------------------------------------------------------


@partners_only
async def boundary_button(update: Update, context: MendContext, couple: Couple) -> None:
    """Every /boundaries button; the data is checked against this couple's current state."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    services = context.mend
    locale = group_locale(services, couple)
    partner = couple.partner(user.id)
    assert partner is not None
    action, _, rest = query.data.removeprefix(B).partition(":")
    target, _, choice = rest.partition(":")
    thread = thread_of(update)
    if action == "list" and not rest:
        await query.answer()
        await show_list(context, couple, update)
        return
    if action == "sug" and target in KNOWN_SUGGESTIONS and not choice:
        await query.answer()
        await add(context, couple, user.id, "suggested", suggestion=target, thread=thread)
        return
    if action in ("own", "stage") and not rest:
        await query.answer()
        await asks.ask(
            context,
            couple,
            partner,
            "bnd_text",
            f"boundaries/ask_{action}",
            in_chat=couple.chat_id,
            thread_id=thread,
            payload={"source": action},
        )
        return
    record = _get(services, couple.chat_id, target)
    if record is None:
        await query.answer(stale(context, locale), show_alert=True)
        return
    record = _here(services, couple, record, update)
    if action == "date" and choice in DATE_CHOICES and record["state"] == "active":
        await _choose_date(update, context, couple, record, choice, locale)
    elif action == "review" and not choice and record["state"] in ("active", "reviewing"):
        await query.answer()
        await _open_review(context, couple, record, asked_by=partner.name)
    elif action == "choose" and choice in CHOICES and record["state"] == "reviewing":
        await _choose(update, context, couple, record, choice, locale)
    elif action == "reword" and not choice and record["state"] == "active":
        await query.answer()
        await asks.ask(
            context,
            couple,
            partner,
            "bnd_reword",
            "boundaries/ask_reword",
            in_chat=couple.chat_id,
            thread_id=thread,
            payload={"boundary": record["id"]},
            boundary=_view(services, couple, record, locale),
        )
    else:
        await query.answer(stale(context, locale), show_alert=True)


# -- wiring ----------------------------------------------------------------------------------


def export(services: Services, couple: Couple, user_id: int) -> list[dict[str, Any]]:
    """The couple's boundaries: shared agreements, so both partners get all of them."""
    return [
        {
            k: r.get(k)
            for k in (
                "text",
                "suggestion",
                "source",
                "stage",
                "added_at",
                "review_at",
                "state",
                "ended_at",
                "loosened",
            )
        }
        | {"added_by_you": r.get("by") == user_id}
        for r in all_boundaries(services, couple.chat_id)
    ]


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("boundaries", "together"))
    services.timers.register(REVIEW, review_due, late_limit=REVIEW_LATE_LIMIT, quiet=True)
    services.exporters["boundaries"] = export
    asks.on_answer("bnd_text", text_answer)
    asks.on_answer("bnd_date", date_answer)
    asks.on_answer("bnd_reword", reword_answer)
    app.add_handler(CommandHandler("boundaries", boundaries_command))
    app.add_handler(CallbackQueryHandler(boundary_button, pattern=f"^{B}"))
