"""/journal and the self-work tools of the new-relationship path, all in a partner's private chat.

- /journal: a private journal with the guide's prompts (one good decision made today and how it
  felt to trust one's own judgment; the fear questions: what am I most afraid of here, where did
  I learn it), free entries, and the history, paged. Part of the author's /export only.
- /selfcheck: the warning signs in oneself as yes/no questions, then a gentle reading
  (self-compassion first, no score), pointing to /support when many apply.
- /ladder: a vulnerability ladder: small disclosures first, each marked when shared, with a note
  of how the partner responded. Nothing reaches the partner.
- /trigger: a trigger in a few words becomes a drafted "I" statement that reaches the group only
  when its author taps "Share in the group" (can be started from the group; continues here).
- /setback: a normal setback or a red flag? Questions, then the advice that fits, and /support.
- /reflect: notice an anxious loop and turn it into reflection; /support if the looping persists.

Everything is stored in the person's couple file (their first couple if they have several),
tagged with its author; nothing here is ever shown to the other partner unless the author
shares a trigger statement.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import asks
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.features.onboarding import LINK as PRIVATE_LINK
from bot.guards import Handler, known_partner
from bot.messages import Buttons, button, clear_buttons, reply, say, send_html
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.storage import Record

log = logging.getLogger(__name__)

JOURNAL_TABLE = "journal"
LADDER_TABLE = "ladder"
TRIGGERS_TABLE = "triggers"
CHECKS_TABLE = "selfwork"  # runs of /selfcheck, /setback and /reflect
PREFIX = "jn:"

PROMPTS = {"decision": 2, "fear": 2, "free": 1}  # prompt → how many questions it asks
PAGE_SIZE = 5
EXCERPT = 280
MAX_TEXT = 3000
TOOLS = ("selfcheck", "ladder", "trigger", "setback", "reflect")

SIGNS = ("withholding", "overshadow", "scanning", "doubts", "checking", "expect_hurt")
MANY_SIGNS = 4
# Setback questions, and the answer to each that points to a red flag ("afraid": safety first).
SETBACK = {"heard": "n", "repeated": "y", "talking": "n", "effort": "n", "afraid": "y"}
IDEAS = ("small_worry", "comfort", "lesson", "old_hurt", "need", "big_fear")
RESPONSES = ("care", "mixed", "hard")
MAX_RUNGS = 12
MAX_RUNG = 200  # characters of a rung: a full ladder fits in one message
NEXT_STEPS = ("write", "share", "rest", "kind")
LOOPING_RUNS = 3  # this many loops noticed as circling within a week: point to /support
LOOPING_WINDOW = timedelta(days=7)


# -- shared helpers ----------------------------------------------------------------------------


def _home(couples: list[Couple], user_id: int) -> tuple[Couple, Partner]:
    """The couple whose file keeps the person's private entries, and the person in it."""
    couple = couples[0]
    me = couple.partner(user_id)
    assert me is not None
    return couple, me


def _mine(services: Services, couple: Couple, table: str, user_id: int) -> list[Record]:
    return [r for r in services.store.records(couple.chat_id, table) if r.get("author") == user_id]


def _record(
    services: Services, couple: Couple, table: str, record_id: int, user_id: int
) -> Record | None:
    """One of the person's own records; None for anyone else's (or a forged id)."""
    return next((r for r in _mine(services, couple, table, user_id) if r["id"] == record_id), None)


def _insert(services: Services, couple: Couple, table: str, record: Record) -> int:
    with services.store.transaction(couple.chat_id) as tx:
        return tx.table(table).insert(record)


def _change(services: Services, couple: Couple, table: str, record_id: int, fields: Record) -> None:
    with services.store.transaction(couple.chat_id) as tx:
        tx.table(table).update(record_id, fields)


def _locale(services: Services, me: Partner) -> str:
    return partner_locale(services, me)


def _is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == Chat.PRIVATE


async def _stale(update: Update, context: MendContext, me: Partner | None) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None
    services = context.mend
    locale = (
        _locale(services, me)
        if me
        else services.render.locale_for(user.language_code if user else None)
    )
    await query.answer(services.render.label(locale, "alert.stale_button"), show_alert=True)


async def _edit(update: Update, html: str, buttons: Buttons | None) -> None:
    """Replace the pressed message's text and buttons (one message walks through a check)."""
    query = update.callback_query
    assert query is not None
    markup = InlineKeyboardMarkup(buttons) if buttons else None
    try:
        await query.edit_message_text(html, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            raise


async def _private_only(update: Update, context: MendContext, couple: Couple, command: str) -> None:
    """In the group: this lives in the private chat (with a fresh link if it isn't open)."""
    user = update.effective_user
    assert user is not None
    services = context.mend
    me = couple.partner(user.id)
    assert me is not None
    locale = group_locale(services, couple)
    rows: Buttons = []
    if not me.private_chat:
        rows = [[button(services.render.label(locale, "settings.private_link"), PRIVATE_LINK)]]
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


def _tool_buttons(services: Services, locale: str) -> list[list[Any]]:
    render = services.render
    labels = {tool: render.label(locale, f"journal.tool_{tool}") for tool in TOOLS}
    return [
        [
            button(labels["selfcheck"], f"{PREFIX}t:selfcheck"),
            button(labels["ladder"], f"{PREFIX}t:ladder"),
        ],
        [
            button(labels["trigger"], f"{PREFIX}t:trigger"),
            button(labels["setback"], f"{PREFIX}t:setback"),
        ],
        [button(labels["reflect"], f"{PREFIX}t:reflect")],
    ]


# -- /journal ----------------------------------------------------------------------------------


@known_partner
async def journal_command(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """/journal: the menu and recent entries; `/journal <text>` keeps a free entry at once."""
    user = update.effective_user
    assert user is not None
    if not _is_private(update):
        await _private_only(update, context, couples[0], "journal")
        return
    couple, me = _home(couples, user.id)
    text = " ".join(context.args or []).strip()
    if text:
        _insert(
            context.mend,
            couple,
            JOURNAL_TABLE,
            {
                "author": me.user_id,
                "at": to_iso(utcnow()),
                "prompt": "free",
                "answers": [text[:MAX_TEXT]],
            },
        )
        await reply(update, context, _locale(context.mend, me), "journal/saved", prompt="free")
        return
    html, rows = _journal_page(context.mend, couple, me, 0)
    await send_html(context, me.user_id, html, buttons=rows)


def _journal_page(
    services: Services, couple: Couple, me: Partner, page: int
) -> tuple[str, Buttons]:
    """The journal menu with one page of entries, newest first."""
    locale = _locale(services, me)
    render = services.render
    entries = sorted(
        _mine(services, couple, JOURNAL_TABLE, me.user_id),
        key=lambda r: (r["at"], r["id"]),
        reverse=True,
    )
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = [
        {
            "at": from_iso(e["at"]),
            "prompt": e["prompt"],
            "answers": [_excerpt(a) for a in e["answers"]],
        }
        for e in entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    ]
    html = render.message(
        locale,
        "journal/menu",
        entries=shown,
        page=page + 1,
        pages=pages,
        total=len(entries),
        zone=me.timezone,
        new_path=couple.path == "new",
    )
    prompts: list[list[Any]] = [
        [button(render.label(locale, "journal.prompt_decision"), f"{PREFIX}p:decision")],
        [
            button(render.label(locale, "journal.prompt_fear"), f"{PREFIX}p:fear"),
            button(render.label(locale, "journal.prompt_free"), f"{PREFIX}p:free"),
        ],
    ]
    tools = _tool_buttons(services, locale)
    rows = tools + prompts if couple.path == "new" else prompts + tools
    paging = []
    if page + 1 < pages:
        paging.append(button(render.label(locale, "journal.older"), f"{PREFIX}pg:{page + 1}"))
    if page > 0:
        paging.append(button(render.label(locale, "journal.newer"), f"{PREFIX}pg:{page - 1}"))
    if paging:
        rows.append(paging)
    return html, rows


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + "…"


async def _ask_prompt(
    context: MendContext,
    couple: Couple,
    me: Partner,
    prompt: str,
    part: int,
    entry: int | None = None,
) -> None:
    await asks.ask(
        context,
        couple,
        me,
        "journal_entry",
        "journal/ask",
        in_chat=me.user_id,
        payload={"prompt": prompt, "part": part, "entry": entry},
        prompt=prompt,
        part=part,
    )


async def entry_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A journal answer: the first part starts an entry, a follow-up joins it."""
    services, couple, me = context.mend, answer.couple, answer.partner
    prompt, part = str(answer.payload.get("prompt")), int(answer.payload.get("part", 0))
    if prompt not in PROMPTS or not 0 <= part < PROMPTS[prompt]:
        return
    text = answer.text[:MAX_TEXT]
    entry_id = answer.payload.get("entry")
    entry = None
    if part > 0 and isinstance(entry_id, int):
        entry = _record(services, couple, JOURNAL_TABLE, entry_id, me.user_id)
    if entry is None:
        saved_id = _insert(
            services,
            couple,
            JOURNAL_TABLE,
            {"author": me.user_id, "at": to_iso(utcnow()), "prompt": prompt, "answers": [text]},
        )
    else:
        saved_id = entry["id"]
        _change(services, couple, JOURNAL_TABLE, saved_id, {"answers": [*entry["answers"], text]})
    if part + 1 < PROMPTS[prompt]:
        await _ask_prompt(context, couple, me, prompt, part + 1, saved_id)
        return
    await reply(update, context, _locale(services, me), "journal/saved", prompt=prompt)


def journal_export(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """Only the person's own private entries and tools, never the other partner's."""

    def own(table: str) -> list[Record]:
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


# -- the private tools' commands ---------------------------------------------------------------


def _tool_command(tool: str) -> Handler:
    @known_partner
    async def command(update: Update, context: MendContext, couples: list[Couple]) -> None:
        user = update.effective_user
        assert user is not None
        if not _is_private(update):
            await _private_only(update, context, couples[0], tool)
            return
        couple, me = _home(couples, user.id)
        await _start_tool(context, couple, me, tool)

    command.__doc__ = f"/{tool} in private; in the group, a pointer to the private chat."
    return command


async def _start_tool(context: MendContext, couple: Couple, me: Partner, tool: str) -> None:
    if tool == "selfcheck":
        await _start_check(context, couple, me, "selfcheck")
    elif tool == "setback":
        await _start_check(context, couple, me, "setback")
    elif tool == "ladder":
        await _show_ladder(context, couple, me)
    elif tool == "reflect":
        await _start_reflect(context, couple, me)
    elif tool == "trigger":
        await _ask_trigger(context, couple, me)


# -- the buttons -------------------------------------------------------------------------------


@known_partner
async def journal_button(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """Every private button of the journal and the tools: `jn:<area>:...`."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    services = context.mend
    parts = query.data.removeprefix(PREFIX).split(":")
    couple, me = _home(couples, user.id)
    if not _is_private(update):
        await _stale(update, context, me)
        return
    area, args = parts[0], parts[1:]
    handled = False
    if area == "pg" and len(args) == 1 and args[0].isdigit():
        html, rows = _journal_page(services, couple, me, int(args[0]))
        await _edit(update, html, rows)
        await query.answer()
        handled = True
    elif area == "p" and len(args) == 1 and args[0] in PROMPTS:
        await query.answer()
        await _ask_prompt(context, couple, me, args[0], 0)
        handled = True
    elif area == "t" and len(args) == 1 and args[0] in TOOLS:
        await query.answer()
        await _start_tool(context, couple, me, args[0])
        handled = True
    elif area in ("sc", "sb"):
        handled = await _check_button(update, context, couple, me, area, args)
    elif area == "ld":
        handled = await _ladder_button(update, context, couple, me, args)
    elif area == "rf":
        handled = await _reflect_button(update, context, couple, me, args)
    elif area == "tg" and len(args) == 3 and args[0].lstrip("-").isdigit() and args[1].isdigit():
        target = next((c for c in couples if c.chat_id == int(args[0])), None)
        owner = target.partner(user.id) if target else None
        if target is not None and owner is not None:
            handled = await _trigger_button(update, context, target, owner, int(args[1]), args[2])
    if not handled:
        await _stale(update, context, me)


# -- /selfcheck and /setback: one message walks through yes/no questions ------------------------


def _questions(tool: str) -> tuple[str, ...]:
    return SIGNS if tool == "selfcheck" else tuple(SETBACK)


async def _start_check(context: MendContext, couple: Couple, me: Partner, tool: str) -> None:
    services = context.mend
    run_id = _insert(
        services,
        couple,
        CHECKS_TABLE,
        {"author": me.user_id, "tool": tool, "at": to_iso(utcnow()), "answers": [], "done": False},
    )
    html, rows = _check_view(services, me, tool, run_id, [])
    await send_html(context, me.user_id, html, buttons=rows)


def _check_view(
    services: Services, me: Partner, tool: str, run_id: int, answers: list[str]
) -> tuple[str, Buttons]:
    """The next question with yes/no buttons, or, when all are answered, the reading."""
    locale = _locale(services, me)
    render = services.render
    questions = _questions(tool)
    area = "sc" if tool == "selfcheck" else "sb"
    if len(answers) < len(questions):
        index = len(answers)
        rows = [
            [
                button(
                    render.label(locale, f"journal.{area}_yes"),
                    f"{PREFIX}{area}:{run_id}:{index}:y",
                ),
                button(
                    render.label(locale, f"journal.{area}_no"), f"{PREFIX}{area}:{run_id}:{index}:n"
                ),
            ]
        ]
        html = render.message(
            locale,
            f"journal/{tool}_question",
            index=index,
            total=len(questions),
            question=questions[index],
        )
        return html, rows
    chosen = dict(zip(questions, answers, strict=True))
    if tool == "selfcheck":
        signs = [sign for sign in SIGNS if chosen[sign] == "y"]
        html = render.message(
            locale, "journal/selfcheck_reading", signs=signs, many=len(signs) >= MANY_SIGNS
        )
    else:
        flags = [q for q, red in SETBACK.items() if q != "afraid" and chosen[q] == red]
        html = render.message(
            locale,
            "journal/setback_reading",
            flags=flags,
            afraid=chosen["afraid"] == SETBACK["afraid"],
        )
    return html, []


async def _check_button(
    update: Update, context: MendContext, couple: Couple, me: Partner, area: str, args: list[str]
) -> bool:
    """`jn:sc|sb:<run>:<index>:<y|n>`: only the current question of the person's own run."""
    query = update.callback_query
    assert query is not None
    services = context.mend
    tool = "selfcheck" if area == "sc" else "setback"
    if len(args) != 3 or not args[0].isdigit() or not args[1].isdigit() or args[2] not in "yn":
        return False
    run = _record(services, couple, CHECKS_TABLE, int(args[0]), me.user_id)
    if (
        run is None
        or run["tool"] != tool
        or run["done"]
        or int(args[1]) != len(run["answers"])
        or len(args[2]) != 1
    ):
        return False
    answers = [*run["answers"], args[2]]
    done = len(answers) == len(_questions(tool))
    _change(services, couple, CHECKS_TABLE, run["id"], {"answers": answers, "done": done})
    html, rows = _check_view(services, me, tool, run["id"], answers)
    await _edit(update, html, rows)
    await query.answer()
    if done:
        log.info("%s finished", tool)
    return True


# -- /ladder -----------------------------------------------------------------------------------


def _rungs(services: Services, couple: Couple, me: Partner) -> list[Record]:
    return sorted(_mine(services, couple, LADDER_TABLE, me.user_id), key=lambda r: r["id"])


def _ladder_view(services: Services, couple: Couple, me: Partner) -> tuple[str, Buttons]:
    locale = _locale(services, me)
    render = services.render
    rungs = _rungs(services, couple, me)
    rows: list[list[Any]] = []
    for number, rung in enumerate(rungs, start=1):
        row = []
        if not rung.get("shared_at"):
            row.append(
                button(
                    render.label(locale, "journal.rung_shared", n=number),
                    f"{PREFIX}ld:shared:{rung['id']}",
                )
            )
        row.append(
            button(
                render.label(locale, "journal.rung_remove", n=number),
                f"{PREFIX}ld:del:{rung['id']}",
            )
        )
        rows.append(row)
    if len(rungs) < MAX_RUNGS:
        rows.append(
            [
                button(render.label(locale, "journal.rung_add"), f"{PREFIX}ld:add"),
                button(render.label(locale, "journal.rung_ideas"), f"{PREFIX}ld:ideas"),
            ]
        )
    html = render.message(
        locale,
        "journal/ladder",
        rungs=[
            {
                "text": r.get("text"),
                "idea": r.get("idea"),
                "shared": bool(r.get("shared_at")),
                "response": r.get("response"),
            }
            for r in rungs
        ],
        full=len(rungs) >= MAX_RUNGS,
    )
    return html, rows


async def _show_ladder(context: MendContext, couple: Couple, me: Partner) -> None:
    html, rows = _ladder_view(context.mend, couple, me)
    await send_html(context, me.user_id, html, buttons=rows)


async def _ladder_button(
    update: Update, context: MendContext, couple: Couple, me: Partner, args: list[str]
) -> bool:
    query = update.callback_query
    assert query is not None
    services = context.mend
    locale = _locale(services, me)
    render = services.render
    action = args[0] if args else ""
    full = len(_rungs(services, couple, me)) >= MAX_RUNGS
    if action == "add" and len(args) == 1 and not full:
        await query.answer()
        await asks.ask(
            context, couple, me, "journal_rung", "journal/ladder_ask", in_chat=me.user_id
        )
        return True
    if action == "ideas" and len(args) == 1 and not full:
        await query.answer()
        rows = [
            [button(render.label(locale, f"journal.idea_{idea}"), f"{PREFIX}ld:pick:{idea}")]
            for idea in IDEAS
        ]
        await say(context, me.user_id, locale, "journal/ladder_ideas", buttons=rows)
        return True
    if action == "pick" and len(args) == 2 and args[1] in IDEAS and not full:
        _insert(
            services,
            couple,
            LADDER_TABLE,
            {
                "author": me.user_id,
                "added_at": to_iso(utcnow()),
                "text": None,
                "idea": args[1],
                "shared_at": None,
                "response": None,
            },
        )
        await query.answer(render.label(locale, "alert.journal_rung_added"))
        await _show_ladder(context, couple, me)
        return True
    if len(args) < 2 or not args[1].isdigit():
        return False
    rung = _record(services, couple, LADDER_TABLE, int(args[1]), me.user_id)
    if rung is None:
        return False
    if action == "del" and len(args) == 2:
        with services.store.transaction(couple.chat_id) as tx:
            tx.table(LADDER_TABLE).remove(rung["id"])
        html, buttons = _ladder_view(services, couple, me)
        await _edit(update, html, buttons)
        await query.answer()
        return True
    if action == "shared" and len(args) == 2 and not rung.get("shared_at"):
        _change(services, couple, LADDER_TABLE, rung["id"], {"shared_at": to_iso(utcnow())})
        html, buttons = _ladder_view(services, couple, me)
        await _edit(update, html, buttons)
        await query.answer()
        ask = [
            [
                button(
                    render.label(locale, f"journal.response_{r}"),
                    f"{PREFIX}ld:resp:{rung['id']}:{r}",
                )
                for r in RESPONSES
            ]
        ]
        await say(context, me.user_id, locale, "journal/ladder_response_ask", buttons=ask)
        return True
    if (
        action == "resp"
        and len(args) == 3
        and args[2] in RESPONSES
        and rung.get("shared_at")
        and not rung.get("response")
    ):
        _change(services, couple, LADDER_TABLE, rung["id"], {"response": args[2]})
        await query.answer()
        await clear_buttons(update)
        await say(context, me.user_id, locale, "journal/ladder_response", response=args[2])
        return True
    return False


async def rung_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A rung of the person's own words."""
    services, couple, me = context.mend, answer.couple, answer.partner
    if len(_rungs(services, couple, me)) >= MAX_RUNGS:
        return
    _insert(
        services,
        couple,
        LADDER_TABLE,
        {
            "author": me.user_id,
            "added_at": to_iso(utcnow()),
            "text": answer.text[:MAX_RUNG],
            "idea": None,
            "shared_at": None,
            "response": None,
        },
    )
    await _show_ladder(context, couple, me)


# -- /trigger ----------------------------------------------------------------------------------


@known_partner
async def trigger_command(update: Update, context: MendContext, couples: list[Couple]) -> None:
    """/trigger: in private, straight away; from the group, it continues in private."""
    user = update.effective_user
    assert user is not None
    services = context.mend
    if _is_private(update):
        couple, me = _home(couples, user.id)
        text = " ".join(context.args or []).strip()
        if text:
            await _draft(context, couple, me, text)
        else:
            await _ask_trigger(context, couple, me)
        return
    couple = couples[0]
    partner = couple.partner(user.id)
    assert partner is not None
    moved = partner.private_chat and await _ask_trigger(context, couple, partner)
    if not moved:
        fresh = services.store.couple(couple.chat_id) or couple
        await _private_only(update, context, fresh, "trigger")
        return
    await reply(
        update, context, group_locale(services, couple), "journal/trigger_moved", name=partner.name
    )


async def _ask_trigger(context: MendContext, couple: Couple, me: Partner) -> bool:
    """Ask in private what set it off; False if the private chat can't be reached."""
    try:
        await asks.ask(
            context, couple, me, "journal_trigger", "journal/trigger_ask", in_chat=me.user_id
        )
    except (Forbidden, BadRequest) as error:
        if isinstance(error, BadRequest) and "chat not found" not in error.message.lower():
            raise
        with context.mend.store.transaction(couple.chat_id) as tx:
            current = tx.couple()
            partner = current.partner(me.user_id) if current else None
            if current is not None and partner is not None:
                partner.private_chat = False
                tx.save(current)
        return False
    return True


async def trigger_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    await _draft(context, answer.couple, answer.partner, answer.text)


async def _draft(context: MendContext, couple: Couple, me: Partner, what: str) -> None:
    services = context.mend
    trigger_id = _insert(
        services,
        couple,
        TRIGGERS_TABLE,
        {
            "author": me.user_id,
            "at": to_iso(utcnow()),
            "what": what.strip().rstrip(".!")[:200],
            "text": None,
            "state": "draft",
            "locale": _locale(services, me),
        },
    )
    trigger = _record(services, couple, TRIGGERS_TABLE, trigger_id, me.user_id)
    assert trigger is not None
    await _show_draft(context, couple, me, trigger)


async def _show_draft(context: MendContext, couple: Couple, me: Partner, trigger: Record) -> None:
    services = context.mend
    locale = _locale(services, me)
    data = f"{PREFIX}tg:{couple.chat_id}:{trigger['id']}:"
    rows = [
        [button(services.render.label(locale, "journal.trigger_share"), f"{data}share")],
        [
            button(services.render.label(locale, "journal.trigger_edit"), f"{data}edit"),
            button(services.render.label(locale, "journal.trigger_keep"), f"{data}keep"),
        ],
    ]
    await say(
        context,
        me.user_id,
        locale,
        "journal/trigger_draft",
        buttons=rows,
        what=trigger["what"],
        text=trigger["text"],
        group=couple.title,
    )


async def _trigger_button(
    update: Update, context: MendContext, couple: Couple, me: Partner, trigger_id: int, action: str
) -> bool:
    """Share (only now does anything reach the group), edit, or keep it private."""
    query = update.callback_query
    assert query is not None
    services = context.mend
    trigger = _record(services, couple, TRIGGERS_TABLE, trigger_id, me.user_id)
    if trigger is None or trigger["state"] != "draft" or action not in ("share", "edit", "keep"):
        return False
    await query.answer()
    if action == "edit":
        await asks.ask(
            context,
            couple,
            me,
            "journal_trigger_edit",
            "journal/trigger_edit_ask",
            in_chat=me.user_id,
            payload={"trigger": trigger_id},
        )
        return True
    await clear_buttons(update)
    if action == "share":
        _change(
            services,
            couple,
            TRIGGERS_TABLE,
            trigger_id,
            {"state": "shared", "shared_at": to_iso(utcnow())},
        )
        await say(
            context,
            couple.chat_id,
            group_locale(services, couple),
            "journal/trigger_shared",
            name=me.name,
            what=trigger["what"],
            text=trigger["text"],
            author_locale=_known_locale(services, trigger["locale"]),
        )
        log.info("a trigger statement was shared with the group by its author")
    else:
        _change(services, couple, TRIGGERS_TABLE, trigger_id, {"state": "private"})
    await say(
        context, me.user_id, _locale(services, me), "journal/trigger_done", shared=action == "share"
    )
    return True


def _known_locale(services: Services, locale: str) -> str:
    """The locale the author read the draft in (English if that language has since gone)."""
    return locale if locale in services.render.locales else services.render.locales[0]


async def trigger_edit_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """The person's own wording replaces the draft; it is shown again before anything is sent."""
    services, couple, me = context.mend, answer.couple, answer.partner
    trigger = _record(
        services, couple, TRIGGERS_TABLE, int(answer.payload.get("trigger", 0)), me.user_id
    )
    if trigger is None or trigger["state"] != "draft":
        await reply(update, context, _locale(services, me), "journal/trigger_closed")
        return
    _change(services, couple, TRIGGERS_TABLE, trigger["id"], {"text": answer.text[:1000]})
    trigger["text"] = answer.text[:1000]
    await _show_draft(context, couple, me, trigger)


# -- /reflect: from rumination to reflection ---------------------------------------------------


async def _start_reflect(context: MendContext, couple: Couple, me: Partner) -> None:
    services = context.mend
    run_id = _insert(
        services,
        couple,
        CHECKS_TABLE,
        {
            "author": me.user_id,
            "tool": "reflect",
            "at": to_iso(utcnow()),
            "loop": None,
            "circling": None,
            "known": None,
            "step": None,
            "done": False,
        },
    )
    await asks.ask(
        context,
        couple,
        me,
        "journal_loop",
        "journal/reflect_loop_ask",
        in_chat=me.user_id,
        payload={"run": run_id},
    )


def _open_run(
    services: Services, couple: Couple, me: Partner, run_id: Any, missing: str
) -> Record | None:
    """The person's own unfinished /reflect run, if it still waits for `missing`."""
    if not isinstance(run_id, int):
        return None
    run = _record(services, couple, CHECKS_TABLE, run_id, me.user_id)
    if run is None or run["tool"] != "reflect" or run["done"] or run.get(missing) is not None:
        return None
    return run


async def loop_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    services, couple, me = context.mend, answer.couple, answer.partner
    run = _open_run(services, couple, me, answer.payload.get("run"), "loop")
    if run is None:
        return
    _change(services, couple, CHECKS_TABLE, run["id"], {"loop": answer.text[:500]})
    locale = _locale(services, me)
    rows = [
        [
            button(
                services.render.label(locale, "journal.loop_circling"),
                f"{PREFIX}rf:{run['id']}:circling",
            ),
            button(
                services.render.label(locale, "journal.loop_new"), f"{PREFIX}rf:{run['id']}:new"
            ),
        ]
    ]
    await say(context, me.user_id, locale, "journal/reflect_notice", buttons=rows)


async def known_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    services, couple, me = context.mend, answer.couple, answer.partner
    run = _open_run(services, couple, me, answer.payload.get("run"), "known")
    if run is None or run.get("circling") is None:
        return
    _change(services, couple, CHECKS_TABLE, run["id"], {"known": answer.text[:1000]})
    locale = _locale(services, me)
    rows = [
        [
            button(
                services.render.label(locale, f"journal.step_{step}"),
                f"{PREFIX}rf:{run['id']}:step:{step}",
            )
        ]
        for step in NEXT_STEPS
    ]
    await say(context, me.user_id, locale, "journal/reflect_step", buttons=rows)


async def _reflect_button(
    update: Update, context: MendContext, couple: Couple, me: Partner, args: list[str]
) -> bool:
    """`jn:rf:<run>:circling|new` and `jn:rf:<run>:step:<step>`."""
    query = update.callback_query
    assert query is not None
    services = context.mend
    if not args or not args[0].isdigit():
        return False
    run_id = int(args[0])
    if len(args) == 2 and args[1] in ("circling", "new"):
        run = _open_run(services, couple, me, run_id, "circling")
        if run is None or run.get("loop") is None:
            return False
        _change(services, couple, CHECKS_TABLE, run_id, {"circling": args[1] == "circling"})
        await query.answer()
        await clear_buttons(update)
        await asks.ask(
            context,
            couple,
            me,
            "journal_known",
            "journal/reflect_known_ask",
            in_chat=me.user_id,
            payload={"run": run_id},
            circling=args[1] == "circling",
        )
        return True
    if len(args) == 3 and args[1] == "step" and args[2] in NEXT_STEPS:
        run = _open_run(services, couple, me, run_id, "step")
        if run is None or run.get("known") is None:
            return False
        _change(services, couple, CHECKS_TABLE, run_id, {"step": args[2], "done": True})
        await query.answer()
        await clear_buttons(update)
        if args[2] == "write":
            _insert(
                services,
                couple,
                JOURNAL_TABLE,
                {
                    "author": me.user_id,
                    "at": to_iso(utcnow()),
                    "prompt": "reflect",
                    "answers": [run["loop"], run["known"]],
                },
            )
        await say(
            context,
            me.user_id,
            _locale(services, me),
            "journal/reflect_done",
            loop=run["loop"],
            known=run["known"],
            step=args[2],
            looping=_looping(services, couple, me),
        )
        if args[2] == "share":
            await _draft(context, couple, me, run["loop"])
        return True
    return False


def _looping(services: Services, couple: Couple, me: Partner) -> bool:
    """The same anxious circling, again and again this week: time to suggest support."""
    since = utcnow() - LOOPING_WINDOW
    circling = [
        r
        for r in _mine(services, couple, CHECKS_TABLE, me.user_id)
        if r.get("tool") == "reflect"
        and r.get("circling")
        and (from_iso(r["at"]) or since) >= since
    ]
    return len(circling) >= LOOPING_RUNS


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
    asks.on_answer("journal_entry", entry_answer)
    asks.on_answer("journal_rung", rung_answer)
    asks.on_answer("journal_trigger", trigger_answer)
    asks.on_answer("journal_trigger_edit", trigger_edit_answer)
    asks.on_answer("journal_loop", loop_answer)
    asks.on_answer("journal_known", known_answer)
    app.add_handler(CommandHandler("journal", journal_command))
    app.add_handler(CommandHandler("trigger", trigger_command))
    for tool in ("selfcheck", "ladder", "setback", "reflect"):
        app.add_handler(CommandHandler(tool, _tool_command(tool)))
    app.add_handler(CallbackQueryHandler(journal_button, pattern=f"^{PREFIX}"))
