"""Samples for /support and /faq templates."""

from __future__ import annotations

from typing import Any

from bot.features.support import FAQ_KEYS
from tests.samples.foundation import LONG_NAME, NAME

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "support/support": [{}],
    "support/sent": [{"name": NAME}, {"name": LONG_NAME}],
    "support/unreachable": [{"name": NAME}],
    "support/faq_menu": [{}],
    "support/faq_usage": [{"typed": '<b>why</b> & "how"', "count": 8}],
    "support/faq_answer": [{"key": key, "question": f"{NAME}?"} for key in FAQ_KEYS],
}
