"""Emergency numbers and helplines for the country a person's time zone lies in.

The numbers live in `content/helplines.toml`, each with its source and the day it was last
confirmed there; the country of a zone comes from the time zone database's own table
(`zone.tab`, shipped with tzdata). A zone that names no country (UTC, "Etc/GMT-3") or a country
the table doesn't cover gets no numbers: the help then says to call the local emergency number.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from babel.core import get_global

from bot.render import CONTENT_DIR

HELPLINES_FILE = CONTENT_DIR / "helplines.toml"


@dataclass(frozen=True)
class Number:
    """A number to call: what it is (`kind`: "emergency", or the kind of helpline), the
    organisation's name for a helpline, where it was published and when it was confirmed."""

    kind: str
    number: str
    name: str
    source: str
    checked: date
    reverify: bool


@dataclass(frozen=True)
class Helplines:
    """The numbers of one country: its emergency number (if known) and its helplines."""

    country: str | None
    emergency: Number | None
    lines: tuple[Number, ...]

    @property
    def known(self) -> bool:
        return self.emergency is not None or bool(self.lines)


def helplines_for(zone: str | None, path: Path = HELPLINES_FILE) -> Helplines:
    """The numbers for the country of a time zone (none for a zone without a country)."""
    country = country_of(zone)
    emergency, lines = _table(path)
    return Helplines(
        country=country,
        emergency=emergency.get(country) if country else None,
        lines=lines.get(country, ()) if country else (),
    )


def country_of(zone: str | None) -> str | None:
    """The ISO 3166 country a zone lies in ("Europe/Berlin" → "DE"), if it names one; an old
    or alias name counts as the zone it stands for ("US/Eastern" → "US", "GB" → "GB")."""
    if not zone:
        return None
    canonical = _aliases().get(zone, zone)
    found = _countries().get(canonical) or _territories().get(canonical)
    # CLDR names no country as "ZZ" (UTC) or a region number ("001").
    return found if found and found != "ZZ" and found.isalpha() else None


@cache
def _aliases() -> dict[str, str]:
    """Alias zone names → the zone they stand for (CLDR's data, through Babel)."""
    return {str(k): str(v) for k, v in get_global("zone_aliases").items()}


@cache
def _territories() -> dict[str, str]:
    """Zone → territory for the zones zone.tab doesn't list (CLDR's data, through Babel)."""
    return {str(k): str(v) for k, v in get_global("zone_territories").items()}


def all_numbers(path: Path = HELPLINES_FILE) -> list[Number]:
    """Every number in the table (the tests check each has a source and a date)."""
    emergency, lines = _table(path)
    return [*emergency.values(), *(n for found in lines.values() for n in found)]


@cache
def _countries() -> dict[str, str]:
    """Zone name → country, from tzdata's zone.tab (one country per zone)."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            found[fields[2]] = fields[0]
    return found


@cache
def _table(path: Path) -> tuple[dict[str, Number], dict[str, tuple[Number, ...]]]:
    """The emergency number of each country, and each country's helplines, in file order."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    emergency: dict[str, Number] = {}
    for entry in data.get("emergency", []):
        number = _number(entry, "emergency", "")
        for country in entry["countries"]:
            emergency[country] = number
    lines: dict[str, list[Number]] = {}
    for entry in data.get("lines", []):
        lines.setdefault(entry["country"], []).append(_number(entry, entry["kind"], entry["name"]))
    return emergency, {country: tuple(found) for country, found in lines.items()}


def _number(entry: dict[str, Any], kind: str, name: str) -> Number:
    checked = entry["checked"]
    if not isinstance(checked, date):
        raise ValueError(f"helpline {entry['number']!r}: 'checked' must be a date")
    return Number(
        kind=kind,
        number=str(entry["number"]),
        name=name,
        source=str(entry["source"]),
        checked=checked,
        reverify=bool(entry["reverify"]),
    )
