"""The one reader of what people type for clock times, weekdays, dates, durations and languages.

"19:00", "7pm", "19 Uhr", "halb 8", "noon"; "sunday", "So", "Sonnabend"; "24.12.", "3. März",
"tomorrow"; "45", "1h30", "1.5h", "90 Minuten"; "de", "German", "Deutsch". Every feature reads
these kinds of input through here, so two commands never read the same words differently.

Day, month and language names come from Babel's locale data for every locale Mend speaks (a
folder under `content/`); the words Babel doesn't give ("Sonnabend", "noon", "Uhr", "tomorrow",
"Stunden", "automatisch") are in `content/<locale>/reading.toml`. Every locale's words are
read whatever the chat's language, since people mix languages; a word that two locales read
differently is not read at all rather than guessed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from babel import Locale
from babel.dates import get_day_names, get_month_names

from bot.render import CONTENT_DIR, content_locales

AUTO = "auto"  # the language of the person's Telegram app
MAX_TYPED = 64  # longer input isn't one of these, and isn't worth the regular expressions
MINUTES_AN_HOUR = 60
MINUTES_A_DAY = 24 * MINUTES_AN_HOUR
_CONTEXTS: tuple[Literal["format", "stand-alone"], ...] = ("format", "stand-alone")
_SHORTEST_DAY_PREFIX = 2  # "so", "th"
_SHORTEST_MONTH_PREFIX = 3  # "dez", "sep"
_AFTER_HOUR = ("am", "pm", "24h")  # a half of the day, or the hour as written

# An hour, its minutes after ":" "." "h" or nothing ("1930"), then words without digits.
_CLOCK = re.compile(r"(\d{1,2})(?:[:.h]?(\d{2}))?\s*(\D*)")
_ISO = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?$")
_DOTTED = re.compile(r"^(\d{1,2})[.-](\d{1,2})(?:[.-](\d{2}|\d{4})?)?\.?$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$")
_RANGE_MARK = re.compile(r"\s*[-–—]\s*")
_DURATION_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+|\S")
_SENTENCE_BREAK = re.compile(r"[\s,;/&+]+")
_LONGEST_CLOCK = 4  # words: "um halb 8 abends"

_Value = TypeVar("_Value")


class Reader:
    """Reads the four kinds of input with the words of every locale under `content_dir`."""

    def __init__(self, content_dir: Path = CONTENT_DIR) -> None:
        locales = content_locales(content_dir)
        data = [_load(content_dir / locale / "reading.toml") for locale in locales]
        self.weekdays = _merge(
            [_day_names(locale) for locale in locales]
            + [_ints(_table(d, "weekday", "names")) for d in data]
        )
        self.months = _merge(
            [_month_names(locale) for locale in locales]
            + [_ints(_table(d, "month", "names")) for d in data]
        )
        self.relative_days = _merge(_ints(_table(d, "date", "relative")) for d in data)
        self.named_times = _merge(_strings(_table(d, "clock", "named")) for d in data)
        self.after_hour = _merge(_strings(_table(d, "clock", "after")) for d in data)
        self.before_hour = _merge(_ints(_table(d, "clock", "before_hour")) for d in data)
        self.units = _merge(_ints(_table(d, "duration", "units")) for d in data)
        self.leads = _words(data, "clock", "before")
        self.range_words = _words(data, "clock", "range")
        self.day_endings = _words(data, "weekday", "endings")
        self.not_days_in_sentences = _words(data, "weekday", "not_in_sentences")
        self.joiners = _words(data, "duration", "joiners")
        self.duration_fillers = _words(data, "duration", "fillers")
        self.duration_numbers = _merge(
            {word: Fraction(str(value)) for word, value in _table(d, "duration", "numbers").items()}
            for d in data
        )
        self.languages = _merge(
            [_language_names(locale, locales) for locale in locales]
            + [dict.fromkeys(_words([d], "language", "auto"), AUTO) for d in data]
        )
        unknown = {v for v in self.after_hour.values() if v not in (*_AFTER_HOUR, None)}
        if unknown:
            raise ValueError(f"clock.after values must be one of {_AFTER_HOUR}, not {unknown}")
        ordinal = _alternatives(_words(data, "date", "ordinals"))
        between = _alternatives(_words(data, "date", "between"))
        self._day_month = re.compile(
            rf"^(\d{{1,2}})(?:{ordinal})?\.?\s*(?:(?:{between})\s+)?"
            r"([^\W\d_]+)\.?,?(?:\s+(\d{4}))?$"
        )
        self._month_day = re.compile(
            rf"^([^\W\d_]+)\.?\s+(\d{{1,2}})(?:{ordinal})?\.?,?(?:\s+(\d{{4}}))?$"
        )

    def clock(self, text: str) -> str | None:
        """See `read_clock`."""
        words = _typed(text).split()
        while words and words[0] in self.leads:
            words = words[1:]
        if (phrase := " ".join(words)) in self.named_times:
            return self.named_times[phrase]
        before = self.before_hour.get(words[0], 0) if words else 0  # "halb 8"
        if before is None:
            return None
        match = _CLOCK.fullmatch(" ".join(words[1:] if before else words))
        if match is None or (before and match[2]):
            return None
        hour, minute = int(match[1]), int(match[2] or 0)
        halves = {self.after_hour.get(word) for word in match[3].replace(".", "").split()}
        halves.discard("24h")
        if None in halves or len(halves) > 1:
            return None  # a word that isn't a half of the day, or both halves
        if halves:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if halves == {"pm"} else 0)
        total = hour * MINUTES_AN_HOUR + minute - before
        if hour > 23 or minute > 59 or not 0 <= total < MINUTES_A_DAY:
            return None
        return f"{total // MINUTES_AN_HOUR:02d}:{total % MINUTES_AN_HOUR:02d}"

    def clock_range(self, text: str) -> tuple[str, str] | None:
        """See `read_clock_range`."""
        typed = _typed(text)
        parts = _RANGE_MARK.split(typed)
        if len(parts) != 2:
            words = typed.split()
            marks = [i for i, word in enumerate(words) if word in self.range_words]
            if len(marks) != 1:
                return None
            parts = [" ".join(words[: marks[0]]), " ".join(words[marks[0] + 1 :])]
        start, end = self.clock(parts[0]), self.clock(parts[1])
        if start is None or end is None or start == end:
            return None
        return start, end

    def language(self, text: str) -> str | None:
        """See `read_language`."""
        return self.languages.get(_typed(text))

    def weekday(self, text: str) -> int | None:
        """See `read_weekday`."""
        word = _typed(text).strip(".,")
        if word in self.weekdays:
            return self.weekdays[word]
        for ending in self.day_endings:
            stem = word.removesuffix(ending)
            if stem != word and self.weekdays.get(stem) is not None:
                return self.weekdays[stem]
        return _by_prefix(self.weekdays, word, _SHORTEST_DAY_PREFIX)

    def month(self, text: str) -> int | None:
        """A month (January = 1) by name or abbreviation in any locale, or a prefix of at
        least three letters that only one month's names begin with."""
        word = _typed(text).strip(".,")
        if word in self.months:
            return self.months[word]
        return _by_prefix(self.months, word, _SHORTEST_MONTH_PREFIX)

    def day(self, text: str, earliest: date) -> date | None:
        """See `read_date`."""
        typed = _typed(text)
        if typed in self.relative_days:
            days = self.relative_days[typed]
            return None if days is None else earliest + timedelta(days=days)
        year: int | None
        month: int | None
        if match := _ISO.match(typed):
            year, month, day = (int(g) for g in match.groups())
            return _valid(year, month, day)
        if match := _DOTTED.match(typed):
            day, month, year = int(match[1]), int(match[2]), _year(match[3])
        elif match := _SLASHED.match(typed):
            first, second, year = int(match[1]), int(match[2]), _year(match[3])
            # Day first, as most of the world writes it, unless only month-first makes sense.
            day, month = (second, first) if second > 12 >= first else (first, second)
        elif match := self._day_month.match(typed):
            day, month, year = int(match[1]), self.month(match[2]), _year(match[3])
        elif match := self._month_day.match(typed):
            day, month, year = int(match[2]), self.month(match[1]), _year(match[3])
        else:
            return None
        if month is None:
            return None
        if year is not None:
            return _valid(year, month, day)
        for candidate_year in (earliest.year, earliest.year + 1, earliest.year + 4):
            found = _valid(candidate_year, month, day)
            if found is not None and found >= earliest:
                return found
        return None

    def duration(self, text: str) -> int | None:
        """See `read_duration`."""
        typed = _typed(text)
        tokens = [t for t in _DURATION_TOKEN.findall(typed) if t not in self.duration_fillers]
        # Number words ("an hour", "half an hour", "eine halbe Stunde"): each multiplies the
        # next, so "half an hour" is ½ × 1 hour.
        said: list[str] = []
        factor: Fraction | None = None
        for token in tokens:
            number = self.duration_numbers.get(token)
            if number is not None:
                factor = (factor or Fraction(1)) * number
                continue
            if factor is not None:
                said.append(str(float(factor)) if token[0].isalpha() else "")
                factor = None
            said.append(token)
        if factor is not None or "" in said:
            return None  # a number word with no unit after it ("an hour or two" isn't read)
        tokens = said
        terms: list[tuple[Fraction, int | None]] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if terms and token in self.joiners:
                index += 1
                continue
            if not token[0].isdigit():
                return None
            unit = None
            if index + 1 < len(tokens) and tokens[index + 1][0].isalpha():
                unit = self.units.get(tokens[index + 1])
                if unit is None:
                    return None
                index += 1
                if index + 1 < len(tokens) and tokens[index + 1] == ".":  # "Std."
                    index += 1
            terms.append((Fraction(token.replace(",", ".")), unit))
            index += 1
        return _minutes(terms)

    def times_and_days(self, text: str) -> tuple[list[str], list[int]] | None:
        """See `read_times_and_days`."""
        words = [w.strip(".:!?()") for w in _SENTENCE_BREAK.split(text.casefold())]
        words = [w for w in words if w]
        times: set[str] = set()
        days: set[int] = set()
        index = 0
        while index < len(words):
            for length in range(min(_LONGEST_CLOCK, len(words) - index), 0, -1):
                if (at := self.clock(" ".join(words[index : index + length]))) is not None:
                    times.add(at)
                    index += length
                    break
            else:
                word = words[index]
                day = None if word in self.not_days_in_sentences else self.weekday(word)
                if day is not None:
                    days.add(day)
                index += 1
        return (sorted(times), sorted(days)) if times else None


@cache
def _reader() -> Reader:
    return Reader()


def read_clock(text: str) -> str | None:
    """A time of day as "HH:MM" from "19:00", "19.30", "1930", "7", "7pm", "7:30 p.m.",
    "19 Uhr", "7 Uhr abends", "halb 8", "at 7pm", "noon", "Mittag", "midnight".
    None if it isn't one time of day (or it names both halves of the day)."""
    return _reader().clock(text)


def read_clock_range(text: str) -> tuple[str, str] | None:
    """Two times of day from "22:00-07:00", "10pm – 7am", "23 to 8", "22 bis 7", as
    ("HH:MM", "HH:MM"); None if it isn't two different times joined by a dash or a word."""
    return _reader().clock_range(text)


def read_weekday(text: str) -> int | None:
    """A weekday (Monday = 0) from its name or abbreviation in any locale ("Sunday", "sun",
    "So.", "Sonnabend", "sundays"), or from a prefix of at least two letters that only one
    day's names begin with ("thurs", "sonnt"). None if unknown or ambiguous ("s", "son")."""
    return _reader().weekday(text)


def read_date(text: str, earliest: date) -> date | None:
    """A calendar day from "2026-12-24", "24.12.", "24.12.2026", "12/24", "24 Dec",
    "December 24th", "3. März", "tomorrow", "übermorgen". Without a year, the first such day
    on or after `earliest`; "today" and "tomorrow" count from it. None if it isn't a day."""
    return _reader().day(text, earliest)


def read_duration(text: str) -> int | None:
    """A length in whole minutes from "45", "45m", "45 min", "1h", "1 h 30", "1h30", "1.5h",
    "1,5 Stunden", "90 Minuten", "2 hours and 15 minutes", and in words: "an hour", "half an
    hour", "eine halbe Stunde" ("please" and such are skipped). A bare number is minutes (after
    hours too: "1 h 30"). None if it isn't a length or isn't a whole number of minutes."""
    return _reader().duration(text)


def read_language(text: str) -> str | None:
    """A language Mend speaks, as its code, from its code or its name in any of them ("de",
    "German", "deutsch", "Englisch"); AUTO from "auto" or "automatisch" (follow the Telegram
    app). None if it isn't one of them."""
    return _reader().language(text)


def read_times_and_days(text: str) -> tuple[list[str], list[int]] | None:
    """The clock times ("HH:MM") and weekdays (Monday = 0) named anywhere in a sentence, each
    sorted once: "Mon Thu 19:30", "8am, 9 pm", "Di und Fr um 20 Uhr". Other words are
    skipped, and so are words that only look like days in running text ("die", "we").
    None if the sentence names no time at all."""
    return _reader().times_and_days(text)


# -- the words --------------------------------------------------------------------------------


def _load(path: Path) -> Mapping[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """A table of reading.toml by its path, its words casefolded; empty where it is missing."""
    node: Any = data
    for key in keys:
        node = node.get(key, {}) if isinstance(node, Mapping) else {}
    if not isinstance(node, Mapping):
        raise ValueError(f"{'.'.join(keys)} in reading.toml must be a table")
    return {str(word).casefold(): value for word, value in node.items()}


def _ints(table: Mapping[str, Any]) -> dict[str, int]:
    return {word: int(value) for word, value in table.items()}


def _strings(table: Mapping[str, Any]) -> dict[str, str]:
    return {word: str(value) for word, value in table.items()}


def _words(data: Iterable[Mapping[str, Any]], *keys: str) -> frozenset[str]:
    """A list of words of reading.toml, from every locale."""
    *path, last = keys
    return frozenset(str(word).casefold() for d in data for word in _table(d, *path).get(last, []))


def _day_names(locale: str) -> dict[str, int]:
    """Babel's names of the days (Monday = 0) in a locale: wide, abbreviated and short (its
    narrow ones are single letters: "S" is Saturday and Sunday)."""
    widths: tuple[Literal["wide", "abbreviated", "short"], ...] = ("wide", "abbreviated", "short")
    return _as_typed(get_day_names(w, c, locale) for w in widths for c in _CONTEXTS)


def _language_names(locale: str, spoken: Iterable[str]) -> dict[str, str]:
    """Babel's names, in `locale`, of the languages Mend speaks, and their codes."""
    names = {}
    for code in spoken:
        names[code] = code
        name = Locale.parse(code).get_language_name(locale)
        if name:
            names[name.casefold()] = code
    return names


def _month_names(locale: str) -> dict[str, int]:
    """Babel's names of the months (January = 1) in a locale: wide and abbreviated."""
    widths: tuple[Literal["wide", "abbreviated"], ...] = ("wide", "abbreviated")
    return _as_typed(get_month_names(w, c, locale) for w in widths for c in _CONTEXTS)


def _as_typed(tables: Iterable[Mapping[Any, Any]]) -> dict[str, int]:
    """Names as people type them: casefolded, without an abbreviation's dot ("So." → "so")."""
    return {str(name).casefold().rstrip("."): int(n) for t in tables for n, name in t.items()}


def _merge(tables: Iterable[Mapping[str, _Value]]) -> dict[str, _Value | None]:
    """One table from every locale's; a word that two tables read differently maps to None."""
    merged: dict[str, _Value | None] = {}
    for table in tables:
        for word, value in table.items():
            merged[word] = value if merged.get(word, value) == value else None
    return merged


def _alternatives(words: Iterable[str]) -> str:
    """A regular expression alternation of literal words; one that never matches if empty."""
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True)) or "(?!)"


# -- reading ----------------------------------------------------------------------------------


def _typed(text: str) -> str:
    """What was typed, casefolded with its spaces collapsed; empty if far too long to be one
    of these."""
    typed = " ".join(text.casefold().split())
    return typed if len(typed) <= MAX_TYPED else ""


def _by_prefix(table: Mapping[str, int | None], word: str, shortest: int) -> int | None:
    """The one value of every name `word` begins, if it has at least `shortest` letters."""
    if len(word) < shortest:
        return None
    found = {value for name, value in table.items() if name.startswith(word)}
    return found.pop() if len(found) == 1 else None


def _minutes(terms: list[tuple[Fraction, int | None]]) -> int | None:
    """Minutes from (number, minutes in its unit) terms, larger units first; a bare number is
    minutes when it stands alone or last after hours."""
    if not terms:
        return None
    total = Fraction(0)
    previous_unit: int | None = None
    for position, (number, unit) in enumerate(terms):
        if unit is None:
            alone = len(terms) == 1
            after_hours = position == len(terms) - 1 and previous_unit == MINUTES_AN_HOUR
            if not (alone or after_hours):
                return None
            unit = 1
        if previous_unit is not None and unit >= previous_unit:
            return None
        total += number * unit
        previous_unit = unit
    return int(total) if total.denominator == 1 else None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    return 2000 + int(text) if len(text) == 2 else int(text)


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
