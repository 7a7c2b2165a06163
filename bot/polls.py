"""Polls the bot sends for a couple, and the votes that come back.

A `poll_answer` update carries the voter and the poll id, never the chat, and it never reaches a
per-chat handler. So every poll is remembered in its couple's file when it is sent: a record in
the "polls" table and the lookup key "poll:<id>". A vote is routed to the handler registered for
the poll's kind. Only the couple's partners' votes count; votes on polls that are unknown or
closed are ignored.
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from telegram import Message, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden
from telegram.ext import Application, PollAnswerHandler

from bot import origin
from bot.context import MendContext, Services
from bot.model import Couple, Partner, to_iso, utcnow
from bot.outbox import GROUP, UNCONFIRMED_TABLE, Entry, Outgoing
from bot.storage import Kind, Transaction

log = logging.getLogger(__name__)


class PollRecord(TypedDict):
    """A poll the bot sent for a couple, and the votes on it."""

    id: NotRequired[int]
    poll_id: str
    chat: NotRequired[int]  # the chat it is in (an old group's id, after an upgrade)
    message_id: int
    kind: str
    payload: dict[str, Any]
    sent_at: str | None
    closed: bool
    votes: dict[str, list[int]]


POLLS_TABLE = Kind[PollRecord]("polls")


@dataclass(frozen=True)
class Vote:
    """A partner's vote on one of the couple's polls; no options means it was taken back."""

    couple: Couple
    partner: Partner
    kind: str
    poll_id: str
    option_ids: tuple[int, ...]
    payload: dict[str, Any]


# What a vote leads to after its change is written (a verdict to deliver), if anything.
FollowUp = Callable[[MendContext], Awaitable[None]]
# A vote's effect, inside the couple's transaction, with the vote itself: one change.
VoteHandler = Callable[[Transaction, Services, Vote], FollowUp | None]
_handlers: dict[str, VoteHandler] = {}


def on_answer(kind: str, handler: VoteHandler) -> None:
    """Route votes on polls of `kind` to `handler`: it runs inside the transaction that keeps
    the vote (a vote and what it changes land together, so a crash can't keep one without
    the other) and may return a follow-up to run once that is written."""
    _handlers[kind] = handler


def poll_key(poll_id: str) -> str:
    return f"poll:{poll_id}"


async def send_poll(
    context: MendContext,
    couple: Couple,
    kind: str,
    question: str,
    options: Sequence[str],
    *,
    multiple: bool = False,
    payload: dict[str, Any] | None = None,
    thread_id: int | None = None,
) -> Message:
    """Send a non-anonymous poll to the couple's group and remember it (plain-text question
    and options: they are escaped for the HTML parse mode)."""
    question_html = html.escape(question, quote=False)
    options_html = [html.escape(option, quote=False) for option in options]
    # A group that became a supergroup is followed by the bot (bot.bot_api).
    message = await context.bot.send_poll(
        couple.chat_id,
        question_html,
        options_html,
        is_anonymous=False,
        allows_multiple_answers=multiple,
        message_thread_id=thread_id if thread_id is not None else origin.thread_in(couple.chat_id),
    )
    with context.mend.store.transaction(message.chat_id) as tx:
        remember(tx, message, kind, payload or {})
    return message


def outgoing(
    render_question: str,
    options: Sequence[str],
    kind: str,
    *,
    multiple: bool = False,
    payload: dict[str, Any] | None = None,
) -> Outgoing:
    """A poll for the couple's group, to queue in the outbox with the change that asks it
    (plain-text question and options: they are escaped for the HTML parse mode)."""
    return Outgoing(
        to=GROUP,
        poll={
            "question": html.escape(render_question, quote=False),
            "options": [html.escape(option, quote=False) for option in options],
            "multiple": multiple,
        },
        then=[{"do": "poll", "kind": kind, "payload": payload or {}}],
    )


def remember(tx: Transaction, message: Message, kind: str, payload: dict[str, Any]) -> None:
    """Inside the couple's transaction: votes on this poll go to handlers of `kind`."""
    assert message.poll is not None
    _remember(tx, message.poll.id, message.chat_id, message.message_id, kind, payload)


def _remember(
    tx: Transaction, poll_id: str, chat_id: int, message_id: int, kind: str, payload: dict[str, Any]
) -> None:
    couple = tx.couple()
    assert couple is not None
    tx.table(POLLS_TABLE).insert(
        {
            "poll_id": poll_id,
            "chat": chat_id,
            "message_id": message_id,
            "kind": kind,
            "payload": payload,
            "sent_at": to_iso(utcnow()),
            "closed": False,
            "votes": {},
        }
    )
    couple.add_key(poll_key(poll_id))
    tx.save(couple)


def _after_send(tx: Transaction, entry: Entry, message: Message, action: dict[str, Any]) -> None:
    """Outbox action: a poll just sent is remembered, so its votes find their couple."""
    remember(tx, message, action["kind"], dict(action.get("payload") or {}))


def closing(tx: Transaction, kind: str, **payload: Any) -> list[Outgoing]:
    """Inside the couple's transaction: stop counting votes on the open polls of `kind` whose
    payload holds `payload`; returns what closes them in the chat too, for the outbox."""
    table = tx.table(POLLS_TABLE)
    couple = tx.couple()
    stops = []
    for record in table.all():
        if (
            record["kind"] == kind
            and not record["closed"]
            and all(record["payload"].get(k) == v for k, v in payload.items())
        ):
            table.update(record["id"], {"closed": True})
            if couple is not None:
                couple.drop_key(poll_key(record["poll_id"]))
            if record["message_id"]:  # 0: a poll whose message isn't known (it stays open)
                stops.append(
                    Outgoing(
                        to=GROUP, stop_poll_of=record["message_id"], in_chat=record.get("chat")
                    )
                )
    if couple is not None and stops:
        tx.save(couple)
    return stops


def find_by(services: Services, chat_id: int, kind: str, **payload: Any) -> PollRecord | None:
    """The couple's newest poll of `kind` whose payload holds `payload`."""
    found = [
        r
        for r in services.store.records(chat_id, POLLS_TABLE)
        if r["kind"] == kind and all(r["payload"].get(k) == v for k, v in payload.items())
    ]
    return max(found, key=lambda r: r["id"], default=None)


def find(services: Services, chat_id: int, poll_id: str) -> PollRecord | None:
    return next(
        (r for r in services.store.records(chat_id, POLLS_TABLE) if r["poll_id"] == poll_id), None
    )


def close(services: Services, chat_id: int, poll_id: str) -> PollRecord | None:
    """Stop counting votes on a poll (its key is dropped); returns its record."""
    with services.store.transaction(chat_id) as tx:
        couple = tx.couple()
        table = tx.table(POLLS_TABLE)
        record = next((r for r in table.all() if r["poll_id"] == poll_id), None)
        if record is None:
            return None
        table.update(record["id"], {"closed": True})
        if couple is not None:
            couple.drop_key(poll_key(poll_id))
            tx.save(couple)
    return record


async def stop(context: MendContext, chat_id: int, poll_id: str) -> None:
    """Close a poll here and in the chat (people see it closed); quietly if it already is."""
    record = close(context.mend, chat_id, poll_id)
    if record is None:
        return
    # A poll in a group that since became a supergroup (ChatMigrated) can't be stopped there.
    with contextlib.suppress(BadRequest, ChatMigrated, Forbidden):
        await context.bot.stop_poll(record.get("chat", chat_id), record["message_id"])


async def _on_poll_answer(update: Update, context: MendContext) -> None:
    """A vote: if it is a partner's, on an open poll of theirs, store it and hand it on."""
    answer = update.poll_answer
    if answer is None or answer.user is None:
        return  # a vote cast as a chat (anonymous admin): not a partner's
    store = context.mend.store
    chat_id = store.chat_for_key(poll_key(answer.poll_id))
    if chat_id is None:
        chat_id = _confirm_poll(context, answer.poll_id, answer.user.id)
    if chat_id is None:
        return
    user_id = answer.user.id
    follow_up: FollowUp | None = None
    with store.transaction(chat_id) as tx:
        couple = tx.couple()
        table = tx.table(POLLS_TABLE)
        record = next((r for r in table.all() if r["poll_id"] == answer.poll_id), None)
        partner = couple.partner(user_id) if couple is not None else None
        if (
            couple is None
            or partner is None
            or couple.status != "active"
            or record is None
            or record["closed"]
        ):
            return
        votes = dict(record["votes"])
        if answer.option_ids:
            votes[str(user_id)] = list(answer.option_ids)
        else:
            votes.pop(str(user_id), None)
        table.update(record["id"], {"votes": votes})
        handler = _handlers.get(record["kind"])
        if handler is None:
            log.warning("no handler for votes on polls of kind %r", record["kind"])
            return
        vote = Vote(
            couple,
            partner,
            record["kind"],
            answer.poll_id,
            tuple(answer.option_ids),
            dict(record["payload"]),
        )
        follow_up = handler(tx, context.mend, vote)
    if follow_up is not None:
        await follow_up(context)


def _confirm_poll(context: MendContext, poll_id: str, user_id: int) -> int | None:
    """A vote on a poll whose send timed out although it arrived: when exactly one couple of
    the voter has such a poll waiting, it is that one (its message can't be known: it stays
    open in the chat when it ends). The couple's chat, or None."""
    services = context.mend
    found = [
        (chat_id, entry)
        for chat_id in services.store.chats_of_user(user_id)
        for entry in services.outbox.unconfirmed(chat_id)
        if entry.get("poll") is not None
    ]
    if len(found) != 1:
        return None
    chat_id, entry = found[0]
    action = next((a for a in entry.get("then") or [] if a.get("do") == "poll"), None)
    if action is None:
        return None
    with services.store.transaction(chat_id) as tx:
        tx.table(UNCONFIRMED_TABLE).remove(entry["id"])
        couple = tx.couple()
        assert couple is not None
        _remember(tx, poll_id, couple.chat_id, 0, action["kind"], dict(action.get("payload") or {}))
    return chat_id


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.outbox.after_send["poll"] = _after_send
    app.add_handler(PollAnswerHandler(_on_poll_answer))
