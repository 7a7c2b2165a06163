"""The one reader of clock times, weekdays, dates, durations and languages, in English and
German."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.reading import (
    Reader,
    read_clock,
    read_clock_range,
    read_date,
    read_duration,
    read_language,
    read_times_and_days,
    read_weekday,
)
from tests.conftest import People

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("19:00", "19:00"),
        ("19.30", "19:30"),
        ("1930", "19:30"),
        ("0730", "07:30"),  # as the bot writes times into its own buttons
        ("7", "07:00"),
        ("07:05", "07:05"),
        ("0:00", "00:00"),
        (" 21:45 ", "21:45"),
        ("7h30", "07:30"),
        ("19h", "19:00"),
        # English
        ("7pm", "19:00"),
        ("7 pm", "19:00"),
        ("7PM", "19:00"),
        ("7:30pm", "19:30"),
        ("7:30 p.m.", "19:30"),
        ("8am", "08:00"),
        ("12am", "00:00"),
        ("12pm", "12:00"),
        ("7 o'clock", "07:00"),
        ("at 7pm", "19:00"),
        ("noon", "12:00"),
        ("Midnight", "00:00"),
        # German
        ("19 Uhr", "19:00"),
        ("19:30 Uhr", "19:30"),
        ("7 Uhr abends", "19:00"),
        ("8 Uhr morgens", "08:00"),
        ("um 20 Uhr", "20:00"),
        ("halb 8", "07:30"),
        ("um halb 8 abends", "19:30"),
        ("Mittag", "12:00"),
        ("Mitternacht", "00:00"),
    ],
)
def test_clock_times(typed: str, expected: str) -> None:
    assert read_clock(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "soon",
        "24:00",
        "25",
        "19:60",
        "19:5",
        "13pm",
        "0am",
        "7 am pm",  # both halves
        "7 pm abends uhr morgens",
        "7 bananas",
        "halb 7:30",
        "halb 0",
        "-7",
        "7 pm" + " please" * 20,  # far too long to be a time
        "1" * 500,
    ],
)
def test_not_clock_times(typed: str) -> None:
    assert read_clock(typed) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("22:00-07:00", ("22:00", "07:00")),
        ("22-7", ("22:00", "07:00")),
        ("10pm-7am", ("22:00", "07:00")),
        ("10 pm - 7 am", ("22:00", "07:00")),
        ("22.30 – 6.45", ("22:30", "06:45")),
        ("23:00 to 08:00", ("23:00", "08:00")),
        ("from 11pm until 7am", ("23:00", "07:00")),
        ("22 bis 7", ("22:00", "07:00")),
        ("von 22 Uhr bis 7 Uhr", ("22:00", "07:00")),
        ("midnight-noon", ("00:00", "12:00")),
    ],
)
def test_clock_ranges(typed: str, expected: tuple[str, str]) -> None:
    assert read_clock_range(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["22:00", "25:00-07:00", "13pm-2am", "22:00-22:00", "soon", "22-7-8", "22 to 7 to 8", "bis"],
)
def test_not_clock_ranges(typed: str) -> None:
    assert read_clock_range(typed) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # English, from Babel: wide, abbreviated and short names
        ("Sunday", SUNDAY),
        ("sun", SUNDAY),
        ("Su", SUNDAY),
        ("Monday", MONDAY),
        ("mon", MONDAY),
        ("wed", WEDNESDAY),
        ("Th", THURSDAY),
        ("Sat.", SATURDAY),
        # German, from Babel
        ("Sonntag", SUNDAY),
        ("So", SUNDAY),
        ("So.", SUNDAY),
        ("Dienstag", TUESDAY),
        ("Di", TUESDAY),
        ("Mi", WEDNESDAY),
        ("Do", THURSDAY),
        ("Fr", FRIDAY),
        ("Samstag", SATURDAY),
        # words Babel doesn't give
        ("Sonnabend", SATURDAY),
        ("weds", WEDNESDAY),
        ("sundays", SUNDAY),
        ("sonntags", SUNDAY),
        # prefixes only one day's names begin with
        ("sa", SATURDAY),
        ("thurs", THURSDAY),
        ("tues", TUESDAY),
        ("donn", THURSDAY),
        ("sonnt", SUNDAY),
        ("sonna", SATURDAY),
    ],
)
def test_weekdays(typed: str, expected: int) -> None:
    assert read_weekday(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "s",  # Saturday or Sunday
        "t",  # Tuesday or Thursday
        "m",
        "son",  # Sonntag or Sonnabend
        "sonn",
        "someday",
        "sunny",
        "monster",
        "sonnabends!",
        "x" * 500,
    ],
)
def test_not_weekdays(typed: str) -> None:
    assert read_weekday(typed) is None


TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-24", date(2026, 12, 24)),
        ("24.12.", date(2026, 12, 24)),
        ("24.12.26", date(2026, 12, 24)),
        ("24.12.2026", date(2026, 12, 24)),
        ("12/24", date(2026, 12, 24)),
        ("14/5", date(2027, 5, 14)),
        ("1.1.", date(2027, 1, 1)),  # no year: the next one to come
        # English month names, from Babel
        ("24 Dec", date(2026, 12, 24)),
        ("December 24th", date(2026, 12, 24)),
        ("24th of December", date(2026, 12, 24)),
        ("Dec. 24, 2027", date(2027, 12, 24)),
        ("1 March", date(2027, 3, 1)),
        ("May 14th", date(2027, 5, 14)),
        ("sept 3", date(2027, 9, 3)),
        # German month names, from Babel
        ("3. März", date(2027, 3, 3)),
        ("3. Mär", date(2027, 3, 3)),
        ("3. Maerz", date(2027, 3, 3)),
        ("14. Mai", date(2027, 5, 14)),
        ("24. Dezember", date(2026, 12, 24)),
        ("1. Okt. 2027", date(2027, 10, 1)),
        # days counted from the earliest
        ("today", TODAY),
        ("Heute", TODAY),
        ("tomorrow", date(2026, 11, 21)),
        ("morgen", date(2026, 11, 21)),
        ("übermorgen", date(2026, 11, 22)),
        ("day after tomorrow", date(2026, 11, 22)),
    ],
)
def test_dates(typed: str, expected: date) -> None:
    assert read_date(typed, TODAY) == expected


@pytest.mark.parametrize(
    "typed",
    ["", "soon", "31.02.", "31.02.2026", "2026-13-01", "12/34/56", "3 ju", "24 Smarch", "decxyz"],
)
def test_not_dates(typed: str) -> None:
    assert read_date(typed, TODAY) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("45", 45),
        ("45m", 45),
        ("45 min", 45),
        ("45 minutes", 45),
        ("1h", 60),
        ("1 hour", 60),
        ("1 h 30", 90),
        ("1h30", 90),
        ("1h 30m", 90),
        ("1.5h", 90),
        ("2 hours and 15 minutes", 135),
        ("90 Minuten", 90),
        ("2 Stunden", 120),
        ("1 Stunde", 60),
        ("1,5 Stunden", 90),
        ("1 Std. 30 Min.", 90),
        ("1 Stunde und 30 Minuten", 90),
        ("0", 0),
        ("1441", 1441),  # read; whether it is allowed is the command's to say
        # said in words, as people say them
        ("an hour", 60),
        ("half an hour", 30),
        ("a quarter of an hour", 15),
        ("2 hours please", 120),
        ("45 minutes please", 45),
        ("eine Stunde", 60),
        ("eine halbe Stunde", 30),
        ("anderthalb Stunden", 90),
        ("zwei Stunden bitte", 120),
    ],
)
def test_durations(typed: str, expected: int) -> None:
    assert read_duration(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "soon",
        "-5",
        "1 30",  # which is which?
        "30 min 1 h",  # smaller units first
        "1h 2h",
        "1.5",  # a minute and a half
        "0.01h",
        "45 bananas",
        "h",
        "and 5",
        "1:30",
        "1e9999",
        "an hour or two",
        "half",
        "please",
    ],
)
def test_not_durations(typed: str) -> None:
    assert read_duration(typed) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("19:30", (["19:30"], [])),
        ("8am, 9 pm", (["08:00", "21:00"], [])),
        ("Mon Thu 19.30", (["19:30"], [MONDAY, THURSDAY])),
        ("Sonntag 7 Uhr", (["07:00"], [SUNDAY])),
        ("Di und Fr um halb 8 abends", (["19:30"], [TUESDAY, FRIDAY])),
        ("sonnabends at noon", (["12:00"], [SATURDAY])),
        ("we meet at 7pm and at 7pm", (["19:00"], [])),  # "we" is no Wednesday here
        ("die Woche mit Sam um 20 Uhr", (["20:00"], [])),
    ],
)
def test_times_and_days_in_a_sentence(typed: str, expected: tuple[list[str], list[int]]) -> None:
    assert read_times_and_days(typed) == expected


@pytest.mark.parametrize("typed", ["whenever Sam likes", "25:00", "Sunday", ""])
def test_a_sentence_without_a_time(typed: str) -> None:
    assert read_times_and_days(typed) is None


def test_a_word_two_locales_read_differently_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "de").mkdir()
    (tmp_path / "en" / "reading.toml").write_text(
        '[clock.named]\nteatime = "17:00"\nlunch = "12:00"\n'
        "[weekday.names]\nrestday = 6\n"
        '[duration.units]\nm = 1\nh = 60\n[duration]\njoiners = ["and"]\n',
        encoding="utf-8",
    )
    (tmp_path / "de" / "reading.toml").write_text(
        '[clock.named]\nteatime = "16:00"\nlunch = "12:00"\n'
        "[weekday.names]\nrestday = 5\n"
        "[duration.units]\nm = 1\n",
        encoding="utf-8",
    )
    reader = Reader(tmp_path)
    assert reader.clock("teatime") is None
    assert reader.clock("lunch") == "12:00"  # the same in both
    assert reader.weekday("restday") is None
    assert reader.weekday("restd") is None  # nor a prefix of it
    assert reader.weekday("sonntag") == SUNDAY  # Babel's names are there all the same
    assert reader.duration("1h 5m") == 65
    assert reader.clock("19 Uhr") is None  # words come from content/ only


def test_a_half_of_the_day_must_be_one_the_reader_knows(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "reading.toml").write_text(
        '[clock.after]\nevening = "late"\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"clock\.after"):
        Reader(tmp_path)


async def test_7pm_is_read_alike_by_every_command(couple: People) -> None:
    """The same words mean the same time in /window, /checkin, a ritual's time and /quiet."""
    group, alex = couple.group, couple.alex
    await group.send(alex, "/window add sunday 7pm")
    added = await group.expect("Window added by Alex")
    assert "Sunday 19:00 for Alex" in added.text

    await group.send(alex, "/checkin sonnabend 7pm")
    await group.expect("Saturdays at 19:00")

    await alex.send_private("/rituals")
    overview = await alex.private.expect("Daily rituals for Alex")
    await alex.press(overview, "08:00 · change")
    await alex.press(await alex.private.expect("morning note"), "Another time")
    question = await alex.private.expect("what time suits your morning note")
    await alex.private.reply(alex, to=question, text="7pm")
    await alex.private.expect("your morning note is on, at 19:00")

    await alex.send_private("/quiet 11pm-7pm")
    await alex.private.expect("Quiet hours set to 23:00–19:00")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("de", "de"),
        ("German", "de"),
        ("deutsch", "de"),
        (" EN ", "en"),
        ("Englisch", "en"),
        ("auto", "auto"),
        ("automatisch", "auto"),
        ("klingon", None),
        ("", None),
    ],
)
def test_languages_by_code_or_name_in_any_language(typed: str, expected: str | None) -> None:
    assert read_language(typed) == expected
