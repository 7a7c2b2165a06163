"""Samples for the roadmap and /progress."""

from __future__ import annotations

from typing import Any

from tests.samples.foundation import LONG_NAME, NAME

NO_SIGNS = {"low_scores": False, "frequent_pauses": False, "not_answering": False}
ALL_SIGNS = {"low_scores": True, "frequent_pauses": True, "not_answering": True}
PEOPLE = [
    {"name": NAME, "last_score": 4, "average": 3.5, "trend": 0.8, "ticks": 5, "tick_change": -1},
    {
        "name": LONG_NAME,
        "last_score": None,
        "average": None,
        "trend": None,
        "ticks": None,
        "tick_change": None,
    },
]
QUIET = [
    {
        "name": NAME,
        "last_score": 2,
        "average": 2.0,
        "trend": -0.5,
        "ticks": None,
        "tick_change": None,
    },
    {
        "name": LONG_NAME,
        "last_score": 3,
        "average": 3.0,
        "trend": 0.0,
        "ticks": None,
        "tick_change": None,
    },
]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "progress/phase": [
        {"phase": phase, "day": 93, "month": 4, "late": late, "path": path}
        for phase, late, path in (("intimacy", True, "repair"), ("new_normal", False, "new"))
    ],
    "progress/milestone": [
        {"milestone": key, "day": 8, "names": [NAME, LONG_NAME]}
        for key in ("first_week", "first_month", "first_safe_visit")
    ],
    "progress/caption": [
        {"day": 1000, "phase": phase} for phase in ("stabilise", "intimacy", "new_normal")
    ],
    "progress/summary": [
        {
            "day": 400,
            "month": 14,
            "phase": "new_normal",
            "week": 58,
            "checkins": 50,
            "people": PEOPLE,
            "total": 6,
            "most": 4,
            "pauses_month": 12,
            "milestones": ["first_week", "first_month", "first_safe_visit"],
            "signs": ALL_SIGNS,
            "path": "repair",
            "private": False,
        },
        {
            "day": 1,
            "month": 1,
            "phase": "stabilise",
            "week": 1,
            "checkins": 0,
            "people": QUIET,
            "total": 6,
            "most": 4,
            "pauses_month": 0,
            "milestones": [],
            "signs": NO_SIGNS,
            "path": None,
            "private": True,
        },
        {
            "day": 30,
            "month": 1,
            "phase": "intimacy",
            "week": 5,
            "checkins": 3,
            "people": QUIET,
            "total": 6,
            "most": 4,
            "pauses_month": 7,
            "milestones": [],
            "signs": {**NO_SIGNS, "frequent_pauses": True},
            "path": "new",
            "private": True,
        },
    ],
    "progress/support_hint": [
        {"low_scores": True, "frequent_pauses": True, "not_answering": True},
        {"low_scores": True, "frequent_pauses": False, "not_answering": True},
        {"low_scores": False, "frequent_pauses": True, "not_answering": False},
        {"low_scores": False, "frequent_pauses": False, "not_answering": True},
    ],
    "progress/not_working": [
        {"name": NAME, "path": "repair", "checkins": 12, "checklists": 3, "months": 3},
        {"name": LONG_NAME, "path": "new", "checkins": 1, "checklists": 1, "months": 1},
        {"name": NAME, "path": None, "checkins": 0, "checklists": 3, "months": 14},
    ],
}
