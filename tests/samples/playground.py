"""Samples for the playground's tour (the page of scripts/run without a token)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.web import TOUR

SAMPLES: dict[str, list[dict[str, Any]]] = {f"playground/tour_{step}": [{}] for step, _ in TOUR}
