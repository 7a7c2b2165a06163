"""Words to start from: /script (scripts by situation and role) and /starter (conversation
starters by roadmap phase and depth).

Roles, and the kind of breach a couple named (read from the repair track), only change the order
in which scripts are offered and what a script suggests; every script is open to both partners.
Starters are drawn without repeats from the set of the couple's current phase and the chosen
depth; the set starts over, with a gentle note, once it is used up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import audience
from bot.context import Command, MendContext, Services
from bot.guards import Asked, known_partner
from bot.messages import Buttons, button, choices, chosen, reply
from bot.model import Couple, to_iso, utcnow
from bot.render import shorten
from bot.roadmap import phase_of, roadmap_month
from bot.storage import Kind

SCRIPT = "script:"
STARTER = "starter:"


class StarterUsed(TypedDict):
    """A conversation starter the couple has drawn (not drawn again until its set is used up)."""

    id: NotRequired[int]
    phase: str
    depth: str
    index: int  # its place in the phase's and depth's set
    at: str | None


STARTERS_USED_TABLE = Kind[StarterUsed]("starters_used")


@dataclass(frozen=True)
class Script:
    """A script for one situation: the paths it belongs to and the roles it is offered first to."""

    key: str
    paths: tuple[str, ...]
    first_for: tuple[str, ...]


# The order here is the order offered when the asker has no role (both sides' material).
SCRIPTS: tuple[Script, ...] = (
    Script("acknowledge", ("repair",), ("repairing",)),
    Script("apology", ("repair",), ("repairing",)),
    Script("hurt", ("repair",), ("hurt",)),
    Script("past", ("new",), ("learning",)),
    Script("fears", ("new",), ("learning",)),
    Script("istatement", ("repair", "new"), ("hurt", "learning")),
    Script("whenthen", ("repair", "new"), ("hurt", "learning")),
    Script("gentle", ("repair", "new"), ("hurt", "learning")),
    Script("trigger", ("repair", "new"), ("hurt", "learning")),
    Script("listen", ("repair", "new"), ("repairing", "supporting")),
    Script("respond", ("repair", "new"), ("repairing", "supporting")),
    Script("closeness", ("repair",), ("hurt", "repairing")),
    Script("online", ("repair", "new"), ("hurt", "repairing", "learning", "supporting")),
)
SCRIPTS_BY_KEY = {script.key: script for script in SCRIPTS}
# The scripts that fit a kind of breach best (bot.features.repair_track.BREACHES), in order.
BREACH_SCRIPTS: dict[str, tuple[str, ...]] = {
    "infidelity": ("acknowledge", "apology", "closeness"),
    "emotional": ("acknowledge", "online", "apology"),
    "dishonesty": ("acknowledge", "gentle", "listen"),
    "promises": ("apology", "whenthen", "acknowledge"),
    "neglect": ("whenthen", "listen", "respond"),
}

# Roadmap phases by month since day 1 (months 1–3, 4–6, 7 onwards), and the two depths.
DEPTHS = ("light", "deeper")
DEPTH_WORDS = {
    "light": "light",
    "leicht": "light",
    "easy": "light",
    "deeper": "deeper",
    "deep": "deeper",
    "tief": "deeper",
    "tiefer": "deeper",
}
# Every phase+depth set in content/<locale>/talk/starter.html.j2 has exactly this many starters.
STARTERS_PER_SET = 10


def offered_scripts(
    path: str | None, role: str | None, breach: str | None = None
) -> tuple[list[Script], int]:
    """The scripts of the couple's path, the asker's role's first; and how many are theirs.
    Within each part, those that fit the kind of breach come first, best first."""
    fitting = BREACH_SCRIPTS.get(breach or "", ())

    def rank(script: Script) -> int:
        return fitting.index(script.key) if script.key in fitting else len(fitting)

    scripts = sorted((s for s in SCRIPTS if path is None or path in s.paths), key=rank)
    if role is None:
        return scripts, 0
    first = [s for s in scripts if role in s.first_for]
    return first + [s for s in scripts if role not in s.first_for], len(first)


@known_partner
async def script_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/script: a menu of situations; /script <situation>: that script at once."""
    couple, me, locale = asked.couple, asked.partner, asked.locale
    render = context.mend.render
    breach = _breach(context, asked)
    wanted = asked.text.lower()
    if wanted:
        if wanted in SCRIPTS_BY_KEY:
            await reply(update, context, locale, f"talk/script_{wanted}", breach=breach)
            return
        known = [
            {"key": s.key, "title": render.label(locale, f"talk.script_{s.key}")} for s in SCRIPTS
        ]
        await reply(
            update, context, locale, "talk/script_usage", typed=shorten(wanted), scripts=known
        )
        return
    scripts, first = offered_scripts(couple.path, me.role, breach)
    rows: Buttons = [
        [button(render.label(locale, f"talk.script_{s.key}"), f"{SCRIPT}{s.key}")] for s in scripts
    ]
    await reply(
        update,
        context,
        locale,
        "talk/script_menu",
        buttons=rows,
        name=me.name,
        role=me.role if first else None,
        first=first,
        breach=breach,
    )


@known_partner
async def script_button(update: Update, context: MendContext, asked: Asked) -> None:
    """A situation was tapped: its script, in the chat where the menu is."""
    await asked.press.answer()
    key, breach = chosen(context, "key"), _breach(context, asked)
    await reply(update, context, asked.locale, f"talk/script_{key}", breach=breach)


def _breach(context: MendContext, asked: Asked) -> str | None:
    """The kind of breach the couple named, on the repair path: in private, or in a group where
    personal things may be posted (bot.audience); else none, so that a script shown to someone
    else in the group says nothing of it."""
    couple, store = asked.couple, context.mend.store
    if couple.path != "repair":
        return None
    if not asked.private and audience.where(store, couple.chat_id) != "group":
        return None
    return context.mend.reads.breach(store, couple.chat_id)


# -- /starter --------------------------------------------------------------------------------


def draw_starter(services: Services, chat_id: int, phase: str, depth: str) -> tuple[int, bool]:
    """A starter of this phase and depth not used yet; when all were, start the set over
    (not with the one just used). Returns its index and whether the set started over."""
    with services.store.transaction(chat_id) as tx:
        used_table = tx.table(STARTERS_USED_TABLE)
        used = [r for r in used_table.all() if r.get("phase") == phase and r.get("depth") == depth]
        used_indexes = {r.get("index") for r in used}
        fresh = [i for i in range(STARTERS_PER_SET) if i not in used_indexes]
        restarted = not fresh
        if restarted:
            last = max(used, key=lambda r: int(r["id"]))["index"]
            for record in used:
                used_table.remove(int(record["id"]))
            fresh = [i for i in range(STARTERS_PER_SET) if i != last]
        index = secrets.choice(fresh)
        used_table.insert({"phase": phase, "depth": depth, "index": index, "at": to_iso(utcnow())})
    return index, restarted


def _depth_buttons(context: MendContext, locale: str) -> Buttons:
    render = context.mend.render
    return [
        [button(render.label(locale, f"talk.{depth}"), f"{STARTER}{depth}") for depth in DEPTHS]
    ]


@known_partner
async def starter_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/starter: light or deeper? /starter light|deeper: a starter at once."""
    couple, locale = asked.couple, asked.locale
    month = roadmap_month(couple.setup_completed_at, utcnow())
    typed = asked.text.lower()
    if not typed:
        await reply(
            update,
            context,
            locale,
            "talk/starter_choose",
            buttons=_depth_buttons(context, locale),
            month=month,
            phase=phase_of(month),
        )
        return
    depth = DEPTH_WORDS.get(typed)
    if depth is None:
        await reply(update, context, locale, "talk/starter_usage", typed=shorten(typed))
        return
    await _send_starter(update, context, couple, locale, depth)


@known_partner
async def starter_button(update: Update, context: MendContext, asked: Asked) -> None:
    """A depth was tapped: the next starter of the couple's current phase."""
    await asked.press.answer()
    await _send_starter(update, context, asked.couple, asked.locale, chosen(context, "depth"))


async def _send_starter(
    update: Update, context: MendContext, couple: Couple, locale: str, depth: str
) -> None:
    month = roadmap_month(couple.setup_completed_at, utcnow())
    phase = phase_of(month)
    index, restarted = draw_starter(context.mend, couple.chat_id, phase, depth)
    await reply(
        update,
        context,
        locale,
        "talk/starter",
        buttons=_depth_buttons(context, locale),
        month=month,
        phase=phase,
        depth=depth,
        index=index,
        restarted=restarted,
    )


def export_talk(services: Services, couple: Couple, user_id: int) -> dict[str, Any]:
    """Which starters the couple has used (shared by both partners)."""
    return {
        "starters_used": [
            {
                "phase": r.get("phase"),
                "depth": r.get("depth"),
                "index": r.get("index"),
                "at": r.get("at"),
            }
            for r in services.store.records(couple.chat_id, STARTERS_USED_TABLE)
        ],
    }


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("script", "together", in_group=True, in_private=True),
        Command("starter", "together", in_group=True, in_private=True),
    )
    services.exporters["talk"] = export_talk
    app.add_handler(CommandHandler("script", script_command))
    app.add_handler(CommandHandler("starter", starter_command))
    app.add_handler(
        CallbackQueryHandler(script_button, pattern=choices("script", key=SCRIPTS_BY_KEY))
    )
    app.add_handler(CallbackQueryHandler(starter_button, pattern=choices("starter", depth=DEPTHS)))
