"""Schema versions of a couple's data file, and the steps between them.

Every couple file carries `_meta.schema`. When the bot starts, an older file is brought up to
`SCHEMA_VERSION` by applying the steps in order and written back once; a newer file (from a later
version of Mend) stops the start-up instead of being misread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Tables = dict[str, dict[str, Any]]
Migration = Callable[[Tables], None]

SCHEMA_VERSION = 1
META_TABLE = "_meta"

# MIGRATIONS[n] turns a schema-n file into a schema-(n+1) file, in place.
MIGRATIONS: dict[int, Migration] = {}


class SchemaTooNew(RuntimeError):
    """A data file was written by a newer version of the bot."""


def schema_of(tables: Tables) -> int:
    meta = tables.get(META_TABLE, {}).get("1", {})
    return int(meta.get("schema", SCHEMA_VERSION))


def migrate(tables: Tables, *, target: int | None = None) -> bool:
    """Upgrade `tables` in place to `target` (default: current); return whether it changed."""
    target = SCHEMA_VERSION if target is None else target
    version = schema_of(tables)
    if version > target:
        raise SchemaTooNew(f"data schema {version} is newer than this bot's {target}")
    changed = META_TABLE not in tables
    while version < target:
        MIGRATIONS[version](tables)
        version += 1
        changed = True
    meta = dict(tables.get(META_TABLE, {}).get("1", {}))
    tables[META_TABLE] = {"1": {**meta, "schema": target}}
    return changed
