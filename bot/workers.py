"""CPU-heavy work off the event loop: a small pool of worker processes.

Drawing a /progress chart takes about a quarter of a second of CPU. Run in the event loop, or
in a thread that holds the interpreter's lock while it draws, it would hold back every other
couple's answers for that long; in another process it only uses another core. The pool starts
its processes fresh (not forked from a running bot), at start-up (`warm_up`) or on first use,
keeps them for later work, and leaves one core to the event loop. What it runs is named as
"module:function" and imported in the worker only (the bot's own process never loads what
only a worker needs, such as matplotlib); its arguments and result must pickle; it sees none
of the bot's state (no store, no Telegram).
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

# Worker processes yield the CPU to the bot's own (answering people comes first).
NICENESS = 10


class _Pool:
    """The process pool, made on first use (one per bot process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                spawn = multiprocessing.get_context("spawn")
                processes = max(1, (os.cpu_count() or 2) - 1)
                self._executor = ProcessPoolExecutor(
                    processes, mp_context=spawn, initializer=os.nice, initargs=(NICENESS,)
                )
            return self._executor

    def discard(self, broken: ProcessPoolExecutor) -> None:
        """Drop a pool whose worker died (unless another caller replaced it already); the next
        work makes a new one."""
        with self._lock:
            if self._executor is not broken:
                return
            self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)


_pool = _Pool()


def _call(target: str, *args: Any) -> Any:
    """In a worker: import the module `target` names ("module:function") and call it."""
    module, _, name = target.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function(*args)


def warm_up(target: str) -> None:
    """Start the worker processes now, one of them running `target` ("module:function", with
    no arguments; importing its module loads what later work needs), so that the first real
    work doesn't wait for a process to start. Returns at once; a failure shows at the next
    `run`."""
    future = _pool.executor().submit(_call, target)
    future.add_done_callback(lambda done: done.exception())  # seen: never logged as lost


async def run(target: str, *args: Any) -> Any:
    """The function `target` names ("module:function") called with `args` in a worker
    process, and what it returns; a pool whose worker died is replaced once. Raises what the
    function raised."""
    loop = asyncio.get_running_loop()
    executor = _pool.executor()
    try:
        return await loop.run_in_executor(executor, _call, target, *args)
    except BrokenProcessPool:
        _pool.discard(executor)
        return await loop.run_in_executor(_pool.executor(), _call, target, *args)
