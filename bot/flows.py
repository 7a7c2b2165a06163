"""Guided steps as data: a flow is a table of steps, and one runner moves people through it.

A feature describes a conversation as a :class:`Flow`: each :class:`Step` names its template,
its buttons (:class:`Option`) or the typed answer it wants (a reader), what an answer does, and
which step comes next. The runner owns everything every conversation needs, so no feature can
get it wrong:

- **the current step**: an answer to a step that is no longer current (a double tap, an old
  message, a button from before /forget, a forged press) changes nothing and gets one stale
  answer; a run's buttons carry a random token that is never reused and names no chat, so
  they survive a group becoming a supergroup and can't reach another couple;
- **who may answer**: the run's owner, either partner, or (a proposal waiting for a yes) the
  partner who isn't its owner, as the step says;
- **typed answers**: asked with a ForceReply; an answer the reader (or the step's answer) can't
  use is asked again with the reason, nothing is stored; a question may be asked *beside* a
  step (a button that wants words: "Add a change"), which then stays current, its buttons
  working, so either partner can ask their own;
- **exactly once**: an answer, the change it makes and the messages it causes are written in
  one transaction (the messages through :mod:`bot.outbox`), then delivered; answering the
  button press is best effort and never stops the rest;
- **expiry**: a run may have a lifetime (a confirmation does), after which its buttons are stale;
- **other features** hear of an answer through events (`Turn.emit`), told once its messages
  are delivered, so a flow never imports another feature to make it act.

State belongs to the couple: runs live in the couple's file (table "runs"), not in a chat or a
user's memory, and are found by their token ("run:<token>" in the store's key index).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from telegram import CallbackQuery, Chat, InlineKeyboardButton, Update
from telegram.ext import Application, CallbackQueryHandler

from bot import asks, origin
from bot.couples import group_locale, partner_locale
from bot.guards import refuse_outsider
from bot.messages import answer_stale, group_message, private_message, reply
from bot.model import Couple, Partner, from_iso, to_iso, utcnow
from bot.outbox import GROUP, Entry, Outgoing
from bot.render import Renderer
from bot.storage import Kind, Transaction

if TYPE_CHECKING:
    from bot.context import MendContext, Services

log = logging.getLogger(__name__)


class RunRecord(TypedDict):
    """A run as the couple's file keeps it (see :class:`Run`)."""

    id: NotRequired[int]
    token: str
    flow: str
    step: str | None
    owner: int | None
    data: dict[str, Any]
    where: str  # "group" or "private"
    chat: int | None
    message_id: int | None
    thread: int | None
    expires_at: str | None
    started_at: str | None
    asked: NotRequired[int | None]  # runs from before questions were aimed lack it
    updated_at: str | None
    created_at: NotRequired[str | None]  # written once, when the run starts


# What a run holds may be what its owner typed (a draft, a worry shown): sealed at rest.
RUNS_TABLE = Kind[RunRecord]("runs", private=("data",), owner="owner")
KEEP_FINISHED = 30  # finished runs kept per couple and flow
MAX_OPEN = 20  # open runs kept per flow and owner
TOKEN_BYTES = 6  # 8 characters of base64: 2**48 tokens, never reused
CALLBACK = re.compile(
    r"^r:(?P<token>[A-Za-z0-9_-]{8}):(?P<step>[a-z0-9_]{1,16}):(?P<option>[a-z0-9_]{1,16})$"
)
ASK_KIND = "flow"
ANSWER_WITHIN = 2.0  # seconds a press waits for what it changed to be shown before it is answered
# What an answer returns to stay where the run is: a menu whose buttons start or change other
# things, or a question beside a step that was answered without showing the step again.
STAY = "<stay>"


class Unreadable(ValueError):
    """A typed answer the step's reader can't use; `reason` names a label shown to the person.

    A step's `answer` may raise it too, when reading needs the run or the person (a date
    "from today on" in the answering partner's zone): before it has changed anything."""

    def __init__(self, reason: str, **values: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class Option:
    """A button: `key` is what the press means, `label` the label it shows (in content/).

    `callback`: a button handled outside the flow (its own callback data, e.g. the private
    link of onboarding) shown among the step's buttons; pressing it doesn't answer the step.
    `text`: the button's text made from the renderer and the locale, instead of `label`.
    """

    key: str
    label: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    callback: str | None = None
    # The button's text from the renderer and locale, when a fixed label can't say it (a
    # ritual's name inside a toggle, a weekday's name from the locale's calendar).
    text: Callable[[Renderer, str], str] | None = None


Rows = Sequence[Sequence[Option]]


def literal(text: str) -> Callable[[Renderer, str], str]:
    """An `Option.text` that reads the same in every language (a time such as 19:00)."""
    return lambda render, locale: text


Reader = Callable[[str], Any]


@dataclass(frozen=True)
class Step:
    """One step of a flow.

    template: the message that asks (content/<locale>/<template>.html.j2); it gets the run's
        data, `step`, and on a repeated question `error` (a label) and `typed`.
    options: its buttons, or a function of the run giving them.
    read: a typed answer is wanted; the reader turns the text into a value or raises Unreadable.
    answer: what an answer does, inside the transaction: `turn.value` is the option's key or
        the read value; it changes `turn.data` or the feature's tables (`turn.tx`), may queue
        messages (`turn.say`), and returns the next step's name, None when the flow is done,
        or STAY. Without it the answer is kept as data[<step name>] and `next` follows. For a
        typed answer that only makes sense against what was answered before (a last day before
        the first), it may raise Unreadable: the question is asked again with the reason, and
        what it changed in the run's data is undone.
    who: "owner" (the partner the run belongs to), "partners" (either partner) or "other" (the
        partner who isn't the owner: a proposal's owner proposed it, and the other agrees or
        not; its question is aimed at them).
    edit: the next step replaces this step's message (one message walks through a check);
        otherwise this message loses its buttons and the next step comes as a new message.
    refresh: an answer that returns this same step shows it again in place (toggles, choices
        made one by one); any other next step comes as a new message.
    beside: this typed question is asked beside that step (one of whose buttons returns it):
        that step stays current and its message keeps its buttons, so either partner may ask
        their own; the answer counts while that step is current.
    """

    template: str
    options: Rows | Callable[[Run], Rows] = ()
    read: Reader | None = None
    answer: Callable[[Turn], str | None] | None = None
    next: str | None = None
    who: Literal["owner", "partners", "other"] = "owner"
    edit: bool = False
    data: Callable[[Run], Mapping[str, Any]] | None = None
    refresh: bool = False
    beside: str | None = None

    @property
    def final(self) -> bool:
        """A step that asks nothing: showing it finishes the run."""
        return not self.options and self.read is None


@dataclass(frozen=True)
class Flow:
    """A conversation: its steps, the first one, where it happens, how long it may wait.

    where: "group" (the couple's group) or "private" (the owner's private chat); a run may
        be started elsewhere than its flow's default.
    lifetime: after this long the run's buttons are stale (None: they never expire).
    not_yours: the alert for a partner who presses another's button ({name}: the owner).
    not_theirs: the alert for the owner who presses the buttons of a step for the other
        partner, a proposal of theirs ({name}: the partner whose yes it waits for).
    finished: called after the transaction that finished a run, with the messages delivered
        (for work that can't be done inside a transaction, like starting a breathing session).
    closed: what a typed reply to a question that is no longer open is answered with.
    single: one open run at a time per owner (per couple, for runs owned by both): starting
        one closes the one before (a menu or an overview shown again).
    superseded: one open run at a time for the couple, whoever started it: a newer one closes
        the one before (a proposal answered by a proposal of the same kind).
    view: values every message of the flow gets, worked out when it is shown (inside the
        couple's transaction): names, dates in each partner's zone, what the feature's tables
        hold now. Called with the services, the couple, the run and the message's locale.
    """

    name: str
    steps: Mapping[str, Step]
    first: str
    where: Literal["group", "private"] = "group"
    lifetime: timedelta | None = None
    not_yours: str = "alert.flow_not_yours"
    not_theirs: str = "alert.flow_for_the_other"
    finished: Callable[[MendContext, Couple, Run], Any] | None = None
    closed: str = "common/question_closed"  # the answer to a typed reply that came too late
    view: Callable[[Services, Couple, Run, str], Mapping[str, Any]] | None = None
    single: bool = False
    superseded: bool = False


@dataclass
class Run:
    """A flow under way for a couple: its step, its owner and what was answered so far."""

    token: str
    flow: str
    step: str | None  # None: finished
    owner: int | None
    data: dict[str, Any]
    where: Literal["group", "private"] = "group"  # the group, or the owner's private chat
    chat: int | None = None  # where its current message is (a partner's id, or the group's)
    message_id: int | None = None
    thread: int | None = None
    expires_at: datetime | None = None
    started_at: datetime | None = None
    asked: int | None = None  # who a typed question is aimed at (the owner, or who pressed)
    id: int = 0

    @classmethod
    def from_record(cls, record: RunRecord) -> Run:
        return cls(
            token=record["token"],
            flow=record["flow"],
            step=record.get("step"),
            owner=record.get("owner"),
            data=dict(record.get("data") or {}),
            where="private" if record.get("where") == "private" else "group",
            chat=record.get("chat"),
            message_id=record.get("message_id"),
            thread=record.get("thread"),
            expires_at=from_iso(record.get("expires_at")),
            started_at=from_iso(record.get("started_at")),
            asked=record.get("asked"),
            id=int(record["id"]),
        )

    def to_record(self) -> RunRecord:
        return {
            "token": self.token,
            "flow": self.flow,
            "step": self.step,
            "owner": self.owner,
            "data": self.data,
            "where": self.where,
            "chat": self.chat,
            "message_id": self.message_id,
            "thread": self.thread,
            "expires_at": to_iso(self.expires_at),
            "started_at": to_iso(self.started_at),
            "asked": self.asked,
            "updated_at": to_iso(utcnow()),
        }


@dataclass
class Turn:
    """An answer being applied: the run, who answered, what, and the open transaction."""

    runner: Runner
    tx: Transaction
    couple: Couple
    run: Run
    partner: Partner
    value: Any
    toast: str | None = None  # a label (content/) shown to the presser as the press's answer
    alert: bool = False  # show the toast as an alert the presser must close
    messages: list[Outgoing] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return self.run.data

    @property
    def services(self) -> Services:
        return self.runner.services

    def say(self, to: Literal["group"] | Partner, template: str, /, **data: Any) -> None:
        """Queue a message to the group (in the run's forum topic) or to a partner in private."""
        self.messages.append(self.runner.outgoing(self.couple, to, template, data, self.run))

    def emit(self, event: str, /, **data: Any) -> None:
        """Tell the features that listen (`services.on`) once this answer's messages are
        delivered: what the answer means for another feature, without importing it."""
        self.events.append((event, data))


def _token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _key(token: str) -> str:
    return f"run:{token}"


class Runner:
    """Starts runs, answers their buttons and typed answers, and keeps them to their step."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.flows: dict[str, Flow] = {}

    def add(self, *flows: Flow) -> None:
        for flow in flows:
            if flow.first not in flow.steps or any(
                (s.next is not None and s.next not in flow.steps)
                or (s.beside is not None and (s.beside not in flow.steps or s.read is None))
                for s in flow.steps.values()
            ):
                raise ValueError(f"flow {flow.name!r} names a step it doesn't have")
            self.flows[flow.name] = flow

    # -- messages ---------------------------------------------------------------------------

    def locale(self, couple: Couple, to: Literal["group"] | Partner) -> str:
        if to == GROUP:
            return group_locale(self.services, couple)
        assert isinstance(to, Partner)
        return partner_locale(self.services, to)

    def outgoing(
        self,
        couple: Couple,
        to: Literal["group"] | Partner,
        template: str,
        data: Mapping[str, Any],
        run: Run | None = None,
    ) -> Outgoing:
        """A rendered message, ready for the outbox (to the group: in the run's topic)."""
        if isinstance(to, Partner):
            return private_message(self.services, to, template, **data)
        message = group_message(self.services, couple, template, **data)
        message.thread_id = run.thread if run is not None else None
        return message

    def _prompt(
        self,
        couple: Couple,
        run: Run,
        step_name: str,
        *,
        error: Unreadable | None = None,
        typed: str = "",
        edit: int | None = None,
        show: Mapping[str, Any] | None = None,
    ) -> Outgoing:
        """The message that shows step `step_name` of the run (asking it, unless it is final)."""
        flow = self.flows[run.flow]
        step = flow.steps[step_name]
        owner = couple.partner(run.owner) if run.owner is not None else None
        asked = couple.partner(run.asked) if run.asked is not None else owner
        if step.who == "other" and run.owner is not None:
            asked = couple.other(run.owner)
        to: Literal["group"] | Partner = GROUP
        if run.where == "private" and owner is not None:
            # In private, a step for the other partner (a proposal) is shown to them.
            to = (asked or owner) if step.who == "other" else owner
        locale = self.locale(couple, to)
        render = self.services.render
        data = {
            "step": step_name,
            "again": error is not None,
            "error": render.label(locale, error.reason, **error.values) if error else None,
            "typed": typed,
            "owner": owner.name if owner else "",
            "partner": asked.name if asked else "",
            # The feature's own values come last: they may use the same names.
            **run.data,
            **(flow.view(self.services, couple, run, locale) if flow.view else {}),
            **(step.data(run) if step.data else {}),
            **(show or {}),
        }
        message = self.outgoing(couple, to, step.template, data, run)
        options = step.options(run) if callable(step.options) else step.options
        if options:
            message.buttons = [
                [
                    InlineKeyboardButton(
                        o.text(render, locale)
                        if o.text
                        else render.label(locale, o.label, **o.values),
                        callback_data=o.callback or f"r:{run.token}:{step_name}:{o.key}",
                    )
                    for o in row
                ]
                for row in options
            ]
            message.then.append({"do": "run_message", "token": run.token})
        if step.read is not None:
            message.force_reply = render.label(locale, "ask.placeholder")
            message.then.append(
                {
                    "do": "ask",
                    "kind": ASK_KIND,
                    "partner": asked.user_id if asked else None,
                    "payload": {"token": run.token, "step": step_name},
                }
            )
        message.edit_of = edit if step.read is None else None
        return message

    # -- starting ---------------------------------------------------------------------------

    def start(
        self,
        tx: Transaction,
        couple: Couple,
        flow_name: str,
        *,
        owner: Partner | None,
        data: Mapping[str, Any] | None = None,
        step: str | None = None,
        where: Literal["group", "private"] | None = None,
        thread_id: int | None = None,
        show: Mapping[str, Any] | None = None,
    ) -> Run:
        """Begin a run inside the couple's transaction; its first question is queued.

        `show`: values for the first message only, not kept with the run (a private text
        that is stored elsewhere already).

        `where` overrides the flow's own place (a check started in private stays there);
        `step` starts somewhere other than the flow's first step."""
        flow = self.flows[flow_name]
        token = _token()
        while self.services.store.chat_for_key(_key(token)) is not None:
            token = _token()
        now = utcnow()
        run = Run(
            token=token,
            flow=flow.name,
            step=step or flow.first,
            owner=owner.user_id if owner else None,
            data=dict(data or {}),
            where=where or flow.where,
            # What it says in the group goes to the forum topic the work at hand came from
            # (a timer remembers the topic of the update that set it).
            thread=thread_id if thread_id is not None else origin.thread_in(couple.chat_id),
            expires_at=now + flow.lifetime if flow.lifetime else None,
            started_at=now,
        )
        table = tx.table(RUNS_TABLE)
        open_runs = [
            r for r in self.runs_in(tx, flow.name) if flow.superseded or r.owner == run.owner
        ]
        # A flow keeps at most MAX_OPEN runs waiting per owner (one, if it says so; none
        # besides the new one, whoever owns them, if a newer run supersedes them): the oldest
        # close, so runs nobody answers never pile up.
        keep = 0 if flow.single or flow.superseded else MAX_OPEN - 1
        for older in open_runs[: max(0, len(open_runs) - keep)]:
            self.close(tx, older)
        run.id = table.insert({**run.to_record(), "created_at": to_iso(now)})
        current = tx.couple()
        assert current is not None
        current.add_key(_key(token))
        self._prune(tx, current)
        tx.save(current)
        first = run.step
        assert first is not None
        if flow.steps[first].final:
            run.step = None
            tx.table(RUNS_TABLE).update(run.id, run.to_record())
        self.services.outbox.put(tx, self._prompt(couple, run, first, show=show))
        return run

    async def begin(
        self,
        context: MendContext,
        couple: Couple,
        flow_name: str,
        *,
        owner: Partner | None,
        data: Mapping[str, Any] | None = None,
        where: Literal["group", "private"] | None = None,
        thread_id: int | None = None,
    ) -> Run:
        """Start a run in its own transaction and deliver its first question."""
        with self.services.store.transaction(couple.chat_id) as tx:
            run = self.start(
                tx, couple, flow_name, owner=owner, data=data, where=where, thread_id=thread_id
            )
        await self.services.outbox.deliver(context, couple.chat_id)
        return run

    def _prune(self, tx: Transaction, couple: Couple) -> None:
        """Keep the newest KEEP_FINISHED finished runs of each flow (a late press on one is
        still recognised; a feature may read its history)."""
        table = tx.table(RUNS_TABLE)
        finished: dict[str, list[RunRecord]] = {}
        for record in sorted(table.all(), key=lambda r: r["id"]):
            if record.get("step") is None:
                finished.setdefault(record["flow"], []).append(record)
        for records in finished.values():
            for old in records[:-KEEP_FINISHED]:
                couple.drop_key(_key(old["token"]))
                table.remove(old["id"])

    def reshow(
        self,
        tx: Transaction,
        couple: Couple,
        run: Run,
        *,
        asked: Partner | None = None,
        **show: Any,
    ) -> None:
        """Inside the couple's transaction: ask the run's current step again, as a new message
        (a reminder; its earlier message keeps working until the step is answered).

        `asked`: a typed question is aimed at this partner from now on (the one who asked to
        see where things stand), instead of whoever answered the step before."""
        if run.step is None:
            return
        if asked is not None and asked.user_id != run.asked:
            run.asked = asked.user_id
            tx.table(RUNS_TABLE).update(run.id, {"asked": run.asked})
        self.services.outbox.put(tx, self._prompt(couple, run, run.step, show=show))

    def refresh(
        self,
        tx: Transaction,
        couple: Couple,
        run: Run,
        data: Mapping[str, Any] | None = None,
        *,
        message_id: int | None = None,
    ) -> None:
        """Inside the couple's transaction: show the run's current step again in place (its
        message edited, or `message_id`, an earlier copy of it), with `data` changed first:
        what it shows changed elsewhere (a time chosen in a message of its own, a visit
        planned with /visit)."""
        if data:
            run.data.update(data)
            tx.table(RUNS_TABLE).update(run.id, {"data": run.data})
        shown = message_id or run.message_id
        if run.step is None or shown is None:
            return
        self.services.outbox.put(tx, self._prompt(couple, run, run.step, edit=shown))

    def close(self, tx: Transaction, run: Run) -> None:
        """Inside the couple's transaction: finish a run where it is (a deadline passed);
        its buttons and questions are stale from now on, and its last message loses its
        buttons."""
        flow = self.flows.get(run.flow)
        step = flow.steps.get(run.step) if flow is not None and run.step is not None else None
        if step is not None and step.options and run.message_id is not None:
            couple = tx.couple()
            if couple is not None:
                where = self._to(couple, run)
                self.services.outbox.put(tx, Outgoing(to=where, clear_buttons_of=run.message_id))
        run.step = None
        tx.table(RUNS_TABLE).update(run.id, run.to_record())

    def open_runs(self, tx: Transaction) -> list[Run]:
        """Inside a transaction: every unfinished run of the couple, of every flow, oldest
        first."""
        records = sorted(tx.table(RUNS_TABLE).all(), key=lambda r: r["id"])
        return [Run.from_record(r) for r in records if r.get("step")]

    def runs_in(self, tx: Transaction, flow_name: str) -> list[Run]:
        """Inside a transaction: the couple's unfinished runs of a flow, oldest first."""
        records = sorted(tx.table(RUNS_TABLE).all(), key=lambda r: r["id"])
        return [Run.from_record(r) for r in records if r["flow"] == flow_name and r.get("step")]

    def runs(self, chat_id: int, flow_name: str, *, finished: bool = False) -> list[Run]:
        """The couple's unfinished runs of a flow (with `finished`, also those kept after they
        finished), oldest first."""
        records = self.services.store.records(chat_id, RUNS_TABLE)
        return [
            Run.from_record(r)
            for r in sorted(records, key=lambda r: r["id"])
            if r["flow"] == flow_name and (finished or r.get("step") is not None)
        ]

    # -- answers ----------------------------------------------------------------------------

    async def on_button(self, update: Update, context: MendContext) -> None:
        """A press on a run's button: `r:<token>:<step>:<option>`."""
        query, user = update.callback_query, update.effective_user
        assert query is not None and user is not None and context.matches
        match = context.matches[0]
        token, step_name, option = match["token"], match["step"], match["option"]
        chat_id = self.services.store.chat_for_key(_key(token))
        couple = self.services.store.couple(chat_id) if chat_id is not None else None
        found = self._find(chat_id, token) if couple is not None else None
        pressed_in = query.message.chat.id if query.message is not None else None
        if couple is None or found is None or not self._shown_in(couple, found, pressed_in):
            await self._stale(update, context, couple)
            return
        await self.answer(update, context, couple, found, step_name, option, query=query)

    async def on_typed(self, update: Update, context: MendContext, answer: asks.Answer) -> None:
        """A typed reply to a run's question."""
        token, step_name = answer.payload.get("token"), answer.payload.get("step")
        run = self._find(answer.couple.chat_id, str(token))
        if run is None or not self._is_current(run, str(step_name)):
            # Never drop what a person wrote without a word: this question was closed.
            chat = update.effective_chat
            locale = (
                partner_locale(self.services, answer.partner)
                if chat is not None and chat.id == answer.partner.user_id
                else group_locale(self.services, answer.couple)
            )
            flow = self.flows.get(run.flow) if run is not None else None
            await reply(update, context, locale, flow.closed if flow else "common/question_closed")
            return
        await self.answer(update, context, answer.couple, run, str(step_name), answer.text)

    def elsewhere(self, couple: Couple, payload: dict[str, Any]) -> Mapping[str, str]:
        """What a partner can do about a run's question that was asked of the other: ask for
        their own (a question beside a step either partner may press), or leave it to them."""
        run = self._find(couple.chat_id, str(payload.get("token")))
        step_name = str(payload.get("step"))
        if run is None or not self._is_current(run, step_name):
            return {"hint": "closed"}
        flow = self.flows[run.flow]
        beside = flow.steps[step_name].beside
        if beside is not None and flow.steps[beside].who == "partners":
            return {"hint": "button"}
        return {"hint": "theirs"}

    async def answer(
        self,
        update: Update,
        context: MendContext,
        couple: Couple,
        run: Run,
        step_name: str,
        given: str,
        *,
        query: CallbackQuery | None = None,
    ) -> None:
        """Apply an answer to `step_name` of `run` if it is still the current step."""
        user = update.effective_user
        assert user is not None
        services = self.services
        flow = self.flows.get(run.flow)
        step = flow.steps.get(step_name) if flow else None
        partner = couple.partner(user.id)
        if partner is None:
            await refuse_outsider(update, context, couple)
            return
        if flow is None or step is None:
            if query is not None:
                await self._stale(update, context, couple)
            return
        if not _may_answer(step, run, user.id):
            owner = couple.partner(run.owner) if run.owner is not None else None
            answers = owner if step.who == "owner" else couple.other(user.id)
            if query is not None:
                shown_to: Literal["group"] | Partner = (
                    GROUP if run.where == "group" or owner is None else owner
                )
                label = services.render.alert(
                    self.locale(couple, shown_to),
                    flow.not_yours if step.who == "owner" else flow.not_theirs,
                    name=answers.name if answers else "",
                )
                await query.answer(label, show_alert=True)
            return
        turn: Turn | None = None
        with services.store.transaction(couple.chat_id) as tx:
            current = self._find_in(tx, run.token)
            if (
                current is None
                or not self._is_current(current, step_name)
                or (current.expires_at is not None and current.expires_at <= utcnow())
                or (query is not None and not _offered(flow, current, step_name, given))
            ):
                stale = True
            else:
                stale = False
                turn = self._apply(tx, couple, current, step_name, partner, step, given, query)
        if stale:
            if query is not None:
                await self._stale(update, context, couple)
            return
        # What the answer changed is shown before the press is answered, so the spinner stops
        # on the new state; but a slow Telegram doesn't keep the press waiting past ANSWER_WITHIN.
        delivery = asyncio.ensure_future(services.outbox.deliver(context, couple.chat_id))
        if query is not None:
            await asyncio.wait({delivery}, timeout=ANSWER_WITHIN)
            toast = turn.toast if turn is not None else None
            shown_in = self.locale(couple, GROUP if run.where == "group" else partner)
            text = services.render.alert(shown_in, toast) if toast else None
            await query.answer(text, show_alert=bool(turn and turn.alert) and text is not None)
        await delivery
        finished = self._find(couple.chat_id, run.token)
        if flow.finished is not None and finished is not None and finished.step is None:
            await flow.finished(context, couple, finished)
        for event, values in turn.events if turn is not None else ():
            await services.emit(
                event, context, services.store.couple(couple.chat_id) or couple, **values
            )

    def _apply(
        self,
        tx: Transaction,
        couple: Couple,
        run: Run,
        step_name: str,
        partner: Partner,
        step: Step,
        given: str,
        query: CallbackQuery | None,
    ) -> Turn | None:
        """Inside the transaction: read, apply, move to the next step, queue the messages.
        None: a typed answer that couldn't be used was asked for again."""
        # A typed question that follows (or is asked again) is aimed at whoever answered.
        run.asked = partner.user_id
        kept = copy.deepcopy(run.data)
        turn = Turn(self, tx, couple, run, partner, given)
        try:
            if query is None and step.read is not None:
                turn.value = step.read(given)
            if step.answer is not None:
                next_step = step.answer(turn)
            else:
                run.data[step_name] = turn.value
                next_step = step.next
        except Unreadable as error:
            if query is not None:
                raise
            run.data = kept
            self.services.outbox.put(
                tx, self._prompt(couple, run, step_name, error=error, typed=given)
            )
            return None
        flow = self.flows[run.flow]
        pressed = query.message.message_id if query is not None and query.message else None
        messages: list[Outgoing] = []
        if next_step == STAY:
            messages.extend(turn.messages)  # the run stays where it is, its message as it is
        elif next_step is not None and flow.steps[next_step].beside == run.step:
            # A question beside the current step: that step stays current, its buttons working.
            messages.extend([*turn.messages, self._prompt(couple, run, next_step)])
        else:
            # Showing a final step (one that asks nothing) finishes the run.
            run.step = None if next_step is None or flow.steps[next_step].final else next_step
            # The next step replaces the pressed message when the step says so (a typed
            # question can't: a ForceReply needs a new message); otherwise the pressed one
            # loses its buttons.
            edit = (
                pressed
                if next_step is not None
                and flow.steps[next_step].read is None
                and (step.edit or (step.refresh and next_step == step_name))
                else None
            )
            if pressed is not None and edit is None:
                messages.append(Outgoing(to=self._to(couple, run), clear_buttons_of=pressed))
            messages.extend(turn.messages)
            if next_step is not None:
                messages.append(self._prompt(couple, run, next_step, edit=edit))
        tx.table(RUNS_TABLE).update(run.id, run.to_record())
        self.services.outbox.put(tx, *messages)
        return turn

    def _is_current(self, run: Run, step_name: str) -> bool:
        """Whether `step_name` may be answered now: the run's current step, or a question
        asked beside it."""
        flow = self.flows.get(run.flow)
        step = flow.steps.get(step_name) if flow is not None else None
        return (
            run.step is not None
            and step is not None
            and (run.step == step_name or step.beside == run.step)
        )

    def waits_for(self, couple: Couple, run: Run) -> int | None:
        """Whose answer the run's current step waits for: its owner, the other partner (a
        proposal), or None (either partner, or the run is finished)."""
        flow = self.flows.get(run.flow)
        step = flow.steps.get(run.step) if flow is not None and run.step is not None else None
        if step is None or run.owner is None or step.who == "partners":
            return run.asked if step is not None and step.read is not None else None
        if step.who == "other":
            other = couple.other(run.owner)
            return other.user_id if other is not None else None
        return run.owner

    def _to(self, couple: Couple, run: Run) -> Literal["group"] | int:
        """Where the run's current step is shown: the group, or the private chat of the
        partner it is for (the owner's; the other's, for a proposal made in private)."""
        if run.where != "private" or run.owner is None:
            return GROUP
        flow = self.flows.get(run.flow)
        step = flow.steps.get(run.step) if flow is not None and run.step is not None else None
        other = couple.other(run.owner) if step is not None and step.who == "other" else None
        return other.user_id if other is not None else run.owner

    def _shown_in(self, couple: Couple, run: Run, chat_id: int | None) -> bool:
        """A press counts only from the chat the run is shown in (never from another couple's)."""
        if chat_id is None:
            return False
        where = self._to(couple, run)
        if where == GROUP:
            return chat_id == couple.chat_id or chat_id == couple.migrated_from
        return chat_id == where

    def _find(self, chat_id: int | None, token: str) -> Run | None:
        if chat_id is None:
            return None
        for record in self.services.store.records(chat_id, RUNS_TABLE):
            if record["token"] == token:
                return Run.from_record(record)
        return None

    def _find_in(self, tx: Transaction, token: str) -> Run | None:
        found = tx.table(RUNS_TABLE).find(token=token)
        return Run.from_record(found[0]) if found else None

    async def _stale(self, update: Update, context: MendContext, couple: Couple | None) -> None:
        """The stale answer, in the language of the chat it was pressed in."""
        chat, user = update.effective_chat, update.effective_user
        partner = couple.partner(user.id) if couple is not None and user is not None else None
        locale: str | None = None  # someone in no couple: their app's language
        if chat is not None and chat.type == Chat.PRIVATE:
            if partner is not None:
                locale = partner_locale(self.services, partner)
        elif couple is not None:
            locale = group_locale(self.services, couple)
        await answer_stale(update, context, locale)

    # -- after a send -------------------------------------------------------------------------

    def remember_message(
        self, tx: Transaction, entry: Entry, message: Any, action: dict[str, Any]
    ) -> None:
        """After-send action: the run's current message is this one (for edits)."""
        found = tx.table(RUNS_TABLE).find(token=action["token"])
        if found:
            tx.table(RUNS_TABLE).update(
                found[0]["id"], {"chat": message.chat_id, "message_id": message.message_id}
            )

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(CallbackQueryHandler(self.on_button, pattern=CALLBACK))
        asks.on_answer(ASK_KIND, self.on_typed, elsewhere=self.elsewhere)
        self.services.outbox.after_send["run_message"] = self.remember_message


def runner_of(services: Services) -> Runner:
    """The runner of guided steps that `services` carries (set when the application is built):
    what starts, finds, shows again and closes a couple's runs."""
    runner = services.runner
    assert isinstance(runner, Runner), "no runner yet: the application is not built"
    return runner


def _may_answer(step: Step, run: Run, user_id: int) -> bool:
    """Whether this partner may answer the step: its owner's, either partner's, or (a
    proposal) the partner's who didn't propose it."""
    if run.owner is None or step.who == "partners":
        return True
    return (run.owner == user_id) == (step.who == "owner")


def _offered(flow: Flow, run: Run, step_name: str, option: str) -> bool:
    """Whether `option` is one of the buttons the step shows for this run."""
    step = flow.steps[step_name]
    rows = step.options(run) if callable(step.options) else step.options
    return any(o.key == option for row in rows for o in row)
