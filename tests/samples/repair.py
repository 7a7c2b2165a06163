"""Samples for the infidelity track, the transparency exercises and the pitfall notes."""

from __future__ import annotations

from typing import Any

from tests.samples.foundation import LONG_NAME, NAME

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "repair/track_offer": [{}],
    "repair/track": [
        {"changed_by": NAME, "repairing": NAME, "hurt": LONG_NAME},
        {"changed_by": None, "repairing": None, "hurt": None},
    ],
    "repair/track_other": [
        {"changed_by": changed_by, "breach": breach}
        for changed_by in (NAME, None)
        for breach in (None, "emotional", "dishonesty", "promises", "neglect")
    ],
    "repair/track_proposed": [
        {"owner": NAME, "partner": LONG_NAME, "kind": kind, "breach": breach, "current": current}
        for kind, breach, current in (
            ("infidelity", "infidelity", None),
            ("infidelity", None, "other"),
            ("other", "emotional", "infidelity"),
            ("other", "promises", None),
            ("other", None, None),
        )
    ]
    + [
        {
            "owner": LONG_NAME,
            "partner": NAME,
            "kind": "other",
            "breach": None,
            "current": "infidelity",
        }
    ],
    "repair/exercises_started": [{"name": NAME, "weeks": 3}],
    "repair/exercise_week": [
        {"week": week, "weeks": 3, "late": late} for week in (1, 2, 3) for late in (False, True)
    ],
    "repair/exercises_stopped": [{"name": NAME}],
    "repair/pitfall_too_fast": [{}],
    "repair/pitfall_punishment": [
        {"reason": "one_sided", "name": NAME},
        {"reason": "far", "name": LONG_NAME},
        {"reason": "kept", "name": LONG_NAME},
    ],
    "repair/pitfall_crutch": [{}],
    "repair/pitfall_distance": [{}],
}
