"""Samples for the pause templates."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.samples.foundation import LONG_NAME, NAME

AT = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the night Europe falls back
TIMES = [
    {"name": NAME, "zone": "Europe/Berlin", "at": AT},
    {"name": LONG_NAME, "zone": None, "at": AT},
]

SAMPLES = {
    "pause/started": [
        {
            "name": NAME,
            "minutes": 1440,
            "times": TIMES,
            "adjusted": a,
            "typed": "<b>x</b>" * 8,
            "low": 20,
            "high": 1440,
        }
        for a in (None, "unread", "short", "long")
    ],
    "pause/running": [
        {"by": NAME, "minutes_left": 1, "times": TIMES},
        {"by": NAME, "minutes_left": 0, "times": TIMES},
    ],
    "pause/journal_prompt": [{"name": NAME}],
    "pause/ready_when_you_are": [{"name": NAME}],
    "pause/ready_when_you_are_group": [{"name": NAME, "pauser": LONG_NAME}],
    "pause/ready_sent": [{"pauser": NAME}],
    "pause/none": [{}],
    "pause/ended": [
        {
            "early": True,
            "late": False,
            "name": NAME,
            "names": [NAME, LONG_NAME],
            "ended_at": AT,
            "times": [],
        },
        {
            "early": False,
            "late": True,
            "name": NAME,
            "names": [NAME, LONG_NAME],
            "ended_at": AT,
            "times": TIMES,
        },
        {
            "early": False,
            "late": False,
            "name": NAME,
            "names": [NAME, LONG_NAME],
            "ended_at": AT,
            "times": TIMES,
        },
    ],
    "pause/extend_usage": [
        {"low": 5, "high": 1410, "default": 15, "full": False},
        {"low": 5, "high": 5, "default": 15, "full": True},
    ],
    "pause/extended": [
        {"name": NAME, "pauser": None, "minutes": 15, "times": TIMES},
        {"name": NAME, "pauser": LONG_NAME, "minutes": 1410, "times": TIMES},
    ],
}
