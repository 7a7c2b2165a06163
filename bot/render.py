"""The one Jinja environment: every sentence a user reads comes from `content/`.

Messages are `content/<locale>/<feature>/<name>.html.j2`, rendered with autoescape (Telegram's
HTML parse mode) and StrictUndefined, so a missing value fails loudly instead of showing a blank.
Short plain-text labels (buttons, command descriptions) live in `labels.toml` files: one at
`content/<locale>/` and one in any feature folder that needs its own.
A locale that lacks a template or label falls back to English.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
_LOCALE: ContextVar[str] = ContextVar("locale", default="en")
DEFAULT_LOCALE = "en"
TEMPLATE_SUFFIX = ".html.j2"
ELLIPSIS = "…"
TYPED_SHOWN = 40  # characters of an unreadable answer repeated back to the person
ALERT_LIMIT = 200  # characters Telegram shows in the alert a button press answers with
ALERT_VALUE = 32  # characters of a name (or anything typed) inside an alert
SHORT_NAME = 24  # characters of a name repeated down a long list (a name can have 64)


class Renderer:
    """Renders messages and labels in a locale, with English as the fallback."""

    def __init__(self, content_dir: Path = CONTENT_DIR) -> None:
        self.content_dir = content_dir
        self.locales = content_locales(content_dir)
        self.env = Environment(
            loader=FileSystemLoader(content_dir),
            # Templates change with a new release, which starts a new process: no look at each
            # template's file on every message.
            auto_reload=False,
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["clock"] = _clock
        self.env.filters["when"] = _when
        self.env.filters["day_clock"] = _day_clock
        self.env.filters["date"] = _date
        self.env.filters["weekday"] = _weekday
        self.env.filters["shorten"] = shorten
        self.env.filters["short_name"] = short_name
        self.env.filters["possessive"] = _possessive
        self._labels = {locale: _load_labels(content_dir / locale) for locale in self.locales}

    def locale_for(self, *candidates: str | None) -> str:
        """The first supported locale among `candidates` (IETF tags like "de-AT" are cut)."""
        for candidate in candidates:
            if candidate:
                short = candidate.split("-")[0].split("_")[0].lower()
                if short in self.locales:
                    return short
        return DEFAULT_LOCALE

    def message(self, locale: str, name: str, /, **context: Any) -> str:
        """Render `content/<locale>/<name>.html.j2` (falling back to English) as Telegram HTML."""
        template = self.env.get_or_select_template(
            [f"{locale}/{name}{TEMPLATE_SUFFIX}", f"{DEFAULT_LOCALE}/{name}{TEMPLATE_SUFFIX}"]
        )
        # The filters read the locale from here, so macros imported without context (which
        # Jinja compiles once, not per render) can format times too.
        token = _LOCALE.set(locale)
        try:
            return template.render(locale=locale, **context).strip()
        finally:
            _LOCALE.reset(token)

    def label(self, locale: str, key: str, /, **values: Any) -> str:
        """A short plain-text label such as a button; `{name}` placeholders are filled in."""
        return self.raw_label(locale, key).format_map(_Strict(values))

    def alert(self, locale: str, key: str, /, **values: Any) -> str:
        """A label shown as a button press's alert: names and other values in it are shortened
        (with an ellipsis) so that two long names still fit in Telegram's 200 characters."""
        short = {
            name: " & ".join(shorten(v, ALERT_VALUE) for v in value)
            if isinstance(value, list | tuple)
            else shorten(value, ALERT_VALUE)
            if isinstance(value, str)
            else value
            for name, value in values.items()
        }
        return shorten(self.label(locale, key, **short), ALERT_LIMIT)

    def raw_label(self, locale: str, key: str) -> str:
        """A label as written in labels.toml, placeholders unfilled."""
        text = self._labels.get(locale, {}).get(key) or self._labels[DEFAULT_LOCALE].get(key)
        if text is None:
            raise KeyError(f"no label {key!r} in content/{DEFAULT_LOCALE}/labels.toml")
        return text

    def label_keys(self, locale: str = DEFAULT_LOCALE) -> Iterable[str]:
        return self._labels.get(locale, {}).keys()

    def template_names(self) -> list[str]:
        """Every message template by name (without locale and suffix), from all locales."""
        names: set[str] = set()
        for locale in self.locales:
            base = self.content_dir / locale
            for path in base.rglob(f"*{TEMPLATE_SUFFIX}"):
                relative = path.relative_to(base).as_posix()
                if not relative.startswith("_"):
                    names.add(relative.removesuffix(TEMPLATE_SUFFIX))
        return sorted(names)


def content_locales(content_dir: Path = CONTENT_DIR) -> tuple[str, ...]:
    """The locales Mend speaks: a two-letter folder each under `content/`, English first."""
    return tuple(
        sorted(
            (p.name for p in content_dir.iterdir() if p.is_dir() and len(p.name) == 2),
            key=lambda name: (name != DEFAULT_LOCALE, name),
        )
    )


def shorten(text: str, most: int = TYPED_SHOWN) -> str:
    """`text` whole if it has at most `most` characters, else its start and an ellipsis, so that
    a cut always shows (what someone typed, repeated back; a name in an alert)."""
    if len(text) <= most:
        return text
    return text[: most - len(ELLIPSIS)].rstrip() + ELLIPSIS


# German names ending in these sounds take an apostrophe, not an s: "Jonas’ Wunsch", "Max’ Notiz".
_GERMAN_SIBILANTS = ("s", "ß", "x", "z", "ce")


def _possessive(name: str) -> Markup:
    """A name that owns something, in the reader's language: "Sam's" in English; in German
    "Sams", but "Jonas’", "Max’", "Fritz’" (every possessive of a name is built here). The
    name is escaped; the ending is not markup to escape."""
    if _LOCALE.get() == "de":
        ending = "’" if name.lower().endswith(_GERMAN_SIBILANTS) else "s"
    else:
        ending = "'s"
    return escape(name) + Markup(ending)  # noqa: S704 (a constant, never what someone typed)


def short_name(name: str) -> str:
    """A name as a long list repeats it (each boundary's, each answer's): at most SHORT_NAME
    characters, so that ten items with two long names still fit in one message."""
    return shorten(name, SHORT_NAME)


class _Strict(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        raise KeyError(f"label placeholder {{{key}}} has no value")


def _load_labels(locale_dir: Path) -> dict[str, str]:
    """Every labels.toml of a locale (one at the top, one per feature folder), merged."""
    labels: dict[str, str] = {}
    for path in sorted(locale_dir.rglob("labels.toml")):
        for key, text in _flatten(tomllib.loads(path.read_text(encoding="utf-8"))):
            if key in labels:
                raise ValueError(f"label {key!r} is defined twice ({path})")
            labels[key] = text
    return labels


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", str(value)


@cache
def zone(name: str | None) -> tzinfo:
    """A partner's zone; UTC until they have set one."""
    return ZoneInfo(name or "UTC")


def _in_zone(moment: datetime, zone_name: str | None) -> datetime:
    return moment.astimezone(zone(zone_name))


# One time format in every language: the 24-hour clock ("19:30", never "7:30 PM").
CLOCK = "HH:mm"
# A moment this close ahead is named by its weekday; further off, by its date.
WEEKDAY_AHEAD = timedelta(days=6)


def _clock(moment: datetime, zone_name: str | None = None) -> str:
    """19:30, in a partner's zone (a time of day beside its date, or "now")."""
    return format_datetime(_in_zone(moment, zone_name), CLOCK, locale=_LOCALE.get())


def _when(moment: datetime, zone_name: str | None = None) -> str:
    """When something happens, as the partner reads it: "19:30" today, "Tuesday 03:31" on
    another day of the coming week, "24 December 2026, 19:30" further off. A deadline that
    isn't today always names its day."""
    local = _in_zone(moment, zone_name)
    today = datetime.now(UTC).astimezone(local.tzinfo).date()
    if local.date() == today:
        return _clock(moment, zone_name)
    if today < local.date() <= today + WEEKDAY_AHEAD:
        return _day_clock(moment, zone_name)
    return f"{_date(moment, zone_name)}, {_clock(moment, zone_name)}"


def _day_clock(moment: datetime, zone_name: str | None = None) -> str:
    """Sunday 19:30, in a partner's zone and the reader's locale."""
    local = _in_zone(moment, zone_name)
    return format_datetime(local, f"EEEE {CLOCK}", locale=_LOCALE.get())


def _date(moment: datetime, zone_name: str | None = None) -> str:
    """24 December 2026, in a partner's zone and the reader's locale."""
    return format_date(_in_zone(moment, zone_name), "long", locale=_LOCALE.get())


def _weekday(day: int) -> str:
    """The name of a weekday counted from Monday = 0."""
    return weekday_name(day, _LOCALE.get())


def weekday_name(day: int, locale: str) -> str:
    """The name of a weekday (Monday = 0) in `locale`, from its calendar."""
    return format_date(datetime(2024, 1, 1 + day), "EEEE", locale=locale)
