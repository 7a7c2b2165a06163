"""Samples for /script and /starter templates (hostile names, every phase and depth)."""

from __future__ import annotations

from typing import Any

from bot.features.repair_track import BREACHES
from bot.features.talk import SCRIPTS
from tests.samples.foundation import LONG_NAME, NAME

SCRIPT_KEYS = tuple(script.key for script in SCRIPTS)
TYPED = '<b>nope</b> & "more"'

SAMPLES: dict[str, list[dict[str, Any]]] = {
    **{
        f"talk/script_{key}": [{"breach": breach} for breach in (None, *BREACHES)]
        for key in SCRIPT_KEYS
    },
    "talk/script_menu": [
        {"name": NAME, "role": "repairing", "first": 4, "breach": "promises"},
        {"name": LONG_NAME, "role": "hurt", "first": 5, "breach": "emotional"},
        {"name": NAME, "role": "learning", "first": 6, "breach": None},
        {"name": NAME, "role": "supporting", "first": 2, "breach": "neglect"},
        {"name": NAME, "role": None, "first": 0, "breach": "dishonesty"},
    ],
    "talk/script_usage": [
        {
            "typed": TYPED,
            "scripts": [{"key": k, "title": f"{k} <i>title</i>"} for k in SCRIPT_KEYS],
        },
    ],
    "talk/starter_choose": [
        {"month": 1, "phase": "stabilise"},
        {"month": 5, "phase": "intimacy"},
        {"month": 14, "phase": "new_normal"},
    ],
    "talk/starter": [
        {"month": month, "phase": phase, "depth": depth, "index": index, "restarted": restarted}
        for month, phase in ((2, "stabilise"), (6, "intimacy"), (12, "new_normal"))
        for depth in ("light", "deeper")
        for index, restarted in ((0, False), (9, True))
    ],
    "talk/starter_usage": [{"typed": TYPED}],
}
