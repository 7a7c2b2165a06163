"""/journal and the self-work tools of the new-relationship path, all in a partner's private chat.

- /journal: a private journal with the guide's prompts (one good decision made today and how it
  felt to trust one's own judgment; the fear questions: what am I most afraid of here, where did
  I learn it), free entries, and the history, paged. Part of the author's /export only.
  Words written in the private chat that answer no question (a few lines during a pause, say)
  are never dropped: "Keep this in your journal?" asks first, and only "yes" keeps them.
- /selfcheck: the warning signs in oneself as yes/no questions, then a gentle reading
  (self-compassion first, no score), pointing to /support when many apply.
- /ladder: a vulnerability ladder: small disclosures first, each marked when shared, with a note
  of how the partner responded. Nothing reaches the partner.
- /trigger: a trigger in a few words becomes a drafted "I" statement that reaches the group only
  when its author taps "Share in the group" (can be started from the group; continues here).
  The draft is worded for the couple's path and the author's role: a hurt partner on the repair
  path is never made to say that it's "only my past"; a /reflect draft starts from what the
  person knows for sure, not from the fear that kept circling.
- /setback: a normal setback or a red flag? Questions, then the advice that fits, and /support.
  Fear of the partner comes first: a reading whose first line is neutral (a lock screen shows
  it), then the safety help for that person alone (the event "care.afraid").
- /reflect: notice an anxious loop and turn it into reflection; /support if the looping persists.

Each of these is a flow (bot.flows) owned by the person, shown in their private chat only. What
they write is stored in the file of the couple it belongs to, tagged with its author: a person
in several couples says which group, once (bot.which), and /switch changes it. The journal's
history shows their entries from every couple of theirs. Nothing here is ever shown to the other
partner unless the author shares a trigger statement, and then only in that couple's group.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, NotRequired, TypedDict, TypeVar, cast

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot import asks, which
from bot.context import Command, MendContext, Services
from bot.couples import couples_of, entries_group, group_locale, partner_locale, short_title
from bot.flows import Flow, Option, Reader, Rows, Run, Step, Turn, Unreadable, runner_of
from bot.guards import Asked, Handler, known_partner
from bot.links import private_link_button
from bot.messages import Buttons, private_message, reply
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.outbox import GROUP
from bot.render import shorten
from bot.storage import Kind, Transaction

log = logging.getLogger(__name__)


class Authored(TypedDict):
    """What every record here has: the partner who wrote it (private to them unless they
    share it)."""

    id: NotRequired[int]
    author: int


class JournalEntry(Authored):
    """A journal entry: a prompt and the answers to it (a reflection kept in the journal too)."""

    at: str | None
    prompt: str  # of PROMPTS, or "reflect"
    answers: list[str]


class Rung(Authored):
    """A rung of the vulnerability ladder: own words or an idea, and how sharing it went."""

    added_at: str | None
    text: str | None
    idea: str | None  # of IDEAS_OFFERED
    shared_at: str | None
    response: str | None  # of RESPONSES


class Trigger(Authored):
    """What set a trigger off, and the "I" statement drafted from it."""

    at: str | None
    what: str
    text: str | None  # the author's own wording of the statement, if they gave one
    state: str  # "draft", "private" or "shared"
    locale: str  # the language the author read the draft in
    shared_at: NotRequired[str | None]
    # How the draft was worded (triggers drafted before these were kept read as neutral):
    source: NotRequired[str]  # "trigger", or "reflect" (drafted from what the person knows)
    known: NotRequired[str | None]  # a reflection's "what I know for sure"
    path: NotRequired[str | None]  # the couple's path then
    role: NotRequired[str | None]  # the author's role then


class SelfWork(Authored):
    """What one /selfcheck, /setback or /reflect found: the checks' yes/no answers, or the
    reflection's loop, what the person knows and the next step they chose."""

    tool: str  # "selfcheck", "setback" or "reflect"
    at: str | None
    done: bool
    answers: NotRequired[list[str]]  # the checks: "y" or "n" per question
    loop: NotRequired[str | None]  # the reflection's
    circling: NotRequired[bool | None]
    known: NotRequired[str | None]
    next_step: NotRequired[str | None]  # of NEXT_STEPS
    step: NotRequired[str | None]  # what next_step was called before the tools were flows


Own = TypeVar("Own", bound=Authored)  # a record of any of the tables here

# What the person wrote or answered is sealed at rest (bot.storage), theirs alone.
JOURNAL_TABLE = Kind[JournalEntry]("journal", private=("answers",), owner="author")
LADDER_TABLE = Kind[Rung]("ladder", private=("text", "idea", "response"), owner="author")
TRIGGERS_TABLE = Kind[Trigger]("triggers", private=("what", "text"), owner="author")
CHECKS_TABLE = Kind[SelfWork](
    "selfwork",
    private=("answers", "loop", "circling", "known", "next_step", "step"),
    owner="author",
)

# The flows (their runs are kept in the couple's file under these names).
MENU = "journal"
PROMPT = "journal_prompt"
SELFCHECK = "journal_selfcheck"
SETBACK_CHECK = "journal_setback"
LADDER = "journal_ladder"
IDEAS = "journal_ideas"
RESPONSE = "journal_response"
KEEP = "journal_keep"
TRIGGER = "journal_trigger"
REFLECT = "journal_reflect"

PROMPTS = {"decision": 2, "fear": 2, "free": 1}  # prompt → how many questions it asks
PAGE_SIZE = 5
EXCERPT = 280
ANSWERS_SHOWN = 2  # of an entry, on a page (one kept from many messages has more)
MAX_TEXT = 4096  # a journal answer is kept whole: as much as one message can hold
MAX_WHAT = 200  # what set a trigger off, in a few words
MAX_OWN = 1000  # a trigger statement in the person's own words
MAX_LOOP = 500
MAX_KNOWN = 1000

SIGNS = ("withholding", "overshadow", "scanning", "doubts", "checking", "expect_hurt")
MANY_SIGNS = 4
# Setback questions, and the answer to each that points to a red flag ("afraid": safety first).
SETBACK = {"heard": "n", "repeated": "y", "talking": "n", "effort": "n", "afraid": "y"}
IDEAS_OFFERED = ("small_worry", "comfort", "lesson", "old_hurt", "need", "big_fear")
RESPONSES = ("care", "mixed", "hard")
MAX_RUNGS = 12
MAX_RUNG = 200  # characters of a rung: a full ladder fits in one message
NEXT_STEPS = ("write", "share", "rest", "kind")
LOOPING_RUNS = 3  # this many loops noticed as circling within a week: point to /support
LOOPING_WINDOW = timedelta(days=7)
AFRAID = "care.afraid"  # the event that brings the safety help (/support's) to a person

# Replies to questions asked before the journal's conversations were flows: they can't be
# continued, so they are answered as closed (never dropped without a word).
OLD_QUESTIONS = (
    "journal_entry",
    "journal_rung",
    "journal_trigger",
    "journal_trigger_edit",
    "journal_loop",
    "journal_known",
)

# Something the person opens (a prompt, a tool, the menu), inside the couple's transaction.
Opener = Callable[[Services, Transaction, Couple, Partner], None]


# -- shared helpers ----------------------------------------------------------------------------


def _mine(services: Services, couple: Couple, table: Kind[Own], user_id: int) -> list[Own]:
    return [r for r in services.store.records(couple.chat_id, table) if r.get("author") == user_id]


def _own(tx: Transaction, table: Kind[Own], user_id: int) -> list[Own]:
    """Inside a transaction: the person's own records of a table, oldest first."""
    records = (r for r in tx.table(table).all() if r.get("author") == user_id)
    return sorted(records, key=lambda r: r["id"])


def _owned(tx: Transaction, table: Kind[Own], record_id: Any, user_id: int) -> Own | None:
    """One of the person's own records; None for anyone else's (or one that is gone)."""
    record = tx.table(table).get(record_id) if isinstance(record_id, int) else None
    return record if record is not None and record.get("author") == user_id else None


def _words(most: int) -> Reader:
    """A reader for a few words of the person's own, at most `most` characters (never cut)."""

    def read(text: str) -> str:
        words = text.strip()
        if len(words) > most:
            raise Unreadable("journal.too_long", most=most, length=len(words))
        return words

    return read


def _again(turn: Turn, name: str) -> str:
    """A view that is redrawn in place after a press goes on under its other name (the
    pair from `_twins`), so a second press on it as it was (a double tap) is stale."""
    return f"{name}_again" if turn.run.step == name else name


def _twins(name: str, step: Step) -> dict[str, Step]:
    return {name: step, f"{name}_again": step}


def _start(
    services: Services,
    tx: Transaction,
    couple: Couple,
    me: Partner,
    flow: str,
    *,
    data: Mapping[str, Any] | None = None,
    step: str | None = None,
    thread_id: int | None = None,
    show: Mapping[str, Any] | None = None,
) -> Run:
    """Start the person's run of `flow` in their private chat. One they left open before
    closes (its buttons go): each person has one menu, one ladder, one check... at a time."""
    for run in runner_of(services).runs_in(tx, flow):
        if run.owner != me.user_id or run.step is None:
            continue
        run.data = {}  # what it showed is kept in the tables; the closed run needn't keep it
        runner_of(services).close(tx, run)
    return runner_of(services).start(
        tx, couple, flow, owner=me, data=data, step=step, thread_id=thread_id, show=show
    )


async def _private_only(
    update: Update, context: MendContext, couple: Couple, me: Partner, command: str
) -> None:
    """In the group: this lives in the private chat (with a fresh link if it isn't open)."""
    services = context.mend
    locale = group_locale(services, couple)
    rows: Buttons = []
    if not me.private_chat:
        rows = [[private_link_button(services, locale)]]
    await reply(
        update,
        context,
        locale,
        "journal/private_only",
        buttons=rows,
        name=me.name,
        command=command,
        linked=me.private_chat,
    )


# -- /journal: the menu and its pages -----------------------------------------------------------


def _page(
    services: Services, tx: Transaction, couple: Couple, me: Partner, page: int
) -> dict[str, Any]:
    """One page (1 is the newest) of the person's entries, as the menu shows it: those of
    every couple of theirs (each named by its group when there are several), so a second
    couple hides nothing; new ones are kept with `couple`."""
    several = len(services.store.chats_of_user(me.user_id)) > 1
    entries = [(e, couple.title) for e in _own(tx, JOURNAL_TABLE, me.user_id)]
    for other in couples_of(services.store, me.user_id):
        if other.chat_id != couple.chat_id:
            entries.extend(
                (e, other.title) for e in _mine(services, other, JOURNAL_TABLE, me.user_id)
            )
    entries.sort(key=lambda pair: (pair[0]["at"] or "", pair[0]["id"]), reverse=True)
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return {
        "entries": [
            {
                "at": e["at"],
                "prompt": e["prompt"],
                "answers": [shorten(a, EXCERPT) for a in e["answers"][:ANSWERS_SHOWN]],
                "more": max(0, len(e["answers"]) - ANSWERS_SHOWN),
                "group": short_title(title) if several else None,
            }
            for e, title in shown
        ],
        "page": page,
        "pages": pages,
        "total": len(entries),
        "zone": me.timezone,
        "new_path": couple.path == "new",
        "group": couple.title if several else None,
    }


def _menu_view(run: Run) -> Mapping[str, Any]:
    return {"entries": [{**e, "at": from_iso(e["at"])} for e in run.data["entries"]]}


def _menu_options(run: Run) -> Rows:
    prompts: list[list[Option]] = [
        [Option("decision", "journal.prompt_decision")],
        [Option("fear", "journal.prompt_fear"), Option("free", "journal.prompt_free")],
    ]
    tools = [
        [Option("selfcheck", "journal.tool_selfcheck"), Option("ladder", "journal.tool_ladder")],
        [Option("trigger", "journal.tool_trigger"), Option("setback", "journal.tool_setback")],
        [Option("reflect", "journal.tool_reflect")],
    ]
    rows = tools + prompts if run.data["new_path"] else prompts + tools
    paging = []
    if run.data["page"] < run.data["pages"]:
        paging.append(Option("older", "journal.older"))
    if run.data["page"] > 1:
        paging.append(Option("newer", "journal.newer"))
    return [*rows, paging] if paging else rows


def _menu_press(turn: Turn) -> str:
    """Page older or newer, or open a prompt or a tool; the menu is redrawn either way."""
    page = turn.data["page"]
    if turn.value == "older":
        page += 1
    elif turn.value == "newer":
        page -= 1
    else:
        OPENERS[turn.value](turn.runner.services, turn.tx, turn.couple, turn.partner)
    turn.data.update(_page(turn.runner.services, turn.tx, turn.couple, turn.partner, page))
    return _again(turn, "menu")


def _open_menu(services: Services, tx: Transaction, couple: Couple, me: Partner) -> None:
    _start(services, tx, couple, me, MENU, data=_page(services, tx, couple, me, 1))


MENU_FLOW = Flow(
    name=MENU,
    where="private",
    first="menu",
    steps=_twins(
        "menu",
        Step("journal/menu", _menu_options, answer=_menu_press, edit=True, data=_menu_view),
    ),
)


@known_partner
async def journal_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/journal: the menu and recent entries; `/journal <text>` keeps a free entry at once."""
    couple, me = asked.couple, asked.partner
    if not asked.private:
        await _private_only(update, context, couple, me, "journal")
        return
    if not asked.typed:
        await which.keep(update, context, me.user_id, f"{MENU}.menu")
        return
    # Kept whole, line breaks and all: it fits in one message (MAX_TEXT).
    await which.keep(update, context, me.user_id, f"{MENU}.entry", {"text": asked.typed})


def _keep_free(
    services: Services, tx: Transaction, couple: Couple, me: Partner, given: dict[str, Any]
) -> None:
    """`/journal <text>`: a free entry, kept with the couple it belongs to."""
    _new_entry(tx, me, "free", str(given["text"]))
    group = entries_group(services.store, couple, me.user_id)
    services.outbox.put(
        tx, private_message(services, me, "journal/saved", prompt="free", group=group)
    )


# -- words that answer no question: offered to the journal -----------------------------------------


def _keep_answer(turn: Turn) -> str:
    """Yes keeps the words as one journal entry; no lets them go. Either way the run keeps
    no copy of them."""
    texts = turn.data.pop("texts", [])
    turn.data["count"] = len(texts)
    if turn.value == "yes" and texts:
        _new_entry(turn.tx, turn.partner, "free", *texts)
        return "kept"
    return "let_go"


KEEP_FLOW = Flow(
    name=KEEP,
    where="private",
    first="offer",
    steps={
        "offer": Step(
            "journal/keep_offer",
            [[Option("yes", "journal.keep_yes"), Option("no", "journal.keep_no")]],
            answer=_keep_answer,
            data=lambda run: {"count": len(run.data.get("texts", []))},
        ),
        "kept": Step("journal/keep_done", data=lambda run: {"kept": True}),
        "let_go": Step("journal/keep_done", data=lambda run: {"kept": False}),
    },
)


@known_partner
async def unprompted_text(update: Update, context: MendContext, asked: Asked) -> None:
    """Private words that answer no question: offered to the journal, with any others still
    waiting for an answer (several messages in a row make one offer, one entry)."""
    message = update.effective_message
    if not asked.private or message is None or not message.text:
        return
    services, couple, me = context.mend, asked.couple, asked.partner
    with services.store.transaction(couple.chat_id) as tx:
        waiting = [
            text
            for run in runner_of(services).runs_in(tx, KEEP)
            if run.owner == me.user_id
            for text in run.data.get("texts", [])
        ]
        _start(services, tx, couple, me, KEEP, data={"texts": [*waiting, message.text]})
    await services.outbox.deliver(context, couple.chat_id)


@known_partner
async def unwritten(update: Update, context: MendContext, asked: Asked) -> None:
    """A photo, a voice message, a sticker in private: said plainly what can't be kept."""
    if asked.private:
        await reply(update, context, asked.locale, "journal/not_words", quote=True)


# -- the prompts: one or two typed answers make one entry -----------------------------------------


def _new_entry(tx: Transaction, me: Partner, prompt: str, *answers: str) -> int:
    return tx.table(JOURNAL_TABLE).insert(
        {"author": me.user_id, "at": to_iso(utcnow()), "prompt": prompt, "answers": list(answers)}
    )


def _first_answer(turn: Turn) -> str:
    """The first answer starts the entry (kept even if the second never comes)."""
    prompt = turn.data["prompt"]
    turn.data["entry"] = _new_entry(turn.tx, turn.partner, prompt, turn.value)
    return "more" if PROMPTS[prompt] > 1 else "saved"


def _second_answer(turn: Turn) -> str:
    entry = _owned(turn.tx, JOURNAL_TABLE, turn.data.get("entry"), turn.partner.user_id)
    if entry is not None:
        turn.tx.table(JOURNAL_TABLE).update(
            entry["id"], {"answers": [*entry["answers"], turn.value]}
        )
    return "saved"


def _part(number: int, run: Run) -> Mapping[str, Any]:
    return {"part": number}


def _kept_with(services: Services, couple: Couple, run: Run, locale: str) -> Mapping[str, Any]:
    """The group an entry is kept with, for a person in several couples."""
    return {"group": entries_group(services.store, couple, run.owner or 0)}


PROMPT_FLOW = Flow(
    name=PROMPT,
    where="private",
    first="ask",
    view=_kept_with,
    steps={
        "ask": Step(
            "journal/ask",
            read=_words(MAX_TEXT),
            answer=_first_answer,
            data=functools.partial(_part, 0),
        ),
        "more": Step(
            "journal/ask",
            read=_words(MAX_TEXT),
            answer=_second_answer,
            data=functools.partial(_part, 1),
        ),
        "saved": Step("journal/saved"),
    },
)


def _prompt_opener(prompt: str) -> Opener:
    def open_prompt(services: Services, tx: Transaction, couple: Couple, me: Partner) -> None:
        _start(services, tx, couple, me, PROMPT, data={"prompt": prompt})

    return open_prompt


def journal_export(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """Only the person's own private entries and tools, never the other partner's."""

    def own(table: Kind[Own]) -> list[dict[str, object]]:
        return [
            {k: v for k, v in r.items() if k not in ("id", "author")}
            for r in _mine(services, couple, table, user_id)
        ]

    return {
        "entries": own(JOURNAL_TABLE),
        "ladder": own(LADDER_TABLE),
        "triggers": own(TRIGGERS_TABLE),
        "checks": own(CHECKS_TABLE),
    }


# -- /selfcheck and /setback: one message walks through yes/no questions ------------------------

QUESTIONS = {SELFCHECK: SIGNS, SETBACK_CHECK: tuple(SETBACK)}


def _yes_or_no(turn: Turn) -> str:
    """An answer to the current question; after the last one, the reading."""
    answers = [*turn.data["answers"], turn.value]
    turn.data["answers"] = answers
    done = len(answers) == len(QUESTIONS[turn.run.flow])
    record = _owned(turn.tx, CHECKS_TABLE, turn.data.get("record"), turn.partner.user_id)
    if record is not None:
        turn.tx.table(CHECKS_TABLE).update(record["id"], {"answers": answers, "done": done})
    if done:
        log.info("%s finished", record["tool"] if record else "a check")
        return "reading"
    return f"q{len(answers)}"


def _question(questions: tuple[str, ...], index: int, run: Run) -> Mapping[str, Any]:
    return {"index": index, "total": len(questions), "question": questions[index]}


def _selfcheck_reading(run: Run) -> Mapping[str, Any]:
    chosen = dict(zip(SIGNS, run.data["answers"], strict=True))
    signs = [sign for sign in SIGNS if chosen[sign] == "y"]
    return {"signs": signs, "many": len(signs) >= MANY_SIGNS}


def _setback_reading(run: Run) -> Mapping[str, Any]:
    chosen = dict(zip(SETBACK, run.data["answers"], strict=True))
    return {
        "flags": [q for q, red in SETBACK.items() if q != "afraid" and chosen[q] == red],
        "afraid": chosen["afraid"] == SETBACK["afraid"],
    }


def _check_flow(
    name: str,
    tool: str,
    area: str,
    reading: Callable[[Run], Mapping[str, Any]],
    finished: Callable[[MendContext, Couple, Run], Any] | None = None,
) -> Flow:
    """A check: its questions one by one in one edited message, then the reading there."""
    questions = QUESTIONS[name]
    yes_or_no = [[Option("y", f"journal.{area}_yes"), Option("n", f"journal.{area}_no")]]
    steps = {
        f"q{index}": Step(
            f"journal/{tool}_question",
            yes_or_no,
            answer=_yes_or_no,
            edit=True,
            data=functools.partial(_question, questions, index),
        )
        for index in range(len(questions))
    }
    steps["reading"] = Step(f"journal/{tool}_reading", data=reading)
    return Flow(name=name, where="private", first="q0", steps=steps, finished=finished)


async def _after_setback(context: MendContext, couple: Couple, run: Run) -> None:
    """Fear of the partner: the safety help follows, for this person only (told to /support
    with "care.afraid")."""
    answers = run.data.get("answers", [])
    if run.owner is not None and len(answers) == len(SETBACK) and _setback_reading(run)["afraid"]:
        await context.mend.emit(AFRAID, context, couple, partner=run.owner)


SELFCHECK_FLOW = _check_flow(SELFCHECK, "selfcheck", "sc", _selfcheck_reading)
SETBACK_FLOW = _check_flow(SETBACK_CHECK, "setback", "sb", _setback_reading, _after_setback)


def _check_opener(flow: str, tool: str) -> Opener:
    def open_check(services: Services, tx: Transaction, couple: Couple, me: Partner) -> None:
        record = tx.table(CHECKS_TABLE).insert(
            {
                "author": me.user_id,
                "tool": tool,
                "at": to_iso(utcnow()),
                "answers": [],
                "done": False,
            }
        )
        _start(services, tx, couple, me, flow, data={"record": record, "answers": []})

    return open_check


# -- /ladder -----------------------------------------------------------------------------------


def _ladder(tx: Transaction, me: Partner) -> dict[str, Any]:
    """The person's ladder as its view shows it."""
    rungs = _own(tx, LADDER_TABLE, me.user_id)
    return {
        "rungs": [
            {
                "id": r["id"],
                "text": r.get("text"),
                "idea": r.get("idea"),
                "shared": bool(r.get("shared_at")),
                "response": r.get("response"),
            }
            for r in rungs
        ],
        "full": len(rungs) >= MAX_RUNGS,
    }


def _ladder_options(run: Run) -> Rows:
    rows: list[list[Option]] = []
    for number, rung in enumerate(run.data["rungs"], start=1):
        shared = Option(f"shared_{rung['id']}", "journal.rung_shared", {"n": number})
        remove = Option(f"remove_{rung['id']}", "journal.rung_remove", {"n": number})
        rows.append([remove] if rung["shared"] else [shared, remove])
    if not run.data["full"]:
        rows.append([Option("add", "journal.rung_add"), Option("ideas", "journal.rung_ideas")])
    return rows


def _ladder_press(turn: Turn) -> str:
    """Add a rung (typed, or from ideas), mark one shared, or remove one."""
    if turn.value == "add":
        return "add"
    services, tx, me = turn.runner.services, turn.tx, turn.partner
    if turn.value == "ideas":
        _start(services, tx, turn.couple, me, IDEAS)
    for shown in turn.data["rungs"]:
        rung = _owned(tx, LADDER_TABLE, shown["id"], me.user_id)
        if rung is None:
            continue
        if turn.value == f"remove_{rung['id']}":
            tx.table(LADDER_TABLE).remove(rung["id"])
        elif turn.value == f"shared_{rung['id']}" and not rung.get("shared_at"):
            tx.table(LADDER_TABLE).update(rung["id"], {"shared_at": to_iso(utcnow())})
            # Its own question, one per shared rung: answering one never closes another's.
            runner_of(services).start(
                tx, turn.couple, RESPONSE, owner=me, data={"rung": rung["id"]}
            )
    turn.data.update(_ladder(tx, me))
    return _again(turn, "ladder")


def _add_rung(tx: Transaction, me: Partner, text: str | None, idea: str | None) -> None:
    if len(_own(tx, LADDER_TABLE, me.user_id)) < MAX_RUNGS:
        tx.table(LADDER_TABLE).insert(
            {
                "author": me.user_id,
                "added_at": to_iso(utcnow()),
                "text": text,
                "idea": idea,
                "shared_at": None,
                "response": None,
            }
        )


def _typed_rung(turn: Turn) -> str:
    """A rung in the person's own words; the ladder comes again below it."""
    _add_rung(turn.tx, turn.partner, turn.value, None)
    turn.data.update(_ladder(turn.tx, turn.partner))
    return "ladder"


def _picked_idea(turn: Turn) -> None:
    """An idea becomes a rung; the ladder comes anew, with it."""
    _add_rung(turn.tx, turn.partner, None, str(turn.value))
    turn.toast = "alert.journal_rung_added"
    _open_ladder(turn.runner.services, turn.tx, turn.couple, turn.partner)


def _responded(turn: Turn) -> str:
    """How the partner responded to a shared rung (noted once)."""
    rung = _owned(turn.tx, LADDER_TABLE, turn.data.get("rung"), turn.partner.user_id)
    if rung is not None and rung.get("shared_at") and not rung.get("response"):
        turn.tx.table(LADDER_TABLE).update(rung["id"], {"response": turn.value})
    turn.data["response"] = turn.value
    return "noted"


def _open_ladder(services: Services, tx: Transaction, couple: Couple, me: Partner) -> None:
    _start(services, tx, couple, me, LADDER, data=_ladder(tx, me))


LADDER_FLOW = Flow(
    name=LADDER,
    where="private",
    first="ladder",
    steps={
        **_twins(
            "ladder", Step("journal/ladder", _ladder_options, answer=_ladder_press, edit=True)
        ),
        "add": Step("journal/ladder_ask", read=_words(MAX_RUNG), answer=_typed_rung),
    },
)
IDEAS_FLOW = Flow(
    name=IDEAS,
    where="private",
    first="pick",
    steps={
        "pick": Step(
            "journal/ladder_ideas",
            [[Option(idea, f"journal.idea_{idea}")] for idea in IDEAS_OFFERED],
            answer=_picked_idea,
        )
    },
)
RESPONSE_FLOW = Flow(
    name=RESPONSE,
    where="private",
    first="ask",
    steps={
        "ask": Step(
            "journal/ladder_response_ask",
            [[Option(r, f"journal.response_{r}") for r in RESPONSES]],
            answer=_responded,
        ),
        "noted": Step("journal/ladder_response"),
    },
)


# -- /trigger ----------------------------------------------------------------------------------


def _drafted(
    services: Services,
    tx: Transaction,
    couple: Couple,
    me: Partner,
    words: str,
    *,
    known: str | None = None,
) -> dict[str, Any]:
    """What set it off (or, from /reflect, what the person knows for sure) becomes a drafted
    "I" statement, worded for the couple's path and the author's role, kept as the person's
    draft; nothing leaves the private chat yet. Returns what the draft shows."""
    what = words.rstrip(".!") or words
    wording: dict[str, Any] = {
        "source": "trigger" if known is None else "reflect",
        "known": known,
        "path": couple.path,
        "role": me.role,
    }
    trigger = tx.table(TRIGGERS_TABLE).insert(
        {
            "author": me.user_id,
            "at": to_iso(utcnow()),
            "what": what,
            "text": None,
            "state": "draft",
            "locale": partner_locale(services, me),
            "source": wording["source"],
            "known": known,
            "path": couple.path,
            "role": me.role,
        }
    )
    return {"trigger": trigger, "what": what, "text": None, "group": couple.title, **wording}


def _wording(trigger: Trigger) -> dict[str, Any]:
    """How a stored draft was worded (neutral for those drafted before this was kept)."""
    return {
        "source": trigger.get("source", "trigger"),
        "known": trigger.get("known"),
        "path": trigger.get("path"),
        "role": trigger.get("role"),
    }


def _draft(turn: Turn, words: str, known: str | None = None) -> str:
    services, tx, couple, me = turn.runner.services, turn.tx, turn.couple, turn.partner
    turn.data.update(_drafted(services, tx, couple, me, words, known=known))
    return "draft"


def _what_set_it_off(turn: Turn) -> str:
    return _draft(turn, turn.value)


def _draft_choice(turn: Turn) -> str:
    """Share (only now does anything reach the group), edit, or keep it private."""
    if turn.value == "edit":
        return "own"
    services, tx, me = turn.runner.services, turn.tx, turn.partner
    trigger = _owned(tx, TRIGGERS_TABLE, turn.data.get("trigger"), me.user_id)
    if turn.value == "keep":
        if trigger is not None:
            tx.table(TRIGGERS_TABLE).update(trigger["id"], {"state": "private"})
        return "kept"
    if trigger is not None:
        tx.table(TRIGGERS_TABLE).update(
            trigger["id"], {"state": "shared", "shared_at": to_iso(utcnow())}
        )
        turn.say(
            GROUP,
            "journal/trigger_shared",
            name=me.name,
            what=trigger["what"],
            text=trigger["text"],
            author_locale=_known_locale(services, trigger["locale"]),
            **_wording(trigger),
        )
        log.info("a trigger statement was shared with the group by its author")
    return "shared"


def _own_words(turn: Turn) -> str:
    """The person's own wording replaces the draft; it is shown again before anything is sent."""
    trigger = _owned(turn.tx, TRIGGERS_TABLE, turn.data.get("trigger"), turn.partner.user_id)
    if trigger is not None:
        turn.tx.table(TRIGGERS_TABLE).update(trigger["id"], {"text": turn.value})
    turn.data["text"] = turn.value
    return "draft"


def _known_locale(services: Services, locale: str) -> str:
    """The locale the author read the draft in (English if that language has since gone)."""
    return locale if locale in services.render.locales else services.render.locales[0]


# The draft and what follows it: a trigger's own flow ends in them, and so does a /reflect whose
# author chose to tell their partner.
DRAFT_STEPS = {
    "draft": Step(
        "journal/trigger_draft",
        [
            [Option("share", "journal.trigger_share")],
            [Option("edit", "journal.trigger_edit"), Option("keep", "journal.trigger_keep")],
        ],
        answer=_draft_choice,
        data=lambda run: _wording(cast(Trigger, run.data)),
    ),
    "own": Step("journal/trigger_edit_ask", read=_words(MAX_OWN), answer=_own_words),
    "shared": Step("journal/trigger_done", data=lambda run: {"shared": True}),
    "kept": Step("journal/trigger_done", data=lambda run: {"shared": False}),
}

TRIGGER_FLOW = Flow(
    name=TRIGGER,
    where="private",
    first="what",
    steps={
        "what": Step("journal/trigger_ask", read=_words(MAX_WHAT), answer=_what_set_it_off),
        **DRAFT_STEPS,
    },
    closed="journal/trigger_closed",
)


def _open_trigger(services: Services, tx: Transaction, couple: Couple, me: Partner) -> None:
    _start(services, tx, couple, me, TRIGGER)


@known_partner
async def trigger_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/trigger: in private, straight away; from the group, it continues in private."""
    couple, me = asked.couple, asked.partner
    if asked.private:
        given = {"typed": asked.typed}
        await which.keep(update, context, me.user_id, f"{MENU}.trigger_typed", given)
        return
    services = context.mend
    if me.private_chat:
        with services.store.transaction(couple.chat_id) as tx:
            run = _start(services, tx, couple, me, TRIGGER, thread_id=asked.thread_id)
        await services.outbox.deliver(context, couple.chat_id)
        fresh = services.store.couple(couple.chat_id) or couple
        reached = fresh.partner(me.user_id)
        if reached is not None and reached.private_chat:
            await reply(update, context, asked.locale, "journal/trigger_moved", name=me.name)
            return
        # The private chat can't be reached (blocked, or never really opened): start over there.
        with services.store.transaction(couple.chat_id) as tx:
            runner_of(services).close(tx, run)
        couple = fresh
        me = reached or me
    await _private_only(update, context, couple, me, "trigger")


def _keep_trigger(
    services: Services, tx: Transaction, couple: Couple, me: Partner, given: dict[str, Any]
) -> None:
    """`/trigger <what set it off>` drafts at once; without words (or too many), it asks."""
    typed = str(given.get("typed", ""))
    if not typed.strip():
        _start(services, tx, couple, me, TRIGGER)
        return
    try:
        what = _words(MAX_WHAT)(typed)
    except Unreadable as error:
        label = services.render.label(partner_locale(services, me), error.reason, **error.values)
        _start(services, tx, couple, me, TRIGGER, show={"error": label})
    else:
        data = _drafted(services, tx, couple, me, what)
        _start(services, tx, couple, me, TRIGGER, data=data, step="draft")


# -- /reflect: from rumination to reflection ---------------------------------------------------


def _reflection(turn: Turn) -> SelfWork | None:
    return _owned(turn.tx, CHECKS_TABLE, turn.data.get("record"), turn.partner.user_id)


def _note(turn: Turn, **fields: Any) -> None:
    """Keep an answer with the run and in the person's record of this reflection."""
    turn.data.update(fields)
    record = _reflection(turn)
    if record is not None:
        turn.tx.table(CHECKS_TABLE).update(record["id"], fields)


def _the_loop(turn: Turn) -> str:
    _note(turn, loop=turn.value)
    return "notice"


def _circling(turn: Turn) -> str:
    _note(turn, circling=turn.value == "circling")
    return "known"


def _what_i_know(turn: Turn) -> str:
    _note(turn, known=turn.value)
    return "next"


def _next_step(turn: Turn) -> str | None:
    """The chosen next step: kept in the journal, drafted for the partner, or just noted."""
    choice = str(turn.value)
    _note(turn, next_step=choice, done=True)
    loop, known = turn.data["loop"], turn.data["known"]
    if choice == "write":
        _new_entry(turn.tx, turn.partner, "reflect", loop, known)
    turn.say(
        turn.partner,
        "journal/reflect_done",
        loop=loop,
        known=known,
        choice=choice,
        looping=_looping(turn.tx, turn.partner),
    )
    return _draft(turn, loop, known) if choice == "share" else None


def _looping(tx: Transaction, me: Partner) -> bool:
    """The same anxious circling, again and again this week: time to suggest support."""
    since = utcnow() - LOOPING_WINDOW
    circling = [
        r
        for r in _own(tx, CHECKS_TABLE, me.user_id)
        if r.get("tool") == "reflect"
        and r.get("circling")
        and (from_iso(r["at"]) or since) >= since
    ]
    return len(circling) >= LOOPING_RUNS


REFLECT_FLOW = Flow(
    name=REFLECT,
    where="private",
    first="loop",
    steps={
        "loop": Step("journal/reflect_loop_ask", read=_words(MAX_LOOP), answer=_the_loop),
        "notice": Step(
            "journal/reflect_notice",
            [[Option("circling", "journal.loop_circling"), Option("new", "journal.loop_new")]],
            answer=_circling,
        ),
        "known": Step("journal/reflect_known_ask", read=_words(MAX_KNOWN), answer=_what_i_know),
        "next": Step(
            "journal/reflect_step",
            [[Option(step, f"journal.step_{step}")] for step in NEXT_STEPS],
            answer=_next_step,
        ),
        **DRAFT_STEPS,
    },
)


def _open_reflect(services: Services, tx: Transaction, couple: Couple, me: Partner) -> None:
    record = tx.table(CHECKS_TABLE).insert(
        {
            "author": me.user_id,
            "tool": "reflect",
            "at": to_iso(utcnow()),
            "loop": None,
            "circling": None,
            "known": None,
            "next_step": None,
            "done": False,
        }
    )
    _start(services, tx, couple, me, REFLECT, data={"record": record})


# -- the commands ------------------------------------------------------------------------------

# What the menu's buttons and the tools' commands open.
OPENERS: dict[str, Opener] = {
    **{prompt: _prompt_opener(prompt) for prompt in PROMPTS},
    "selfcheck": _check_opener(SELFCHECK, "selfcheck"),
    "setback": _check_opener(SETBACK_CHECK, "setback"),
    "ladder": _open_ladder,
    "trigger": _open_trigger,
    "reflect": _open_reflect,
}


def _opening(opener: Opener) -> which.Keep:
    def keep(
        services: Services, tx: Transaction, couple: Couple, me: Partner, given: dict[str, Any]
    ) -> None:
        opener(services, tx, couple, me)

    return keep


def _tool_command(tool: str) -> Handler:
    @known_partner
    async def command(update: Update, context: MendContext, asked: Asked) -> None:
        if not asked.private:
            await _private_only(update, context, asked.couple, asked.partner, tool)
            return
        await which.keep(update, context, asked.partner.user_id, f"{MENU}.{tool}")

    command.__doc__ = f"/{tool} in private; in the group, a pointer to the private chat."
    return command


async def _closed_question(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A reply to a question from before the journal's flows: it can't be continued."""
    locale = partner_locale(context.mend, answer.partner)
    await reply(update, context, locale, "common/question_closed")


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("journal", "personal", in_group=False, in_private=True),
        Command("selfcheck", "personal", in_group=False, in_private=True),
        Command("ladder", "personal", in_group=False, in_private=True),
        Command("trigger", "calm", in_group=True, in_private=True),
        Command("setback", "calm", in_group=False, in_private=True),
        Command("reflect", "calm", in_group=False, in_private=True),
    )
    services.exporters["journal"] = journal_export
    # What is written here is kept with the couple it belongs to (bot.which).
    which.on_keep(f"{MENU}.entry", _keep_free)
    which.on_keep(f"{MENU}.trigger_typed", _keep_trigger)
    for name, opener in {"menu": _open_menu, **OPENERS}.items():
        which.on_keep(f"{MENU}.{name}", _opening(opener))
    runner_of(services).add(
        MENU_FLOW,
        PROMPT_FLOW,
        SELFCHECK_FLOW,
        SETBACK_FLOW,
        LADDER_FLOW,
        IDEAS_FLOW,
        RESPONSE_FLOW,
        TRIGGER_FLOW,
        REFLECT_FLOW,
        KEEP_FLOW,
    )
    asks.on_unprompted(unprompted_text)
    for kind in OLD_QUESTIONS:
        asks.on_answer(kind, _closed_question)
    app.add_handler(CommandHandler("journal", journal_command))
    app.add_handler(CommandHandler("trigger", trigger_command))
    for tool in ("selfcheck", "ladder", "setback", "reflect"):
        app.add_handler(CommandHandler(tool, _tool_command(tool)))
    # What isn't text (and isn't a service message such as a pin) in a private chat.
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, unwritten
        )
    )
