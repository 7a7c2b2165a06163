"""Samples for the question of which group a person's private entries go with."""

from __future__ import annotations

from typing import Any

from tests.samples.foundation import LONG_NAME, NAME

# The longest title a Telegram group can have (128 characters), with markup in it.
TITLE = (f"{NAME} & {LONG_NAME}" * 3)[:128]
TITLES = [TITLE, NAME, LONG_NAME, TITLE[::-1]]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "which/choose": [
        {"titles": TITLES, "current": None, "keep": "journal.free"},
        {"titles": TITLES, "current": 2, "keep": None},
        {"titles": [NAME, ""], "current": 0, "keep": None},
    ],
    "which/chosen": [{"group": TITLE}, {"group": ""}],
    "which/only": [
        {"group": TITLE, "gone": TITLES},
        {"group": NAME, "gone": []},
        {"group": None, "gone": [TITLE]},
        {"group": None, "gone": []},
    ],
    "which/nowhere": [{"groups": TITLES}, {"groups": [NAME]}],
    "which/in_private": [{"name": NAME}, {"name": LONG_NAME}],
}
