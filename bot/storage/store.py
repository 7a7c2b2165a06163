"""The couple store: one TinyDB file per couple chat, indexed in memory.

A write touches only the file of the couple it concerns, so its cost does not depend on how
many couples the bot serves. The lookups that cross couples (which chats a person is in, which
chat a poll or a deep-link token belongs to) are derived from the files at start-up and kept
current as couples change; they are never written separately, so they can't drift.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast, overload

from tinydb.table import Document, Table

from bot import origin
from bot.model import PERSONAL, BadShape, Couple, Partner
from bot.storage.atomic import (
    FILE_MODE,
    TEMP_SUFFIX,
    AtomicJSONStorage,
    Tables,
    sync_directory,
    write_atomically,
)
from bot.storage.keys import load_keyring
from bot.storage.migrations import META_TABLE, Upgrade, migrate
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
    `older_keys` open what they sealed before a rotation: bot.storage.keys)."""

    def __init__(
        self, data_dir: Path, *, data_key: bytes | None = None, older_keys: tuple[bytes, ...] = ()
    ) -> None:
        self.data_dir = data_dir
        self._data_key = data_key
        self._older_keys = older_keys
        self._keyring: Keyring | None = None
        self.couples_dir = data_dir / "couples"
        self._files: dict[int, AtomicJSONStorage] = {}
        self._chats_by_user: dict[int, set[int]] = {}
        self._chat_by_key: dict[str, int] = {}
        self._indexed: dict[int, tuple[frozenset[int], frozenset[str]]] = {}
        # Updates whose changes are in the files (read at start-up, added to as they happen).
        self._applied: set[int] = set()

    # -- start-up ---------------------------------------------------------------------------

    def open(self) -> None:
        """Create the directories, load the keys, clear half-written files, migrate and index
        every couple. Raises ConfigError when the data was sealed with a key that isn't given."""
        for directory in (self.data_dir, self.couples_dir):
            directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        tightened = tighten_modes(self.data_dir)
        if tightened:
            log.warning("modes made owner-only for %d files or directories of data", tightened)
        self._keyring = load_keyring(self.data_dir, self._data_key, self._older_keys)
        for leftover in self.couples_dir.glob(f"*{TEMP_SUFFIX}"):
            leftover.unlink()  # a write that never reached its rename; the old file is intact
        for path in sorted(self.couples_dir.glob("*.json")):
            self._load(path)
        self._drop_superseded()
        self._agree_on_people()

    def _load(self, path: Path) -> None:
        try:
            chat_id = int(path.stem)
            storage = AtomicJSONStorage(path)
            tables = storage.read()
            check_tables(tables, chat_id)
        except ValueError as error:  # also broken JSON and BadShape
            # Not ours, unreadable or of the wrong shape: keep it aside for a person to look
            # at, never crash on it. The error names a place in the file, never its content.
            aside = path.with_name(f"{path.name}.unreadable")
            log.error("moving unreadable data file %s aside: %s", path.name, error)
            path.rename(aside)
            return
        assert tables is not None
        if migrate(tables, self._upgrade(chat_id)):
            storage.write(tables)
        self._applied.update(tables[META_TABLE]["1"].get("updates", []))
        self._files[chat_id] = storage
        self._reindex(chat_id)

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
        for chat_id in list(self._files):
            couple = self.couple(chat_id)
            if couple and couple.migrated_from in self._files:
                self.delete(couple.migrated_from)

    def _agree_on_people(self) -> None:
        """A person in several couples has one set of personal settings (`PERSONAL`). Data
        from before they were kept together may differ: a couple joined later lacks the zone
        and the quiet hours set before, and the private chat opened from the first group.
        Each setting takes the first value one of their couples has (the private chat counts
        as open if it was opened from any of them)."""
        for user_id, chats in list(self._chats_by_user.items()):
            if len(chats) < 2:
                continue
            partners = [
                p
                for c in map(self.couple, sorted(chats))
                if c is not None and (p := c.partner(user_id)) is not None
            ]
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

    # -- reading ----------------------------------------------------------------------------

    def chat_ids(self) -> list[int]:
        return list(self._files)

    def resolve(self, chat_id: int) -> int:
        """The chat id a couple's data is kept under: a group that became a supergroup is
        found by its old id too."""
        if chat_id in self._files:
            return chat_id
        return self._chat_by_key.get(f"{MIGRATED_KEY}{chat_id}", chat_id)

    def couple(self, chat_id: int) -> Couple | None:
        chat_id = self.resolve(chat_id)
        storage = self._files.get(chat_id)
        return None if storage is None else Transaction(storage, chat_id, self.keyring).couple()

    @overload
    def records(self, chat_id: int, table: str) -> list[Record]: ...
    @overload
    def records(self, chat_id: int, table: Kind[R]) -> list[R]: ...
    def records(self, chat_id: int, table: str | Kind[Any]) -> list[Any]:
        """A couple's records of one table (none if the couple isn't known)."""
        chat_id = self.resolve(chat_id)
        storage = self._files.get(chat_id)
        if storage is None:
            return []
        return Transaction(storage, chat_id, self.keyring).table(table).all()

    def chats_of_user(self, user_id: int) -> list[int]:
        return sorted(self._chats_by_user.get(user_id, ()))

    def person(self, user_id: int) -> Partner | None:
        """Someone as the first of their couples knows them (their personal settings, such
        as language and quiet hours, are the same in every couple: `update_person`); None if
        in none."""
        first = next(iter(self.chats_of_user(user_id)), None)
        couple = self.couple(first) if first is not None else None
        return couple.partner(user_id) if couple is not None else None

    def chat_for_key(self, key: str) -> int | None:
        return self._chat_by_key.get(key)

    def chats_with_key_prefix(self, prefix: str) -> list[int]:
        """The chats that hold a lookup key starting with `prefix` (a scan: for start-up)."""
        return sorted({chat for key, chat in self._chat_by_key.items() if key.startswith(prefix)})

    def __len__(self) -> int:
        return len(self._files)

    # -- writing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, chat_id: int) -> Iterator[Transaction]:
        """Everything changed inside lands in one atomic write when the block ends."""
        chat_id = self.resolve(chat_id)
        storage = self._files.get(chat_id)
        if storage is None:
            storage = AtomicJSONStorage(self.couples_dir / f"{chat_id}.json")
        with storage.batch():
            yield Transaction(storage, chat_id, self.keyring)
            tables = storage.read()
            update_id = origin.current().update_id
            if tables is not None and (
                META_TABLE not in tables or (update_id is not None and storage.changed)
            ):
                migrate(tables, self._upgrade(chat_id))
                if update_id is not None:
                    self._mark_applied(tables, update_id)
                storage.write(tables)
        if chat_id not in self._files and storage.read() is not None:
            self._files[chat_id] = storage
        self._reindex(chat_id)

    def reseal(self, chat_id: int) -> tuple[int, int]:
        """Seal every private value of a couple's file that another key sealed with the
        current key, in one atomic write (a key rotation). Returns how many values were sealed
        again, and how many didn't open (left as they are)."""
        storage = self._files.get(chat_id)
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
        return counts["sealed"], counts["unopenable"]

    def _mark_applied(self, tables: Tables, update_id: int) -> None:
        """Record in the couple's file, with the change itself, that `update_id` made it, so
        the update is recognised if Telegram delivers it again after a crash."""
        meta = tables[META_TABLE].setdefault("1", {})
        applied = [i for i in meta.get("updates", []) if i != update_id][-(KEEP_APPLIED - 1) :]
        meta["updates"] = [*applied, update_id]
        self._applied.add(update_id)

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
        """Whether a change made while handling `update_id` is in some couple's file."""
        return update_id in self._applied

    def delete(self, chat_id: int) -> None:
        """Erase a couple's file for good."""
        storage = self._files.pop(chat_id, None)
        path = self.couples_dir / f"{chat_id}.json"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            sync_directory(self.couples_dir)
        if storage is not None:
            storage.forget()
        self._unindex(chat_id)

    def move(self, old_chat_id: int, new_chat_id: int) -> None:
        """Follow a group that became a supergroup: same data, new chat id (what is sealed is
        sealed again for it, as it is bound to its couple's chat)."""
        storage = self._files.get(old_chat_id)
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
        new_path = self.couples_dir / f"{new_chat_id}.json"
        # New file first: a crash in between leaves both, and open() drops the old one.
        write_atomically(new_path, json.dumps(tables, ensure_ascii=False, separators=(",", ":")))
        self._files[new_chat_id] = AtomicJSONStorage(new_path)
        self._reindex(new_chat_id)
        self.delete(old_chat_id)

    # -- indexes ----------------------------------------------------------------------------

    def _reindex(self, chat_id: int) -> None:
        self._unindex(chat_id)
        couple = self.couple(chat_id)
        if couple is None:
            return
        users = frozenset(p.user_id for p in couple.partners)
        keys = frozenset(couple.keys)
        for user_id in users:
            self._chats_by_user.setdefault(user_id, set()).add(chat_id)
        for key in keys:
            self._chat_by_key[key] = chat_id
        self._indexed[chat_id] = (users, keys)

    def _unindex(self, chat_id: int) -> None:
        users, keys = self._indexed.pop(chat_id, (frozenset(), frozenset()))
        for user_id in users:
            chats = self._chats_by_user.get(user_id)
            if chats is not None:
                chats.discard(chat_id)
                if not chats:
                    del self._chats_by_user[user_id]
        for key in keys:
            if self._chat_by_key.get(key) == chat_id:
                del self._chat_by_key[key]


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


def tighten_modes(root: Path) -> int:
    """Give `root`, every directory under it and every file in them the modes each write
    gives them (DIR_MODE, FILE_MODE: their owner's only), so a file restored from a backup or
    copied in with looser modes isn't left so until its next write. Links are left alone.
    Returns how many were changed."""
    changed = 0
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        found = [(here / name, DIR_MODE) for name in subdirectories]
        found += [(here / name, FILE_MODE) for name in files]
        if here == root:
            found.append((here, DIR_MODE))
        for path, mode in found:
            status = path.lstat()
            if not stat.S_ISLNK(status.st_mode) and stat.S_IMODE(status.st_mode) != mode:
                path.chmod(mode)
                changed += 1
    return changed


def file_mode(path: Path) -> int:
    """The permission bits of a file (tests check data is readable by its owner only)."""
    return path.stat().st_mode & 0o777
