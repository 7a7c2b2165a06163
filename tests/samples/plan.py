"""Samples for /plan's templates: a full plan with long, hostile values, and an empty one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.samples.foundation import LONG_NAME, NAME, NOW

ZONES = ("Australia/Lord_Howe", None)
LOCAL = [
    {"name": NAME, "zone": ZONES[0], "moment": NOW},
    {"name": LONG_NAME, "zone": ZONES[1], "moment": NOW},
]
LONG_TEXT = "<i>" + "x" * 194 + "</i>"  # the longest entry allowed, markup included
FULL: dict[str, Any] = {
    "frequency": "daily",
    "slots": [{"weekday": None, "local": LOCAL}] * 4,
    "entered_by": LONG_NAME,
    "entered_zone": ZONES[0],
    "behaviours": [{"text": LONG_TEXT, "by": NAME}] * 6,
    "owner": LONG_NAME,
    "emotions": ["Insecurity window (2 × 20 min a week)"] * 5,
    "own": [{"text": LONG_TEXT, "by": LONG_NAME}] * 4,
    "visit": datetime(2026, 12, 24, 12, tzinfo=UTC),
    "visit_until": datetime(2027, 1, 6, 12, tzinfo=UTC),
    "agreed_at": NOW,
    "review": LOCAL,
    "track": "infidelity",
}
EMPTY: dict[str, Any] = {
    "frequency": None,
    "slots": [],
    "entered_by": "?",
    "entered_zone": None,
    "behaviours": [],
    "owner": None,
    "emotions": [],
    "own": [],
    "visit": None,
    "visit_until": None,
    "agreed_at": None,
    "review": [],
    "track": None,
}
WEEKLY: dict[str, Any] = {
    **EMPTY,
    "frequency": "weekly",
    "slots": [{"weekday": 6, "local": LOCAL}] * 2,
}


def _step(view: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"first": False, "editing": False, "number": 2, "steps": 4, **view, **extra}


SAMPLES: dict[str, list[dict[str, Any]]] = {
    "plan/step_checkins": [
        _step(EMPTY, first=True, number=1),
        _step(FULL, first=True, number=1, owner=NAME),
        _step(WEEKLY, editing=True, number=1),
    ],
    "plan/step_behaviours": [_step(FULL, owner=NAME), _step(EMPTY, editing=True)],
    "plan/step_emotions": [_step(FULL, number=3), _step(EMPTY, number=3, editing=True)],
    "plan/step_visit": [_step(FULL, number=4), _step(EMPTY, number=4, editing=True)],
    "plan/ask_times": [
        {"partner": NAME, "frequency": "daily", "zone": ZONES[0], "error": None, "typed": ""},
        {
            "partner": NAME,
            "frequency": "weekly",
            "zone": None,
            "error": "I need days and a time, at most two times.",
            "typed": "<b>" * 30,
        },
        {
            "partner": LONG_NAME,
            "frequency": "weekly",
            "zone": "Europe/Berlin",
            "error": None,
            "typed": "",
        },
    ],
    "plan/ask_behaviour": [
        {"partner": NAME, "error": None},
        {"partner": LONG_NAME, "error": "that was 4000 characters; please stay under 200."},
    ],
    "plan/ask_emotion": [
        {"partner": NAME, "error": None},
        {"partner": LONG_NAME, "error": "that was 301 characters; please stay under 200."},
    ],
    "plan/ask_visit": [
        {
            "partner": NAME,
            "zone": None,
            "error": "I need a date from today on.",
            "typed": "<script>" * 10,
        },
        {"partner": NAME, "zone": "Asia/Kolkata", "error": None, "typed": ""},
    ],
    "plan/plan": [
        {**FULL, "updated": None},
        {**FULL, "updated": "behaviours"},
        {**EMPTY, "updated": "visit"},
        {**WEEKLY, "updated": "checkins"},
    ],
    "plan/proposed": [
        {**FULL, "updated": None, "editing": None, "proposer": NAME, "partner": LONG_NAME},
        {
            **FULL,
            "updated": "behaviours",
            "editing": "behaviours",
            "proposer": LONG_NAME,
            "partner": NAME,
        },
        {**EMPTY, "updated": None, "editing": None, "proposer": NAME, "partner": NAME},
    ],
    "plan/pin_failed": [{}],
    "plan/none": [{}],
    "plan/edit_menu": [{}],
    "plan/review": [{**FULL, "months": 1}, {**EMPTY, "months": 12}],
    "plan/review_kept": [{**FULL, "name": NAME}, {**EMPTY, "name": LONG_NAME}],
    "plan/delete_confirm": [{"name": NAME}],
    "plan/deleted": [{"name": NAME}],
    "plan/delete_kept": [{}],
    "plan/delete_proposed": [
        {"owner": NAME, "partner": LONG_NAME},
        {"owner": LONG_NAME, "partner": NAME},
    ],
    "plan/usage": [{"typed": "<b>bold</b>"}, {"typed": ""}],
    "plan/moved_on": [{}],
}
