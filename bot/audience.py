"""Who reads the group: personal things go where the couple chose.

Mend is made for a group of two people and itself. When more are in the group (a friend, a
family member), anything personal Mend would post there (the check-in's answers, the letters,
a shared worry, the plan to pin, the infidelity question) may be read by someone else. So:

- the group's size is counted (`getChatMemberCount`, the bot included) when Mend joins, when
  someone taps "I'm in", when members come and go, and in /settings, and kept with the couple;
- with more than two people, the couple decides, once, where personal things go: posted here
  anyway, or sent to each of them privately. Until they have, what is personal waits (held in
  the outbox) under a neutral notice with the two choices. Sending privately is the careful
  choice: either partner's tap decides it. Posting here needs both of them to tap it;
- the choice can be changed in /settings; when more people join than there were when they chose
  to post here, they are asked again;
- a partner who can't be reached privately gets their copy once they open the private chat (the
  group sees a line with their name and a button, nothing of the content).

Features put what is personal through `share` (inside their transaction) instead of the
outbox; a feature that acts rather than posts (pinning the plan) reads `where` and hears of a
choice with the event "audience.decided".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from telegram.error import TelegramError

from bot import origin
from bot.flows import Flow, Option, Run, Step, Turn, runner_of
from bot.links import private_link_button
from bot.messages import Buttons, group_message, private_message
from bot.model import Couple, Partner, to_iso, utcnow
from bot.outbox import GROUP, Entry, Outgoing
from bot.storage import Kind, Store, Transaction

if TYPE_CHECKING:
    from bot.context import MendContext, Services

log = logging.getLogger(__name__)

PEOPLE = 2  # Mend is for a group of the two partners (and itself)
FLOW = "audience"
DECIDED = "audience.decided"  # told with the choice, once the couple has made it
ASK = "ask"  # what personal messages are held for until the couple chooses
WAIT = "wait:"  # + a partner's id: their private copy, until they open the private chat

Where = Literal["group", "private", "ask"]


class Audience(TypedDict):
    """The group's size when last counted, and the couple's choice of where personal things go."""

    id: NotRequired[int]
    members: int | None  # everyone in the group, Mend included
    counted_at: str | None  # when the count last changed
    choice: str | None  # "group" (post here anyway) or "private" (each of us privately)
    members_at_choice: int | None  # how many were in the group when they chose
    chosen_at: str | None


AUDIENCE_TABLE = Kind[Audience]("audience")


# -- counting -----------------------------------------------------------------------------


async def count_members(context: MendContext, chat_id: int) -> int | None:
    """How many are in the group, Mend included (None if Telegram doesn't say)."""
    try:
        return await context.bot.get_chat_member_count(chat_id)
    except TelegramError as error:
        log.info("the group's members could not be counted (%s)", type(error).__name__)
        return None


def others_in(members: int | None) -> int:
    """How many people besides the two partners (and Mend) a count shows."""
    return 0 if members is None else max(0, members - 1 - PEOPLE)


async def recount(context: MendContext, chat_id: int) -> int | None:
    """Count the group's members and keep the count with the couple (if there is one and
    the count changed: `counted_at` is when it last did)."""
    members = await count_members(context, chat_id)
    store = context.mend.store
    if members is None or store.couple(chat_id) is None:
        return members
    known = next(iter(store.records(chat_id, AUDIENCE_TABLE)), None)
    if known is None or known["members"] != members:
        with store.transaction(chat_id) as tx:
            _save(tx, members=members, counted_at=to_iso(utcnow()))
    return members


def _record(tx: Transaction) -> Audience | None:
    return next(iter(tx.table(AUDIENCE_TABLE).all()), None)


def _save(tx: Transaction, **fields: Any) -> None:
    table = tx.table(AUDIENCE_TABLE)
    found = _record(tx)
    record_id = (
        found["id"]
        if found is not None
        else table.insert(
            {
                "members": None,
                "counted_at": None,
                "choice": None,
                "members_at_choice": None,
                "chosen_at": None,
            }
        )
    )
    table.update(record_id, fields)


def _where(record: Mapping[str, Any] | None) -> Where:
    if record is None:
        return "group"
    members, choice = record.get("members"), record.get("choice")
    if choice == "private":
        return "private"
    if choice == "group" and (members or 0) <= (record.get("members_at_choice") or 0):
        return "group"
    return "ask" if others_in(members) else "group"


def where(store: Store, chat_id: int) -> Where:
    """Where personal things go now: the group, each partner privately, or "ask" (more than
    the two of them are in the group and they haven't chosen)."""
    return _where(next(iter(store.records(chat_id, AUDIENCE_TABLE)), None))


def where_in(tx: Transaction) -> Where:
    """`where`, inside the couple's transaction."""
    return _where(_record(tx))


# -- sharing ------------------------------------------------------------------------------


def share(
    tx: Transaction,
    services: Services,
    couple: Couple,
    template: str,
    /,
    *,
    thread: int | None = None,
    buttons: Callable[[str], Buttons] | None = None,
    **data: Any,
) -> None:
    """Inside the couple's transaction: a personal message, where the couple wants it (held
    under the notice while they haven't chosen). `buttons`: the message's buttons, made for
    a locale (each copy is in its reader's language)."""
    place = where_in(tx)
    if thread is None:  # the forum topic the work at hand came from
        thread = origin.thread_in(couple.chat_id)
    messages: list[Outgoing] = []
    if place in ("group", ASK):
        message = group_message(services, couple, template, **data)
        message.thread_id = thread
        if buttons is not None:
            message.buttons = buttons(runner_of(services).locale(couple, GROUP))
        message.held = ASK if place == ASK else None
        messages.append(message)
    if place in ("private", ASK):
        for partner in couple.partners:
            copy = private_message(services, partner, template, **data)
            if buttons is not None:
                copy.buttons = buttons(runner_of(services).locale(couple, partner))
            copy.held = (
                ASK
                if place == ASK
                else None
                if partner.private_chat
                else f"{WAIT}{partner.user_id}"
            )
            messages.append(copy)
    services.outbox.put(tx, *messages)
    if place == "private":
        _point_to_private(tx, services, couple, thread)
    elif place == ASK:
        ask(tx, services, couple)


def _point_to_private(
    tx: Transaction, services: Services, couple: Couple, thread: int | None = None
) -> None:
    """The group's one line for a partner whose private copy waits: their name and a button."""
    for partner in couple.partners:
        if not partner.private_chat:
            locale = runner_of(services).locale(couple, GROUP)
            line = group_message(services, couple, "audience/waiting", name=partner.name)
            line.buttons = [[private_link_button(services, locale)]]
            line.thread_id = thread
            services.outbox.put(tx, line)


def ask(tx: Transaction, services: Services, couple: Couple) -> None:
    """Inside the couple's transaction: the notice with the choice is shown, unless it is
    open already."""
    if not runner_of(services).runs_in(tx, FLOW):
        runner_of(services).start(tx, couple, FLOW, owner=None)


def settings(tx: Transaction, services: Services, couple: Couple) -> None:
    """Inside the couple's transaction: the choice shown again (from /settings) to change it."""
    for run in runner_of(services).runs_in(tx, FLOW):
        runner_of(services).close(tx, run)
    runner_of(services).start(tx, couple, FLOW, owner=None, data={"again": True})


async def deliver_waiting(context: MendContext, chat_id: int, partner: Partner) -> None:
    """A partner opened the private chat: the personal copies kept for them come."""
    services = context.mend
    with services.store.transaction(chat_id) as tx:
        owed = services.outbox.release(tx, f"{WAIT}{partner.user_id}", lambda entry: True)
    if owed:
        await services.outbox.deliver(context, chat_id)


# -- the choice ---------------------------------------------------------------------------


def _chosen(turn: Turn) -> str:
    """Privately: decided by either partner. Here: once both have tapped it."""
    couple = turn.couple
    if turn.value == "private":
        _decide(turn, "private")
        return "decided"
    here = sorted({*turn.data.get("here", []), turn.partner.user_id})
    turn.data["here"] = here
    if all(p.user_id in here for p in couple.partners):
        _decide(turn, "group")
        return "decided"
    turn.toast = "alert.audience_waiting"
    return "choose"


def _decide(turn: Turn, choice: str) -> None:
    """The choice is kept, and what waited for it goes where it was chosen to."""
    tx, services, couple = turn.tx, turn.services, turn.couple
    record = _record(tx)
    members = record["members"] if record else None
    _save(tx, choice=choice, members_at_choice=members, chosen_at=to_iso(utcnow()))
    turn.data.update(choice=choice, by=turn.partner.name)
    if choice == "group":
        services.outbox.release(tx, ASK, lambda entry: entry["to"] == GROUP)
    else:
        services.outbox.release(tx, ASK, lambda entry: _privately(entry, couple))
        if any(not p.private_chat for p in couple.partners):
            _point_to_private(tx, services, couple)
    turn.emit(DECIDED, choice=choice)


def _privately(entry: Entry, couple: Couple) -> bool | str:
    """A held message, once personal things go privately: a group copy is dropped; a private
    copy is owed, or kept until its partner opens the private chat."""
    partner = couple.partner(int(entry["to"])) if entry["to"] != GROUP else None
    if partner is None:
        return False
    return True if partner.private_chat else f"{WAIT}{partner.user_id}"


def _view(services: Services, couple: Couple, run: Run, locale: str) -> dict[str, Any]:
    """What the notice shows: how many are in the group, who would post here, whether
    something is waiting, and the choice in use."""
    records = services.store.records(couple.chat_id, AUDIENCE_TABLE)
    record = records[0] if records else None
    here = set(run.data.get("here", []))
    with_tx_count = record.get("members") if record else None
    return {
        "members": with_tx_count,
        "others": others_in(with_tx_count),
        "here": [p.name for p in couple.partners if p.user_id in here],
        "waiting_for": [p.name for p in couple.partners if p.user_id not in here],
        "current": record.get("choice") if record else None,
        "again": bool(run.data.get("again")),
    }


AUDIENCE_FLOW = Flow(
    name=FLOW,
    first="choose",
    view=_view,
    steps={
        "choose": Step(
            "audience/choose",
            [[Option("here", "audience.here")], [Option("private", "audience.private")]],
            answer=_chosen,
            who="partners",
            refresh=True,
            edit=True,  # the notice becomes what was chosen; what waited follows below it
        ),
        "decided": Step("audience/decided"),
    },
)


def register(services: Services) -> None:
    runner_of(services).add(AUDIENCE_FLOW)
