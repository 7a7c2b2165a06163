"""Samples for the insecurity window and worry templates."""

from __future__ import annotations

from tests.samples.foundation import LONG_NAME, NAME
from tests.samples.pause import AT, TIMES
from tests.samples.which import TITLE

LONG_WORRY = "When you go quiet for hours I start imagining <b>things</b> & more. " * 14

SAMPLES = {
    "windows/schedule": [
        {
            "windows": [{"number": n, "minutes": 20, "times": TIMES} for n in (1, 2, 3, 4)],
            "default": 20,
        },
        {"windows": [], "default": 20},
    ],
    "windows/usage": [{"low": 10, "high": 60, "most": 4}],
    "windows/full": [{"most": 4}],
    "windows/length_set": [{"minutes": 60}],
    "windows/pick_day": [{}],
    "windows/pick_time": [
        {"weekday": 2, "zone": "America/Argentina/ComodRivadavia"},
        {"weekday": 6, "zone": None},
    ],
    "windows/ask_time": [
        {"partner": NAME, "weekday": 6, "zone": "Europe/Berlin"},
        {"partner": LONG_NAME, "weekday": 0, "zone": None, "error": "x" * 200},
    ],
    "windows/added": [
        {
            "name": NAME,
            "times": TIMES,
            "minutes": 20,
            "zone_missing": True,
            "quiet": [NAME, LONG_NAME],
            "chosen": AT,
            "zone": None,
        },
        {
            "name": LONG_NAME,
            "times": TIMES,
            "minutes": 60,
            "zone_missing": False,
            "quiet": [],
            "chosen": AT,
            "zone": "Europe/Berlin",
        },
    ],
    "windows/removed": [{"number": 2, "left": 1}, {"number": 1, "left": 0}],
    "windows/opened": [
        {"minutes": 20, "late": False, "names": [NAME, LONG_NAME]},
        {"minutes": 60, "late": True, "names": [NAME, LONG_NAME]},
    ],
    "windows/your_worries": [{"count": 1, "group": NAME}, {"count": 12, "group": TITLE}],
    "windows/worry_item": [{"text": LONG_WORRY, "group": TITLE}, {"text": LONG_WORRY}],
    "windows/closed": [
        {"late": True, "times": TIMES},
        {"late": False, "times": []},
    ],
    "windows/worry_in_private": [{"name": NAME}],
    "windows/worry_ask": [{"parked": 0}, {"parked": 4}],
    "windows/worry_parked": [
        {"opening": AT, "zone": "Pacific/Chatham", "parked": 1, "group": TITLE},
        {"opening": None, "zone": None, "parked": 5, "group": None},
        {"opening": AT, "zone": None, "parked": 2, "group": NAME},
    ],
    "windows/worry_too_long": [{"most": 1000, "length": 4088}],
    "windows/worry_shared": [{"name": NAME, "text": LONG_WORRY}],
}
