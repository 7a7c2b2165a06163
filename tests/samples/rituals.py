"""Samples for the daily rituals' templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.samples.foundation import LONG_NAME, NAME

DAY = datetime(2026, 12, 24, 12, tzinfo=UTC)
RITUALS = [
    {"key": "morning", "on": True, "at": "08:00", "quiet": False},
    {"key": "appreciation", "on": False, "at": "18:00", "quiet": True},
    {"key": "bedtime", "on": True, "at": "21:30", "quiet": True},
]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "rituals/overview": [
        {
            "name": NAME,
            "zone": "Europe/Berlin",
            "rituals": RITUALS,
            "away_until": DAY,
            "reachable": False,
        },
        {
            "name": LONG_NAME,
            "zone": None,
            "rituals": RITUALS,
            "away_until": None,
            "reachable": True,
        },
    ],
    "rituals/pick_time": [
        {"ritual": r, "zone": z} for r, z in (("morning", "Australia/Sydney"), ("bedtime", None))
    ],
    "rituals/ask_time": [{"partner": NAME, "ritual": "appreciation", "zone": None}],
    "rituals/time_set": [
        {
            "ritual": "morning",
            "at": "07:30",
            "zone": "Europe/Berlin",
            "reachable": True,
            "quiet": False,
            "quiet_start": None,
            "quiet_end": None,
        },
        {
            "ritual": "bedtime",
            "at": "22:00",
            "zone": None,
            "reachable": False,
            "quiet": True,
            "quiet_start": "21:00",
            "quiet_end": "06:30",
        },
    ],
    "rituals/prompt": [
        {"ritual": ritual, "name": LONG_NAME, "other": NAME, "phase": phase, "again": again}
        for ritual in ("morning", "appreciation", "bedtime")
        for phase, again in (("stabilise", False), ("intimacy", True), ("new_normal", False))
    ],
    "rituals/note_ask": [{"partner": LONG_NAME, "ritual": "morning", "other": NAME, "most": 1000}],
    "rituals/note_passed": [
        {"ritual": "bedtime", "name": NAME, "other": LONG_NAME, "text": "x" * 1000},
        {"ritual": "appreciation", "name": LONG_NAME, "other": NAME, "text": NAME},
    ],
    "rituals/note_sent": [{"other": NAME}],
    "rituals/note_already": [{}],
    "rituals/away_set": [{"last": DAY, "back_on": DAY}],
    "rituals/away_usage": [
        {"example": DAY, "iso": "2026-12-24", "typed": NAME, "most": 366},
        {"example": DAY, "iso": "2026-12-24", "typed": "", "most": 366},
    ],
    "rituals/back": [{"was_away": True}, {"was_away": False}],
}
