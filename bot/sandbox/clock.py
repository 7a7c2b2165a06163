"""The clock the bot, its scheduler and the sandbox share, moved ahead on request.

Tests and the playground travel in time the same way: the process's wall clock is shifted
(time-machine patches `time.time` and `datetime.now`, which the bot, APScheduler and the
sandbox's message dates all read), then the scheduler is woken and every job that came due is
waited for until it has run to its end, so what a timer sends is there when the jump returns.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import time_machine
from apscheduler.events import (
    EVENT_ALL,
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.sandbox.updates import Signal
from bot.timers import HORIZON, SWEEP_JOB

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.sandbox.core import Sandbox

HOP = HORIZON / 2
# How long the jobs that came due after a jump may take to run, on a busy machine too.
CATCH_UP_SECONDS = 30.0


class JobRuns:
    """The scheduler's job runs from submission to their end, told by its event listeners.

    APScheduler submits a due job to the executor, which starts a task per run; the run ends
    with an executed, error or missed event per scheduled run time. Every event (a job added,
    moved, removed, skipped too) wakes the waiters, who look again at what is due.
    """

    RUN_ENDS = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.in_flight = 0
        self.changed = Signal()
        scheduler.add_listener(self._on_event, EVENT_ALL)

    def _on_event(self, event: SchedulerEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            assert isinstance(event, JobSubmissionEvent)
            self.in_flight += len(event.scheduled_run_times)
        elif event.code & self.RUN_ENDS:
            self.in_flight -= 1
        self.changed.fire()


class Clock:
    """The wall clock as the bot, its scheduler and the sandbox see it, moved on request.

    Time still flows; `advance` jumps ahead and wakes the scheduler, so timers that came due
    fire at once, as they would have at their time. Nothing sleeps for real minutes: after
    each jump the clock waits until the jobs that came due have run to their end.
    """

    def __init__(self, traveller: time_machine.Traveller) -> None:
        self._traveller = traveller
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._runs: JobRuns | None = None

    @property
    def app(self) -> Application[Any, Any, Any, Any, Any, Any] | None:
        return self._app

    @app.setter
    def app(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """The bot whose scheduler the clock wakes (a restarted bot replaces the last one)."""
        assert application.job_queue is not None
        self._app = application
        self._runs = JobRuns(application.job_queue.scheduler)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def _scheduler(self) -> AsyncIOScheduler:
        assert self._app is not None and self._app.job_queue is not None
        scheduler: AsyncIOScheduler = self._app.job_queue.scheduler
        return scheduler

    def _upcoming(self) -> list[datetime]:
        """When the scheduler's jobs run next (the timers' sweep left out)."""
        return [
            job.next_run_time
            for job in self._scheduler().get_jobs()
            if job.next_run_time is not None and job.id != SWEEP_JOB
        ]

    async def advance(self, delta: timedelta, sandbox: Sandbox | None = None) -> None:
        """Move `delta` ahead, stopping at each scheduled job's time so it fires on time
        (and at least every half horizon, so the timers' sweep hands over what comes next)."""
        target = self.now() + delta
        while True:
            now = self.now()
            stop = min([target, now + HOP, *(t for t in self._upcoming() if t > now)])
            self._traveller.shift(stop - now)
            await self.catch_up()
            if stop >= target:
                break
        if sandbox is not None:
            await sandbox.settle(idle=0.15)

    async def to(self, moment: datetime, sandbox: Sandbox | None = None) -> None:
        await self.advance(moment - self.now(), sandbox)

    def jump(self, delta: timedelta) -> None:
        """Time passes with no bot running (downtime): nothing is woken up."""
        self._traveller.shift(delta)

    async def catch_up(self) -> None:
        """Wake the scheduler and wait until every job due by now has run to its end, the
        jobs those runs placed (a timer deferred or retried, a sweep's hand-over) included."""
        scheduler, runs = self._scheduler(), self._runs
        assert runs is not None
        scheduler.wakeup()
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while True:
            now = self.now()
            due = [
                job
                for job in scheduler.get_jobs()
                if job.next_run_time is not None and job.next_run_time <= now
            ]
            if not due and runs.in_flight == 0:
                return
            if not await runs.changed.wait(deadline - time.monotonic()):
                raise AssertionError(
                    f"the scheduler did not catch up with {now:%Y-%m-%d %H:%M:%S} UTC within "
                    f"{CATCH_UP_SECONDS} s: {runs.in_flight} run(s) unfinished, due: {due}"
                )
