"""Samples for /jealous and /breathe templates."""

from __future__ import annotations

from typing import Any

from tests.samples.foundation import LONG_NAME, NAME

SOURCES = ("new", "old", "unsure")

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "calm/jealous_notice": [{"name": NAME, "private": False}, {"name": LONG_NAME, "private": True}],
    "calm/jealous_story": [{"private": False, "source": None}],
    "calm/jealous_choose": [{"private": False, "source": s} for s in SOURCES],
    "calm/jealous_share": [
        *({"private": p, "source": s} for s in SOURCES for p in (False, True)),
        {"private": True, "source": "old", "other": LONG_NAME},
    ],
    "calm/jealous_park": [{"private": False, "source": "old"}, {"private": True, "source": None}],
    "calm/jealous_pause": [{"private": False, "source": "new"}, {"private": True, "source": "old"}],
    "calm/jealous_stopped": [{"private": False, "source": None}],
    "calm/jealous_note": [{"name": NAME}, {"name": LONG_NAME}],
    "calm/jealous_told": [{"other": NAME, "source": "old"}, {"other": LONG_NAME, "source": None}],
    "calm/breathe_step": [
        {"round": r, "rounds": n, "phase": phase, "count": 4}
        for r, n in ((1, 1), (1, 4), (4, 4), (10, 10))
        for phase in ("in", "hold", "out")
    ],
    "calm/breathe_done": [{"rounds": 1}, {"rounds": 4}],
    "calm/breathe_busy": [{}],
    "calm/breathe_usage": [{"typed": '<i>lots</i> & "lots"', "rounds": 4, "max_rounds": 10}],
}
