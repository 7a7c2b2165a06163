"""Which couple: the couple a person's private entries belong to, when they are in several.

A person may be a partner in more than one couple (two groups, two partners). What they write
in private (the journal and its tools, parked worries) belongs to them and to one couple: it is
kept in that couple's file, offered for sharing only in that couple's group, part of their
/export of it, and erased with that couple's data and with nothing else.

Which couple: with one couple Mend is in, that one. With several, the one the person chose last
(`bot.couples.entries_place`); with none chosen yet, Mend asks once, when an entry comes, which
group it is for, and remembers the answer as the person's current choice. It is kept in the
chosen couple's file, written with the entry itself (`Partner.entries_chosen_at`). /switch
changes it. A couple Mend was removed from (or whose data is being erased) is never chosen: not
silently, and not offered; with no couple left that Mend is in, the person is told that nothing
was kept.

Features say what keeping an entry means (`on_keep`): a function run inside the chosen couple's
transaction, which stores the entry and queues what the person is told. They hand an entry over
with `keep`, which runs it at once or after the question (a flow, in the person's private chat).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import Command, MendContext, Services
from bot.couples import couples_of, entries_place, partner_locale, short_title
from bot.flows import STAY, Flow, Option, Rows, Run, Step, Turn, literal, runner_of
from bot.guards import Asked, known_partner
from bot.messages import reply
from bot.model import Couple, Partner, utcnow
from bot.storage import Transaction

WHICH = "which"

# What keeping an entry means for a feature: inside the chosen couple's transaction, with the
# person as that couple knows them and what they gave (their text, a tool's name, ...).
Keep = Callable[[Services, Transaction, Couple, Partner, dict[str, Any]], None]
_keeps: dict[str, Keep] = {}


def on_keep(name: str, keep: Keep) -> None:
    """Entries handed over as `name` are kept by `keep`."""
    _keeps[name] = keep


async def keep(
    update: Update,
    context: MendContext,
    user_id: int,
    name: str,
    given: Mapping[str, Any] | None = None,
) -> None:
    """Keep a person's private entry with the couple it belongs to: at once when that is clear,
    otherwise once they have said which group it is for."""
    services = context.mend
    couples = couples_of(services.store, user_id)
    place = entries_place(couples, user_id)
    if place is not None:
        with services.store.transaction(place.chat_id) as tx:
            couple = tx.couple()
            me = couple.partner(user_id) if couple is not None else None
            if couple is not None and me is not None:
                _keeps[name](services, tx, couple, me, dict(given or {}))
        await services.outbox.deliver(context, place.chat_id)
        return
    active = [c for c in couples if c.status == "active"]
    if not active:
        await _nowhere(update, context, couples, user_id)
        return
    await _ask(context, active, user_id, name, given)


async def _nowhere(
    update: Update, context: MendContext, couples: list[Couple], user_id: int
) -> None:
    """Mend is in none of the person's groups any more: nothing is kept, and they are told."""
    me = next((p for c in couples if (p := c.partner(user_id)) is not None), None)
    if me is None:
        return
    await reply(
        update,
        context,
        partner_locale(context.mend, me),
        "which/nowhere",
        groups=[c.title for c in couples],
    )


async def _ask(
    context: MendContext,
    places: list[Couple],
    user_id: int,
    name: str | None,
    given: Mapping[str, Any] | None,
    current: Couple | None = None,
) -> None:
    """Ask in private which of `places` an entry (or, without `name`, every entry from now
    on) belongs to. The question is kept with the first of them."""
    services = context.mend
    first = places[0]
    with services.store.transaction(first.chat_id) as tx:
        couple = tx.couple()
        me = couple.partner(user_id) if couple is not None else None
        if couple is None or me is None:
            return
        runner_of(services).start(
            tx,
            couple,
            WHICH,
            owner=me,
            data={
                "chats": [c.chat_id for c in places],
                "titles": [c.title for c in places],
                "current": None if current is None else places.index(current),
                "keep": name,
                "given": dict(given or {}),
            },
        )
    await services.outbox.deliver(context, first.chat_id)


def _button(title: str, current: bool) -> str:
    """A group's button: its title (shortened; the message names it whole), ✓ for the one in
    use."""
    shown = short_title(title) or "…"
    return f"✓ {shown}" if current else shown


def _options(run: Run) -> Rows:
    current = run.data.get("current")
    return [
        [Option(f"c{index}", text=literal(_button(title, index == current)))]
        for index, title in enumerate(run.data["titles"])
    ]


def _chosen(turn: Turn) -> str:
    """The group chosen: from now on the person's entries go there, and the entry that asked
    is kept there, in that couple's file, with the choice (once, whatever is pressed again)."""
    services, me = turn.services, turn.partner
    index = int(str(turn.value).removeprefix("c"))
    chat_id = services.store.resolve(int(turn.data["chats"][index]))
    place = services.store.couple(chat_id)
    if place is None or place.status != "active" or not place.is_partner(me.user_id):
        turn.toast, turn.alert = "alert.which_gone", True
        return STAY
    given = turn.data.get("given") or {}
    name = turn.data.get("keep")
    # The chosen couple's own transaction (the question may be kept with another couple):
    # the choice and the entry land together there.
    with services.store.transaction(chat_id) as tx:
        couple = tx.couple()
        mine = couple.partner(me.user_id) if couple is not None else None
        if couple is None or mine is None:
            turn.toast, turn.alert = "alert.which_gone", True
            return STAY
        if mine.entries_chosen_by != turn.run.token:  # not kept already (a crash in between)
            mine.entries_chosen_at, mine.entries_chosen_by = utcnow(), turn.run.token
            tx.save(couple)
            if name is not None:
                _keeps[str(name)](services, tx, couple, mine, dict(given))
    turn.data.pop("given", None)  # what they wrote stays only where it is kept
    turn.data.update(chat=chat_id, group=place.title)
    return "chosen"


async def _delivered(context: MendContext, couple: Couple, run: Run) -> None:
    """What keeping the entry said, from the chosen couple's messages (when the question was
    kept with another couple)."""
    chat_id = run.data.get("chat")
    if isinstance(chat_id, int) and chat_id != couple.chat_id:
        await context.mend.outbox.deliver(context, chat_id)


WHICH_FLOW = Flow(
    name=WHICH,
    where="private",
    first="choose",
    finished=_delivered,
    steps={
        "choose": Step("which/choose", _options, answer=_chosen, edit=True),
        "chosen": Step("which/chosen"),
    },
)


@known_partner
async def switch_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/switch in private: choose the group private entries go to from now on."""
    if not asked.private:
        await reply(update, context, asked.locale, "which/in_private", name=asked.partner.name)
        return
    me = asked.partner
    active = [c for c in couples_of(context.mend.store, me.user_id) if c.status == "active"]
    if len(active) < 2:
        place = active[0] if active else None
        await reply(
            update,
            context,
            asked.locale,
            "which/only",
            group=place.title if place else None,
            gone=[c.title for c in asked.couples if c.status != "active"],
        )
        return
    current = entries_place(active, me.user_id)
    await _ask(context, active, me.user_id, None, None, current)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("switch", "personal", in_group=False, in_private=True))
    runner_of(services).add(WHICH_FLOW)
    app.add_handler(CommandHandler("switch", switch_command))
