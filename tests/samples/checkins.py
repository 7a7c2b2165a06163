"""Samples for the weekly check-in, the monthly checklist and the quarterly letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.samples.foundation import LONG_NAME, NAME

AT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # the night Europe springs forward
TIMES = [
    {"name": NAME, "zone": "Europe/Berlin", "at": AT},
    {"name": LONG_NAME, "zone": None, "at": AT},
]
LONGEST = "y" * 500


def _answers(status: str, text: str | None) -> list[dict[str, Any]]:
    return [
        {"name": NAME, "status": status, "text": text, "away": False},
        {"name": LONG_NAME, "status": "shared", "text": LONGEST, "away": False},
    ]


QUESTIONS = [
    {"key": key, "answers": _answers("shared", LONGEST)} for key in ("well", "hurts", "will_do")
]
MIXED = [
    {"key": "well", "answers": _answers("private", None)},
    {
        "key": "hurts",
        "answers": [
            {"name": NAME, "status": "none", "text": None, "away": True},
            {"name": LONG_NAME, "status": "none", "text": None, "away": False},
        ],
    },
    {"key": "will_do", "answers": _answers("shared", NAME)},
]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "checkins/question": [
        {
            "partner": LONG_NAME,
            "first": True,
            "question": "well",
            "number": 1,
            "total": 3,
            "phase": phase,
            "other": NAME,
            "deadline": AT,
            "zone": zone,
            "most": 500,
            "privately": phase == "intimacy",
        }
        for phase, zone in (
            ("stabilise", "Europe/Berlin"),
            ("intimacy", None),
            ("new_normal", "Australia/Sydney"),
        )
    ]
    + [
        {
            "partner": LONG_NAME,
            "first": False,
            "question": q,
            "number": n,
            "total": 3,
            "phase": "stabilise",
            "other": LONG_NAME,
            "deadline": AT,
            "zone": None,
            "most": 500,
        }
        for n, q in ((2, "hurts"), (3, "will_do"))
    ],
    "checkins/share_ask": [
        *({"question": q, "other": NAME} for q in ("well", "hurts", "will_do")),
        {"question": "hurts", "other": LONG_NAME, "privately": True},
    ],
    "checkins/reflect_done": [
        {"other": NAME, "deadline": AT, "zone": None},
        {"other": LONG_NAME, "deadline": AT, "zone": "Europe/Berlin", "privately": True},
    ],
    "checkins/reminder": [
        {"deadline": AT, "zone": "Europe/Berlin", "started": True},
        {"deadline": AT, "zone": None, "started": False},
    ],
    "checkins/closed_private": [{}],
    "checkins/started": [
        {
            "phase": "stabilise",
            "name": NAME,
            "times": TIMES,
            "away": [NAME],
            "unreachable": [LONG_NAME],
        },
        {
            "phase": "new_normal",
            "name": None,
            "times": TIMES,
            "away": [],
            "unreachable": [NAME, LONG_NAME],
        },
        {
            "phase": "intimacy",
            "name": None,
            "times": TIMES,
            "away": [NAME, LONG_NAME],
            "unreachable": [],
        },
    ],
    "checkins/already_open": [{"times": TIMES}, {"times": []}],
    "checkins/reveal": [
        {
            "questions": QUESTIONS,
            "late": True,
            "complete": True,
            "scores": [{"name": NAME, "score": 5}, {"name": LONG_NAME, "score": None}],
            "painful": False,
            "window": [],
        },
        {
            "questions": MIXED,
            "late": False,
            "complete": False,
            "scores": [{"name": NAME, "score": None}, {"name": LONG_NAME, "score": 1}],
            "painful": True,
            "window": TIMES,
        },
        {
            "questions": QUESTIONS,
            "late": False,
            "complete": True,
            "scores": [{"name": NAME, "score": 2}, {"name": LONG_NAME, "score": 4}],
            "painful": True,
            "window": [],
        },
    ],
    "checkins/usage": [{}],
    "checkins/another_ask": [
        {"name": NAME, "other": LONG_NAME, "last": TIMES, "next": TIMES},
        {"name": LONG_NAME, "other": NAME, "last": TIMES, "next": []},
    ],
    "checkins/another_declined": [
        {"declined_by": LONG_NAME, "next": TIMES},
        {"declined_by": NAME, "next": []},
    ],
    "checkins/schedule_set": [
        {"weekday": 6, "at": "19:00", "zone": "Europe/Berlin", "times": TIMES, "quiet": []},
        {"weekday": 2, "at": "07:30", "zone": None, "times": TIMES, "quiet": [NAME, LONG_NAME]},
    ],
    "checkins/schedule_off": [{}],
    "checkins/checklist_intro": [{"month": 13, "total": 6, "most": 4, "times": TIMES}],
    "checkins/checklist_open": [{"times": TIMES}, {"times": []}],
    "checkins/checklist_usage": [{}],
    "checkins/checklist_verdict": [
        {
            "partners": [
                {"name": NAME, "count": 6, "change": 2},
                {"name": LONG_NAME, "count": 4, "change": -1},
            ],
            "verdict": "right_way",
            "total": 6,
            "most": 4,
            "since": 1,
            "times": TIMES,
            "month": 2,
            "late": False,
            "first": False,
            "path": "repair",
        },
        {
            "partners": [
                {"name": NAME, "count": 1, "change": 0},
                {"name": LONG_NAME, "count": None, "change": None},
            ],
            "verdict": "not_yet",
            "total": 6,
            "most": 4,
            "since": None,
            "times": [],
            "month": 1,
            "late": True,
            "first": True,
            "path": "new",
        },
        {
            "partners": [
                {"name": NAME, "count": 5, "change": None},
                {"name": LONG_NAME, "count": 0, "change": None},
            ],
            "verdict": "mixed",
            "total": 6,
            "most": 4,
            "since": 1,
            "times": TIMES,
            "month": 3,
            "late": False,
            "first": True,
            "path": None,
        },
        {
            "partners": [
                {"name": NAME, "count": None, "change": None},
                {"name": LONG_NAME, "count": None, "change": None},
            ],
            "verdict": "no_answers",
            "total": 6,
            "most": 4,
            "since": None,
            "times": TIMES,
            "month": 4,
            "late": False,
            "first": True,
            "path": "repair",
        },
    ],
    "checkins/checklist_done": [
        {
            "partners": [
                {"name": NAME, "count": 6, "change": 2},
                {"name": LONG_NAME, "count": 0, "change": -6},
            ],
            "verdict": verdict,
            "total": 6,
            "most": 4,
            "month": 14,
            "since": since,
            "first": since is None,
            "times": times,
        }
        for verdict, since, times in (
            ("right_way", 13, TIMES),
            ("mixed", 2, []),
            ("not_yet", None, TIMES),
            ("no_answers", None, []),
        )
    ],
    "checkins/quarterly": [{"quarter": 1, "phase": "intimacy", "most": 1500}],
    "checkins/letter_ask": [
        {"partner": LONG_NAME, "other": NAME, "most": 1500},
        {"other": LONG_NAME, "most": 1500, "privately": True},
        {"other": NAME, "most": 1500, "error": "x" * 200},
    ],
    "checkins/letter_saved": [
        {"revealed": True, "other": NAME},
        {"revealed": False, "other": LONG_NAME},
        {"revealed": True, "other": NAME, "privately": True},
        {"revealed": False, "other": LONG_NAME, "privately": True},
    ],
    "checkins/letter_withdrawn": [{}],
    "checkins/letter_closed": [{}],
    "checkins/letters_reveal": [
        {
            "letters": [
                {"name": NAME, "other": LONG_NAME, "text": "z" * 1500},
                {"name": LONG_NAME, "other": NAME, "text": NAME * 20},
            ]
        }
    ],
}
