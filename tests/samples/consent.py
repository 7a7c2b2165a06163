"""Samples for the close of a proposal the other partner didn't agree to."""

from __future__ import annotations

from typing import Any

from bot.consent import WHATS
from tests.samples.foundation import LONG_NAME, NAME

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "consent/declined": [
        {"what": what, "proposer": NAME, "decliner": LONG_NAME, "again": again}
        for what in WHATS
        for again in (False, True)
    ],
    "consent/asked": [{"partner": NAME}, {"partner": LONG_NAME}],
}
