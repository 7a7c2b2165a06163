"""Private text at rest: what a person wrote in private is sealed in the couple's file.

A table's `Kind` names its private fields and whose they are: `Kind[Worry]("worries",
private=("text",), owner="author")`, or, in a map by user id whose key is the owner,
`private=("reflections.*.texts",)`. The store seals those fields when a record is written and
opens them when it is read, so the features only ever see plain values.

A sealed value is ``sealed:<key id>:<base64 of nonce and ciphertext>``: the value's JSON,
encrypted with AES-256-GCM under a random 96-bit nonce, with the couple's chat id, the table,
the record, the field and its owner as associated data. Moved to another record, person or
couple, it no longer opens. The key id names the key that sealed it, so after a key rotation
every value opens with the key it was sealed with until it is sealed again with the new one.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, random per value
SEALED = re.compile(r"^sealed:(?P<key>[0-9a-f]{12}):(?P<data>[A-Za-z0-9+/]+={0,2})$")
Tables = dict[str, dict[str, Any]]


class Unopenable(ValueError):
    """A private value that doesn't open as what it claims to be: changed on disk, copied
    from another record, person or couple, sealed with a key that is gone, or not sealed at
    all. The message says which, never what the value holds."""


def key_id(key: bytes) -> str:
    """A key's name, kept with what it sealed (a digest: it tells nothing of the key)."""
    return hashlib.sha256(b"mend data key\x00" + key).hexdigest()[:12]


def sealed_with(value: Any) -> str | None:
    """The id of the key that sealed `value`; None if it isn't a sealed value."""
    match = SEALED.match(value) if isinstance(value, str) else None
    return match["key"] if match else None


class Keyring:
    """The data keys: the current one seals, every one opens what it sealed."""

    def __init__(self, current: bytes, older: Iterable[bytes] = ()) -> None:
        keys = [*older, current]
        if any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"a data key is {KEY_BYTES} bytes")
        self.current = key_id(current)
        self._ciphers = {key_id(key): AESGCM(key) for key in keys}

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def seal(self, value: Any, bound: Binding) -> str:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = self._ciphers[self.current].encrypt(nonce, plain, bound.data)
        data = binascii.b2a_base64(nonce + sealed, newline=False).decode("ascii")
        return f"sealed:{self.current}:{data}"

    def open(self, value: Any, bound: Binding) -> Any:
        match = SEALED.match(value) if isinstance(value, str) else None
        if match is None:
            raise Unopenable("a private field holds a value that was never sealed")
        cipher = self._ciphers.get(match["key"])
        if cipher is None:
            raise Unopenable(f"a private field was sealed with key {match['key']}, not known")
        raw = binascii.a2b_base64(match["data"])
        try:
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound.data)
        except InvalidTag:
            raise Unopenable(
                "a private field does not open as this one: changed, or copied from "
                "another record, person or couple"
            ) from None
        return json.loads(plain.decode("utf-8"))


class Place(NamedTuple):
    """Where a record is: its couple's chat, its table, its id."""

    chat_id: int
    table: str
    record_id: int


class Binding(NamedTuple):
    """What a private value is bound to (sealed with as associated data): the place of its
    record, the field (its path in the record) and whose it is."""

    place: Place
    path: tuple[str, ...]
    owner: Any

    @property
    def data(self) -> bytes:
        place = self.place
        parts = ("mend-v1", str(place.chat_id), place.table, str(place.record_id))
        whose = "" if self.owner is None else str(self.owner)
        return "\x1f".join((*parts, ".".join(self.path), whose)).encode()

    def in_chat(self, chat_id: int) -> Binding:
        """The same value in the same record, kept under another chat id."""
        return self._replace(place=self.place._replace(chat_id=chat_id))


# What becomes of one private value: given the value and what it is bound to.
Leaf = Callable[[Any, Binding], Any]


@dataclass(frozen=True)
class Private:
    """A table's private fields: paths into a record (``*``: any key of a map by user id,
    which is then the owner) and, for the others, the field naming the owner."""

    paths: tuple[tuple[str, ...], ...]
    owner: str | None

    @property
    def fields(self) -> frozenset[str]:
        """The record's top-level fields that are, or hold, private values."""
        return frozenset(path[0] for path in self.paths)

    def apply(self, doc: Mapping[str, Any], place: Place, leaf: Leaf) -> dict[str, Any]:
        """`doc` with `leaf` applied to each private value in it (None stays None); the
        containers on the way are copied, never changed in place."""
        owner = doc.get(self.owner) if self.owner is not None else None
        changed = dict(doc)
        for path in self.paths:
            if path[0] in changed:
                changed[path[0]] = _apply(
                    changed[path[0]], path[1:], (path[0],), owner, place, leaf
                )
        return changed


def _apply(
    value: Any,
    rest: tuple[str, ...],
    seen: tuple[str, ...],
    owner: Any,
    place: Place,
    leaf: Leaf,
) -> Any:
    if value is None:
        return None
    if not rest:
        return leaf(value, Binding(place, seen, owner))
    if not isinstance(value, dict):
        return value  # not the shape declared: nothing private in it
    head, tail = rest[0], rest[1:]
    if head == "*":
        return {k: _apply(v, tail, (*seen, k), k, place, leaf) for k, v in value.items()}
    if head not in value:
        return value
    return {**value, head: _apply(value[head], tail, (*seen, head), owner, place, leaf)}


# Every table's private fields, declared by its Kind (bot.storage.store) where its records'
# shape is: the store seals and opens them, the migrations and a key rotation find them here.
PRIVATE: dict[str, Private] = {}


def declare(table: str, private: Iterable[str], owner: str | None) -> None:
    paths = tuple(tuple(path.split(".")) for path in private)
    if not paths:
        return
    if owner is None and any("*" not in path for path in paths):
        raise ValueError(f"{table}: a private field needs its owner (a field, or a map's key)")
    declared = Private(paths, owner)
    if PRIVATE.setdefault(table, declared) != declared:
        raise ValueError(f"{table}: its private fields are declared twice, differently")


def each_private(
    tables: Tables, chat_id: int, leaf: Leaf, only: Callable[[Any], bool] = lambda v: True
) -> None:
    """Apply `leaf` to every private value in a couple's file (in place, table by table),
    where `only` says so; the rest stays as it is."""

    def chosen(value: Any, bound: Binding) -> Any:
        return leaf(value, bound) if only(value) else value

    for table, private in PRIVATE.items():
        for record_id, doc in tables.get(table, {}).items():
            place = Place(chat_id, table, int(record_id))
            tables[table][record_id] = private.apply(doc, place, chosen)
