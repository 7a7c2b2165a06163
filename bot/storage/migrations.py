"""Schema versions of a couple's data file, and the steps between them.

Every couple file carries `_meta.schema`. When the bot starts, an older file is brought up to
`SCHEMA_VERSION` by applying the steps in order and written back once; a newer file (from a later
version of Mend) stops the start-up instead of being misread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

Tables = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Upgrade:
    """What a step may need besides the file itself."""

    # Seal, with the data key, the private values of the file that aren't sealed yet (the
    # fields each table's Kind declares private, bound to this couple: bot.storage.sealing).
    seal_plain: Callable[[Tables], None]


Migration = Callable[[Tables, Upgrade], None]

SCHEMA_VERSION = 3
META_TABLE = "_meta"


def _away_with_the_partner(tables: Tables, upgrade: Upgrade) -> None:
    """Schema 2: away-mode is a personal setting kept with the partner, not with their rituals
    (the check-ins and the letters respect it too)."""
    couple = tables.get("couple", {}).get("1", {})
    partners = {p.get("user_id"): p for p in couple.get("partners", [])}
    for record in tables.get("ritual_settings", {}).values():
        until = record.pop("away_until", None)
        partner = partners.get(record.get("partner"))
        if partner is None or not isinstance(until, str):
            continue
        try:
            date.fromisoformat(until)
        except ValueError:
            continue  # not a day: dropped, never a reason to set the whole file aside
        partner["away_until"] = until


def _private_text_sealed(tables: Tables, upgrade: Upgrade) -> None:
    """Schema 3: what people wrote in private (journal, worries, reflections, letters,
    drafts, ...) is sealed at rest, no longer plain JSON."""
    upgrade.seal_plain(tables)


# MIGRATIONS[n] turns a schema-n file into a schema-(n+1) file, in place.
MIGRATIONS: dict[int, Migration] = {1: _away_with_the_partner, 2: _private_text_sealed}


class SchemaTooNew(RuntimeError):
    """A data file was written by a newer version of the bot."""


def schema_of(tables: Tables) -> int:
    meta = tables.get(META_TABLE, {}).get("1", {})
    return int(meta.get("schema", SCHEMA_VERSION))


def migrate(tables: Tables, upgrade: Upgrade, *, target: int | None = None) -> bool:
    """Upgrade `tables` in place to `target` (default: current); return whether it changed."""
    target = SCHEMA_VERSION if target is None else target
    version = schema_of(tables)
    if version > target:
        raise SchemaTooNew(f"data schema {version} is newer than this bot's {target}")
    changed = META_TABLE not in tables
    while version < target:
        MIGRATIONS[version](tables, upgrade)
        version += 1
        changed = True
    meta = dict(tables.get(META_TABLE, {}).get("1", {}))
    tables[META_TABLE] = {"1": {**meta, "schema": target}}
    return changed
