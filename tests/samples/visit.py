"""Samples for /visit's templates: plans with hostile names, long goals, every step and error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.samples.foundation import LONG_NAME, NAME

ARRIVAL = datetime(2026, 12, 24, 12, tzinfo=UTC)
DEPARTURE = datetime(2027, 3, 23, 12, tzinfo=UTC)
DUE = datetime(2026, 12, 17, 9, tzinfo=UTC)
LONG_GOAL = "<b>knowing</b> & “being told” " * 20  # 500 characters, the most a goal keeps
DATES = {"arrival": ARRIVAL, "departure": DEPARTURE, "nights": 89}
SCHEDULE = [
    {
        "kind": "countdown",
        "days": 7,
        "times": [
            {"place": False, "name": NAME, "zone": "Europe/Berlin", "at": DUE},
            {"place": False, "name": LONG_NAME, "zone": "Australia/Sydney", "at": DUE},
        ],
    },
    {
        "kind": "countdown",
        "days": 1,
        "times": [{"place": False, "name": NAME, "zone": None, "at": DUE}],
    },
    {
        "kind": "checkin",
        "days": None,
        "times": [{"place": True, "zone": "America/Argentina/ComodRivadavia", "at": DUE}],
    },
    {
        "kind": "checkin",
        "days": None,
        "times": [{"place": True, "zone": None, "at": DUE}],
    },
    {
        "kind": "reflect",
        "days": None,
        "times": [
            {"place": False, "name": NAME, "zone": "Europe/Berlin", "at": DUE},
            {"place": False, "name": LONG_NAME, "zone": "Australia/Sydney", "at": DUE},
        ],
    },
]
FULL_PLAN: dict[str, Any] = {
    **DATES,
    "host": NAME,
    "zone": "America/Argentina/ComodRivadavia",
    "days_left": 400,
    "goals": [{"name": NAME, "goal": LONG_GOAL}, {"name": LONG_NAME, "goal": LONG_GOAL}],
    "light": ["cooking", "walks", "place", "calm_start"],
    "serious": ["talk", "evening"],
    "ideas": [NAME * 8] * 5,
    "rest": "halfday",
    "schedule": SCHEDULE,
    "unset": [NAME, LONG_NAME],
}
BARE_PLAN: dict[str, Any] = {
    **DATES,
    "nights": 1,
    "host": None,
    "zone": None,
    "days_left": 0,
    "goals": [{"name": NAME, "goal": ""}, {"name": LONG_NAME, "goal": ""}],
    "light": [],
    "serious": [],
    "ideas": [],
    "rest": "ask",
    "schedule": [],
    "unset": [],
}
# A reason a typed answer is asked for again: a label, with what was typed quoted in it.
REASON = f"I couldn't read “{'<b>31.02.</b>' * 3}” as a date."
ANSWERS = [{"name": NAME, "mood": "heavy"}, {"name": LONG_NAME, "mood": None}]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "visit/intro": [{}],
    "visit/usage": [{}],
    "visit/none": [{"cancelled": True}, {"cancelled": False}],
    "visit/cancelled": [{"name": NAME, "planned": True}, {"name": NAME, "planned": False}],
    "visit/ask_where": [{"resumed": True, "zone": None}, {"resumed": False, "zone": "UTC"}],
    "visit/ask_place": [
        {"partner": NAME, "resumed": False, "zone": None, "error": REASON},
        {"partner": NAME, "resumed": True, "zone": None, "error": None},
    ],
    "visit/ask_date": [
        {
            "partner": NAME,
            "which": which,
            "error": error,
            "arrival": ARRIVAL if which == "departure" else None,
            "example": DEPARTURE,
            "resumed": resumed,
            "zone": zone,
        }
        for which, error, resumed, zone in (
            ("arrival", None, False, "Europe/Berlin"),
            ("arrival", REASON, True, None),
            ("departure", None, True, "Australia/Sydney"),
            ("departure", REASON, False, None),
        )
    ],
    "visit/goals_intro": [
        {**DATES, "resumed": False, "zone": None},
        {**DATES, "nights": 1, "resumed": True, "zone": "UTC"},
    ],
    "visit/ask_goal": [{"partner": LONG_NAME, "error": None}, {"partner": NAME, "error": REASON}],
    "visit/goal_noted": [{"waiting": [NAME]}, {"waiting": [NAME, LONG_NAME]}],
    "visit/ask_time": [
        {"ideas": [LONG_GOAL[:200]] * 5, "resumed": True, "zone": None},
        {"ideas": [], "resumed": False, "zone": None},
    ],
    "visit/ask_idea": [{"partner": NAME, "error": None}, {"partner": NAME, "error": REASON}],
    "visit/ask_rest": [{"resumed": True, "zone": None}, {"resumed": False, "zone": None}],
    "visit/not_current": [{}],
    "visit/planned": [FULL_PLAN, BARE_PLAN],
    "visit/show": [
        FULL_PLAN,
        {**BARE_PLAN, "days_left": 1},
        {**BARE_PLAN, "days_left": -2},
        {**FULL_PLAN, "days_left": 0},
    ],
    "visit/countdown": [{**FULL_PLAN, "days": 7}, {**BARE_PLAN, "days": 1}],
    "visit/checkin": [
        {"day": 2, "first": True, "last": False, "answers": ANSWERS},
        {
            "day": 90,
            "first": False,
            "last": True,
            "answers": [{"name": NAME, "mood": "good"}, {"name": LONG_NAME, "mood": "mixed"}],
        },
    ],
    "visit/reflect_ask": [
        {**DATES, "name": NAME, "late": True, "group": NAME},
        {**DATES, "name": LONG_NAME, "late": False, "group": ""},
    ],
    "visit/reflect_sent": [{"name": NAME}],
    "visit/reflect_unreachable": [{"name": NAME}],
    "visit/reflect_rated": [{"rating": 1}, {"rating": 5}],
    "visit/reflect_note_ask": [
        {"partner": "Alex", "error": None},
        {"partner": "Alex", "error": REASON},
    ],
    "visit/reflect_share_ask": [
        {"has_note": True, "other": NAME},
        {"has_note": False, "other": ""},
    ],
    "visit/reflect_thanks": [{"share": "all"}, {"share": "rating"}, {"share": "none"}],
    "visit/reflect_closed": [{}],
    "visit/reveal": [
        {
            **DATES,
            "late": True,
            "both_safe": True,
            "answers": [
                {"name": NAME, "answered": True, "rating": 5, "note": LONG_GOAL},
                {"name": LONG_NAME, "answered": True, "rating": 4, "note": None},
            ],
        },
        {
            **DATES,
            "late": False,
            "both_safe": False,
            "answers": [
                {"name": NAME, "answered": True, "rating": None, "note": None},
                {"name": LONG_NAME, "answered": False, "rating": None, "note": None},
            ],
        },
    ],
}
