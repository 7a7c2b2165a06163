"""What one feature may read of another's: small read functions each feature registers on the
services object (`services.reads`), typed here, so that no feature names another's tables.

/plan and /boundaries read which repair track a couple is on. A feature that isn't registered
reads as having nothing yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.storage import Store


def _no_track(store: Store, chat_id: int) -> str | None:
    return None


@dataclass
class Reads:
    """The read functions, each set by the feature that owns what it reads."""

    # repair_track: the track the couple is on ("infidelity", "other"), if they said.
    repair_track: Callable[[Store, int], str | None] = field(default=_no_track)
