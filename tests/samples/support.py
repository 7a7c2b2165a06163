"""Samples for /support and /faq templates."""

from __future__ import annotations

from typing import Any

from bot.features.support import FAQ_KEYS
from tests.samples.foundation import LONG_NAME, NAME

# The help with no numbers known (no zone, or a country the table lacks) and with the most a
# country has: an emergency number and helplines with long names and hostile text.
HELP = [
    {"zone": None, "emergency": None, "lines": []},
    {"zone": "Asia/Tokyo", "emergency": None, "lines": []},
    {
        "zone": "Europe/Berlin",
        "emergency": "112",
        "lines": [
            {"kind": "abuse", "name": NAME, "number": "116 016"},
            {"kind": "abuse", "name": LONG_NAME * 2, "number": "0800 000 000 000"},
        ],
    },
]
SWITCHES = (None, "pause", "resume")

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "support/support": [{"help": h, "switch": s} for h in HELP for s in SWITCHES],
    "support/safety": [{"help": h, "switch": s} for h in HELP for s in SWITCHES],
    "support/paused": [{}],
    "support/resumed": [{}],
    "support/faq_sent": [{}],
    "support/for_anyone": [{}],
    "support/faq_menu": [{}],
    "support/faq_usage": [{"typed": '<b>why</b> & "how"', "count": 8}],
    "support/faq_answer": [
        *({"key": key, "question": f"{NAME}?"} for key in FAQ_KEYS),
        {"key": "no_change", "question": f"{NAME}?", "by": LONG_NAME},
        {"key": "stories", "question": f"{NAME}?", "share_with": LONG_NAME},
    ],
}
