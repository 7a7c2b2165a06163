"""Mend's benchmarks: figures to compare with the targets in the product description.

    scripts/bench                                   all of them (takes a while)
    scripts/bench --sizes 1000,10000 --fanout 500   a quicker run

One table, a row for each number of couples stored (1,000, 10,000 and 100,000 by default,
populated fast by writing what the bot would write, the couples' index too):

- start-up: `python -m bot` until it answers a message that was waiting for it, after a
  clean stop, after a crash (each couple file looked at first) and without an index (the
  start builds it), and its resident memory;
- write: one couple's state change (should not grow with the couples stored);
- CPU per handled command, next to a bare python-telegram-bot echo bot in the same sandbox
  (each counted from when its process is idle after start-up).

Then each target met or not, the cost of a sealed private write, and:

- isolation: another couple's reply latency while one partner sends 40 /progress at once, and
  without that flood, side by side;
- fan-out: pause ends due for 2,000 groups in the same second, then spread evenly over one
  minute, with Telegram's limits enforced: delivered, twice, the rate achieved, 429s, and how
  late the timers fired.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bot_api import LEDGER_FILE  # noqa: E402
from bot.model import Couple, Partner, to_iso  # noqa: E402
from bot.sandbox import Sandbox  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.atomic import FILE_MODE  # noqa: E402
from bot.storage.index import INDEX_FILE  # noqa: E402
from bot.storage.migrations import META_TABLE, SCHEMA_VERSION  # noqa: E402
from bot.storage.store import CLEAN_FILE, file_identity, summarize  # noqa: E402
from bot.timers import RECURRING_FILE, TIMERS_TABLE  # noqa: E402

TIMERS_PER_COUPLE = 3
UPDATES_PER_COUPLE = 20  # the update ids a couple file remembers (bot.storage.store)


def populate(data_dir: Path, count: int, *, index: bool = True) -> Store:
    """`count` set-up couples as the bot would have stored them: each with a poll's lookup
    key, the ids of the updates that changed it, TIMERS_PER_COUPLE pending pauses and the
    recurring timers the features keep (`recurring_series`). The files are written directly,
    without waiting for the disk after each; the couples' index too, unless `index` is False
    (the first start then builds it). Returns the store, open."""
    now = datetime.now(UTC)
    recurring = mark_recurring(data_dir)
    store = Store(data_dir)
    store.open()
    for number in range(count):
        chat_id = -1_000_000 - number
        couple = Couple(
            chat_id=chat_id,
            title=f"Couple {number}",
            created_at=now,
            path="repair",
            setup_completed_at=now,
            partners=[
                Partner(
                    user_id=10_000_000 + 2 * number,
                    name="Alex",
                    joined_at=now,
                    timezone="Europe/Berlin",
                    quiet_start="22:00",
                    quiet_end="07:00",
                ),
                Partner(
                    user_id=10_000_001 + 2 * number,
                    name="Sam",
                    joined_at=now,
                    timezone="Australia/Sydney",
                    private_chat=True,
                ),
            ],
            keys=[f"poll:bench{number}"],
        )
        pauses = [
            {
                "kind": "pause_end",
                "due": to_iso(now + timedelta(days=3, minutes=number % 1440, seconds=n)),
                "partner": None,
                "payload": {"pause": n},
                "attempts": 0,
            }
            for n in range(TIMERS_PER_COUPLE)
        ]
        first_update = 1_000_000 + number * UPDATES_PER_COUPLE
        updates = range(first_update, first_update + UPDATES_PER_COUPLE)
        write_couple(store, chat_id, tables_of(couple, pauses + recurring, updates), index=index)
    return store


def tables_of(
    couple: Couple,
    timers: list[dict[str, Any]],
    updates: Iterable[int] = (),
    more: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """A couple's file as the bot stores it: the couple, its `timers` (records numbered from
    1), the schema version with the ids of the `updates` that changed it, and `more` tables
    (name: records by id)."""
    return {
        "couple": {"1": couple.to_doc()},
        TIMERS_TABLE.name: {str(n): timer for n, timer in enumerate(timers, start=1)},
        META_TABLE: {"1": {"schema": SCHEMA_VERSION, "updates": list(updates)}},
        **(more or {}),
    }


def write_couple(
    store: Store, chat_id: int, tables: dict[str, dict[str, Any]], *, index: bool = True
) -> None:
    """A couple's file as the store writes it (without waiting for the disk), and its entry
    in the couples' index unless `index` is False."""
    path = store.couples_dir / f"{chat_id}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(tables, ensure_ascii=False, separators=(",", ":")))
    if index:
        store.index.put(chat_id, summarize(tables, file_identity(path.stat())))


@functools.cache
def recurring_series() -> tuple[tuple[dict[str, Any], ...], str]:
    """The recurring timers (check-ins, checklists, roadmap, ...) the features give a couple
    set up now, found by letting them reconcile one in a data directory of its own, and the
    name of those series (what `RECURRING_FILE` holds)."""
    from bot.app import build_application, services_of
    from bot.config import Settings

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            token="123456:" + "A" * 35,
            api_base_url="http://127.0.0.1:9/bot",
            data_dir=Path(directory),
            erase_after_days=14,
            log_level="WARNING",
        )
        services = services_of(build_application(settings))
        store = services.store
        template = Couple(chat_id=-999, title="Template", created_at=now, setup_completed_at=now)
        template.partners = [Partner(user_id=1, name="Alex", joined_at=now)]
        with store.transaction(template.chat_id) as tx:
            tx.save(template)
        services.timers.reconcile(template)
        records = tuple(
            {k: v for k, v in r.items() if k != "id"}
            for r in store.records(template.chat_id, TIMERS_TABLE)
        )
        store.close()
        return records, services.timers.series()


def mark_recurring(data_dir: Path) -> list[dict[str, Any]]:
    """Say in `data_dir` that every couple has the recurring series (as a bot that checked
    them all), and return the timers each couple must hold for that to be true."""
    records, series = recurring_series()
    descriptor = os.open(data_dir / RECURRING_FILE, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"series": series}))
    return [dict(record) for record in records]


SEALED_ENTRIES = 300


def private_write_cost(store: Store, rounds: int = 300) -> tuple[float, float]:
    """Median seconds to seal and write one journal entry, and to read back all of the
    person's entries (what /journal shows), in a couple already holding SEALED_ENTRIES."""
    from bot.features.journal import JOURNAL_TABLE  # declares the journal's private fields

    chat_id = store.chat_ids()[0]
    couple = store.couple(chat_id)
    assert couple is not None
    author = couple.partners[0].user_id
    entry = "An evening I chose to trust my own judgment, and it felt steady. " * 4
    with store.transaction(chat_id) as tx:
        for _ in range(SEALED_ENTRIES):
            tx.table(JOURNAL_TABLE).insert(
                {"author": author, "at": None, "prompt": "free", "answers": [entry]}
            )
    writes, reads = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        with store.transaction(chat_id) as tx:
            tx.table(JOURNAL_TABLE).insert(
                {"author": author, "at": None, "prompt": "free", "answers": [entry]}
            )
        writes.append(time.perf_counter() - started)
        started = time.perf_counter()
        store.records(chat_id, JOURNAL_TABLE)
        reads.append(time.perf_counter() - started)
    return statistics.median(writes), statistics.median(reads)


def write_cost(store: Store, rounds: int = 300) -> float:
    """Median seconds for one couple's state change (one atomic file replace)."""
    chat_ids = store.chat_ids()
    times = []
    for n in range(rounds):
        chat_id = chat_ids[n % len(chat_ids)] if chat_ids else 0
        started = time.perf_counter()
        with store.transaction(chat_id) as tx:
            couple = tx.couple()
            assert couple is not None
            couple.partners[0].quiet_start = f"{20 + n % 4}:00"
            tx.save(couple)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def start_up(data_dir: Path) -> tuple[float, float]:
    """Seconds from `python -m bot` until it answers a message sent before it started, and
    its resident memory then."""
    async with Sandbox() as sandbox:
        robin = sandbox.user("Robin")
        await robin.send_private("/help")
        env = bot_env(sandbox, str(data_dir))
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env)
        try:
            while not robin.private.bot_messages():
                if process.returncode is not None:
                    raise RuntimeError("the bot exited during start-up")
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            status = await asyncio.to_thread(Path(f"/proc/{process.pid}/status").read_text)
            rss_kb = next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
            )
        finally:
            process.terminate()
            await process.wait()
    return elapsed, rss_kb / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))] if ordered else float("nan")


async def fanout(count: int, spread: float = 0.0) -> list[str]:
    """`count` couples whose pauses end in the same second (`spread` 0) or one after the
    other, evenly over `spread` seconds, with Telegram's limits on; returns the lines of
    figures."""
    from bot.app import build_application, services_of, start, stop
    from bot.config import Settings
    from bot.features.pause import PAUSE_END, PAUSES_TABLE
    from bot.timers import Timers

    with tempfile.TemporaryDirectory() as data_dir:
        store = Store(Path(data_dir))
        store.open()
        now = datetime.now(UTC)
        first_due = now + timedelta(seconds=20)
        dues: dict[int, datetime] = {}  # chat id: when its pause ends
        async with Sandbox() as sandbox:

            def paused(couple: Couple) -> tuple[list[dict[str, Any]], dict[str, Any]]:
                due = first_due + timedelta(seconds=spread * len(dues) / count)
                dues[couple.chat_id] = due
                pause = {
                    "by": couple.partners[0].user_id,
                    "started_at": to_iso(now),
                    "ends_at": to_iso(due),
                    "minutes": 20,
                    "ended_at": None,
                    "ended_by": None,
                }
                timer = {
                    "kind": PAUSE_END,
                    "due": to_iso(due),
                    "partner": None,
                    "payload": {"pause": 1},
                    "attempts": 0,
                }
                return [timer], {PAUSES_TABLE.name: {"1": pause}}

            seat_couples(sandbox, store, count, paused)
            if datetime.now(UTC) > first_due - timedelta(seconds=5):
                print("  (stored too slowly: the pauses were due before the bot started)")
            sandbox.rate_limits.enable()
            settings = Settings(
                token=sandbox.token,
                api_base_url=sandbox.base_url,
                data_dir=Path(data_dir),
                erase_after_days=14,
                log_level="WARNING",
            )
            app = build_application(settings)
            lateness: list[float] = []
            original = Timers._fire

            async def measured(self: Timers, context: Any) -> None:
                chat_id, _ = context.job.data
                lateness.append((datetime.now(UTC) - dues[chat_id]).total_seconds())
                await original(self, context)

            Timers._fire = measured  # type: ignore[method-assign]
            services_of(app)  # built
            await start(app)
            try:
                deadline = time.monotonic() + spread + count / 20 + 120
                while time.monotonic() < deadline:
                    sent = [c for c in sandbox.calls if c.method == "sendMessage" and c.ok]
                    if len(sent) >= count:
                        break
                    await asyncio.sleep(0.5)
                await asyncio.sleep(2)
            finally:
                await stop(app)
                Timers._fire = original  # type: ignore[method-assign]
            sent = [c for c in sandbox.calls if c.method == "sendMessage" and c.ok]
            chats = [c.params["chat_id"] for c in sent]
            first, last = min(c.at for c in sent), max(c.at for c in sent)
            rate = (len(sent) - 1) / (last - first) if last > first else float("inf")
            limits = sandbox.rate_limits
            p99 = percentile(lateness, 0.99)
            when = "in the same second" if not spread else f"over {spread:.0f} s"
            return [
                f"fan-out to {count} chats due {when}: {len(set(chats))} delivered "
                f"(target: all), {len(chats) - len(set(chats))} twice (target: none); "
                f"{rate:.1f} messages/s, {rate / 30:.0%} of Telegram's 30/s (target ≥ 95%); "
                f"{limits.too_many_requests} of {limits.total_calls} calls answered 429 "
                "(target: none)",
                f"timer lateness during that fan-out: p99 {p99:.3f} s (target ≤ 0.5 s), "
                f"max {percentile(lateness, 1):.3f} s",
            ]


ECHO_BOT = """
import os, sys
from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.effective_message.reply_text(update.effective_message.text)

app = (ApplicationBuilder().token(os.environ["BOT_TOKEN"])
       .base_url(os.environ["BOT_API_BASE_URL"]).build())
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling()
"""


WARM_UP = 8
PACE = 0.1  # seconds between commands


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def idle(pid: int, *, below: float = 0.01, longest: float = 60.0) -> float:
    """Wait until process `pid` uses less than `below` of a CPU over a second (its start-up's
    background work done), at most `longest` seconds; returns its CPU seconds then."""
    used = await asyncio.to_thread(cpu_seconds, pid)
    for _ in range(int(longest)):
        await asyncio.sleep(1)
        before, used = used, await asyncio.to_thread(cpu_seconds, pid)
        if used - before < below:
            break
    return used


Extra = Callable[[Couple], tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]]


def seat_couples(
    sandbox: Sandbox, store: Store, count: int, extra: Extra | None = None
) -> list[tuple[Any, Any]]:
    """`count` set-up couples in their sandbox groups (the bot a member for long), stored as
    the bot would have stored them (`populate`), with their recurring series, and what
    `extra` gives each (timers, and more tables by name): (their group, its first partner)
    each."""
    now = datetime.now(UTC)
    recurring = mark_recurring(store.data_dir)
    seated = []
    for index in range(count):
        alex, sam = sandbox.user("Alex"), sandbox.user("Sam")
        group = sandbox.group(f"Couple {index}", members=[alex, sam])
        group.state.members[sandbox.world.bot.id] = "member"
        couple = Couple(
            chat_id=group.id,
            title=group.title,
            created_at=now,
            path="repair",
            setup_completed_at=now,
            partners=[
                Partner(user_id=p.id, name=p.name, joined_at=now, telegram_language=p.language_code)
                for p in (alex, sam)
            ],
        )
        timers, more = extra(couple) if extra is not None else ([], {})
        write_couple(store, group.id, tables_of(couple, timers + recurring, more=more))
        seated.append((group, alex))
    return seated


def bot_env(sandbox: Sandbox, data_dir: str, **extra: str) -> dict[str, str]:
    """The environment of `python -m bot` against the sandbox."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": sandbox.token,
        "BOT_API_BASE_URL": sandbox.base_url,
        "BOT_DATA_DIR": data_dir,
        "MEND_LOG_LEVEL": "WARNING",
        **extra,
    }


async def command_cost(data_dir: Path, rounds: int) -> tuple[float, float]:
    """CPU seconds per handled command: Mend over the couples in `data_dir`, and a bare echo
    bot, both answering `rounds` commands at the same pace in the same sandbox."""
    (data_dir / LEDGER_FILE).unlink(missing_ok=True)  # a new sandbox's update ids begin again
    async with Sandbox() as sandbox:
        # One command per couple, so Telegram's 20-a-minute limit per group isn't what is
        # measured: both bots answer every command at once.
        store = Store(data_dir)
        store.open()
        groups = seat_couples(sandbox, store, rounds + WARM_UP)
        store.close()
        env = bot_env(sandbox, str(data_dir))
        results = {}
        for name, command in (
            ("echo bot", [sys.executable, "-c", ECHO_BOT]),
            ("Mend", [sys.executable, "-m", "bot"]),
        ):
            process = await asyncio.create_subprocess_exec(*command, env=env)
            try:
                texts = ("/settings", "/window", "/quiet 22:00-07:00", "/help")
                for n, (group, alex) in enumerate(groups):
                    if n == WARM_UP:
                        # Warmed up, and start-up's background work (the city index for
                        # /timezone, a look at the files) done: start counting.
                        started = await idle(process.pid)
                    group.skip()
                    sent_at = time.perf_counter()
                    await group.send(alex, texts[n % len(texts)])
                    await group.next_bot_message(timeout=30)
                    # The same steady pace for both bots (Mend's rate limiter spaces its
                    # sends 1/30 s apart anyway): a process that is kept busy back to back
                    # runs hotter, and its CPU time per command would not compare.
                    await asyncio.sleep(max(0.0, PACE - (time.perf_counter() - sent_at)))
                used = await asyncio.to_thread(cpu_seconds, process.pid) - started
                results[name] = used / rounds
            finally:
                process.terminate()
                await process.wait()
    return results["Mend"], results["echo bot"]


ISOLATION_COUPLES = 60  # each asks at most every ISOLATION_COUPLES * PACE seconds
ISOLATION_ROUNDS = 3
NO_FLOOD_LIMITS = {
    "MEND_FLOOD_SAME": "1000",
    "MEND_FLOOD_PER_PERSON": "1000",
    "MEND_FLOOD_PER_COUPLE": "1000",
}


async def isolation(flood: int) -> list[str]:
    """Other couples' reply latency while one partner sends `flood` /progress (each a chart)
    in their private chat, next to the same without the flood, in one run."""
    with tempfile.TemporaryDirectory() as data_dir:
        async with Sandbox() as sandbox:
            store = Store(Path(data_dir))
            store.open()
            (_, flooder), *others = seat_couples(sandbox, store, 1 + ISOLATION_COUPLES)
            # The flood limits (bot.flood) would stop it after a few: every chart is drawn.
            env = bot_env(sandbox, data_dir, **NO_FLOOD_LIMITS)
            process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", env=env)
            asked = 0

            async def reply_seconds() -> float:
                """One /help in the next couple's group, and the seconds until its answer."""
                nonlocal asked
                group, partner = others[asked % len(others)]
                asked += 1
                group.skip()
                sent_at = time.perf_counter()
                await group.send(partner, "/help")
                await group.next_bot_message(timeout=60)
                elapsed = time.perf_counter() - sent_at
                await asyncio.sleep(max(0.0, PACE - elapsed))
                return elapsed

            try:
                await flooder.send_private("/progress")  # warm up: the chart's worker starts
                await flooder.private.wait_for(lambda m: m.photo is not None, timeout=120)
                for _ in range(2 * len(others)):  # and every group once
                    await reply_seconds()

                def drawn() -> int:
                    return sum(m.photo is not None for m in flooder.private.bot_messages())

                calm: list[float] = []
                flooded: list[float] = []
                lasted = 0.0
                # Rounds without and with the flood in turn, so that whatever else the machine
                # does meanwhile weighs on both alike.
                for _ in range(ISOLATION_ROUNDS):
                    calm += [await reply_seconds() for _ in range(len(flooded) // 2 or 90)]
                    until = drawn() + flood
                    began = time.perf_counter()
                    for _ in range(flood):
                        await flooder.send_private("/progress")
                    while drawn() < until:
                        flooded.append(await reply_seconds())
                    lasted += time.perf_counter() - began
            finally:
                process.terminate()
                await process.wait()
    quiet_p99, flood_p99 = percentile(calm, 0.99), percentile(flooded, 0.99)
    return [
        f"isolation: another couple's /help answered in p50 {percentile(calm, 0.5) * 1000:.0f} ms,"
        f" p99 {quiet_p99 * 1000:.0f} ms ({len(calm)} answers) without a flood; "
        f"p50 {percentile(flooded, 0.5) * 1000:.0f} ms, p99 {flood_p99 * 1000:.0f} ms "
        f"({len(flooded)} answers) while one partner sent {flood} /progress at once "
        f"({ISOLATION_ROUNDS} times, {lasted / ISOLATION_ROUNDS:.1f} s of charts each) "
        f"(p99 ratio {flood_p99 / quiet_p99:.2f}; target ≤ 2)"
    ]


@dataclass
class Row:
    """The figures for one number of couples stored."""

    couples: int
    populated: float  # seconds to write them
    start_up: float  # seconds until a waiting message is answered, after a clean stop
    resident: float  # MB then
    crashed: float  # the same after a crash (each couple file looked at first)
    rebuilt: float  # seconds, without an index (the start builds it)
    write: float  # seconds for one couple's state change
    mend_cpu: float | None = None  # CPU seconds per handled command
    echo_cpu: float | None = None  # the same for a bare echo bot


def measure(couples: int, commands: int) -> Row:
    """Populate `couples`, start the bot over them with and without the index, time a write,
    and (with `commands`) measure CPU per command against the echo bot."""
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        began = time.perf_counter()
        populate(data_dir, couples).close()
        populated = time.perf_counter() - began
        # As a bot stopped cleanly leaves it: the store looks at what was written and leaves
        # its mark (bot.storage.store.CLEAN_FILE).
        stopped = Store(data_dir)
        stopped.open()
        stopped.close()
        seconds, resident = asyncio.run(start_up(data_dir))
        # Each next start meets a new sandbox, whose update ids begin again.
        (data_dir / LEDGER_FILE).unlink()
        (data_dir / CLEAN_FILE).unlink(missing_ok=True)  # as after a crash
        crashed, _ = asyncio.run(start_up(data_dir))
        (data_dir / INDEX_FILE).unlink()
        (data_dir / LEDGER_FILE).unlink()
        rebuilt, _ = asyncio.run(start_up(data_dir))
        store = Store(data_dir)
        store.open()
        cost = write_cost(store)
        store.close()
        row = Row(couples, populated, seconds, resident, crashed, rebuilt, cost)
        if commands:
            row.mend_cpu, row.echo_cpu = asyncio.run(command_cost(data_dir, commands))
    return row


def table(rows: list[Row], small_write: float) -> list[str]:
    """The figures as a Markdown table, then each target met or not."""
    lines = [
        "| couples stored | start-up | after a crash | index rebuilt | resident | write "
        "| CPU per command (echo bot) | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cpu = ratio = "–"
        if row.mend_cpu is not None and row.echo_cpu:
            cpu = f"{row.mend_cpu * 1000:.1f} ms ({row.echo_cpu * 1000:.1f} ms)"
            ratio = f"{row.mend_cpu / row.echo_cpu:.2f}"
        lines.append(
            f"| {row.couples:,} | {row.start_up:.2f} s | {row.crashed:.2f} s | {row.rebuilt:.1f} s "
            f"| {row.resident:.0f} MB | {row.write * 1000:.2f} ms | {cpu} | {ratio} |"
        )
    by_size = {row.couples: row for row in rows}
    biggest = rows[-1]
    if 10_000 in by_size and biggest.couples > 10_000:
        lines.append(
            f"start-up with {biggest.couples:,} couples / with 10,000: "
            f"{biggest.start_up / by_size[10_000].start_up:.2f} (target ≤ 2), "
            f"{biggest.resident:.0f} MB resident (target < 400 MB)"
        )
    lines.append(
        f"a write with {biggest.couples:,} couples stored / with 10 "
        f"({small_write * 1000:.2f} ms): {biggest.write / small_write:.2f} (target ≤ 2)"
    )
    ratios = [r.mend_cpu / r.echo_cpu for r in rows if r.mend_cpu is not None and r.echo_cpu]
    if ratios:
        lines.append(f"CPU per command / the echo bot's: at most {max(ratios):.2f} (target ≤ 1.2)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",") if size],
        default=[1_000, 10_000, 100_000],
        help="numbers of couples stored, by commas (default 1000,10000,100000; '' for none)",
    )
    parser.add_argument("--commands", type=int, default=200, help="per size, for CPU (0: none)")
    parser.add_argument("--fanout", type=int, default=2_000, help="groups (0: none)")
    parser.add_argument("--flood", type=int, default=40, help="/progress sent at once (0: none)")
    args = parser.parse_args()
    lines: list[str] = []
    if args.sizes:
        with tempfile.TemporaryDirectory() as small_dir:
            small = populate(Path(small_dir), 10)
            small_write = write_cost(small)
            sealed_write, sealed_read = private_write_cost(small)
        rows = []
        for size in sorted(args.sizes):
            print(f"measuring with {size:,} couples stored ...", file=sys.stderr, flush=True)
            rows.append(measure(size, args.commands))
        lines += table(rows, small_write)
        lines.append(
            f"private write, median: a journal entry sealed and written in "
            f"{sealed_write * 1000:.2f} ms, and all {SEALED_ENTRIES}+ of them read and opened "
            f"in {sealed_read * 1000:.2f} ms, in a couple holding {SEALED_ENTRIES} sealed "
            "entries"
        )
    if args.flood:
        print("measuring isolation ...", file=sys.stderr, flush=True)
        lines += asyncio.run(isolation(args.flood))
    if args.fanout:
        print("measuring a fan-out ...", file=sys.stderr, flush=True)
        lines += asyncio.run(fanout(args.fanout))
        lines += asyncio.run(fanout(args.fanout, spread=60.0))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
