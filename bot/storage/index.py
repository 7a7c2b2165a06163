"""The index of the couple files: what start-up and lookups need across couples, in SQLite.

Per couple file it keeps who the partners are (user ids), its lookup keys (poll ids, deep-link
token hashes, migrated ids, ...), the update ids whose changes it holds, its pending timers
(id, kind, due time) and the file's identity when it was indexed (inode, modification time in
nanoseconds, size). Only ids, hashes, times and counts: nothing a person wrote.

The couple files stay the truth. The index is written after its couple file, without waiting
for the disk: a crash between the two (or an index restored from an older backup, or a file
changed by hand) leaves a file whose identity is not the one indexed, which the store sees at
start-up with one `stat` per file and indexes again from the file (after a clean close that
nothing changed since, the store skips that look: bot.storage.store.CLEAN_FILE). A missing or
damaged index is built again from all the files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.atomic import FILE_MODE

log = logging.getLogger(__name__)

INDEX_FILE = "index.sqlite3"
# The layout of the tables below; an index of another layout is built again.
LAYOUT = 1

FileId = tuple[int, int, int]  # inode, modification time (ns), size in bytes
TimerRow = tuple[int, str, float]  # timer id, kind, due (seconds since the epoch, UTC)

_TABLES = """
CREATE TABLE couples (
    chat_id INTEGER PRIMARY KEY,
    inode INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    schema INTEGER NOT NULL, set_up INTEGER NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE users (
    user_id INTEGER NOT NULL, chat_id INTEGER NOT NULL, PRIMARY KEY (user_id, chat_id)
) WITHOUT ROWID;
CREATE TABLE keys (key TEXT PRIMARY KEY, chat_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE updates (
    update_id INTEGER NOT NULL, chat_id INTEGER NOT NULL, PRIMARY KEY (update_id, chat_id)
) WITHOUT ROWID;
CREATE TABLE timers (
    chat_id INTEGER NOT NULL, timer_id INTEGER NOT NULL, kind TEXT NOT NULL, due REAL NOT NULL,
    PRIMARY KEY (chat_id, timer_id)
) WITHOUT ROWID;
CREATE INDEX timers_by_due ON timers (due);
CREATE INDEX couples_set_up ON couples (set_up);
"""


@dataclass(frozen=True)
class Summary:
    """What the index keeps of one couple file."""

    file: FileId
    schema: int
    set_up: bool  # the couple is active and its setup is complete
    users: frozenset[int]
    keys: frozenset[str]
    updates: frozenset[int]
    timers: frozenset[TimerRow]  # those not on hold

    def _lists(self) -> str:
        return json.dumps(
            {
                "users": sorted(self.users),
                "keys": sorted(self.keys),
                "updates": sorted(self.updates),
                "timers": sorted(self.timers),
            },
            separators=(",", ":"),
        )


class IndexDamaged(RuntimeError):
    """The index file can't be used (not an index, of another layout, or damaged)."""


class Index:
    """The index file at `path`, readable by its owner only. Every method raises
    sqlite3.Error only for a disk that fails under it; a damaged file is found by `open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    # -- opening ---------------------------------------------------------------------------

    def open(self, *, check: bool = True) -> bool:
        """Open the index, or make a new, empty one if it is missing or damaged (the damaged
        one is removed). Without `check`, its pages aren't read through (a look that grows
        with the index) but its layout still is. Returns whether it was usable as it was."""
        if self.path.exists():
            try:
                self._connect()
                self._check(pages=check)
                return True
            except (sqlite3.DatabaseError, IndexDamaged) as error:
                log.error("the couples' index is unusable (%s); building it again", error)
                self.close()
                self.remove()
        self._connect()
        with self._writing() as db:
            for statement in filter(str.strip, _TABLES.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {LAYOUT}")
        return False

    def _connect(self) -> None:
        if not self.path.exists():
            # Made owner-only before SQLite opens it; its journal files take the same mode.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db = db
        db.execute("PRAGMA journal_mode = WAL")
        # The couple files are written (and synced) first; an index write lost with the power
        # is found at the next start-up (see the module's docstring). NORMAL keeps commits
        # whole even after a power loss, and in WAL mode it doesn't wait for the disk at each.
        db.execute("PRAGMA synchronous = NORMAL")

    def _check(self, *, pages: bool) -> None:
        db = self._require()
        (layout,) = db.execute("PRAGMA user_version").fetchone()
        if layout != LAYOUT:
            raise IndexDamaged(f"layout {layout}, not {LAYOUT}")
        if not pages:
            return
        (verdict,) = db.execute("PRAGMA quick_check(1)").fetchone()
        if verdict != "ok":
            raise IndexDamaged("its pages don't check")

    @property
    def is_open(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def remove(self) -> None:
        """Delete the index file (and SQLite's journal files beside it)."""
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                self.path.with_name(self.path.name + suffix).unlink()

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the index is opened first")
        return self._db

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        db = self._require()
        db.execute("BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------

    def put(self, chat_id: int, summary: Summary) -> None:
        """Index a couple file as `summary` says (replacing what was indexed of it)."""
        before = self.summary(chat_id)
        gone = _empty(summary.file) if before is None else before
        with self._writing() as db:
            db.execute(
                "INSERT OR REPLACE INTO couples VALUES (?, ?, ?, ?, ?, ?, ?)",
                (chat_id, *summary.file, summary.schema, summary.set_up, summary._lists()),
            )
            _replace(db, "users", chat_id, gone.users, summary.users)
            _replace(db, "updates", chat_id, gone.updates, summary.updates)
            old_keys = gone.keys - summary.keys
            db.executemany(
                "DELETE FROM keys WHERE key = ? AND chat_id = ?", [(k, chat_id) for k in old_keys]
            )
            db.executemany(
                "INSERT OR REPLACE INTO keys VALUES (?, ?)",
                [(k, chat_id) for k in summary.keys - gone.keys],
            )
            db.executemany(
                "DELETE FROM timers WHERE chat_id = ? AND timer_id = ?",
                [(chat_id, t[0]) for t in gone.timers - summary.timers],
            )
            db.executemany(
                "INSERT OR REPLACE INTO timers VALUES (?, ?, ?, ?)",
                [(chat_id, *t) for t in summary.timers - gone.timers],
            )

    def drop(self, chat_id: int) -> None:
        """Forget a couple file (it was erased, moved or set aside)."""
        before = self.summary(chat_id)
        if before is None:
            return
        with self._writing() as db:
            db.execute("DELETE FROM couples WHERE chat_id = ?", (chat_id,))
            _replace(db, "users", chat_id, before.users, frozenset())
            _replace(db, "updates", chat_id, before.updates, frozenset())
            db.executemany(
                "DELETE FROM keys WHERE key = ? AND chat_id = ?",
                [(k, chat_id) for k in before.keys],
            )
            db.execute("DELETE FROM timers WHERE chat_id = ?", (chat_id,))

    # -- reading ---------------------------------------------------------------------------

    def summary(self, chat_id: int) -> Summary | None:
        row = (
            self._require()
            .execute(
                "SELECT inode, mtime_ns, size, schema, set_up, summary FROM couples "
                "WHERE chat_id = ?",
                (chat_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        inode, mtime_ns, size, schema, set_up, text = row
        lists = json.loads(text)
        return Summary(
            file=(inode, mtime_ns, size),
            schema=schema,
            set_up=bool(set_up),
            users=frozenset(lists["users"]),
            keys=frozenset(lists["keys"]),
            updates=frozenset(lists["updates"]),
            timers=frozenset((i, k, d) for i, k, d in lists["timers"]),
        )

    def files(self) -> dict[int, FileId]:
        """Every indexed couple file's identity, by chat id."""
        rows = self._require().execute("SELECT chat_id, inode, mtime_ns, size FROM couples")
        return {chat_id: (inode, mtime, size) for chat_id, inode, mtime, size in rows}

    def has(self, chat_id: int) -> bool:
        query = "SELECT 1 FROM couples WHERE chat_id = ?"
        return self._require().execute(query, (chat_id,)).fetchone() is not None

    def chat_ids(self) -> list[int]:
        return [c for (c,) in self._require().execute("SELECT chat_id FROM couples")]

    def count(self) -> int:
        (count,) = self._require().execute("SELECT count(*) FROM couples").fetchone()
        return int(count)

    def newest_schema(self) -> int:
        (schema,) = self._require().execute("SELECT max(schema) FROM couples").fetchone()
        return 0 if schema is None else int(schema)

    def chats_of_user(self, user_id: int) -> list[int]:
        query = "SELECT chat_id FROM users WHERE user_id = ? ORDER BY chat_id"
        return [c for (c,) in self._require().execute(query, (user_id,))]

    def users_in_several(self, chat_ids: Iterable[int]) -> list[int]:
        """The partners of these chats who are in more than one couple."""
        several = []
        for chat_id in chat_ids:
            summary = self.summary(chat_id)
            for user_id in () if summary is None else summary.users:
                if len(self.chats_of_user(user_id)) > 1:
                    several.append(user_id)
        return sorted(set(several))

    def keys_with_prefix(self, prefix: str) -> list[tuple[str, int]]:
        """The lookup keys starting with `prefix`, and the chat each leads to."""
        # A range of the keys' B-tree: `prefix` up to the last text that starts with it.
        query = "SELECT key, chat_id FROM keys WHERE key >= ? AND key < ? ORDER BY key"
        rows = self._require().execute(query, (prefix, prefix + "\U0010ffff"))
        return [(str(k), int(c)) for k, c in rows]

    def chat_for_key(self, key: str) -> int | None:
        row = self._require().execute("SELECT chat_id FROM keys WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def chats_with_key_prefix(self, prefix: str) -> list[int]:
        query = "SELECT DISTINCT chat_id FROM keys WHERE key >= ? AND key < ? ORDER BY chat_id"
        return [c for (c,) in self._require().execute(query, (prefix, prefix + "\U0010ffff"))]

    def applied(self, update_id: int) -> bool:
        query = "SELECT 1 FROM updates WHERE update_id = ? LIMIT 1"
        return self._require().execute(query, (update_id,)).fetchone() is not None

    def timers_due(
        self, after: datetime | None, until: datetime
    ) -> list[tuple[int, int, str, datetime]]:
        """Pending timers (not on hold) due after `after` (None: any time before) and at or
        before `until`: (chat id, timer id, kind, due), soonest first."""
        low = float("-inf") if after is None else after.timestamp()
        query = (
            "SELECT chat_id, timer_id, kind, due FROM timers WHERE due > ? AND due <= ? "
            "ORDER BY due"
        )
        rows = self._require().execute(query, (low, until.timestamp()))
        return [(int(c), int(t), str(k), datetime.fromtimestamp(d, UTC)) for c, t, k, d in rows]

    def set_up_without_timers(self) -> list[int]:
        """Set-up couples with no pending timer (each should have some)."""
        query = (
            "SELECT chat_id FROM couples WHERE set_up = 1 AND NOT EXISTS "
            "(SELECT 1 FROM timers WHERE timers.chat_id = couples.chat_id) ORDER BY chat_id"
        )
        return [c for (c,) in self._require().execute(query)]


def _empty(file: FileId) -> Summary:
    return Summary(file, 0, False, frozenset(), frozenset(), frozenset(), frozenset())


# (remove, add) for each table of ids by chat: fixed statements, never built from values.
_ID_ROWS = {
    "users": (
        "DELETE FROM users WHERE user_id = ? AND chat_id = ?",
        "INSERT OR IGNORE INTO users VALUES (?, ?)",
    ),
    "updates": (
        "DELETE FROM updates WHERE update_id = ? AND chat_id = ?",
        "INSERT OR IGNORE INTO updates VALUES (?, ?)",
    ),
}


def _replace(
    db: sqlite3.Connection,
    table: str,
    chat_id: int,
    before: frozenset[int],
    after: frozenset[int],
) -> None:
    remove, add = _ID_ROWS[table]
    db.executemany(remove, [(i, chat_id) for i in before - after])
    db.executemany(add, [(i, chat_id) for i in after - before])
