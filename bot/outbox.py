"""Messages the bot owes people, kept in the couple's file until Telegram has them.

A change and the messages that tell people about it are written in one transaction: the change
to the couple's records and an outbox entry per message. Then the outbox is delivered. So a
crash, a 5xx or a lost connection between the change and the messages never leaves a change
nobody heard of, and a job with several sends (the check-in's private questions, its group
message, its poll) resumes where it stopped instead of starting over.

Each entry is sent once:
- it gets a token of its own when it is queued (in the same write as the change), and the
  token goes to the written marks (`WrittenMarks`) the moment its body has left
  (bot.network.when_written): after a crash before that, Telegram can't have it, so it is sent
  then; after a crash once it was written, it may have arrived, so it is not repeated (unless
  repeating it shows nothing twice: an edit, buttons taken away, a poll closed). An attempt
  that Telegram refused and that is tried again later gets a new token;
- a failure that proves the request never reached Telegram (no connection, a 5xx, 429) keeps
  the entry; later entries to the same chat wait behind it (order is kept) and delivery is
  tried again by a timer (`OUTBOX_RETRY`, which survives restarts) after the pauses of
  `bot.timers.RETRY_DELAYS`, each failed attempt logged without content, then given up;
- an answer that timed out (it may have arrived) drops the entry: nobody sees a message twice;
- Telegram refusing it (blocked, never started, bad request) drops it; a partner who can't be
  reached privately is marked so.

Entries queued while a timer fired (a pause end, a window closing) are timed: they are sent
before the others and first in Telegram's limits (bot.ratelimit), and a timer's delivery never
waits behind a delivery that answers people, so a flood never holds back a pause end.

An entry names its chat as "group" (the couple's group, whatever its id is by then: a group
that becomes a supergroup is followed) or a partner's user id (their private chat). After a
send, an entry's `then` actions store what later steps need: a question's message id (so the
reply is routed back), a poll's id (so votes are), or a message id kept on a record.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
)
from telegram.ext import CallbackContext, ExtBot

from bot import origin, ratelimit
from bot.model import Partner, to_iso, utcnow
from bot.network import never_sent, when_written
from bot.storage import Kind, Store, Transaction
from bot.timers import RETRY_DELAYS, retry_pause

if TYPE_CHECKING:
    from bot.timers import Fired, Timers

log = logging.getLogger(__name__)

# What delivering needs of a handler's or a timer's context: its bot. The application's context
# (bot.context.MendContext) is one, not named here: bot.context holds the outbox.
Sending = CallbackContext[ExtBot[None], Any, Any, Any]


class Entry(TypedDict):
    """A message owed (or an edit, a buttons-off, a poll closed), as the outbox keeps it."""

    id: NotRequired[int]
    to: int | str  # a partner's user id, or "group"
    html: str
    buttons: list[list[dict[str, str]]] | None
    force_reply: str | None
    thread: int | None
    reply_to: int | None
    poll: dict[str, Any] | None
    edit_of: int | None
    clear_buttons_of: int | None
    stop_poll_of: int | None
    in_chat: int | None  # the chat a named message is in (an old group's id, after an upgrade)
    then: list[dict[str, Any]]
    # "pending" (its request may be under way if its token is marked), "sending" and "written"
    # (kept by data from before tokens were given when queued), "unconfirmed" (may have
    # arrived; its first answer confirms it) or "held" (see release)
    state: str
    token: NotRequired[str]  # names its sends in the written marks; new for each refused try
    sent_as: NotRequired[str]  # data from before `token`: a "sending" entry's token
    queued_at: str | None
    attempts: NotRequired[int]
    text: NotRequired[str]  # what people see of it, kept while it is unconfirmed
    held: NotRequired[str | None]  # what a held entry waits for (bot.audience)
    timed: NotRequired[bool]  # queued while a timer fired: sent first (bot.ratelimit)


# A message may show what its reader wrote in private: its text is sealed at rest.
OUTBOX_TABLE = Kind[Entry]("outbox", private=("html", "text"), owner="to")
# Messages that may have arrived (their answer timed out) and whose follow-up bookkeeping (a
# question to route replies to, a poll to count votes on) waits for the first sign of them.
UNCONFIRMED_TABLE = Kind[Entry]("unconfirmed", private=("html", "text"), owner="to")
KEEP_UNCONFIRMED = 20


def plain_text(html_text: str) -> str:
    """The text people see of a message sent as HTML (to match a reply's quoted message)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", html_text)).split())


OUTBOX_RETRY = "outbox_retry"
PENDING_KEY = "outbox:pending"
# A message owed for longer than this after downtime is still sent (marked late by its text
# where that matters); the retry timer itself never expires.
RETRY_LATE_LIMIT = timedelta(days=3650)
GROUP: Literal["group"] = "group"

To = int | Literal["group"]
# What runs after an entry was sent: (tx, the entry, the message, the action from its `then`).
AfterSend = Callable[[Transaction, Entry, Message, dict[str, Any]], None]


@dataclass
class Outgoing:
    """One message to queue: HTML, and what goes with it."""

    to: To
    html: str = ""
    buttons: Sequence[Sequence[InlineKeyboardButton]] | None = None
    force_reply: str | None = None  # the input field placeholder of a question
    thread_id: int | None = None
    reply_to: int | None = None
    poll: dict[str, Any] | None = None  # question, options, multiple, kind, payload
    edit_of: int | None = None  # replace this message's text and buttons (sent anew if gone)
    clear_buttons_of: int | None = None  # only take this message's buttons away
    stop_poll_of: int | None = None  # close the poll in this message
    # The chat the message named by edit_of, clear_buttons_of or stop_poll_of is in, if not
    # where `to` is now: a group that became a supergroup keeps its old messages under its
    # old id, and their ids mean other messages in the supergroup.
    in_chat: int | None = None
    then: list[dict[str, Any]] = field(default_factory=list)
    # Kept, not sent, until released (`Outbox.release`): what it waits for, e.g. the couple's
    # choice of where personal things go.
    held: str | None = None


def _buttons_doc(
    rows: Sequence[Sequence[InlineKeyboardButton]] | None,
) -> list[list[dict[str, str]]] | None:
    if not rows:
        return None
    return [[_button_doc(b) for b in row] for row in rows]


def _button_doc(button: InlineKeyboardButton) -> dict[str, str]:
    if isinstance(button.callback_data, str):
        return {"text": button.text, "data": button.callback_data}
    return {"text": button.text, "url": button.url or ""}


def _markup(entry: Entry) -> InlineKeyboardMarkup | ForceReply | None:
    if entry.get("force_reply") is not None:
        return ForceReply(selective=True, input_field_placeholder=entry["force_reply"])
    return _keyboard(entry)


def _keyboard(entry: Entry) -> InlineKeyboardMarkup | None:
    rows = entry.get("buttons")
    if rows:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(b["text"], callback_data=b["data"])
                    if "data" in b
                    else InlineKeyboardButton(b["text"], url=b["url"])
                    for b in row
                ]
                for row in rows
            ]
        )
    return None


class WrittenMarks:
    """The tokens of the sends whose request has left, in an append-only file beside the
    couple files (`MARKS_FILE`, 0600, tokens only).

    A mark has to be on disk in the instant between a request's body leaving and anything
    else running, so it is one `write` to a file kept open, without fsync: the kernel keeps
    it if the process is killed. (After a power loss, a send marked only in the page cache
    counts as never written and is sent again: a message seen twice rather than lost.) The
    file is rotated at `MARKS_ROTATE_BYTES`, keeping the one before, which by then holds no
    send still under way."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._before = path.with_suffix(path.suffix + ".1")
        self._fd: int | None = None

    def mark(self, token: str) -> None:
        """Record that the send `token` names has left. Raises OSError if the file can't be
        written."""
        self._append(token)

    def unmark(self, token: str) -> None:
        """Record that the send `token` names was refused (a 5xx) and hasn't left again."""
        self._append(f"-{token}")

    def _append(self, line: str) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self._fd, f"{line}\n".encode())
        if os.fstat(self._fd).st_size >= MARKS_ROTATE_BYTES:
            self.close()
            self.path.replace(self._before)

    def all(self) -> set[str]:
        """The tokens marked since the last `clear`."""
        tokens: set[str] = set()
        for path in (self._before, self.path):
            with contextlib.suppress(FileNotFoundError):
                for line in path.read_text(encoding="ascii", errors="replace").split():
                    if line.startswith("-"):
                        tokens.discard(line[1:])
                    else:
                        tokens.add(line)
        return tokens

    def clear(self) -> None:
        """Forget every mark (once no marked send is still under way, nor waits for a
        verdict: at start-up, after `Outbox.recover`)."""
        self.close()
        for path in (self._before, self.path):
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file (it is opened again by the next mark)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


MARKS_FILE = "written.marks"
# About 36,000 sends per file: far more than can be under way at once.
MARKS_ROTATE_BYTES = 600_000


class Outbox:
    """Queue messages with a change (`put`), then `deliver` them in order, each once."""

    def __init__(self, store: Store, timers: Timers) -> None:
        self.store = store
        self.timers = timers
        self.marks = WrittenMarks(store.data_dir / MARKS_FILE)
        # One delivery at a time per couple, and one for what timers queued (see deliver).
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._sending: set[str] = set()  # the tokens of entries whose send is under way
        # Actions run after a send, by name.
        self.after_send: dict[str, AfterSend] = {}

    def put(self, tx: Transaction, *messages: Outgoing) -> None:
        """Queue messages inside a couple's transaction: they are owed once it commits.

        A message to the group without a thread goes to the forum topic the work at hand
        started in (see bot.origin). A message id named while handling an update from the
        couple's old group (a button pressed there after it became a supergroup) is that
        group's, unless the message says otherwise (`in_chat`).
        """
        couple = tx.couple()
        table = tx.table(OUTBOX_TABLE)
        came_from = origin.current().chat_id
        for message in messages:
            thread = message.thread_id
            if thread is None and message.to == GROUP and couple is not None:
                thread = origin.thread_in(couple.chat_id)
            in_chat = message.in_chat
            names_a_message = (message.edit_of, message.clear_buttons_of, message.stop_poll_of)
            if (
                in_chat is None
                and message.to == GROUP
                and couple is not None
                and couple.migrated_from is not None
                and came_from == couple.migrated_from
                and any(m is not None for m in names_a_message)
            ):
                in_chat = came_from
            table.insert(
                {
                    "to": message.to,
                    "html": message.html,
                    "buttons": _buttons_doc(message.buttons),
                    "force_reply": message.force_reply,
                    "thread": thread,
                    "reply_to": message.reply_to,
                    "poll": message.poll,
                    "edit_of": message.edit_of,
                    "clear_buttons_of": message.clear_buttons_of,
                    "stop_poll_of": message.stop_poll_of,
                    "in_chat": in_chat,
                    "then": message.then,
                    "state": "held" if message.held else "pending",
                    "token": _new_token(),
                    "timed": ratelimit.sending_timed(),
                    "queued_at": to_iso(utcnow()),
                    "held": message.held,
                }
            )
        if couple is not None and any(m.held is None for m in messages):
            couple.add_key(f"{PENDING_KEY}:{couple.chat_id}")
            tx.save(couple)

    def release(self, tx: Transaction, held: str, decide: Callable[[Entry], bool | str]) -> int:
        """Inside a couple's transaction: what becomes of the entries held for `held`, as
        `decide` says: owed from now on (True, in the order they were queued), dropped
        (False), or held on for something else (its name). Returns how many are owed."""
        table = tx.table(OUTBOX_TABLE)
        owed = 0
        for entry in self.held(tx, held):
            verdict = decide(entry)
            if verdict is True:
                table.update(entry["id"], {"state": "pending", "held": None})
                owed += 1
            elif verdict is False:
                table.remove(entry["id"])
            else:
                table.update(entry["id"], {"held": verdict})
        couple = tx.couple()
        if owed and couple is not None:
            couple.add_key(f"{PENDING_KEY}:{couple.chat_id}")
            tx.save(couple)
        return owed

    def held(self, tx: Transaction, held: str) -> list[Entry]:
        """Inside a couple's transaction: the entries held for `held`, oldest first."""
        return sorted(
            (
                e
                for e in tx.table(OUTBOX_TABLE).all()
                if e["state"] == "held" and e.get("held") == held
            ),
            key=lambda e: e["id"],
        )

    def owing(self) -> list[int]:
        """Couples with messages still owed (at start-up: deliver these)."""
        return self.store.chats_with_key_prefix(PENDING_KEY)

    async def deliver(
        self, context: Sending, chat_id: int, *, retry_timer: int | None = None
    ) -> None:
        """Send what the couple is owed, in order; never raises for a failed send (what is
        still owed is tried again by a timer; `retry_timer`: that timer, when it is firing).

        What a timer queued (a pause end, a window closing) goes first, and a timer's delivery
        never waits behind one that answers people (which may wait for the group's budget
        during a flood): a timer sends only what timers queued; what answers people is sent
        by the delivery of the update it answers (or, after a failure, by the retry timer)."""
        if ratelimit.sending_timed() and retry_timer is None:
            async with self._lock((chat_id, "timed")):
                await self._deliver(context, chat_id, None, only_timed=True)
            return
        async with self._lock(chat_id):
            await self._deliver(context, chat_id, retry_timer)

    @contextlib.asynccontextmanager
    async def _lock(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            yield
        if not lock.locked():
            self._locks.pop(key, None)

    async def _deliver(
        self,
        context: Sending,
        chat_id: int,
        retry_timer: int | None,
        *,
        only_timed: bool = False,
    ) -> None:
        blocked: set[Any] = set()
        retry_in: timedelta | None = None
        while True:
            couple = self.store.couple(chat_id)
            if couple is None:
                return
            chat_id = couple.chat_id  # a group that became a supergroup is followed
            if couple.status == "removed":
                # The bot is out of the group: what is owed there waits until it is added
                # back (membership delivers then); private messages still go.
                blocked.add(GROUP)
            pending = [
                e
                for e in sorted(self.store.records(chat_id, OUTBOX_TABLE), key=_first_timed)
                if e["state"] == "pending"
                and e.get("token") not in self._sending
                and e["to"] not in blocked
                and (e.get("timed") or not only_timed)
            ]
            if not pending:
                break
            entry = pending[0]
            token = entry.get("token") or self._give_token(chat_id, entry)
            # Under way until what became of it is written: after an error nobody expected (a
            # full disk) it stays so while this process runs, and the start-up after decides
            # by its mark, as for a crash.
            self._sending.add(token)
            pause = await self._attempt(context, chat_id, entry, token, blocked)
            self._sending.discard(token)
            if pause is not None:
                retry_in = pause if retry_in is None else min(retry_in, pause)
        if retry_in is not None:
            self._retry_later(chat_id, retry_in, retry_timer)
        else:
            self._settled(chat_id)

    async def _attempt(
        self, context: Sending, chat_id: int, entry: Entry, token: str, blocked: set[Any]
    ) -> timedelta | None:
        """Send one entry and record what became of it. Returns the pause before it is tried
        again if it is kept for that (its chat is then added to `blocked`: later entries to it
        wait behind it), else None."""
        destination = chat_id if entry["to"] == GROUP else int(entry["to"])
        marking = _Marking(self.marks, token)
        try:
            with when_written(marking), ratelimit.timed(bool(entry.get("timed"))):
                message = await self._send(context, chat_id, destination, entry, marking)
        except (Forbidden, BadRequest) as error:
            self._refused(chat_id, entry, error)
            if entry["to"] == GROUP and isinstance(error, Forbidden):
                blocked.add(GROUP)
            return None
        except (NetworkError, RetryAfter) as error:
            # Nothing of it left (no mark: bot.network marks before the first byte), or what
            # left surely never reached Telegram: tried again; else it may have arrived.
            if isinstance(error, NetworkError) and marking.left and not never_sent(error):
                log.warning(
                    "a message may have arrived though its answer was lost (%s); "
                    "it is not sent twice",
                    type(error.__cause__ or error).__name__,
                )
                self._finish(chat_id, entry, None)
                return None
            pause = self._keep(chat_id, entry, error)
            if pause is not None:
                blocked.add(entry["to"])
            return pause
        self._finish(chat_id, entry, message)
        return None

    async def _send(
        self, context: Sending, couple_chat: int, chat_id: int, entry: Entry, marking: _Marking
    ) -> Message | None:
        # Where the message an entry names is (a group that became a supergroup: the old id).
        where = entry.get("in_chat") or chat_id
        if entry.get("clear_buttons_of") is not None:
            # Repeating this is harmless, and a message that is gone has no buttons left.
            with contextlib.suppress(BadRequest, ChatMigrated):
                await context.bot.edit_message_reply_markup(
                    where, entry["clear_buttons_of"], reply_markup=None
                )
            return None
        if (poll_message := entry.get("stop_poll_of")) is not None:
            # Repeatable too; a poll that is closed or gone needs nothing more.
            with contextlib.suppress(BadRequest, ChatMigrated, Forbidden):
                await context.bot.stop_poll(where, poll_message)
            return None
        if entry.get("edit_of") is not None:
            try:
                edited = await context.bot.edit_message_text(
                    entry["html"], where, entry["edit_of"], reply_markup=_keyboard(entry)
                )
            except (BadRequest, ChatMigrated) as error:
                # Gone, too old to edit, or in a group that became a supergroup: send anew,
                # as a message (not repeated after a crash, like any other message).
                log.info("a message could not be edited (%s); sending it anew", error)
                # Refused, so nothing of it arrived: unmarked before it becomes a message (a
                # marked message is never sent again after a crash).
                marking(False)
                with self.store.transaction(couple_chat) as tx:
                    tx.table(OUTBOX_TABLE).update(entry["id"], {"edit_of": None})
            else:
                return edited if isinstance(edited, Message) else None
        poll = entry.get("poll")
        if poll is not None:
            return await context.bot.send_poll(
                chat_id,
                poll["question"],
                poll["options"],
                is_anonymous=False,
                allows_multiple_answers=bool(poll.get("multiple")),
                message_thread_id=entry.get("thread"),
            )
        reply_to = entry.get("reply_to")
        reply = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to
            else None
        )
        return await context.bot.send_message(
            chat_id,
            entry["html"],
            reply_markup=_markup(entry),
            reply_parameters=reply,
            message_thread_id=entry.get("thread"),
        )

    def _give_token(self, chat_id: int, entry: Entry) -> str:
        """An entry queued before entries were given their token when queued gets one now,
        written before its send."""
        token = _new_token()
        with self.store.transaction(chat_id) as tx:
            tx.table(OUTBOX_TABLE).update(entry["id"], {"token": token})
        return token

    def _keep(self, chat_id: int, entry: Entry, error: Exception) -> timedelta | None:
        """A send that surely never arrived: keep the entry for a later try and return the
        pause before it, or drop it (None) after the last of RETRY_DELAYS."""
        failures = int(entry.get("attempts", 0))
        whom = "the group" if entry["to"] == GROUP else "a partner"
        with self.store.transaction(chat_id) as tx:
            table = tx.table(OUTBOX_TABLE)
            if failures >= len(RETRY_DELAYS):
                log.warning(
                    "message to %s: attempt %d failed (%s); giving up",
                    whom,
                    failures + 1,
                    type(error).__name__,
                )
                table.remove(entry["id"])
                return None
            pause = retry_pause(RETRY_DELAYS, failures, error)
            log.warning(
                "message to %s: attempt %d failed (%s); next try in %s",
                whom,
                failures + 1,
                type(error).__name__,
                pause,
            )
            # A new token: the refused attempt was marked written as it left.
            table.update(
                entry["id"], {"state": "pending", "attempts": failures + 1, "token": _new_token()}
            )
        return pause

    def _refused(self, chat_id: int, entry: Entry, error: Exception) -> None:
        unreachable = isinstance(error, Forbidden) or "chat not found" in str(error).lower()
        with self.store.transaction(chat_id) as tx:
            couple = tx.couple()
            if entry["to"] == GROUP and isinstance(error, Forbidden):
                # Removed from the group (before Telegram's word of it arrived): kept until the
                # bot is added back, like everything owed there.
                tx.table(OUTBOX_TABLE).update(
                    entry["id"], {"state": "pending", "token": _new_token()}
                )
                log.warning("a message to the group waits: the bot is not in it")
                return
            tx.table(OUTBOX_TABLE).remove(entry["id"])
        if unreachable and couple is not None and entry["to"] != GROUP:
            partner = couple.partner(int(entry["to"]))
            if partner is not None and partner.private_chat:
                mark_unreachable(self.store, partner.user_id)
        log.warning("a message was refused by Telegram (%s)", type(error).__name__)

    def _finish(self, chat_id: int, entry: Entry, message: Message | None) -> None:
        """The entry is done (sent, or given up as possibly arrived): run its `then` actions
        with the message when there is one. Without one (it may have arrived) what they would
        have stored is kept as unconfirmed: the first answer to it (a reply to the question,
        a vote on the poll) confirms it (see `unconfirmed` and `confirm`)."""
        with self.store.transaction(chat_id) as tx:
            tx.table(OUTBOX_TABLE).remove(entry["id"])
            if message is not None:
                for action in entry.get("then") or []:
                    self.after_send[action["do"]](tx, entry, message, action)
            elif entry.get("then") and entry.get("edit_of") is None:
                _keep_unconfirmed(tx, entry)
            _settle(tx)  # in the same write: the last one owed needs no other

    def unconfirmed(self, chat_id: int) -> list[Entry]:
        """The couple's messages that may have arrived, whose question or poll isn't known."""
        return self.store.records(chat_id, UNCONFIRMED_TABLE)

    def confirm(self, tx: Transaction, entry: Entry, message: Message) -> None:
        """Inside the couple's transaction: a message that may have arrived did (people
        answered it): what its send would have stored is stored now."""
        tx.table(UNCONFIRMED_TABLE).remove(entry["id"])
        for action in entry.get("then") or []:
            self.after_send[action["do"]](tx, entry, message, action)

    def _settled(self, chat_id: int) -> None:
        couple = self.store.couple(chat_id)
        if couple is None or not any(k.startswith(PENDING_KEY) for k in couple.keys):
            return
        with self.store.transaction(chat_id) as tx:
            _settle(tx)

    def _retry_later(self, chat_id: int, pause: timedelta, besides: int | None) -> None:
        if any(t["id"] != besides for t in self.timers.pending(chat_id, OUTBOX_RETRY)):
            return
        self.timers.schedule(chat_id, OUTBOX_RETRY, utcnow() + pause)

    async def retry_due(self, context: Sending, fired: Fired) -> None:
        """The retry timer: deliver again (a new timer is set if something is still owed)."""
        await self.deliver(context, fired.chat_id, retry_timer=fired.timer_id)

    def recover(self) -> int:
        """At start-up: an entry whose send a crash cut off and that has no written mark never
        left, so it is sent; one that was written may have arrived: a message is dropped
        (nobody sees it twice), and what its send would have stored (a question, a poll) waits
        for its first answer, as after a timeout; what is harmless to repeat (an edit, buttons
        taken away, a poll closed) is done again, so it is never lost. The marks are forgotten
        then.
        Returns how many couples are still owed messages."""
        owed = self.owing()
        written = self.marks.all()
        for chat_id in owed:
            with self.store.transaction(chat_id) as tx:
                table = tx.table(OUTBOX_TABLE)
                for entry in table.all():
                    state = entry["state"]
                    token = entry.get("token" if state == "pending" else "sent_as")
                    if state in ("pending", "sending") and token in written:
                        state = "written"
                    if state == "sending":  # data from before tokens were given when queued
                        log.info("a message was about to be sent when the bot stopped; sent now")
                        table.update(entry["id"], {"state": "pending"})
                    elif state != "written":
                        continue
                    elif _repeatable(entry):
                        log.info("a change was being made when the bot stopped; made again")
                        table.update(entry["id"], {"state": "pending"})
                    else:
                        log.warning("a message was being sent when the bot stopped; not repeated")
                        table.remove(entry["id"])
                        if entry.get("then"):
                            _keep_unconfirmed(tx, entry)
        self.marks.clear()
        return len(owed)


def _settle(tx: Transaction) -> None:
    """Inside the couple's transaction: once nothing is owed (held entries wait for something
    else), the couple no longer counts as owed (`Outbox.owing`)."""
    couple = tx.couple()
    if couple is None or not any(k.startswith(PENDING_KEY) for k in couple.keys):
        return
    if not any(e["state"] != "held" for e in tx.table(OUTBOX_TABLE).all()):
        for key in [k for k in couple.keys if k.startswith(PENDING_KEY)]:
            couple.drop_key(key)
        tx.save(couple)


def _keep_unconfirmed(tx: Transaction, entry: Entry) -> None:
    """Inside the couple's transaction: a message that may have arrived (its answer timed out,
    or the bot stopped while sending it) keeps what its send would have stored (a question, a
    poll) until its first answer confirms it."""
    table = tx.table(UNCONFIRMED_TABLE)
    table.insert({**entry, "text": plain_text(entry["html"]), "state": "unconfirmed"})
    for old in sorted(table.all(), key=lambda r: r["id"])[:-KEEP_UNCONFIRMED]:
        table.remove(old["id"])


def mark_unreachable(store: Store, user_id: int) -> None:
    """A person's private chat is closed to the bot (blocked, never started): in every couple
    of theirs, as it is one chat whichever group it was opened from."""
    store.update_person(user_id, _unreachable)


def _unreachable(partner: Partner) -> None:
    partner.private_chat = False


class _Marking:
    """Marks one entry's sends written as each attempt of it leaves, and not written when
    Telegram refused an attempt that is tried again (bot.network.when_written); `left`: whether
    the last attempt left."""

    def __init__(self, marks: WrittenMarks, token: str) -> None:
        self.marks = marks
        self.token = token
        self.left = False

    def __call__(self, left: bool) -> None:
        self.left = left
        try:
            if left:
                self.marks.mark(self.token)
            else:
                self.marks.unmark(self.token)
        except OSError:  # never in the way of the send itself
            log.exception("a send could not be marked as written")


def _new_token() -> str:
    """What names one entry's sends in the written marks (random: it tells nothing)."""
    return secrets.token_hex(8)


def _first_timed(entry: Entry) -> tuple[bool, int]:
    """The order entries are sent in: what timers queued first, else as queued."""
    return (not entry.get("timed"), entry["id"])


def _repeatable(entry: Entry) -> bool:
    """Whether doing an entry twice shows nothing twice: an edit (an edit that had to be sent
    anew as a message is a message by then), taking buttons away, closing a poll."""
    return any(entry.get(k) is not None for k in ("edit_of", "clear_buttons_of", "stop_poll_of"))
