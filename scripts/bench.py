"""Mend's benchmarks: figures to compare with the targets in the product description.

    scripts/bench                 all of them
    scripts/bench --couples 2000  a smaller run

- write cost: one couple's state change with 10 and with N couples stored (should not grow);
- private write cost: a journal entry sealed and written, in a couple holding many sealed ones;
- start-up: `python -m bot` with 1,000, 10,000 and 100,000 couples stored (`--sizes`), each
  with pending timers, until it answers a message that was waiting for it, and its resident
  memory then: with the couples' index as the bot keeps it, and without one (the first start
  builds it); and one couple's write with that many stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
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
from bot.storage.store import file_identity, summarize  # noqa: E402
from bot.timers import TIMERS_TABLE  # noqa: E402

TIMERS_PER_COUPLE = 3
UPDATES_PER_COUPLE = 20  # the update ids a couple file remembers (bot.storage.store)


def populate(data_dir: Path, count: int, *, index: bool = True) -> Store:
    """`count` set-up couples as the bot would have stored them: each with a poll's lookup
    key, the ids of the updates that changed it, TIMERS_PER_COUPLE pending pauses and the
    recurring timers the features keep (those of a first couple set up by the bot, through
    its reconcilers). The files are written directly, without waiting for the disk after
    each; the couples' index too, unless `index` is False (the first start then builds it).
    Returns the store, open."""
    now = datetime.now(UTC)
    recurring = _recurring_timers(data_dir, now)
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
        timers = {
            str(n + 1): {
                "kind": "pause_end",
                "due": to_iso(now + timedelta(days=3, minutes=number % 1440, seconds=n)),
                "partner": None,
                "payload": {"pause": n},
                "attempts": 0,
            }
            for n in range(TIMERS_PER_COUPLE)
        }
        for record in recurring:
            timers[str(len(timers) + 1)] = record
        first_update = 1_000_000 + number * UPDATES_PER_COUPLE
        tables: dict[str, dict[str, Any]] = {
            "couple": {"1": couple.to_doc()},
            TIMERS_TABLE.name: timers,
            META_TABLE: {
                "1": {
                    "schema": SCHEMA_VERSION,
                    "updates": list(range(first_update, first_update + UPDATES_PER_COUPLE)),
                }
            },
        }
        path = store.couples_dir / f"{chat_id}.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(tables, ensure_ascii=False, separators=(",", ":")))
        if index:
            store.index.put(chat_id, summarize(tables, file_identity(path.stat())))
    return store


def _recurring_timers(data_dir: Path, now: datetime) -> list[dict[str, Any]]:
    """The recurring timers (check-ins, checklists, roadmap, ...) the features give a couple
    set up now, found by letting them reconcile one (which is then erased)."""
    from bot.app import build_application, services_of
    from bot.config import Settings

    settings = Settings(
        token="123456:" + "A" * 35,
        api_base_url="http://127.0.0.1:9/bot",
        data_dir=data_dir,
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
    records = [
        {k: v for k, v in r.items() if k != "id"}
        for r in store.records(template.chat_id, TIMERS_TABLE)
    ]
    store.delete(template.chat_id)
    store.close()
    return records


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
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": sandbox.token,
            "BOT_API_BASE_URL": sandbox.base_url,
            "BOT_DATA_DIR": str(data_dir),
            "MEND_LOG_LEVEL": "WARNING",
        }
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


async def fanout(count: int) -> None:
    """`count` couples whose pauses all end in the same minute, with Telegram's limits on."""
    from bot.app import build_application, services_of, start, stop
    from bot.config import Settings
    from bot.features.pause import PAUSE_END, PAUSES_TABLE
    from bot.timers import Timers

    with tempfile.TemporaryDirectory() as data_dir:
        store = Store(Path(data_dir))
        store.open()
        now = datetime.now(UTC)
        due = now + timedelta(seconds=20)
        async with Sandbox() as sandbox:
            for index in range(count):
                chat = sandbox.group(
                    f"Couple {index}", members=[sandbox.user("Alex"), sandbox.user("Sam")]
                )
                chat.state.members[sandbox.world.bot.id] = "member"  # added long ago
                couple = Couple(
                    chat_id=chat.id,
                    title=chat.title,
                    created_at=now,
                    path="repair",
                    setup_completed_at=now,
                    partners=[
                        Partner(user_id=m.id, name=m.name, joined_at=now) for m in chat.members
                    ],
                )
                with store.transaction(chat.id) as tx:
                    tx.save(couple)
                    pause = tx.table(PAUSES_TABLE).insert(
                        {
                            "by": couple.partners[0].user_id,
                            "started_at": to_iso(now),
                            "ends_at": to_iso(due),
                            "minutes": 20,
                            "ended_at": None,
                            "ended_by": None,
                        }
                    )
                    tx.table(TIMERS_TABLE).insert(
                        {
                            "kind": PAUSE_END,
                            "due": to_iso(due),
                            "partner": None,
                            "payload": {"pause": pause},
                            "attempts": 0,
                        }
                    )
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
                lateness.append((datetime.now(UTC) - due).total_seconds())
                await original(self, context)

            Timers._fire = measured  # type: ignore[method-assign]
            services_of(app)  # built
            await start(app)
            try:
                deadline = time.monotonic() + count / 20 + 120
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
            lateness.sort()
            p99 = lateness[int(0.99 * (len(lateness) - 1))] if lateness else float("nan")
            print(
                f"fan-out to {count} chats: {len(set(chats))} delivered, "
                f"{len(chats) - len(set(chats))} twice; {rate:.1f} messages/s "
                f"({rate / 30:.0%} of Telegram's 30/s; target ≥ 90%); "
                f"{limits.too_many_requests} of {limits.total_calls} calls answered 429 "
                f"({limits.too_many_requests / max(1, limits.total_calls):.1%}; target ≤ 1%)"
            )
            print(
                f"timer lateness under that load: p99 {p99:.3f} s (target ≤ 1 s), "
                f"max {lateness[-1] if lateness else float('nan'):.3f} s"
            )


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


async def command_cost(couples: int, rounds: int) -> None:
    """CPU per handled command: Mend with `couples` stored vs a bare echo bot."""
    with tempfile.TemporaryDirectory() as data_dir:
        populate(Path(data_dir), couples)
        async with Sandbox() as sandbox:
            # One command per couple, so Telegram's 20-a-minute limit per group isn't what
            # is measured: both bots answer every command at once.
            now = datetime.now(UTC)
            store = Store(Path(data_dir))
            store.open()
            groups = []
            for index in range(rounds + WARM_UP):
                alex, sam = sandbox.user("Alex"), sandbox.user("Sam")
                group = sandbox.group(f"Couple {index}", members=[alex, sam])
                group.state.members[sandbox.world.bot.id] = "member"
                with store.transaction(group.id) as tx:
                    tx.save(
                        Couple(
                            chat_id=group.id,
                            title=group.title,
                            created_at=now,
                            path="repair",
                            setup_completed_at=now,
                            partners=[
                                Partner(
                                    user_id=p.id,
                                    name=p.name,
                                    joined_at=now,
                                    telegram_language=p.language_code,
                                )
                                for p in (alex, sam)
                            ],
                        )
                    )
                groups.append((group, alex))
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "BOT_TOKEN": sandbox.token,
                "BOT_API_BASE_URL": sandbox.base_url,
                "BOT_DATA_DIR": data_dir,
                "MEND_LOG_LEVEL": "WARNING",
            }
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
                            # /timezone) done: start counting.
                            await asyncio.sleep(5)
                            started = await asyncio.to_thread(cpu_seconds, process.pid)
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
            echo, mend = results["echo bot"], results["Mend"]
            print(
                f"CPU per handled command with {couples} couples stored: Mend "
                f"{mend * 1000:.1f} ms, bare echo bot {echo * 1000:.1f} ms "
                f"(ratio {mend / echo:.2f}; target ≤ 1.5)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--couples", type=int, default=10_000)
    parser.add_argument("--fanout", type=int, default=2_000)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        default=[1_000, 10_000, 100_000],
        help="numbers of couples stored for the start-up curve, by commas",
    )
    args = parser.parse_args()
    if args.commands:
        asyncio.run(command_cost(args.couples, args.commands))
    if args.fanout:
        asyncio.run(fanout(args.fanout))
    with tempfile.TemporaryDirectory() as small_dir:
        small = populate(Path(small_dir), 10)
        small_cost = write_cost(small)
        sealed_write, sealed_read = private_write_cost(small)
    print(
        f"private write, median: a journal entry sealed and written in "
        f"{sealed_write * 1000:.2f} ms, and all {SEALED_ENTRIES}+ of them read and opened "
        f"in {sealed_read * 1000:.2f} ms, in a couple holding {SEALED_ENTRIES} sealed entries"
    )
    startup_curve(args.sizes, small_cost)


def startup_curve(sizes: list[int], small_cost: float) -> None:
    """Start-up seconds and resident MB for each number of couples stored, with the index
    written as the bot keeps it and with none (the first start builds it), and one couple's
    write cost with that many stored (`small_cost`: with 10)."""
    print(
        f"couples stored ({TIMERS_PER_COUPLE} pauses and the recurring timers each) | "
        "populated in | start-up with the index: s, MB | without (built): s, MB | write ms"
    )
    rows: dict[int, tuple[float, float, float]] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as data_dir:
            began = time.perf_counter()
            populate(Path(data_dir), size).close()
            populated = time.perf_counter() - began
            seconds, resident = asyncio.run(start_up(Path(data_dir)))
            (Path(data_dir) / INDEX_FILE).unlink()
            # The next start meets a new sandbox, whose update ids begin again.
            (Path(data_dir) / LEDGER_FILE).unlink()
            built, built_resident = asyncio.run(start_up(Path(data_dir)))
            store = Store(Path(data_dir))
            store.open()
            cost = write_cost(store)
            store.close()
        rows[size] = (seconds, resident, cost)
        print(
            f"{size:>8} | {populated:6.1f} s | {seconds:6.2f} s {resident:5.0f} MB "
            f"| {built:6.2f} s {built_resident:5.0f} MB | {cost * 1000:5.2f}",
            flush=True,
        )
    print(f"write cost with 10 couples stored: {small_cost * 1000:.2f} ms")
    biggest = max(sizes)
    seconds, resident, cost = rows[biggest]
    if 10_000 in rows and biggest > 10_000:
        ratio = seconds / rows[10_000][0]
        print(
            f"start-up with {biggest} couples / with 10000: {ratio:.2f} (target ≤ 2); "
            f"{resident:.0f} MB resident (target < 400 MB)"
        )
    print(f"a write with {biggest} couples stored / with 10: {cost / small_cost:.2f} (target ≤ 2)")


if __name__ == "__main__":
    main()
