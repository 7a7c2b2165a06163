"""Every template and label renders in every locale within Telegram's limits, with sample data
and with every name at its longest: messages, captions, alerts, poll questions and options."""

from __future__ import annotations

import re
import string
import zoneinfo
from pathlib import Path

import pytest

from bot.app import build_application, services_of
from bot.config import Settings
from bot.features.checkins import SCORES, STATEMENTS
from bot.render import DEFAULT_LOCALE, ELLIPSIS, Renderer
from bot.sandbox.html import parse_html, utf16_len
from tests.samples import SAMPLES
from tests.samples.foundation import NAME

MESSAGE_LIMIT = 4096  # characters after entity parsing
CAPTION_LIMIT = 1024
ALERT_LIMIT = 200  # answerCallbackQuery text
POLL_QUESTION_LIMIT = 300
POLL_OPTION_LIMIT = 100
BUTTON_LIMIT = 64  # our own limit: longer labels wrap badly on phones
CAPTIONS = {"privacy/export_caption", "progress/caption"}
# A Telegram first name at its longest (64 characters), markup and all.
LONGEST_NAME = ('Maximiliane <b>&amp;</b> "Alexandra" ' * 2)[:64]
POLL_QUESTIONS = ("checkins.poll_question", "checkins.checklist_question")
POLL_OPTIONS = (
    *(f"checkins.score_{n}" for n in range(1, SCORES + 1)),
    *(f"checkins.statement_{key}" for key in (*STATEMENTS, "none")),
)

renderer = Renderer()


def cases() -> list[tuple[str, str, int]]:
    return [
        (locale, name, index)
        for locale in renderer.locales
        for name in renderer.template_names()
        for index in range(len(SAMPLES.get(name, [{}])))
    ]


def test_every_template_has_samples() -> None:
    missing = sorted(set(renderer.template_names()) - set(SAMPLES))
    assert not missing, f"add samples (tests/samples/<feature>.py) for: {missing}"
    unused = sorted(set(SAMPLES) - set(renderer.template_names()))
    assert not unused, f"samples for templates that no longer exist: {unused}"


def at_their_longest(value: object) -> object:
    """A sample with every name (NAME) at Telegram's longest."""
    if value == NAME:
        return LONGEST_NAME
    if isinstance(value, list | tuple):
        return [at_their_longest(v) for v in value]
    if isinstance(value, dict):
        return {k: at_their_longest(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("locale", "name", "index"), cases())
def test_template_renders_within_limits(locale: str, name: str, index: int) -> None:
    sample = SAMPLES[name][index]
    limit = CAPTION_LIMIT if name in CAPTIONS else MESSAGE_LIMIT
    for values, shown in ((sample, NAME), (at_their_longest(sample), LONGEST_NAME)):
        assert isinstance(values, dict)
        html = renderer.message(locale, name, **values)
        text, _entities = parse_html(html)  # raises on anything Telegram would reject
        assert 0 < utf16_len(text.strip()) <= limit
        if shown in values.values():
            assert shown in text  # shown exactly as typed: escaped, never read as markup


def test_locales_are_discovered_with_english_first() -> None:
    assert renderer.locales[0] == DEFAULT_LOCALE


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


@pytest.mark.parametrize("locale", renderer.locales)
def test_labels_exist_fit_and_match_english_placeholders(locale: str) -> None:
    english = set(renderer.label_keys(DEFAULT_LOCALE))
    keys = set(renderer.label_keys(locale))
    assert keys <= english, f"labels unknown in English: {sorted(keys - english)}"
    for key in english:
        fields = _placeholders(renderer.raw_label(DEFAULT_LOCALE, key))
        assert _placeholders(renderer.raw_label(locale, key)) == fields, key
        sample = renderer.label(locale, key, **dict.fromkeys(fields, "Maximiliane"))
        assert sample.strip()
        if key.startswith("alert."):
            continue  # test_alerts_fit_with_the_longest_names
        if key in POLL_QUESTIONS or key in POLL_OPTIONS:
            continue  # test_polls_fit
        if key.startswith("commands."):
            assert 1 <= len(sample) <= 256, key
        else:
            assert len(sample) <= BUTTON_LIMIT, key


@pytest.mark.parametrize("locale", renderer.locales)
def test_alerts_fit_with_the_longest_names(locale: str) -> None:
    """An alert (a button press's answer) with two names at their longest still fits: names
    are shortened in one place (Renderer.alert), never the alert's own words."""
    for key in renderer.label_keys(DEFAULT_LOCALE):
        if not key.startswith("alert."):
            continue
        fields = _placeholders(renderer.raw_label(DEFAULT_LOCALE, key))
        values: dict[str, object] = dict.fromkeys(fields, LONGEST_NAME)
        if "names" in fields:
            values["names"] = [LONGEST_NAME, LONGEST_NAME]
        alert = renderer.alert(locale, key, **values)
        assert len(alert) <= ALERT_LIMIT and not alert.endswith(ELLIPSIS), key


@pytest.mark.parametrize("locale", renderer.locales)
def test_polls_fit(locale: str) -> None:
    for key in POLL_QUESTIONS:
        assert 1 <= len(renderer.label(locale, key)) <= POLL_QUESTION_LIMIT, key
    for key in POLL_OPTIONS:
        assert 1 <= len(renderer.label(locale, key)) <= POLL_OPTION_LIMIT, key


def test_a_possessive_follows_the_language() -> None:
    """German names ending in s, ß, x, z or ce take an apostrophe, the rest an s; one filter
    builds every possessive of a name."""
    for name, german in (
        ("Sam", "Sams"),
        ("Anna", "Annas"),
        ("Jonas", "Jonas’"),
        ("Max", "Max’"),
        ("Fritz", "Fritz’"),
        ("Strauß", "Strauß’"),
        ("Alice", "Alice’"),
    ):
        assert f"Auf {german} Wunsch" in renderer.message("de", "plan/deleted", name=name)
    assert "At Jonas's request" in renderer.message("en", "plan/deleted", name="Jonas")
    by_hand = {"de": re.compile(r"\}\}(s\b|’|')"), "en": re.compile(r"\}\}('|’)s\b")}
    for locale, pattern in by_hand.items():
        for path in (renderer.content_dir / locale).rglob("*.j2"):
            assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_command_names_fit_telegrams_rules(tmp_path: Path) -> None:
    settings = Settings(
        token="123456:" + "A" * 35,
        api_base_url="http://127.0.0.1:9/bot",
        data_dir=tmp_path,
        erase_after_days=14,
        log_level="INFO",
    )
    services = services_of(build_application(settings))
    assert services.commands
    for command in services.commands:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.name)
        for locale in renderer.locales:
            assert renderer.label(locale, f"commands.{command.name}")


def test_the_longest_zone_fits_in_callback_data() -> None:
    longest = max(zoneinfo.available_timezones(), key=len)
    assert len(f"tz:{longest}".encode()) <= 64
