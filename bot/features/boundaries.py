"""/boundaries: temporary scaffolds, each with a review date, and the review itself.

A boundary is one of the guide's first-month suggestions (daily check-ins at agreed times,
openness about new close friendships, nothing deleted or hidden) or the couple's own words. It
always has a review date: one month is pencilled in when it is added, and the couple can pick
2 weeks, 1 month, 3 months or type a date.

What binds both needs both (bot.consent): one partner proposes a boundary and says whom it asks
something of (the other, themselves, or both); it applies only once the other partner agrees, and
a "not like this" closes it kindly. A lighter wording after a review is proposed the same way.

At the review each partner chooses keep, loosen or end. The partner a boundary asks something of
ends it with their own choice, whatever the other chooses, and can bring its review forward from
the list at any time; otherwise it ends when both choose to end it, and the more careful of the
two choices holds (keep before loosen before end). Ending one because it is no longer needed is a
milestone. Boundaries from before proposals stay as they were agreed then, and bind both.

Transparency, never surveillance, and care, never control: a boundary that asks for someone's
location, passwords or messages, or that would isolate or control one partner (never going out,
answering within minutes, money, clothes, sex), is not added; the couple is told why, kindly
(bot/transparency.py).

The infidelity track's timeline back to autonomy is made of boundaries too ("stages"), and its
no-contact agreement is a suggestion here: the track asks for them with the events
"track.add_stage", "track.no_contact" and "track.timeline".

The conversations are flows (bot.flows):
- LIST: the list and its buttons, a menu that stays (the newest list is the one that answers):
  add a suggestion, ask for own words, review one now.
- BOUNDARY: one boundary being proposed: the partner's own words (asked of them; surveillance,
  control or an over-long text is refused kindly), whom it asks something of, the other
  partner's yes or "not like this", then when to look at it again (2 weeks, 1 month, 3 months,
  or a date typed beside those buttons). A lighter wording proposed after a review waits for
  the other's yes in a run of its own ("reworded").
- REVIEW: the review, both partners choosing on one message, then the outcome with the next
  review date (and, after a loosening, a lighter wording typed beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, NotRequired, TypedDict

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import asks
from bot.consent import proposal
from bot.context import Command, MendContext, Services
from bot.couples import group_locale
from bot.dates import add_months
from bot.flows import STAY, Flow, Option, Rows, Run, Step, Turn, Unreadable, runner_of
from bot.guards import Asked, partners_only
from bot.messages import group_message, reply
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.outbox import GROUP
from bot.reading import read_date
from bot.render import shorten, zone
from bot.storage import Kind, Transaction
from bot.timers import Fired
from bot.transparency import declined
from bot.when import local_moments, local_to_utc


class Boundary(TypedDict):
    """A boundary (or a stage of the infidelity track's timeline) and its reviews."""

    id: NotRequired[int]
    text: str | None  # the couple's own words (None: a suggestion's)
    suggestion: str | None  # one of KNOWN_SUGGESTIONS
    source: str  # "suggested", "own" or "stage"
    stage: int | None  # a stage's number on the timeline
    by: int  # who proposed it
    # Whom it asks something of (each may end it at a review on their own), and who agreed to
    # it; boundaries from before proposals lack both: they bind both partners.
    binds: NotRequired[list[int]]
    agreed_by: NotRequired[int | None]
    added_at: str | None
    review_at: str | None
    timer: int | None  # its review timer
    state: str  # "active", "reviewing" or "ended"
    kept_in_row: int  # reviews in a row that kept it as it is
    loosened: int  # how often a review loosened it
    ended_at: str | None
    # Choices of a review left open before reviews were flows (now kept with the run).
    choices: NotRequired[dict[str, str]]
    # Written before reviews were flows and no longer read.
    review_message: NotRequired[int | None]
    thread: NotRequired[int | None]


BOUNDARIES_TABLE = Kind[Boundary]("boundaries")
REVIEW = "boundary_review"
SUGGESTIONS = ("checkins", "friendships", "no_hiding")  # the guide's first-month scaffolds
NO_CONTACT = "no_contact"  # offered on the infidelity track
KNOWN_SUGGESTIONS = (*SUGGESTIONS, NO_CONTACT)
CHOICES = ("keep", "loosen", "end")  # the most careful first
DATE_CHOICES = ("2w", "1m", "3m")
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

LIST_FLOW = "boundaries"
BOUNDARY_FLOW = "boundary"
REVIEW_FLOW = "boundary_review"
# Questions asked before the flows, whose late answers are told the boundary moved on.
OLD_QUESTIONS = ("bnd_text", "bnd_date", "bnd_reword")

Events = list[tuple[str, dict[str, Any]]]


# -- storage ---------------------------------------------------------------------------------


def all_boundaries(services: Services, chat_id: int) -> list[Boundary]:
    return sorted(services.store.records(chat_id, BOUNDARIES_TABLE), key=lambda r: r["id"])


def _live(records: list[Boundary]) -> list[Boundary]:
    return [r for r in records if r["state"] in ("active", "reviewing")]


def _records_in(tx: Transaction) -> list[Boundary]:
    return sorted(tx.table(BOUNDARIES_TABLE).all(), key=lambda r: r["id"])


def _reschedule(
    tx: Transaction, services: Services, couple: Couple, record: Boundary, due: datetime
) -> None:
    """Inside the couple's transaction: (re)set a boundary's review date, one timer each."""
    timers = services.timers
    if (timer := record.get("timer")) is not None:
        timers.cancel(couple.chat_id, timer)
    timer_id = timers.schedule(
        couple.chat_id, REVIEW, due, payload={"boundary": record["id"]}, tx=tx
    )
    tx.table(BOUNDARIES_TABLE).update(record["id"], {"review_at": to_iso(due), "timer": timer_id})


def _bound_ids(couple: Couple, record: Boundary) -> list[int]:
    """Whom a boundary asks something of; one from before proposals binds both partners."""
    binds = record.get("binds")
    return list(binds) if binds is not None else [p.user_id for p in couple.partners]


def _name(couple: Couple, user_id: int | None) -> str:
    partner = couple.partner(user_id) if user_id is not None else None
    return partner.name if partner else "?"


def _view(services: Services, couple: Couple, record: Boundary, locale: str) -> dict[str, Any]:
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
        "agreed_by": _name(couple, agreed) if (agreed := record.get("agreed_by")) else None,
        "binds": [p.name for p in couple.partners if p.user_id in _bound_ids(couple, record)],
        "state": record["state"],
        "loosened": record.get("loosened", 0),
        "review": local_moments(couple, review_at) if review_at else [],
        "same_day": len(days) <= 1,  # the review falls on the same date for both
    }


def _short(view: dict[str, Any], limit: int = 36) -> str:
    return shorten(str(view["title"] or view["text"] or ""), limit)


# -- the list --------------------------------------------------------------------------------


@partners_only
async def boundaries_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/boundaries, /boundaries add <own words>."""
    couple, partner, args = asked.couple, asked.partner, asked.args
    if not args:
        await _now(context, couple, lambda tx: _show_list(tx, context.mend, couple))
    elif asked.words[0] in ("add", "neu", "new") and len(args) > 1:
        text = " ".join(" ".join(args[1:]).split())
        await _now(
            context,
            couple,
            lambda tx: _propose(tx, context.mend, couple, partner, "own", text=text),
        )
    else:
        await reply(update, context, asked.locale, "boundaries/usage")


def _show_list(tx: Transaction, services: Services, couple: Couple) -> None:
    """Inside the transaction: the list with its buttons; an older list's buttons go stale."""
    runner = runner_of(services)
    for old in runner.runs_in(tx, LIST_FLOW):
        runner.close(tx, old)
    runner.start(tx, couple, LIST_FLOW, owner=None, data=_list_data(tx, services, couple))


def _list_data(tx: Transaction, services: Services, couple: Couple) -> dict[str, Any]:
    """What the list's buttons offer now (kept with the list, so a press is checked against it)."""
    locale = group_locale(services, couple)
    live = _live(_records_in(tx))
    infidelity = services.reads.repair_track(services.store, couple.chat_id) == "infidelity"
    taken = {r.get("suggestion") for r in live}
    return {
        "can_add": len(live) < MAX_ACTIVE,
        "offered": [
            s for s in (*SUGGESTIONS, *((NO_CONTACT,) if infidelity else ())) if s not in taken
        ],
        "stages": infidelity,
        "reviews": [[r["id"], _short(_view(services, couple, r, locale))] for r in live],
    }


def _list_options(run: Run) -> Rows:
    rows: list[list[Option]] = []
    if run.data["can_add"]:
        rows.extend([Option(f"s_{s}", f"boundaries.add_{s}")] for s in run.data["offered"])
        rows.append([Option("own", "boundaries.add_own")])
        if run.data["stages"]:
            rows.append([Option("stage", "repair.add_stage")])
    rows.extend(
        [Option(f"r{boundary_id}", "boundaries.review_now", {"what": short})]
        for boundary_id, short in run.data["reviews"]
    )
    return rows


def _list_view(services: Services, couple: Couple, run: Run, locale: str) -> dict[str, Any]:
    records = all_boundaries(services, couple.chat_id)
    live = [_view(services, couple, r, locale) for r in _live(records)]
    ended = [r for r in records if r["state"] == "ended"]
    boundaries = [v for v in live if v["source"] != "stage"]
    # Grouped by whom they ask something of (the one who may end them), numbered throughout.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for number, view in enumerate(boundaries, start=1):
        groups.setdefault(tuple(view["binds"]), []).append({**view, "number": number})
    return {
        "boundaries": boundaries,
        "groups": [{"binds": list(binds), "boundaries": items} for binds, items in groups.items()],
        "stages": [v for v in live if v["source"] == "stage"],
        "ended": len(ended),
        "ended_stages": sum(1 for r in ended if r["source"] == "stage"),
        "infidelity": run.data["stages"],
    }


def _from_list(turn: Turn) -> str:
    """A button of the list: propose a suggestion, ask for own words, or review one now. The
    list stays as it is; what it offers is brought up to date."""
    services, tx, key = turn.services, turn.tx, str(turn.value)
    if key.startswith("s_"):
        _propose(tx, services, turn.couple, turn.partner, "suggested", suggestion=key[2:])
    elif key in ("own", "stage"):
        _ask_words(tx, services, turn.couple, turn.partner, key)
    else:
        record = tx.table(BOUNDARIES_TABLE).get(int(key[1:]))
        if record is not None and record["state"] in ("active", "reviewing"):
            _open_review(tx, services, turn.couple, record, asked_by=turn.partner.name)
    turn.data.update(_list_data(tx, services, turn.couple))
    return STAY


LIST = Flow(
    name=LIST_FLOW,
    first="list",
    steps={"list": Step("boundaries/list", _list_options, answer=_from_list, who="partners")},
    view=_list_view,
)


# -- adding ----------------------------------------------------------------------------------


def _ask_words(
    tx: Transaction, services: Services, couple: Couple, partner: Partner, source: str
) -> None:
    """Inside the transaction: ask `partner` for a boundary (or stage) in their own words; an
    earlier such question of theirs is closed."""
    runner = runner_of(services)
    for old in runner.runs_in(tx, BOUNDARY_FLOW):
        if old.owner == partner.user_id and old.step in ("own", "stage"):
            runner.close(tx, old)
    runner.start(tx, couple, BOUNDARY_FLOW, owner=partner, data={"boundary": None}, step=source)


def _refusal(
    tx: Transaction, partner: Partner, text: str | None
) -> tuple[str, dict[str, Any]] | None:
    """Why a boundary can't be added (a template and its values), or None."""
    if text is not None and (refused := declined(text)) is not None:
        template, values = refused
        return template, {"name": partner.name, **values}
    if text is not None and not 0 < len(text) <= MAX_TEXT:
        return "boundaries/too_long", {"limit": MAX_TEXT, "length": len(text)}
    if len(_live(_records_in(tx))) >= MAX_ACTIVE:
        return "boundaries/full", {"limit": MAX_ACTIVE}
    return None


def _taken(tx: Transaction, suggestion: str) -> bool:
    return any(r.get("suggestion") == suggestion for r in _live(_records_in(tx)))


def _propose(
    tx: Transaction,
    services: Services,
    couple: Couple,
    partner: Partner,
    source: str,
    *,
    text: str | None = None,
    suggestion: str | None = None,
    run: Run | None = None,
) -> bool:
    """Inside the transaction: `partner` proposes a boundary (or stage) in their words or a
    suggestion, and is asked whom it asks something of (in `run`'s next step, or a new run);
    or it is said why it can't be. Nothing applies before the other partner agrees."""
    if suggestion is not None and (_taken(tx, suggestion) or _proposing(tx, services, suggestion)):
        return False  # agreed meanwhile from another list, or being proposed (a double tap)
    refused = _refusal(tx, partner, text)
    if refused is not None:
        template, values = refused
        services.outbox.put(tx, group_message(services, couple, template, **values))
        return False
    other = couple.other(partner.user_id)
    proposed = {
        "boundary": None,
        "source": source,
        "text": text,
        "suggestion": suggestion,
        "names": [partner.name, other.name if other else ""],
    }
    if run is None:
        runner_of(services).start(
            tx, couple, BOUNDARY_FLOW, owner=partner, data=proposed, step="binds"
        )
    else:
        run.data.update(proposed)
    return True


def _proposing(tx: Transaction, services: Services, suggestion: str) -> bool:
    """Whether a suggestion is already proposed and waiting for an answer."""
    return any(
        r.data.get("suggestion") == suggestion and r.step in ("binds", "consider")
        for r in runner_of(services).runs_in(tx, BOUNDARY_FLOW)
    )


def _binds_options(run: Run) -> Rows:
    """Whom the boundary asks something of: the other partner, the proposer, or both."""
    me, other = run.data["names"]
    return [
        [Option("other", "boundaries.binds_one", {"name": other})],
        [Option("me", "boundaries.binds_one", {"name": me})],
        [Option("both", "boundaries.binds_both")],
    ]


def _bound(turn: Turn) -> str:
    """The proposer said whom it asks something of; the other partner is asked to agree."""
    me = turn.partner.user_id
    other = next((p.user_id for p in turn.couple.partners if p.user_id != me), None)
    bound: dict[str, list[int | None]] = {"me": [me], "other": [other], "both": [me, other]}
    turn.data["binds"] = [user_id for user_id in bound[str(turn.value)] if user_id is not None]
    return "consider"


def _agreed(turn: Turn) -> str | None:
    """The other partner agreed: the boundary applies from now on, and when to look at it
    again is asked (a month is pencilled in). Checked once more: the list may have filled,
    or the same suggestion been agreed, meanwhile."""
    data, tx = turn.data, turn.tx
    proposer = turn.couple.partner(turn.run.owner or 0) or turn.partner
    if data.get("suggestion") is not None and _taken(tx, data["suggestion"]):
        turn.say(GROUP, "boundaries/moved_on")
        return None
    refused = _refusal(tx, proposer, data.get("text"))
    if refused is not None:
        template, values = refused
        turn.say(GROUP, template, **values)
        return None
    record = _insert(
        tx,
        turn.services,
        turn.couple,
        proposer,
        data["source"],
        text=data.get("text"),
        suggestion=data.get("suggestion"),
        binds=data["binds"],
        agreed_by=turn.partner,
    )
    data["boundary"] = record["id"]
    for event, values in _after_adding(tx, turn.couple, data.get("text")):
        turn.emit(event, **values)
    return "added"


def _insert(
    tx: Transaction,
    services: Services,
    couple: Couple,
    partner: Partner,
    source: str,
    *,
    text: str | None,
    suggestion: str | None,
    binds: list[int],
    agreed_by: Partner,
) -> Boundary:
    """Inside the transaction: a boundary (or timeline stage) `partner` proposed and the other
    agreed, its review pencilled in a month on."""
    records = _records_in(tx)
    now = utcnow()
    table = tx.table(BOUNDARIES_TABLE)
    boundary_id = table.insert(
        {
            "text": text,
            "suggestion": suggestion,
            "source": source,
            "stage": 1 + sum(1 for r in records if r["source"] == "stage")
            if source == "stage"
            else None,
            "by": partner.user_id,
            "binds": binds,
            "agreed_by": agreed_by.user_id,
            "added_at": to_iso(now),
            "review_at": None,
            "timer": None,
            "state": "active",
            "kept_in_row": 0,
            "loosened": 0,
            "ended_at": None,
        }
    )
    record = table.get(boundary_id)
    assert record is not None
    _reschedule(tx, services, couple, record, add_months(now, 1))
    return record


def _after_adding(tx: Transaction, couple: Couple, text: str | None) -> Events:
    """What the repair track looks at in a new boundary: its words, and whether most
    boundaries now come from one partner (repair turning into punishment)."""
    events: Events = [("repair.words", {"text": text})] if text is not None else []
    live = [r for r in _live(_records_in(tx)) if r["source"] in ("suggested", "own")]
    for partner in couple.partners:
        mine = sum(1 for r in live if r.get("by") == partner.user_id)
        if mine >= ONE_SIDED and len(live) - mine <= 1:
            events.append(
                (
                    "repair.pitfall",
                    {"kind": "punishment", "reason": "one_sided", "name": partner.name},
                )
            )
            break
    return events


def _words(text: str) -> str:
    """Typed words with their spacing tidied; too long (or nothing) is asked again."""
    words = " ".join(text.split())
    if not 0 < len(words) <= MAX_TEXT:
        raise Unreadable("boundaries.too_long", limit=MAX_TEXT, length=len(words))
    return words


def _worded(turn: Turn) -> str | None:
    """Own words for a boundary or a stage: proposed, then whom it asks something of."""
    source = str(turn.run.step)  # "own" or "stage"
    proposed = _propose(
        turn.tx, turn.services, turn.couple, turn.partner, source, text=turn.value, run=turn.run
    )
    return "binds" if proposed else None


# -- review dates ----------------------------------------------------------------------------


def _date_options(run: Run) -> Rows:
    rows: list[list[Option]] = [[Option(c, f"boundaries.date_{c}") for c in DATE_CHOICES]]
    rows.append([Option("typed", "boundaries.date_typed")])
    if run.data.get("result") == "loosen":
        rows.insert(0, [Option("reword", "boundaries.reword")])
    return rows


def _boundary(turn: Turn) -> Boundary:
    record = turn.tx.table(BOUNDARIES_TABLE).get(int(turn.data["boundary"]))
    assert record is not None  # its runs are closed when it ends or is reviewed
    return record


def _pick_date(turn: Turn) -> str | None:
    """2 weeks, 1 month or 3 months from now; or a date typed, or a lighter wording, beside."""
    if turn.value in ("typed", "reword"):
        return "date" if turn.value == "typed" else "reword"
    now = utcnow()
    due = {"2w": now + timedelta(days=14), "1m": add_months(now, 1), "3m": add_months(now, 3)}[
        str(turn.value)
    ]
    if _not_theirs_to_push(turn, due) is not None:
        turn.toast, turn.alert = "alert.boundaries_date_theirs", True
        return STAY
    _date_set(turn, due)
    return None


def _not_theirs_to_push(turn: Turn, due: datetime) -> Partner | None:
    """The partner a boundary binds, when `due` would keep it on them longer than the usual
    month and the one choosing it isn't bound by it (what binds one, they extend); else None."""
    if due <= add_months(utcnow(), 1) + timedelta(days=1):
        return None
    bound = _bound_ids(turn.couple, _boundary(turn))
    if turn.partner.user_id in bound:
        return None
    return next((p for p in turn.couple.partners if p.user_id in bound), None)


def _typed_date(turn: Turn) -> str | None:
    """A typed review date: read in the typing partner's zone, reviewed that evening."""
    now = utcnow()
    today = now.astimezone(zone(turn.partner.timezone)).date()
    day = read_date(turn.value, today)
    due = _evening(day, turn.partner) if day is not None else None
    if due is None or due <= now or due - now > MAX_AHEAD:
        raise Unreadable("boundaries.unreadable_date")
    if (bound := _not_theirs_to_push(turn, due)) is not None:
        raise Unreadable("boundaries.date_theirs", name=bound.name)
    _date_set(turn, due)
    if due - now > FAR_REVIEW:
        turn.emit("repair.pitfall", kind="punishment", reason="far", name=turn.partner.name)
    return None


def _evening(day: date, partner: Partner) -> datetime:
    return local_to_utc(datetime.combine(day, REVIEW_AT), REVIEW_AT, partner.timezone)


def _date_set(turn: Turn, due: datetime) -> None:
    services = turn.services
    _reschedule(turn.tx, services, turn.couple, _boundary(turn), due)
    locale = group_locale(services, turn.couple)
    view = _view(services, turn.couple, _boundary(turn), locale)
    turn.say(GROUP, "boundaries/date_set", name=turn.partner.name, boundary=view)


def _reword(turn: Turn) -> str:
    """The looser wording of a boundary, typed beside the outcome of its review: proposed to
    the other partner (the outcome stays, its buttons working)."""
    text = str(turn.value)
    if (refused := declined(text)) is not None:
        template, values = refused
        turn.say(GROUP, template, name=turn.partner.name, **values)
        return STAY
    turn.runner.start(
        turn.tx,
        turn.couple,
        BOUNDARY_FLOW,
        owner=turn.partner,
        data={"boundary": turn.data["boundary"], "text": text},
        step="reworded",
    )
    return STAY


def _reword_agreed(turn: Turn) -> None:
    """The other partner agreed the lighter wording: it replaces the earlier one."""
    services, record = turn.services, _boundary(turn)
    text = str(turn.data["text"])
    turn.tx.table(BOUNDARIES_TABLE).update(record["id"], {"text": text, "suggestion": None})
    view = _view(services, turn.couple, _boundary(turn), group_locale(services, turn.couple))
    proposer = turn.couple.partner(turn.run.owner or 0)
    turn.say(
        GROUP,
        "boundaries/reworded",
        name=proposer.name if proposer else "",
        agreed_by=turn.partner.name,
        boundary=view,
    )
    turn.emit("repair.words", text=text)


def _boundary_view(services: Services, couple: Couple, run: Run, locale: str) -> dict[str, Any]:
    """One boundary as its messages show it, the choices made at its review, the zone of the
    partner a question is for."""
    boundary_id = run.data.get("boundary")
    record = next(
        (r for r in all_boundaries(services, couple.chat_id) if r["id"] == boundary_id), None
    )
    votes: dict[str, str] = run.data.get("votes") or {}
    asked = couple.partner(run.asked or run.owner or 0)
    suggestion = run.data.get("suggestion")
    binds = run.data.get("binds") or []
    other = couple.other(run.owner) if run.owner is not None else None
    return {
        "boundary": _view(services, couple, record, locale) if record else None,
        # A boundary proposed, not agreed yet: its words, and whom it would ask something of.
        "proposed": {
            "text": run.data.get("text"),
            "title": services.render.label(locale, f"boundaries.suggestion_{suggestion}")
            if suggestion
            else None,
            "source": run.data.get("source"),
            "binds": [p.name for p in couple.partners if p.user_id in binds],
            "binds_them": other is not None and other.user_id in binds,
        },
        "added_at": from_iso(record["added_at"]) if record else None,
        "chosen": [p.name for p in couple.partners if str(p.user_id) in votes],
        "waiting": [p.name for p in couple.partners if str(p.user_id) not in votes],
        "choices": [
            {
                "name": p.name,
                "choice": services.render.label(
                    locale, f"boundaries.choice_{votes[str(p.user_id)]}"
                ),
            }
            for p in couple.partners
            if str(p.user_id) in votes
        ],
        "zone": asked.timezone if asked else None,
        "ended_by": run.data.get("ended_by"),  # who ended it at its review, as it bound them
    }


def _date_question(beside: str) -> Step:
    return Step(
        "boundaries/ask_date", read=str.strip, answer=_typed_date, who="partners", beside=beside
    )


BOUNDARY = Flow(
    name=BOUNDARY_FLOW,
    first="own",
    steps={
        "own": Step("boundaries/ask_own", read=_words, answer=_worded),
        "stage": Step("boundaries/ask_stage", read=_words, answer=_worded),
        "binds": Step("boundaries/ask_binds", _binds_options, answer=_bound),
        "consider": proposal("boundaries/proposed", what="boundary", agreed=_agreed),
        "added": Step("boundaries/added", _date_options, answer=_pick_date, who="partners"),
        "date": _date_question("added"),
        "reworded": proposal(
            "boundaries/reword_proposed",
            what="rewording",
            agreed=_reword_agreed,
        ),
    },
    closed="boundaries/moved_on",
    view=_boundary_view,
)


# -- the review ------------------------------------------------------------------------------


async def review_due(context: MendContext, fired: Fired) -> None:
    """A boundary's review date: each partner chooses keep, loosen or end. The review is owed
    with the change that opens it, in one transaction."""
    services = context.mend
    with services.store.transaction(fired.chat_id) as tx:
        couple = tx.couple()
        record = tx.table(BOUNDARIES_TABLE).get(int(fired.payload.get("boundary", 0)))
        if couple is None or couple.status != "active" or record is None:
            return
        if record["state"] != "active" or record.get("timer") != fired.timer_id:
            return
        _open_review(tx, services, couple, record, late=fired.late)
    await services.outbox.deliver(context, fired.chat_id)


def _open_review(
    tx: Transaction,
    services: Services,
    couple: Couple,
    record: Boundary,
    *,
    late: bool = False,
    asked_by: str | None = None,
) -> None:
    """Inside the transaction: the review of a boundary, asked again (the choices made so far
    stay) if it is already open."""
    runner = runner_of(services)
    if (timer := record.get("timer")) is not None:
        services.timers.cancel(couple.chat_id, timer)
    about = [
        r
        for r in runner.runs_in(tx, REVIEW_FLOW) + runner.runs_in(tx, BOUNDARY_FLOW)
        if r.data.get("boundary") == record["id"]
    ]
    under_way = next((r for r in about if r.flow == REVIEW_FLOW and r.step == "choose"), None)
    for run in about:
        if run is not under_way:
            runner.close(tx, run)
    # A review left open before reviews were flows kept its choices on the boundary.
    votes = dict(record.get("choices") or {}) if record["state"] == "reviewing" else {}
    tx.table(BOUNDARIES_TABLE).update(record["id"], {"state": "reviewing", "timer": None})
    shown = {"late": late, "asked_by": asked_by}
    if under_way is not None:
        runner.reshow(tx, couple, under_way, late=late, asked_by=asked_by)
    else:
        runner.start(
            tx,
            couple,
            REVIEW_FLOW,
            owner=None,
            data={"boundary": record["id"], "votes": votes, "result": None, **dict.fromkeys(shown)},
            show=shown,
        )


def _choose(turn: Turn) -> str | None:
    """One partner's choice (changeable until both have chosen); then the outcome. The partner
    a boundary asks something of ends it with their own choice, whatever the other chooses."""
    turn.data["votes"][str(turn.partner.user_id)] = turn.value
    votes: dict[str, str] = turn.data["votes"]
    everyone = all(str(p.user_id) in votes for p in turn.couple.partners)
    if turn.value == "end" and turn.partner.user_id in _bound_ids(turn.couple, _boundary(turn)):
        turn.toast = "alert.boundaries_ended_yours"
        if not (everyone and set(votes.values()) == {"end"}):
            turn.data["ended_by"] = turn.partner.name  # theirs alone, not both together
        return _outcome(turn, "end")
    turn.toast = f"alert.boundaries_noted_{turn.value}"
    if not everyone:
        return "choose"
    return _outcome(turn, min(votes.values(), key=CHOICES.index))


def _outcome(turn: Turn, result: str) -> str | None:
    """It ends if both chose end, or the partner it asks something of did; otherwise the more
    careful choice holds, and the next review is pencilled in a month on."""
    services, tx, couple = turn.services, turn.tx, turn.couple
    record = _boundary(turn)
    table = tx.table(BOUNDARIES_TABLE)
    now = utcnow()
    turn.data["result"] = result
    if result == "end":
        table.update(record["id"], {"state": "ended", "ended_at": to_iso(now), "choices": {}})
        view = _boundary_view(services, couple, turn.run, group_locale(services, couple))
        turn.say(GROUP, "boundaries/outcome", result=result, **view)
        early = (
            couple.setup_completed_at is not None
            and now - couple.setup_completed_at <= timedelta(days=EARLY_DAYS)
        )
        if early and not _live(_records_in(tx)):
            turn.emit("repair.pitfall", kind="too_fast")  # every scaffold gone within weeks
        return None
    kept_in_row = record.get("kept_in_row", 0) + 1 if result == "keep" else 0
    table.update(
        record["id"],
        {
            "state": "active",
            "choices": {},
            "kept_in_row": kept_in_row,
            "loosened": record.get("loosened", 0) + (result == "loosen"),
        },
    )
    _reschedule(tx, services, couple, _boundary(turn), add_months(now, 1))
    if kept_in_row >= KEPT_TOO_OFTEN:
        turn.emit(
            "repair.pitfall",
            kind="punishment",
            reason="kept",
            name=_name(couple, record.get("by")),
        )
    return "outcome"


REVIEWING = Flow(
    name=REVIEW_FLOW,
    first="choose",
    steps={
        "choose": Step(
            "boundaries/review",
            [[Option(c, f"boundaries.choice_{c}") for c in CHOICES]],
            answer=_choose,
            who="partners",
            refresh=True,
        ),
        "outcome": Step("boundaries/outcome", _date_options, answer=_pick_date, who="partners"),
        "date": _date_question("outcome"),
        "reword": Step(
            "boundaries/ask_reword", read=_words, answer=_reword, who="partners", beside="outcome"
        ),
    },
    closed="boundaries/moved_on",
    view=_boundary_view,
)


# -- what the repair track asks for ------------------------------------------------------------


async def _now(context: MendContext, couple: Couple, change: Callable[[Transaction], Any]) -> None:
    """Make a change in the couple's transaction, then deliver what it owes."""
    services = context.mend
    with services.store.transaction(couple.chat_id) as tx:
        change(tx)
    await services.outbox.deliver(context, couple.chat_id)


async def _add_stage(context: MendContext, couple: Couple, partner: Partner) -> None:
    """The track's "add a stage": its words are asked of the partner who tapped."""
    await _now(context, couple, lambda tx: _ask_words(tx, context.mend, couple, partner, "stage"))


async def _add_no_contact(context: MendContext, couple: Couple, partner: Partner) -> None:
    """The track's no-contact agreement, a suggestion like the others."""

    def add(tx: Transaction) -> None:
        if _taken(tx, NO_CONTACT):
            _show_list(tx, context.mend, couple)
        else:
            _propose(tx, context.mend, couple, partner, "suggested", suggestion=NO_CONTACT)

    await _now(context, couple, add)


async def _timeline(context: MendContext, couple: Couple, **_: Any) -> None:
    """The track's "boundaries and timeline": the list."""
    await _now(context, couple, lambda tx: _show_list(tx, context.mend, couple))


async def _question_closed(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A reply to a question asked before the flows: that conversation has moved on."""
    locale = group_locale(context.mend, answer.couple)
    await reply(update, context, locale, "boundaries/moved_on")


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
    services.timers.register(
        REVIEW, review_due, late_limit=REVIEW_LATE_LIMIT, quiet=True, pause=True
    )
    services.exporters["boundaries"] = export
    runner_of(services).add(LIST, BOUNDARY, REVIEWING)
    services.on("track.add_stage", _add_stage)
    services.on("track.no_contact", _add_no_contact)
    services.on("track.timeline", _timeline)
    for kind in OLD_QUESTIONS:
        asks.on_answer(kind, _question_closed)
    app.add_handler(CommandHandler("boundaries", boundaries_command))
