"""The couple store: one TinyDB file per couple chat, and an index of them.

A write touches only the file of the couple it concerns (and its rows in the index), so its
cost does not depend on how many couples the bot serves. The lookups that cross couples (which
chats a person is in, which chat a poll or a deep-link token belongs to, which couples owe
messages, which timers come due) are answered by the index (bot.storage.index), which is derived
from the files: checked against them at start-up, built again from them when it is missing or
damaged. A store closed cleanly leaves a mark (`CLEAN_FILE`) of its couples directory and index
as they were then; when both are still so at the next start, the index is taken as it is,
without a look at each file, so start-up doesn't grow with the couples. A couple's file is
read (and brought to the current schema) when it is first used, and only the KEEP_LOADED most
recently used stay in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import os
import stat
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast, overload

from tinydb.table import Document, Table

from bot import origin
from bot.model import PERSONAL, BadShape, Couple, Partner
from bot.storage import migrations
from bot.storage.atomic import (
    FILE_MODE,
    TEMP_SUFFIX,
    AtomicJSONStorage,
    Tables,
    sync_directory,
    write_atomically,
)
from bot.storage.index import INDEX_FILE, FileId, Index, Summary
from bot.storage.keys import load_keyring
from bot.storage.migrations import META_TABLE, SchemaTooNew, Upgrade, migrate
from bot.storage.sealing import (
    PRIVATE,
    Binding,
    Keyring,
    Place,
    Private,
    Unopenable,
    declare,
    each_private,
    sealed_with,
)

log = logging.getLogger(__name__)

DIR_MODE = 0o700
COUPLE_TABLE = "couple"
COUPLE_DOC_ID = 1
MIGRATED_KEY = "migrated:"  # + the old chat id of a group that became a supergroup
KEEP_APPLIED = 20  # update ids remembered per couple file
# The table of pending timers (bot.timers): the index keeps each one's id, kind and due time.
TIMER_TABLE = "timers"
# Couple files kept in memory, the most recently used (the others are read again when needed).
KEEP_LOADED = 1000
# The mark a clean close leaves: the identities of the couples directory and of the index.
CLEAN_FILE = "index.clean"
Record = dict[str, Any]


R = TypeVar("R", bound=Mapping[str, Any])


class Kind(Generic[R]):
    """A table's name and the shape of its records (a TypedDict the feature owns), so code
    that reads or writes it is checked against that shape: `PAUSES = Kind[Pause]("pauses")`,
    then `tx.table(PAUSES)` holds `Pause` records.

    `private`: the fields that hold what a person wrote (or answered) in private, sealed in
    the file (bot.storage.sealing) and plain to whoever reads the records; `owner`: the field
    naming whose they are. A field in a map by user id is named with `*` for the user id, who
    is its owner: `"reflections.*.texts"`."""

    def __init__(
        self, name: str, *, private: tuple[str, ...] = (), owner: str | None = None
    ) -> None:
        self.name = name
        declare(name, private, owner)

    def __repr__(self) -> str:
        return f"Kind({self.name!r})"


class Sealed:
    """One couple's table with private fields: sealed as they are written, opened as they
    are read. A record whose private values don't open is left out of what is read (and
    kept in the file as it is), and the log says so once."""

    reported: ClassVar[set[tuple[int, str, int]]] = set()

    def __init__(self, keyring: Keyring, private: Private, chat_id: int, table: str) -> None:
        self.keyring = keyring
        self.private = private
        self.chat_id = chat_id
        self.table = table

    def seal(self, record_id: int, doc: Mapping[str, Any]) -> dict[str, Any]:
        return self.private.apply(doc, self._place(record_id), self.keyring.seal)

    def open(self, record_id: int, doc: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return self.private.apply(doc, self._place(record_id), self.keyring.open)
        except Unopenable as error:
            where = (self.chat_id, self.table, record_id)
            if where not in self.reported:
                self.reported.add(where)
                log.error(
                    "couple file %s.json: %s record %d is left out: %s",
                    self.chat_id,
                    self.table,
                    record_id,
                    error,
                )
            return None

    def _place(self, record_id: int) -> Place:
        return Place(self.chat_id, self.table, record_id)


class Records(Generic[R]):
    """A table of small records (timers, polls, journal entries, ...) of one couple; each
    record read carries its `id` within the table. Private fields are plain here, sealed in
    the file (see `Kind`)."""

    def __init__(self, table: Table, sealed: Sealed | None = None) -> None:
        self._table = table
        self._sealed = sealed

    def insert(self, record: R) -> int:
        doc = {k: v for k, v in record.items() if k != "id"}
        if self._sealed is None:
            return int(self._table.insert(doc))
        # Sealed values are bound to their record: its id comes first.
        private = self._sealed.private.fields
        record_id = int(self._table.insert({k: v for k, v in doc.items() if k not in private}))
        sealed = self._sealed.seal(record_id, doc)
        self._table.update({k: sealed[k] for k in private if k in sealed}, doc_ids=[record_id])
        return record_id

    def get(self, record_id: int) -> R | None:
        doc = self._table.get(doc_id=record_id)
        if doc is None or isinstance(doc, list):
            return None
        return self._opened(record_id, doc)

    def update(self, record_id: int, fields: Mapping[str, Any]) -> None:
        sealed = self._sealed
        if sealed is None or not fields.keys() & {*sealed.private.fields, sealed.private.owner}:
            self._table.update(dict(fields), doc_ids=[record_id])
            return
        stored = self._table.get(doc_id=record_id)
        if stored is None or isinstance(stored, list):
            return
        private, owner = sealed.private.fields, sealed.private.owner
        plain = {k: v for k, v in fields.items() if k in private}
        if owner is not None and owner in fields and fields[owner] != stored.get(owner):
            # Sealed for the record's owner: what stays is sealed again for the new one.
            opened = sealed.open(record_id, stored)
            if opened is not None:
                plain = {**{k: opened[k] for k in private if k in opened}, **plain}
        whose = {} if owner is None else {owner: fields.get(owner, stored.get(owner))}
        sealed_fields = sealed.seal(record_id, {**plain, **whose})
        changed = {**fields, **{k: sealed_fields[k] for k in plain}}
        self._table.update(changed, doc_ids=[record_id])

    def remove(self, record_id: int) -> None:
        with contextlib.suppress(KeyError):
            self._table.remove(doc_ids=[record_id])

    def all(self) -> list[R]:
        opened = (self._opened(doc.doc_id, doc) for doc in self._table.all())
        return [record for record in opened if record is not None]

    def find(self, **equal: Any) -> list[R]:
        if self._sealed is not None and not equal.keys() & self._sealed.private.fields:
            # Only the records found are opened.
            return [
                record
                for doc in self._table.all()
                if all(doc.get(k) == v for k, v in equal.items())
                and (record := self._opened(doc.doc_id, doc)) is not None
            ]
        return [r for r in self.all() if all(r.get(k) == v for k, v in equal.items())]

    def _opened(self, record_id: int, doc: Mapping[str, Any]) -> R | None:
        if self._sealed is None:
            return cast(R, {**doc, "id": record_id})
        opened = self._sealed.open(record_id, doc)  # a new dict: the file's stays as it is
        if opened is None:
            return None
        opened["id"] = record_id
        return cast(R, opened)

    def clear(self) -> None:
        self._table.truncate()


class _NoCouple(Exception):
    """A transaction changed a chat that has no couple, without saving one (see
    `Store.transaction`)."""


class Transaction:
    """Changes to one couple that land on disk together, or not at all."""

    def __init__(self, storage: AtomicJSONStorage, chat_id: int, keyring: Keyring) -> None:
        self._storage = storage
        self._chat_id = chat_id
        self._keyring = keyring

    def couple(self) -> Couple | None:
        doc = self._table(COUPLE_TABLE).get(doc_id=COUPLE_DOC_ID)
        if doc is None or isinstance(doc, list):
            return None
        return Couple.from_doc(dict(doc))

    def save(self, couple: Couple) -> None:
        table = self._table(COUPLE_TABLE)
        table.upsert(Document(couple.to_doc(), doc_id=COUPLE_DOC_ID))

    @overload
    def table(self, kind: str) -> Records[Record]: ...
    @overload
    def table(self, kind: Kind[R]) -> Records[R]: ...
    def table(self, kind: str | Kind[Any]) -> Records[Any]:
        """A table of the couple's records, by name or by its `Kind` (typed records)."""
        name = kind if isinstance(kind, str) else kind.name
        if name in (COUPLE_TABLE, META_TABLE):
            raise ValueError(f"{name!r} is reserved")
        private = PRIVATE.get(name)
        sealed = None if private is None else Sealed(self._keyring, private, self._chat_id, name)
        return Records(self._table(name), sealed)

    def _table(self, name: str) -> Table:
        # A fresh Table per use: no query cache or id counter can outlive a rolled-back batch.
        return Table(self._storage, name, cache_size=0)


class Store:
    """All couples' data under one directory, readable by its owner only; what people wrote
    in private is sealed with the data key (`data_key`, else the key file in `data_dir`; the
    `older_keys` open what they sealed before a rotation: bot.storage.keys). At most
    `keep_loaded` couple files (default KEEP_LOADED) stay in memory besides those in use."""

    def __init__(
        self,
        data_dir: Path,
        *,
        data_key: bytes | None = None,
        older_keys: tuple[bytes, ...] = (),
        keep_loaded: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self._data_key = data_key
        self._older_keys = older_keys
        self._keyring: Keyring | None = None
        self.couples_dir = data_dir / "couples"
        self.index = Index(data_dir / INDEX_FILE)
        self._keep_loaded = keep_loaded
        # Whether this start took the index as it was (a clean close, nothing changed since).
        self.trusted = False
        # The couples directory's identity after the store's own last change of it.
        self._own_view: list[int] = []
        # The couple files read, least recently used first.
        self._files: OrderedDict[int, AtomicJSONStorage] = OrderedDict()
        # Open transactions per chat: their files stay in memory until they end.
        self._in_use: Counter[int] = Counter()
        # Called with (chat id, transaction) as a transaction that changed something ends,
        # before its write: what they change lands in the same write (bot.timers: a timer
        # firing is removed with the first change it makes).
        self.joining_writes: list[Callable[[int, Transaction], None]] = []

    # -- start-up ---------------------------------------------------------------------------

    def open(self) -> None:
        """Create the directories, load the keys, clear half-written files, and check the
        index against the couple files: a file it doesn't know as it is on disk (new, changed
        since, or the index missing or damaged) is read, migrated and indexed; the others are
        read when first used. Raises ConfigError when the data was sealed with a key that isn't
        given, SchemaTooNew when a file is of a later version of Mend."""
        for directory in (self.data_dir, self.couples_dir):
            directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # The couple files' modes are seen to by the scan, which looks at each of them anyway.
        tightened = tighten_modes(self.data_dir, except_files_in=self.couples_dir)
        self._keyring = load_keyring(self.data_dir, self._data_key, self._older_keys)
        unchanged = self._take_clean_mark() == self._identities()
        self.trusted = self.index.open(check=not unchanged) and unchanged
        if self.trusted:
            changed: list[int] = []
            if tightened:
                log.warning("data made owner-only (files and directories): %d", tightened)
        else:
            on_disk, loose = self._scan()
            if tightened + loose:
                log.warning("data made owner-only (files and directories): %d", tightened + loose)
            indexed = self.index.files()
            for chat_id in indexed.keys() - on_disk.keys():
                self._index_drop(chat_id)  # erased while the index missed it
            changed = sorted(c for c, file in on_disk.items() if indexed.get(c) != file)
            if changed:
                log.info("indexing %d of %d couple files", len(changed), len(on_disk))
            for chat_id in changed:
                self._load(chat_id)
        if self.index.newest_schema() > migrations.SCHEMA_VERSION:
            raise SchemaTooNew(
                f"a data file is newer than this bot's schema {migrations.SCHEMA_VERSION}"
            )
        self._drop_superseded()
        self._agree_on_people(changed)
        self._own_view = self._folder_identity()

    def close(self) -> None:
        """Let go of the index file (the store is not used after this), and leave the mark
        that it agrees with every couple file (`CLEAN_FILE`)."""
        if not self.index.is_open:
            return
        self.index.close()
        if self._folder_identity() != self._own_view:
            log.info("couple files were changed outside the bot: the next start looks at each")
            return
        write_atomically(self.data_dir / CLEAN_FILE, json.dumps(self._identities()))

    def _index_put(self, chat_id: int, summary: Summary) -> None:
        self.index.put(chat_id, summary)
        self._own_view = self._folder_identity()

    def _index_drop(self, chat_id: int) -> None:
        self.index.drop(chat_id)
        self._own_view = self._folder_identity()

    async def check_files(self, chunk: int = 500) -> int:
        """After a start that took the index as it was (`trusted`): what such a start skips,
        a chunk of files at a time, so a file changed in place while the bot was stopped (put
        back from a backup) is indexed again and one with looser modes made owner-only.
        Returns how many files were indexed again."""
        if not self.trusted:
            return 0
        mended = 0
        loose: list[int] = []
        indexed = self.index.files()
        for number, (entry, status) in enumerate(_owner_only(self.couples_dir, loose), start=1):
            if number % chunk == 0:
                await asyncio.sleep(0)
            chat_id = _chat_id_of(entry.name)
            if chat_id is None or stat.S_ISLNK(status.st_mode):
                continue
            identity = file_identity(status)
            if indexed.get(chat_id) == identity or chat_id in self._files:
                continue  # as indexed, or read since the start (and indexed then)
            summary = self.index.summary(chat_id)  # written by the bot meanwhile?
            if summary is None or summary.file != identity:
                self._load(chat_id)
                mended += 1
        if loose:
            log.warning("data made owner-only (files and directories): %d", len(loose))
        if mended:
            log.warning("couple files changed while the bot was stopped, indexed again: %d", mended)
        self.trusted = False
        return mended

    def _folder_identity(self) -> list[int]:
        """The couples directory's inode, modification time and size (a file added, replaced,
        renamed or removed changes it)."""
        status = self.couples_dir.stat()
        return [status.st_ino, status.st_mtime_ns, status.st_size]

    def _identities(self) -> list[list[int]]:
        """What changes when a couple file is added, replaced, renamed or removed (the couples
        directory's inode and modification time) or the index is written: the clean mark."""
        identities = []
        for path in (self.couples_dir, self.index.path):
            try:
                status = path.stat()
            except FileNotFoundError:
                return []
            identities.append([status.st_ino, status.st_mtime_ns, status.st_size])
        return identities

    def _take_clean_mark(self) -> list[list[int]] | None:
        """The mark of the last clean close, removed for good before anything is written
        (a crash from now on leaves none), or None."""
        path = self.data_dir / CLEAN_FILE
        try:
            mark = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            mark = None
        path.unlink()
        sync_directory(self.data_dir)
        return mark if isinstance(mark, list) else None

    def _scan(self) -> tuple[dict[int, FileId], int]:
        """The couple files on disk and their identities, and how many files here were made
        owner-only (FILE_MODE); half-written ones are removed and those not named by a chat
        id are set aside."""
        found: dict[int, FileId] = {}
        loose: list[int] = []
        for entry, status in _owner_only(self.couples_dir, loose):
            if entry.name.endswith(TEMP_SUFFIX):
                # A write that never reached its rename; the old file is intact.
                Path(entry.path).unlink()
                continue
            if not entry.name.endswith(".json"):
                continue
            try:
                chat_id = int(entry.name.removesuffix(".json"))
            except ValueError as error:
                self._set_aside(Path(entry.path), error)
                continue
            found[chat_id] = file_identity(status)
        return found, len(loose)

    def _load(self, chat_id: int) -> AtomicJSONStorage | None:
        """Read a couple's file, bring it to the current schema, and index it if the index
        doesn't know it as it is; None if there is no such file or it is set aside."""
        path = self._path(chat_id)
        if not path.exists():  # erased while the index missed it
            self._index_drop(chat_id)
            return None
        storage = AtomicJSONStorage(path)
        try:
            tables = storage.read()
            check_tables(tables, chat_id)
        except ValueError as error:  # also broken JSON and BadShape
            self._set_aside(path, error)
            self._index_drop(chat_id)
            return None
        assert tables is not None
        if migrate(tables, self._upgrade(chat_id)):
            storage.write(tables)
        summary = summarize(tables, file_identity(path.stat()))
        if self.index.summary(chat_id) != summary:
            self._index_put(chat_id, summary)
        self._keep(chat_id, storage)
        return storage

    def _set_aside(self, path: Path, error: Exception) -> None:
        # Not ours, unreadable or of the wrong shape: kept aside for a person to look at,
        # never a crash. The error names a place in the file, never its content.
        aside = path.with_name(f"{path.name}.unreadable")
        log.error("moving unreadable data file %s aside: %s", path.name, error)
        path.rename(aside)

    def _upgrade(self, chat_id: int) -> Upgrade:
        keyring = self.keyring

        def seal_plain(tables: Tables) -> None:
            each_private(tables, chat_id, keyring.seal, only=lambda v: sealed_with(v) is None)

        return Upgrade(seal_plain)

    @property
    def keyring(self) -> Keyring:
        assert self._keyring is not None, "the store is opened first"
        return self._keyring

    def _drop_superseded(self) -> None:
        """A crash between writing a migrated chat's new file and removing the old one."""
        for key, chat_id in self.index.keys_with_prefix(MIGRATED_KEY):
            old_chat_id = int(key.removeprefix(MIGRATED_KEY))
            if old_chat_id != chat_id and self.index.has(old_chat_id):
                self.delete(old_chat_id)

    def _agree_on_people(self, chat_ids: Iterable[int]) -> None:
        """A person in several couples has one set of personal settings (`PERSONAL`). Data
        from before they were kept together may differ: a couple joined later lacks the zone
        and the quiet hours set before, and the private chat opened from the first group.
        Each setting takes the first value one of their couples has (the private chat counts
        as open if it was opened from any of them). Checked for the partners of `chat_ids`
        (the files indexed at this start-up; the others were made the same before)."""
        for user_id in self.index.users_in_several(chat_ids):
            chats = self.chats_of_user(user_id)
            partners = [
                p
                for c in map(self.couple, chats)
                if c is not None and (p := c.partner(user_id)) is not None
            ]
            if len(partners) < 2:
                continue
            agreed = {
                name: next(
                    (v for p in partners if (v := getattr(p, name)) not in (None, False)),
                    getattr(partners[0], name),
                )
                for name in PERSONAL
            }
            if any(getattr(p, n) != v for p in partners for n, v in agreed.items()):
                log.info("a person's settings differed between their couples; made the same")
                self.update_person(user_id, functools.partial(_set_all, values=agreed))

    # -- the files in memory ----------------------------------------------------------------

    def _path(self, chat_id: int) -> Path:
        return self.couples_dir / f"{chat_id}.json"

    def _storage(self, chat_id: int) -> AtomicJSONStorage | None:
        """A known couple's file (read now if it isn't in memory), or None."""
        storage = self._files.get(chat_id)
        if storage is not None:
            self._files.move_to_end(chat_id)
            return storage
        if not self.index.has(chat_id):
            return None
        return self._load(chat_id)

    def _keep(self, chat_id: int, storage: AtomicJSONStorage) -> None:
        """Keep a file in memory as the most recently used, and let go of the least recently
        used ones beyond the bound (never one a transaction has open)."""
        self._files[chat_id] = storage
        self._files.move_to_end(chat_id)
        bound = KEEP_LOADED if self._keep_loaded is None else self._keep_loaded
        if len(self._files) <= bound:
            return
        idle = [c for c in self._files if not self._in_use[c] and c != chat_id]
        for old in idle[: len(self._files) - bound]:
            del self._files[old]

    def in_memory(self) -> int:
        """How many couple files are held in memory now."""
        return len(self._files)

    def _written(self, chat_id: int, tables: Tables) -> None:
        """A couple's file was written as `tables`: index it as it is now."""
        self._index_put(chat_id, summarize(tables, file_identity(self._path(chat_id).stat())))

    # -- reading ----------------------------------------------------------------------------

    def chat_ids(self) -> list[int]:
        return self.index.chat_ids()

    def resolve(self, chat_id: int) -> int:
        """The chat id a couple's data is kept under: a group that became a supergroup is
        found by its old id too."""
        if chat_id in self._files or self.index.has(chat_id):
            return chat_id
        found = self.index.chat_for_key(f"{MIGRATED_KEY}{chat_id}")
        return chat_id if found is None else found

    def couple(self, chat_id: int) -> Couple | None:
        chat_id = self.resolve(chat_id)
        storage = self._storage(chat_id)
        return None if storage is None else Transaction(storage, chat_id, self.keyring).couple()

    @overload
    def records(self, chat_id: int, table: str) -> list[Record]: ...
    @overload
    def records(self, chat_id: int, table: Kind[R]) -> list[R]: ...
    def records(self, chat_id: int, table: str | Kind[Any]) -> list[Any]:
        """A couple's records of one table (none if the couple isn't known)."""
        chat_id = self.resolve(chat_id)
        storage = self._storage(chat_id)
        if storage is None:
            return []
        return Transaction(storage, chat_id, self.keyring).table(table).all()

    def chats_of_user(self, user_id: int) -> list[int]:
        return self.index.chats_of_user(user_id)

    def person(self, user_id: int) -> Partner | None:
        """Someone as the first of their couples knows them (their personal settings, such
        as language and quiet hours, are the same in every couple: `update_person`); None if
        in none."""
        first = next(iter(self.chats_of_user(user_id)), None)
        couple = self.couple(first) if first is not None else None
        return couple.partner(user_id) if couple is not None else None

    def chat_for_key(self, key: str) -> int | None:
        return self.index.chat_for_key(key)

    def chats_with_key_prefix(self, prefix: str) -> list[int]:
        """The chats that hold a lookup key starting with `prefix`."""
        return self.index.chats_with_key_prefix(prefix)

    def timers_due(
        self, after: datetime | None, until: datetime
    ) -> list[tuple[int, int, str, datetime]]:
        """Every couple's pending timers (`TIMER_TABLE`, not on hold) due after `after` (None:
        any time before) and at or before `until`: (chat id, timer id, kind, due in UTC),
        soonest first. Read from the index: no couple's file is read."""
        return self.index.timers_due(after, until)

    def set_up_without_timers(self) -> list[int]:
        """The active, set-up couples with no pending timer (from the index)."""
        return self.index.set_up_without_timers()

    def __len__(self) -> int:
        return self.index.count()

    # -- writing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, chat_id: int) -> Iterator[Transaction]:
        """Everything changed inside lands in one atomic write when the block ends.

        What `joining_writes` add joins the same write. Only a change that saves a couple
        (`Transaction.save`) makes a file for a chat that has none: any other change there is
        dropped (a couple erased while a send or a timer of theirs was under way stays
        erased) and a warning logged."""
        chat_id = self.resolve(chat_id)
        known = self._storage(chat_id)
        storage = known or AtomicJSONStorage(self._path(chat_id))
        commits = storage.commits
        self._in_use[chat_id] += 1
        try:
            with contextlib.suppress(_NoCouple), storage.batch():
                tx = Transaction(storage, chat_id, self.keyring)
                yield tx
                tables = storage.read()
                if known is None and storage.changed and not (tables or {}).get(COUPLE_TABLE):
                    log.warning("a change for a chat without a couple was not written")
                    raise _NoCouple  # out of the batch: nothing of it is written
                if storage.changed:
                    for join in self.joining_writes:
                        join(chat_id, tx)
                    tables = storage.read()
                update_id = origin.current().update_id
                if tables is not None and (
                    META_TABLE not in tables or (update_id is not None and storage.changed)
                ):
                    migrate(tables, self._upgrade(chat_id))
                    if update_id is not None:
                        self._mark_applied(tables, update_id)
                    storage.write(tables)
        finally:
            self._in_use[chat_id] -= 1
            if not self._in_use[chat_id]:
                del self._in_use[chat_id]
        if storage.commits != commits and tables is not None:
            self._written(chat_id, tables)
            self._keep(chat_id, storage)

    def reseal(self, chat_id: int) -> tuple[int, int]:
        """Seal every private value of a couple's file that another key sealed with the
        current key, in one atomic write (a key rotation). Returns how many values were sealed
        again, and how many didn't open (left as they are)."""
        storage = self._storage(chat_id)
        tables = None if storage is None else storage.read()
        if storage is None or tables is None:
            return 0, 0
        keyring, counts = self.keyring, {"sealed": 0, "unopenable": 0}

        def with_the_current_key(value: Any, bound: Binding) -> Any:
            try:
                plain = keyring.open(value, bound)
            except Unopenable as error:
                counts["unopenable"] += 1
                log.error("couple file %s.json: a value is left as it is: %s", chat_id, error)
                return value
            counts["sealed"] += 1
            return keyring.seal(plain, bound)

        each_private(
            tables,
            chat_id,
            with_the_current_key,
            only=lambda value: sealed_with(value) != keyring.current,
        )
        if counts["sealed"]:
            storage.write(tables)
            self._written(chat_id, tables)
        return counts["sealed"], counts["unopenable"]

    def _mark_applied(self, tables: Tables, update_id: int) -> None:
        """Record in the couple's file, with the change itself, that `update_id` made it, so
        the update is recognised if Telegram delivers it again after a crash."""
        meta = tables[META_TABLE].setdefault("1", {})
        applied = [i for i in meta.get("updates", []) if i != update_id][-(KEEP_APPLIED - 1) :]
        meta["updates"] = [*applied, update_id]

    def update_person(self, user_id: int, change: Callable[[Partner], None]) -> list[Couple]:
        """Apply a change to a person in every couple they are part of, each couple in its own
        transaction: a personal setting (`PERSONAL`) is the same in all of them. Returns the
        couples as changed."""
        updated: list[Couple] = []
        for chat_id in self.chats_of_user(user_id):
            with self.transaction(chat_id) as tx:
                couple = tx.couple()
                partner = couple.partner(user_id) if couple else None
                if couple is None or partner is None:
                    continue
                change(partner)
                tx.save(couple)
                updated.append(couple)
        return updated

    def applied(self, update_id: int) -> bool:
        """Whether a change made while handling `update_id` is in some couple's file (one of
        the last KEEP_APPLIED updates that changed it)."""
        return self.index.applied(update_id)

    def delete(self, chat_id: int) -> None:
        """Erase a couple's file for good."""
        storage = self._files.pop(chat_id, None)
        with contextlib.suppress(FileNotFoundError):
            self._path(chat_id).unlink()
            sync_directory(self.couples_dir)
        if storage is not None:
            storage.forget()
        self._index_drop(chat_id)

    def move(self, old_chat_id: int, new_chat_id: int) -> None:
        """Follow a group that became a supergroup: same data, new chat id (what is sealed is
        sealed again for it, as it is bound to its couple's chat)."""
        storage = self._storage(old_chat_id)
        tables = None if storage is None else storage.read()
        if tables is None:
            return
        keyring = self.keyring

        def for_the_new_chat(value: Any, bound: Binding) -> Any:
            try:
                plain = keyring.open(value, bound)
            except Unopenable:
                return value  # it didn't open before the move either: kept as it is
            return keyring.seal(plain, bound.in_chat(new_chat_id))

        each_private(tables, old_chat_id, for_the_new_chat)
        couple_doc = tables.get(COUPLE_TABLE, {}).get(str(COUPLE_DOC_ID))
        if couple_doc is not None:
            couple_doc["chat_id"] = new_chat_id
            couple_doc["migrated_from"] = old_chat_id
            # Buttons, links and records that still name the old id keep finding the couple.
            couple_doc["keys"] = [*couple_doc.get("keys", []), f"{MIGRATED_KEY}{old_chat_id}"]
        new_path = self._path(new_chat_id)
        # New file first: a crash in between leaves both, and open() drops the old one.
        write_atomically(new_path, json.dumps(tables, ensure_ascii=False, separators=(",", ":")))
        self.delete(old_chat_id)  # its keys leave the index before the new file's come
        self._written(new_chat_id, tables)
        self._keep(new_chat_id, AtomicJSONStorage(new_path))


def summarize(tables: Tables, file: FileId) -> Summary:
    """What the index keeps of a couple file (`tables`, checked by check_tables) found on
    disk as `file`: ids, keys, update ids and timers, nothing anyone wrote."""
    doc = tables.get(COUPLE_TABLE, {}).get(str(COUPLE_DOC_ID)) or {}
    meta = tables.get(META_TABLE, {}).get("1", {})
    keys = set(doc.get("keys", []))
    if doc.get("migrated_from") is not None:  # the old id finds the couple too
        keys.add(f"{MIGRATED_KEY}{doc['migrated_from']}")
    timers = set()
    for record_id, record in tables.get(TIMER_TABLE, {}).items():
        due, kind = record.get("due"), record.get("kind")
        if record.get("suspended") or not isinstance(due, str) or not isinstance(kind, str):
            continue  # on hold, or not a timer that can fire
        try:
            timers.add((int(record_id), kind, datetime.fromisoformat(due).timestamp()))
        except ValueError:
            continue
    return Summary(
        file=file,
        schema=int(meta.get("schema", migrations.SCHEMA_VERSION)),
        set_up=doc.get("status", "active") == "active"
        and doc.get("setup_completed_at") is not None,
        users=frozenset(int(p["user_id"]) for p in doc.get("partners", [])),
        keys=frozenset(keys),
        updates=frozenset(meta.get("updates", [])),
        timers=frozenset(timers),
    )


def _owner_only(
    folder: Path, loosened: list[int]
) -> Iterator[tuple[os.DirEntry[str], os.stat_result]]:
    """Each entry of `folder` with its status (links not followed), a file made owner-only
    (FILE_MODE) first if its mode was looser; what was made so is appended to `loosened` (its
    old mode). An entry gone since the folder was read is skipped."""
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                status = entry.stat(follow_symlinks=False)
                mode = stat.S_IMODE(status.st_mode)
                if stat.S_ISREG(status.st_mode) and mode != FILE_MODE:
                    os.chmod(entry.path, FILE_MODE)  # noqa: PTH101 (the entry's path, as scanned)
                    loosened.append(mode)
            except FileNotFoundError:  # replaced or removed since the folder was read
                continue
            yield entry, status


def _chat_id_of(name: str) -> int | None:
    """The chat id a couple file's name gives, or None (not a couple file)."""
    if not name.endswith(".json"):
        return None
    try:
        return int(name.removesuffix(".json"))
    except ValueError:
        return None


def file_identity(status: os.stat_result) -> FileId:
    """A file's identity as the index keeps it, from its `stat`: a file replaced or changed
    since has another (each write is a new file renamed into place)."""
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def _set_all(partner: Partner, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(partner, name, value)


def check_tables(tables: Any, chat_id: int) -> None:
    """Raise BadShape unless every reader may rely on `tables` as the file of `chat_id`:
    an object of tables, each an object of records (objects) under numeric ids, a couple
    that Couple.from_doc can read and whose chat is the file's, and a whole schema number."""
    if not isinstance(tables, dict):
        raise BadShape("the file is not an object of tables")
    for table in tables.values():
        if not isinstance(table, dict):
            raise BadShape("a table is not an object")
        for record_id, record in table.items():
            if not record_id.isdecimal() or not isinstance(record, dict):
                raise BadShape("a table holds something other than numbered records")
    couple = tables.get(COUPLE_TABLE, {}).get(str(COUPLE_DOC_ID))
    if couple is not None:
        Couple.check_doc(couple)
        if couple["chat_id"] != chat_id:
            raise BadShape("the couple's chat_id is not the one in the file name")
    meta = tables.get(META_TABLE, {}).get("1", {})
    if not isinstance(meta.get("schema", 0), int):
        raise BadShape("the schema number is not a whole number")
    updates = meta.get("updates", [])
    if not isinstance(updates, list) or not all(isinstance(i, int) for i in updates):
        raise BadShape("the update ids are not a list of whole numbers")


def tighten_modes(root: Path, *, except_files_in: Path | None = None) -> int:
    """Give `root`, every directory under it and every file in them (but what is in
    `except_files_in`, which isn't even listed) the modes each write gives them (DIR_MODE,
    FILE_MODE: their owner's only), so a file restored from a backup or copied in with looser
    modes isn't left so until its next write. Links are left alone. Returns how many were
    changed."""
    changed = 0
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        found = list(
            itertools.chain(
                ((here / name, DIR_MODE) for name in subdirectories),
                ((here / name, FILE_MODE) for name in files),
                [(here, DIR_MODE)] if here == root else [],
            )
        )
        subdirectories[:] = [name for name in subdirectories if here / name != except_files_in]
        for path, mode in found:
            status = path.lstat()
            if not stat.S_ISLNK(status.st_mode) and stat.S_IMODE(status.st_mode) != mode:
                path.chmod(mode)
                changed += 1
    return changed


def file_mode(path: Path) -> int:
    """The permission bits of a file (tests check data is readable by its owner only)."""
    return path.stat().st_mode & 0o777
