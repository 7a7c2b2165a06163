"""The data key that seals private text: where it comes from, and which keys the data needs.

`MEND_DATA_KEY` (32 random bytes in base64) is the key when it is set, and the keys named in
`MEND_DATA_KEY_PREVIOUS` still open what they sealed (while a rotation re-seals it). Otherwise
the key lives in the key file `BOT_DATA_DIR/data.key` (owner-only, made on the first start).
`BOT_DATA_DIR/key-ids.json` lists the ids of the keys the data was sealed with, so a start
without one of them (a wrong MEND_DATA_KEY, a key file lost or replaced) stops at once with a
clear error, before anything is read or sealed with another key.

A rotation (`python -m bot rotate-key`, bot.storage.rotation) makes a new key the current one
(a new one in the key file; with MEND_DATA_KEY, the key it names), seals everything again with
it, one couple file at a time, and only then forgets the older keys: stopped half-way, it is
run again and goes on, since every value still opens with the key named beside it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

from bot.config import ConfigError, decode_key, encode_key
from bot.storage.atomic import sync_directory, write_atomically
from bot.storage.sealing import KEY_BYTES, Keyring, key_id

log = logging.getLogger(__name__)

KEY_FILE = "data.key"
IN_USE_FILE = "key-ids.json"
VARIABLE = "MEND_DATA_KEY"


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def load_keyring(data_dir: Path, given: bytes | None, older: tuple[bytes, ...]) -> Keyring:
    """The keys for the data in `data_dir` (created: it exists); raises ConfigError when the
    data was sealed with a key that isn't among them."""
    in_use = _in_use(data_dir)
    stored = _stored(data_dir)
    if given is not None:
        keyring = Keyring(given, [*(stored or []), *older])
    else:
        if stored is None:
            if in_use:
                raise ConfigError(
                    VARIABLE,
                    f"the key the data in {data_dir} was encrypted with (key id "
                    f"{_listed(in_use)}): the key file {data_dir / KEY_FILE} is missing; put "
                    "it back, or set MEND_DATA_KEY to that key",
                )
            stored = [new_key()]
            _write_keys(data_dir, stored)
            log.info("a new data key was made, kept in %s", KEY_FILE)
        keyring = Keyring(stored[-1], stored[:-1])
    missing = in_use - keyring.ids
    if missing:
        where = "this key's" if given is not None else f"the key in {data_dir / KEY_FILE} has"
        raise ConfigError(
            VARIABLE,
            f"the key the data in {data_dir} was encrypted with (key id {_listed(missing)}); "
            f"{where} id {keyring.current}. To change keys, name the old key in "
            "MEND_DATA_KEY_PREVIOUS and run `python -m bot rotate-key`",
        )
    if keyring.current not in in_use:
        _write_in_use(data_dir, in_use | {keyring.current})
    return keyring


def begin_rotation(data_dir: Path, given: bytes | None) -> None:
    """Make the key that seals from now on: a new one in the key file, unless a rotation
    was left unfinished (its new key goes on). With MEND_DATA_KEY, it is the key it names."""
    if given is not None:
        return
    stored = _stored(data_dir)
    if stored is not None and len(stored) == 1:
        _write_keys(data_dir, [*stored, new_key()])


def finish_rotation(data_dir: Path, keyring: Keyring, given: bytes | None) -> None:
    """Everything is sealed with the current key: the older ones are forgotten."""
    _write_in_use(data_dir, {keyring.current})
    stored = _stored(data_dir) or []
    if given is None:
        _write_keys(data_dir, [key for key in stored if key_id(key) == keyring.current])
    else:
        with contextlib.suppress(FileNotFoundError):
            (data_dir / KEY_FILE).unlink()
            sync_directory(data_dir)


def _stored(data_dir: Path) -> list[bytes] | None:
    """The key file's keys, the current one last; None if there is no key file."""
    path = data_dir / KEY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        keys = [decode_key(key) for key in json.loads(text)["keys"]]
    except (ValueError, KeyError, TypeError):
        keys = []
    if not keys or any(key is None for key in keys):
        raise ConfigError(
            VARIABLE,
            f"a readable key file {path} (it holds no 32-byte key in base64), or the key set",
        )
    return [key for key in keys if key is not None]


def _write_keys(data_dir: Path, keys: list[bytes]) -> None:
    text = json.dumps({"keys": [encode_key(key) for key in keys]})
    write_atomically(data_dir / KEY_FILE, text + "\n")


def _in_use(data_dir: Path) -> set[str]:
    try:
        return set(json.loads((data_dir / IN_USE_FILE).read_text(encoding="utf-8"))["keys"])
    except FileNotFoundError:
        return set()
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            "BOT_DATA_DIR", f"a readable {IN_USE_FILE} in {data_dir} ({error})"
        ) from None


def _write_in_use(data_dir: Path, ids: set[str]) -> None:
    write_atomically(data_dir / IN_USE_FILE, json.dumps({"keys": sorted(ids)}) + "\n")


def _listed(ids: set[str]) -> str:
    return ", ".join(sorted(ids))
