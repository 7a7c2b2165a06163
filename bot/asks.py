"""Questions that want free text: a ForceReply aimed at one partner, and its answer.

With privacy mode on, the bot sees a group message only if it is a command or a reply to one of
its own messages. So when it needs words (a city, a plan step), it asks with a ForceReply aimed at
one partner and remembers the question in the couple's file; the reply is routed back to the
feature that asked, surviving a restart. Only the partner who was asked can answer: the other
partner's reply gets a word saying whose question it is (what they can do instead is the asking
feature's to say, `on_answer(..., elsewhere=...)`).

Words that answer no question are never dropped either: text in a private chat goes to the one
handler set with `on_unprompted` (the journal offers to keep it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from telegram import Chat, Message, Update
from telegram.ext import Application, MessageHandler, filters

from bot.context import MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.messages import say
from bot.model import Couple, Partner, to_iso, utcnow
from bot.outbox import Entry
from bot.storage import Kind, Transaction

log = logging.getLogger(__name__)


class AskRecord(TypedDict):
    """A question waiting for one partner's typed reply."""

    id: NotRequired[int]
    chat: int
    message_id: int
    kind: str
    partner: int
    payload: dict[str, Any]
    asked_at: str | None


ASKS_TABLE = Kind[AskRecord]("asks")
MAX_OPEN_ASKS = 20


@dataclass(frozen=True)
class Answer:
    """A partner's reply to a question the bot asked."""

    couple: Couple
    partner: Partner
    text: str
    payload: dict[str, Any]


AnswerHandler = Callable[[Update, MendContext, Answer], Awaitable[None]]
# What the other partner can do about a question of `kind` that isn't theirs, given its payload:
# values for common/not_your_question ("hint": "closed", "button", "theirs" or "command", and
# for "command", the "command" that asks them their own).
Elsewhere = Callable[[Couple, dict[str, Any]], Mapping[str, str]]
TextHandler = Callable[[Update, MendContext], Awaitable[None]]
_handlers: dict[str, AnswerHandler] = {}
_elsewhere: dict[str, Elsewhere] = {}
_unprompted: list[TextHandler] = []


def on_answer(kind: str, handler: AnswerHandler, *, elsewhere: Elsewhere | None = None) -> None:
    """Route replies to questions of `kind` to `handler`; `elsewhere` says what the other
    partner can do when they reply to one."""
    _handlers[kind] = handler
    if elsewhere is not None:
        _elsewhere[kind] = elsewhere


def on_unprompted(handler: TextHandler) -> None:
    """Hand private text that answers no question to `handler` (one, set once)."""
    _unprompted[:] = [handler]


def _key(chat_id: int, message_id: int) -> str:
    return f"ask:{chat_id}:{message_id}"


async def ask(
    context: MendContext,
    couple: Couple,
    partner: Partner,
    kind: str,
    template: str,
    *,
    in_chat: int,
    reply_to: int | None = None,
    thread_id: int | None = None,
    payload: dict[str, Any] | None = None,
    **data: Any,
) -> Message:
    """Ask `partner` for free text in `in_chat` (the group or their private chat)."""
    services = context.mend
    private = in_chat == partner.user_id
    locale = partner_locale(services, partner) if private else group_locale(services, couple)
    message = await say(
        context,
        in_chat,
        locale,
        template,
        force_reply_placeholder=services.render.label(locale, "ask.placeholder"),
        reply_to=reply_to,
        thread_id=thread_id,
        partner=partner.name,
        **data,
    )
    with services.store.transaction(couple.chat_id) as tx:
        remember(tx, in_chat, message.message_id, kind, partner.user_id, payload or {})
    return message


def remember(
    tx: Transaction,
    chat_id: int,
    message_id: int,
    kind: str,
    partner: int,
    payload: dict[str, Any],
) -> None:
    """Inside the couple's transaction: a reply to this message answers a question of `kind`
    (only `partner` may answer it); the oldest open questions beyond MAX_OPEN_ASKS are
    forgotten."""
    couple = tx.couple()
    assert couple is not None
    table = tx.table(ASKS_TABLE)
    table.insert(
        {
            "chat": chat_id,
            "message_id": message_id,
            "kind": kind,
            "partner": partner,
            "payload": payload,
            "asked_at": to_iso(utcnow()),
        }
    )
    couple.add_key(_key(chat_id, message_id))
    for stale in sorted(table.all(), key=lambda r: r["id"])[:-MAX_OPEN_ASKS]:
        couple.drop_key(_key(stale["chat"], stale["message_id"]))
        table.remove(stale["id"])
    tx.save(couple)


def _after_send(tx: Transaction, entry: Entry, message: Message, action: dict[str, Any]) -> None:
    """Outbox action: the question just sent waits for its answer."""
    remember(
        tx,
        message.chat_id,
        message.message_id,
        action["kind"],
        action["partner"],
        dict(action.get("payload") or {}),
    )


async def _on_text(update: Update, context: MendContext) -> None:
    """Text that isn't a command: the answer to a question, else (in private) unprompted."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot or not message.text:
        return
    if message.reply_to_message is not None and await _on_reply(update, context):
        return
    if message.chat.type == Chat.PRIVATE:
        for handler in _unprompted:
            await handler(update, context)


async def _on_reply(update: Update, context: MendContext) -> bool:
    """A reply to one of the bot's messages: if it was a question, hand the answer on (or
    say whose question it is). False if it wasn't one."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.reply_to_message is not None
    assert message.text is not None
    key = _key(message.chat_id, message.reply_to_message.message_id)
    store = context.mend.store
    chat_id = store.chat_for_key(key)
    if chat_id is None:
        chat_id = _confirm_question(context, message)
    if chat_id is None:
        return False
    # Read only: what the answer changes (and that the question was answered) is written by
    # its handler, in one change, so a crash can't keep one without the other. A question
    # stays open until its handler closes it (a flow's step moves on) or newer ones push it
    # out (MAX_OPEN_ASKS).
    couple = store.couple(chat_id)
    record = next(
        (
            r
            for r in store.records(chat_id, ASKS_TABLE)
            if r["chat"] == message.chat_id
            and r["message_id"] == message.reply_to_message.message_id
        ),
        None,
    )
    if couple is None or record is None:
        return False
    partner = couple.partner(user.id)
    if partner is None:
        return True  # someone outside the couple: a question for the couple isn't theirs
    if record["partner"] != user.id:
        await _not_theirs(update, context, couple, partner, record)
        return True
    handler = _handlers.get(record["kind"])
    if handler is None or couple.status == "closing":
        # A question asked before an upgrade that changed how it is answered, or in a couple
        # whose data is being erased: never drop what a person wrote without a word.
        if handler is None:
            log.warning("no handler for answers of kind %r", record["kind"])
        private = message.chat_id == partner.user_id
        locale = (
            partner_locale(context.mend, partner) if private else group_locale(context.mend, couple)
        )
        await say(
            context,
            message.chat_id,
            locale,
            "common/question_closed",
            reply_to=message.message_id,
        )
        return True
    await handler(update, context, Answer(couple, partner, message.text, record["payload"]))
    return True


async def _not_theirs(
    update: Update, context: MendContext, couple: Couple, partner: Partner, record: AskRecord
) -> None:
    """A partner replied to the other's question: whose it is, and what they can do."""
    services = context.mend
    asked = couple.partner(record["partner"])
    elsewhere = _elsewhere.get(record["kind"])
    hint: dict[str, Any] = {"hint": "theirs", "command": ""}
    if elsewhere is not None:
        hint.update(elsewhere(couple, record["payload"]))
    locale = group_locale(services, couple)
    message = update.effective_message
    assert message is not None
    await say(
        context,
        message.chat_id,
        locale,
        "common/not_your_question",
        reply_to=message.message_id,
        name=partner.name,
        asked=asked.name if asked is not None else "",
        **hint,
    )


def _confirm_question(context: MendContext, message: Message) -> int | None:
    """A reply to a question whose send timed out although it arrived: found by its text
    among the couple's unconfirmed messages, it is remembered now. The couple's chat, or
    None."""
    services = context.mend
    replied = message.reply_to_message
    user = message.from_user
    if replied is None or user is None or not replied.text:
        return None
    seen = " ".join(replied.text.split())
    candidates = set(services.store.chats_of_user(user.id))
    group = services.store.couple(message.chat_id)
    if group is not None:
        candidates.add(group.chat_id)
    for chat_id in sorted(candidates):
        couple = services.store.couple(chat_id)
        if couple is None:
            continue
        place = "group" if message.chat_id == couple.chat_id else user.id
        for entry in services.outbox.unconfirmed(chat_id):
            asks_here = any(a.get("do") == "ask" for a in entry.get("then") or [])
            if asks_here and entry["to"] == place and entry.get("text") == seen:
                with services.store.transaction(chat_id) as tx:
                    services.outbox.confirm(tx, entry, replied)
                return chat_id
    return None


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.outbox.after_send["ask"] = _after_send
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(MessageHandler(text & (filters.REPLY | filters.ChatType.PRIVATE), _on_text))
