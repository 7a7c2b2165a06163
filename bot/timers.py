"""The timer store: every pending timer lives in its couple's file before it is scheduled.

Features ask this module for timers and never touch the scheduler. A timer is written to the
store first, then put into python-telegram-bot's JobQueue under a stable id, so at start-up the
same timers are rebuilt with `replace_existing` and nothing is scheduled twice. When a timer has
fired it is removed from the store, so a restart neither loses nor repeats it. A timer that came
due while the bot was down fires once at start-up, marked late, if its kind still makes sense
late (a pause end); otherwise (yesterday's morning prompt) it is dropped.

Only timers due within HORIZON are handed to the scheduler; the rest wait in the store's index
(which keeps every couple's pending timers and their due times) and are handed over by a sweep
every few minutes, so start-up reads no couple's file unless one of its timers came due while
the bot was down and is dropped as stale.

A couple's timers can be put on hold (the bot was removed from its group): they stay stored but
off the scheduler, across restarts too, until they are resumed (it was added back), when those
that came due meanwhile are treated as after downtime.

A kind may respect quiet hours: when one of its timers comes due inside the quiet hours of the
partner it is for (or, for the group, of either partner), it waits until they end. That is
decided when it fires, so a change of quiet hours after scheduling is honoured.

A kind that prompts the group (a check-in, a review, a reveal, a window opening) may wait for a
cooling-off pause: one that comes due while the couple's pause runs waits until it ends, read
through `reads.pause_ends` (the pause feature sets it; this module never imports a feature).
It is moved to the pause's end, and again if the pause is extended meanwhile; a pause ended
early lets what waited for it come at once (`after_pause`).

Work that is no couple's but must reach Telegram (the command menus) is kept trying in the
background with growing pauses (`keep_trying`), so start-up never waits for Telegram.

A delivery that fails before reaching Telegram (no connection, a 5xx, a flood limit) is tried
again later; one whose answer was lost after the request left (a read timeout) may have
arrived, so it is not repeated.

Traps handled here: APScheduler's default `misfire_grace_time` (1 s) silently drops a restored
job whose time has passed, and the scheduler only starts once polling has (after
deleteWebhook, however long Telegram takes), so jobs get `misfire_grace_time=None`; removing a
one-off job that already ran raises `JobLookupError`, which is expected and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from apscheduler.jobstores.base import JobLookupError
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import CallbackContext

from bot import origin, ratelimit
from bot.model import Couple, from_iso, to_iso, utcnow
from bot.network import never_sent
from bot.reads import Reads
from bot.storage import Kind, Store, Transaction
from bot.storage.atomic import write_atomically
from bot.storage.store import TIMER_TABLE
from bot.when import outside_quiet_hours

if TYPE_CHECKING:
    from telegram.ext import Application, Job, JobQueue

log = logging.getLogger(__name__)


class TimerRecord(TypedDict):
    """A pending timer of a couple, as it is stored until it has fired."""

    id: NotRequired[int]
    kind: str
    due: str | None  # when it fires next (moved on by quiet hours and retries)
    partner: int | None  # who it is for (None: the group)
    payload: dict[str, Any]  # the kind's own values; "_first_due" once it is retried
    attempts: int  # failed deliveries so far
    thread: NotRequired[int]  # the forum topic it was set in
    suspended: NotRequired[bool]  # on hold while the bot is out of the group
    waiting: NotRequired[bool]  # moved to the end of a pause, which it waits for


TIMERS_TABLE = Kind[TimerRecord](TIMER_TABLE)
HORIZON = timedelta(hours=6)
# The recurring series the features keep (check-ins, checklists, rituals, reviews, ...). Raise
# it when a feature starts keeping a new one: the next start then lets every couple's features
# put back what they should have, not only those of the couples with nothing pending.
RECURRING_SERIES = 1
RECURRING_FILE = "recurring.json"  # in the data directory: the series every couple has
SWEEP_EVERY = timedelta(minutes=5)
SWEEP_JOB = "timers:sweep"
LATE_AFTER = timedelta(minutes=2)
# What waited for a pause comes this long after its planned end, so the pause's own word ("the
# pause is over") comes first, and a pause extended meanwhile is seen.
AFTER_PAUSE = timedelta(minutes=1)
# A failing delivery (network, 5xx) is retried with growing pauses, then given up on.
RETRY_DELAYS = (
    timedelta(seconds=15),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)


@dataclass(frozen=True)
class Fired:
    """What a timer handler is told: which timer, for whom, and whether it fires late."""

    chat_id: int
    timer_id: int
    kind: str
    due: datetime
    partner: int | None
    payload: dict[str, Any]
    late: bool


# The context the job queue calls with. It is the application's (bot.context.MendContext), not
# named here: bot.context holds the timers.
JobContext = CallbackContext[Any, Any, Any, Any]
# What a kind of timer does when one fires, called with that context and the timer. Handlers
# take the application's context, a narrower type than JobContext, hence Any.
Handler = Callable[[Any, Fired], Awaitable[None]]


@dataclass
class _Firing:
    """The timer whose handler runs in this context, and whether it is gone from the store."""

    chat_id: int
    timer_id: int
    kind: str
    due: str | None
    with_first_write: bool  # it leaves the store with its handler's first write
    gone: bool = False


_running_timer: ContextVar[_Firing | None] = ContextVar("mend_running_timer", default=None)


def _remove(tx: Transaction, firing: _Firing) -> None:
    """Inside the couple's transaction: the timer that fired is gone from the store."""
    firing.gone = True
    table = tx.table(TIMERS_TABLE)
    now = table.get(firing.timer_id)
    # This timer, not a newer one given its id while the handler ran (a record id is reused
    # once the highest is removed: a schedule changed meanwhile cancels this one and adds
    # the next).
    if now is not None and (now["kind"], now["due"]) == (firing.kind, firing.due):
        table.remove(firing.timer_id)


@dataclass(frozen=True)
class TimerKind:
    handler: Handler
    # How late a timer of this kind may still fire after downtime; None: never late, drop it.
    late_limit: timedelta | None = None
    # Wait for the end of the partner's (or, for the group, both partners') quiet hours.
    quiet: bool = False
    # Wait for the end of the couple's cooling-off pause (a prompt to the group).
    pause: bool = False
    # Its handler's whole effect (and what it owes through the outbox) is its first write of
    # the couple: the timer leaves the store in that write. Other kinds leave once the handler
    # returned (a crash before fires them again: their handlers look before they act).
    one_write: bool = False


Reconciler = Callable[["Timers", Couple], None]


@dataclass
class Timers:
    """Pending timers of every couple: stored first, then scheduled, removed once fired."""

    store: Store
    # What a timer may read of the features (when a running pause ends).
    reads: Reads = field(default_factory=Reads)
    kinds: dict[str, TimerKind] = field(default_factory=dict)
    reconcilers: list[Reconciler] = field(default_factory=list)
    _queue: JobQueue[Any] | None = None
    # Timers due up to this time are with the scheduler; the later ones wait in the store's
    # index for a sweep (None: not rebuilt yet).
    _handed_until: datetime | None = None
    # Timers whose handler runs right now: (chat id, timer id).
    _firing: set[tuple[int, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.store.joining_writes.append(self._gone_with_its_first_change)

    def _gone_with_its_first_change(self, chat_id: int, tx: Transaction) -> None:
        """A timer of a `one_write` kind whose handler runs is removed in the first write of
        its couple the handler makes: its effect and its end land together, so a crash can't
        fire it again after the effect (nor lose it before)."""
        firing = _running_timer.get()
        if (
            firing is not None
            and firing.with_first_write
            and not firing.gone
            and self.store.resolve(firing.chat_id) == chat_id  # a migration meanwhile
        ):
            _remove(tx, firing)

    def register(
        self,
        kind: str,
        handler: Handler,
        *,
        late_limit: timedelta | None = None,
        quiet: bool = False,
        pause: bool = False,
        one_write: bool = False,
    ) -> None:
        """Declare a kind of timer and what to do when one fires (`quiet`: it waits out quiet
        hours; `pause`: it prompts the group, so it waits for a running pause to end;
        `one_write`: its handler's whole effect is its first write, which the timer leaves the
        store with, so a crash after the effect can't fire it again)."""
        self.kinds[kind] = TimerKind(handler, late_limit, quiet, pause, one_write)

    def reconcile_with(self, reconciler: Reconciler) -> None:
        """Run `reconciler` for a set-up couple that lost a stale timer at start-up or has none
        pending (see rebuild, reconcile_all), and once a couple is set up, so a feature can
        make sure its recurring timers exist."""
        self.reconcilers.append(reconciler)

    def attach(self, queue: JobQueue[Any]) -> None:
        self._queue = queue

    def keep_trying(
        self, name: str, work: Callable[[], Awaitable[Any]], pauses: Sequence[timedelta]
    ) -> None:
        """Run `work` in the background once the scheduler runs and, while Telegram fails it,
        again after each of `pauses` in turn (the last one repeating) until it succeeds.
        Each failure is logged with `name` and the error's class, never its content."""
        self._try(name, work, pauses, failures=0, when=timedelta(0))

    def _try(
        self,
        name: str,
        work: Callable[[], Awaitable[Any]],
        pauses: Sequence[timedelta],
        *,
        failures: int,
        when: timedelta,
    ) -> None:
        async def attempt(_context: JobContext) -> None:
            try:
                await work()
            except TelegramError as error:
                pause = retry_pause(pauses, failures, error)
                log.warning(
                    "%s: attempt %d failed (%s); next try in %s",
                    name,
                    failures + 1,
                    type(error).__name__,
                    pause,
                )
                self._try(name, work, pauses, failures=failures + 1, when=pause)
                return
            log.info("%s: done at attempt %d", name, failures + 1)

        self._require_queue().run_once(
            attempt,
            when=when,
            name=name,
            job_kwargs={"id": name, "replace_existing": True, "misfire_grace_time": None},
        )

    # -- for features -------------------------------------------------------------------

    def schedule(
        self,
        chat_id: int,
        kind: str,
        due: datetime,
        *,
        partner: int | None = None,
        payload: dict[str, Any] | None = None,
        tx: Transaction | None = None,
    ) -> int:
        """Store a timer and schedule it; returns its id within the couple.

        Within `tx` (the couple's open transaction) the timer is stored with the rest of the
        change. A timer set while handling an update in a forum topic remembers the topic, and
        what it sends to the group when it fires goes there (see bot.origin).
        """
        if kind not in self.kinds:
            raise KeyError(f"unknown timer kind {kind!r}")
        record: TimerRecord = {
            "kind": kind,
            "due": to_iso(due),
            "partner": partner,
            "payload": payload or {},
            "attempts": 0,
        }
        thread = origin.thread_in(chat_id)
        if thread is not None:
            record["thread"] = thread
        if tx is not None:
            timer_id = tx.table(TIMERS_TABLE).insert(record)
        else:
            with self.store.transaction(chat_id) as own:
                timer_id = own.table(TIMERS_TABLE).insert(record)
        self._place(chat_id, timer_id, due)
        return timer_id

    def pending(self, chat_id: int, kind: str | None = None) -> list[TimerRecord]:
        """The couple's pending timers (optionally of one kind), soonest first."""
        records = self.store.records(chat_id, TIMERS_TABLE)
        chosen = [r for r in records if kind is None or r["kind"] == kind]
        return sorted(chosen, key=lambda r: str(r["due"]))

    def cancel(self, chat_id: int, timer_id: int) -> None:
        with self.store.transaction(chat_id) as tx:
            tx.table(TIMERS_TABLE).remove(timer_id)
        self._dequeue(chat_id, timer_id)

    def cancel_kind(self, chat_id: int, kind: str, *, partner: int | None = None) -> int:
        """Cancel every pending timer of a kind (for one partner, if given); returns how many."""
        doomed = [
            r["id"]
            for r in self.pending(chat_id, kind)
            if partner is None or r.get("partner") == partner
        ]
        if doomed:
            with self.store.transaction(chat_id) as tx:
                table = tx.table(TIMERS_TABLE)
                for timer_id in doomed:
                    table.remove(timer_id)
            for timer_id in doomed:
                self._dequeue(chat_id, timer_id)
        return len(doomed)

    def cancel_partner(self, tx: Transaction, user_id: int) -> None:
        """Inside the couple's transaction: every timer for this partner goes (they left the
        couple)."""
        couple = tx.couple()
        table = tx.table(TIMERS_TABLE)
        for record in table.all():
            if record.get("partner") == user_id:
                table.remove(record["id"])
                if couple is not None:
                    self._dequeue(couple.chat_id, record["id"])

    def suspend_all(self, chat_id: int, *, tx: Transaction | None = None) -> None:
        """Put a couple's timers on hold (the bot was removed from its group, a partner asked
        /forget): they stay stored, every one of them, but leave the scheduler and stay off
        it across restarts until `resume_all`. Timers set after this are not on hold. Within
        `tx` the hold is part of that change."""
        if tx is None:
            with self.store.transaction(chat_id) as own:
                held = self._hold(own)
        else:
            held = self._hold(tx)
        for timer_id in held:
            self._dequeue(chat_id, timer_id)

    def _hold(self, tx: Transaction) -> list[int]:
        table = tx.table(TIMERS_TABLE)
        held = [r["id"] for r in table.all()]
        for timer_id in held:
            table.update(timer_id, {"suspended": True})
        return held

    def resume_all(self, chat_id: int, now: datetime | None = None) -> tuple[int, int, int]:
        """Put a couple's timers on hold back on the scheduler, as a start-up would: one that
        came due meanwhile fires once, late, if its kind still makes sense late, and is
        dropped if not. Returns (scheduled, late, dropped)."""
        with self.store.transaction(chat_id) as tx:
            table = tx.table(TIMERS_TABLE)
            for record in table.all():
                if record.get("suspended"):
                    table.update(record["id"], {"suspended": False})
        return self._restore(chat_id, now or utcnow())

    def unschedule_all(self, chat_id: int) -> None:
        """Take a couple's jobs off the scheduler (its data is about to be erased or moved)."""
        for record in self.store.records(chat_id, TIMERS_TABLE):
            self._dequeue(chat_id, record["id"])

    def reschedule_all(self, chat_id: int) -> None:
        """Put a couple's stored timers (back) on the scheduler, e.g. after a chat migration;
        those on hold stay off it."""
        firing = {
            timer_id
            for (fired_in, timer_id) in self._firing
            if self.store.resolve(fired_in) == self.store.resolve(chat_id)
        }
        for record in self.store.records(chat_id, TIMERS_TABLE):
            # One firing right now (its send met the migration) isn't placed again: it
            # finishes and is removed as usual.
            if record.get("suspended") or record["id"] in firing:
                continue
            due = from_iso(record["due"])
            assert due is not None
            self._place(chat_id, record["id"], due)

    def _place(
        self, chat_id: int, timer_id: int, due: datetime, now: datetime | None = None
    ) -> None:
        """Hand a timer to the scheduler if it is due soon; a later one is handed over by a
        sweep (the store's index has it, as it is stored)."""
        handed = self._handed_until
        if due <= (handed if handed is not None else (now or utcnow()) + HORIZON):
            self._enqueue(chat_id, timer_id, due)

    async def _sweep(self, _context: JobContext) -> None:
        """Hand over the timers that have come within the horizon."""
        until = utcnow() + HORIZON
        for chat_id, timer_id, _kind, due in self.store.timers_due(self._handed_until, until):
            if (chat_id, timer_id) not in self._firing:
                self._enqueue(chat_id, timer_id, due)
        self._handed_until = until

    def _record(self, chat_id: int, timer_id: int) -> TimerRecord | None:
        return next(
            (r for r in self.store.records(chat_id, TIMERS_TABLE) if r["id"] == timer_id), None
        )

    # -- start-up -----------------------------------------------------------------------

    def rebuild(self, now: datetime | None = None) -> tuple[int, int, int]:
        """Schedule the stored timers due within the horizon (found in the store's index),
        dropping those that came due too long ago for their kind (the couples that lose one
        are reconciled at once, so their recurring timers come back); returns (scheduled,
        late, dropped)."""
        now = now or utcnow()
        until = now + HORIZON
        scheduled = late = dropped = 0
        stale: dict[int, list[int]] = {}
        for chat_id, timer_id, kind_name, due in self.store.timers_due(None, until):
            kind = self.kinds.get(kind_name)
            if kind is None:
                log.warning("dropping timer of unknown kind %r", kind_name)
                stale.setdefault(chat_id, []).append(timer_id)
                continue
            if due <= now:
                if kind.late_limit is None or now - due > kind.late_limit:
                    stale.setdefault(chat_id, []).append(timer_id)
                    dropped += 1
                    continue
                late += 1
            scheduled += 1
            self._enqueue(chat_id, timer_id, due)
        self._handed_until = until
        for chat_id, timer_ids in stale.items():
            with self.store.transaction(chat_id) as tx:
                for timer_id in timer_ids:
                    tx.table(TIMERS_TABLE).remove(timer_id)
                couple = tx.couple()
            if couple is not None and couple.status == "active" and couple.is_set_up:
                self.reconcile(couple)
        queue = self._require_queue()
        queue.run_repeating(
            self._sweep,
            interval=SWEEP_EVERY,
            first=SWEEP_EVERY,
            name=SWEEP_JOB,
            job_kwargs={
                "id": SWEEP_JOB,
                "replace_existing": True,
                "misfire_grace_time": None,
                "coalesce": True,
            },
        )
        return scheduled, late, dropped

    def _restore(self, chat_id: int, now: datetime) -> tuple[int, int, int]:
        """Schedule a couple's stored timers that aren't on hold, dropping those that came due
        too long ago for their kind; returns (scheduled, late, dropped)."""
        scheduled = late = dropped = 0
        stale: list[int] = []
        for record in self.store.records(chat_id, TIMERS_TABLE):
            if record.get("suspended"):
                continue
            due = from_iso(record["due"])
            kind = self.kinds.get(record["kind"])
            if due is None or kind is None:
                log.warning("dropping timer of unknown kind %r", record.get("kind"))
                stale.append(record["id"])
                continue
            if due <= now:
                if kind.late_limit is None or now - due > kind.late_limit:
                    stale.append(record["id"])
                    dropped += 1
                    continue
                late += 1
            scheduled += 1
            self._place(chat_id, record["id"], due, now)
        if stale:
            with self.store.transaction(chat_id) as tx:
                for timer_id in stale:
                    tx.table(TIMERS_TABLE).remove(timer_id)
        return scheduled, late, dropped

    def reconcile(self, couple: Couple) -> None:
        """Let every feature put back the recurring timers this couple should have."""
        for reconciler in self.reconcilers:
            reconciler(self, couple)

    async def reconcile_all(self, chunk: int = 20) -> int:
        """Let every feature put back the recurring timers of the set-up couples that have
        none pending (those that lost one as stale were reconciled by `rebuild`; the others
        keep their series going as each timer fires); after an upgrade that adds a series
        (`RECURRING_SERIES`, or a feature's reconciler more), of every set-up couple.

        Runs after polling has started, a chunk of couples at a time, so a bot with many
        couples answers at once; usually there is little to add. Returns couples checked.
        """
        marker = self.store.data_dir / RECURRING_FILE
        series = self.series()
        every = _read_series(marker) != series
        chats = self.store.chat_ids() if every else self.store.set_up_without_timers()
        checked = 0
        for chat_id in chats:
            couple = self.store.couple(chat_id)
            if couple is not None and couple.status == "active" and couple.is_set_up:
                try:
                    self.reconcile(couple)
                except Exception as error:  # one couple's trouble never stops the others'
                    log.error("recurring timers of a couple not checked (%s)", type(error).__name__)
                checked += 1
                if checked % chunk == 0:
                    await asyncio.sleep(0)
        if every:
            write_atomically(marker, json.dumps({"series": series}))
            log.info("recurring timers checked for every couple (%d)", checked)
        return checked

    def series(self) -> str:
        """What the recurring series are now: the number above and the features' reconcilers."""
        names = sorted(f"{r.__module__}.{r.__qualname__}" for r in self.reconcilers)
        return f"{RECURRING_SERIES}:{','.join(names)}"

    # -- the scheduler side -------------------------------------------------------------

    def job_for(self, chat_id: int, timer_id: int) -> Job[Any] | None:
        """The scheduled job of a timer (tests run it directly instead of waiting)."""
        queue = self._require_queue()
        aps_job = queue.scheduler.get_job(_job_id(chat_id, timer_id))
        if aps_job is None:
            return None
        job: Job[Any] = aps_job.args[1]
        return job

    async def run_now(
        self, application: Application[Any, Any, Any, Any, Any, Any], chat_id: int, timer_id: int
    ) -> None:
        """Fire a stored timer now, as the scheduler would at its due time."""
        if self._record(chat_id, timer_id) is None:
            raise LookupError(f"chat {chat_id} has no pending timer {timer_id}")
        if self.job_for(chat_id, timer_id) is None:  # beyond the horizon, not handed over yet
            self._enqueue(chat_id, timer_id, utcnow() + HORIZON)
        job = self.job_for(chat_id, timer_id)
        assert job is not None
        self._dequeue(chat_id, timer_id)
        await job.run(application)

    def _enqueue(self, chat_id: int, timer_id: int, due: datetime) -> None:
        queue = self._require_queue()
        job_id = _job_id(chat_id, timer_id)
        queue.run_once(
            self._fire,
            when=due,
            data=(chat_id, timer_id),
            name=job_id,
            job_kwargs={"id": job_id, "replace_existing": True, "misfire_grace_time": None},
        )

    def _dequeue(self, chat_id: int, timer_id: int) -> None:
        if self._queue is None:
            return
        with contextlib.suppress(JobLookupError):  # it already ran or was never scheduled
            self._queue.scheduler.remove_job(_job_id(chat_id, timer_id))

    def _require_queue(self) -> JobQueue[Any]:
        if self._queue is None:
            raise RuntimeError("Timers.attach(job_queue) was not called")
        return self._queue

    async def _fire(self, context: JobContext) -> None:
        assert context.job is not None
        chat_id: int
        timer_id: int
        chat_id, timer_id = context.job.data  # type: ignore[misc]
        # A job's task starts from a copy of the context that woke the scheduler, perhaps
        # another timer's handler: no timer of that one runs here.
        _running_timer.set(None)
        self._firing.add((chat_id, timer_id))
        try:
            await self._fire_timer(context, chat_id, timer_id)
        finally:
            self._firing.discard((chat_id, timer_id))

    async def _fire_timer(self, context: JobContext, chat_id: int, timer_id: int) -> None:
        record = self._record(chat_id, timer_id)
        if record is None or record.get("suspended"):
            return  # cancelled, on hold, or the couple was erased, after it was scheduled
        kind = self.kinds.get(record["kind"])
        due = from_iso(record["due"])
        if kind is None or due is None:
            self.cancel(chat_id, timer_id)
            return
        if kind.pause and self._wait_for_pause(chat_id, record):
            return
        if kind.quiet and self._wait_for_quiet_hours(chat_id, record):
            return
        original_due = from_iso(record["payload"].get("_first_due")) or due
        fired = Fired(
            chat_id=chat_id,
            timer_id=timer_id,
            kind=record["kind"],
            due=original_due,
            partner=record.get("partner"),
            payload={k: v for k, v in record["payload"].items() if not k.startswith("_")},
            late=utcnow() - original_due > LATE_AFTER,
        )
        firing = _Firing(chat_id, timer_id, record["kind"], record["due"], kind.one_write)
        try:
            await self._handle(kind.handler, context, fired, firing, record.get("thread"))
        except Forbidden:
            log.info("timer %s of a couple could not be delivered: bot not allowed", record["kind"])
        except (NetworkError, RetryAfter) as error:  # NetworkError: also TimedOut and 5xx
            if (isinstance(error, RetryAfter) or never_sent(error)) and not firing.gone:
                self._retry(chat_id, record, error)
                return
            # The answer was lost, but the message may have arrived (or the handler's change
            # is written already): firing again could show it twice, so the timer is done
            # (what it owes through the outbox is kept there).
            log.warning(
                "timer %s: a message may have arrived though its answer was lost (%s); "
                "not repeated",
                record["kind"],
                type(error.__cause__ or error).__name__,
            )
        except Exception:
            log.exception("timer %s failed", record["kind"])
        if not firing.gone and self.store.couple(chat_id) is not None:
            with self.store.transaction(chat_id) as tx:
                _remove(tx, firing)

    @staticmethod
    async def _handle(
        handler: Handler,
        context: JobContext,
        fired: Fired,
        firing: _Firing,
        thread: int | None,
    ) -> None:
        """Run a timer's handler: in its couple's forum topic (`thread`), its sends timed (first
        in Telegram's limits: bot.ratelimit), and the timer removed with its first change."""
        running = _running_timer.set(firing)
        try:
            with origin.using(origin.Origin(fired.chat_id, thread)), ratelimit.timed():
                await handler(context, fired)
        finally:
            _running_timer.reset(running)

    def _wait_for_quiet_hours(self, chat_id: int, record: TimerRecord) -> bool:
        """Move a timer that came due in quiet hours to their end; True if it was moved."""
        couple = self.store.couple(chat_id)
        if couple is None:
            return False
        partner_id = record.get("partner")
        partner = couple.partner(partner_id) if partner_id else None
        people = [partner] if partner is not None else couple.partners
        now = utcnow()
        free = outside_quiet_hours(now, people)
        if free <= now:
            return False
        with self.store.transaction(chat_id) as tx:
            tx.table(TIMERS_TABLE).update(record["id"], {"due": to_iso(free)})
        self._place(chat_id, record["id"], free, now)
        return True

    def _wait_for_pause(self, chat_id: int, record: TimerRecord) -> bool:
        """Move a timer that came due during the couple's pause to just after its end; True
        if it was moved."""
        ends = self.reads.pause_ends(self.store, chat_id)
        if ends is None:
            return False
        now = utcnow()
        due = max(ends, now) + AFTER_PAUSE
        with self.store.transaction(chat_id) as tx:
            tx.table(TIMERS_TABLE).update(record["id"], {"due": to_iso(due), "waiting": True})
        self._place(chat_id, record["id"], due, now)
        return True

    def after_pause(self, chat_id: int) -> int:
        """The couple's pause has ended: what waited for it comes now (the pause's own word
        is sent by then). Returns how many timers were waiting."""
        now = utcnow()
        with self.store.transaction(chat_id) as tx:
            table = tx.table(TIMERS_TABLE)
            waiting = [r["id"] for r in table.all() if r.get("waiting")]
            for timer_id in waiting:
                table.update(timer_id, {"due": to_iso(now), "waiting": False})
        for timer_id in waiting:
            self._place(chat_id, timer_id, now, now)
        return len(waiting)

    def _retry(self, chat_id: int, record: TimerRecord, error: TelegramError) -> None:
        """Try a failed delivery again later, or give up after the last of RETRY_DELAYS."""
        failures = int(record.get("attempts", 0))  # before this one
        if failures >= len(RETRY_DELAYS):
            log.warning(
                "timer %s: delivery attempt %d failed (%s); giving up",
                record["kind"],
                failures + 1,
                type(error).__name__,
            )
            self.cancel(chat_id, record["id"])
            return
        delay = retry_pause(RETRY_DELAYS, failures, error)
        due = utcnow() + delay
        log.warning(
            "timer %s: delivery attempt %d failed (%s); next try in %s, at %s",
            record["kind"],
            failures + 1,
            type(error).__name__,
            delay,
            to_iso(due),
        )
        payload = dict(record["payload"])
        payload.setdefault("_first_due", record["due"])
        with self.store.transaction(chat_id) as tx:
            tx.table(TIMERS_TABLE).update(
                record["id"], {"due": to_iso(due), "attempts": failures + 1, "payload": payload}
            )
        self._place(chat_id, record["id"], due)


def _read_series(marker: Path) -> str | None:
    """The series every couple was given at the last full check (None: never, or unreadable)."""
    try:
        series = json.loads(marker.read_text(encoding="utf-8")).get("series")
    except (OSError, ValueError, AttributeError):
        return None
    return series if isinstance(series, str) else None


def retry_pause(pauses: Sequence[timedelta], failures: int, error: Exception) -> timedelta:
    """How long to wait after `failures` failed attempts: `pauses` in turn, the last one
    repeating, and never less than a flood limit's RetryAfter asks for."""
    pause = pauses[min(failures, len(pauses) - 1)]
    if isinstance(error, RetryAfter):
        pause = max(pause, ratelimit.asked_pause(error))
    return pause


def _job_id(chat_id: int, timer_id: int) -> str:
    return f"timer:{chat_id}:{timer_id}"
