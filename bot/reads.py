"""What one feature may read of another's: small read functions each feature registers on the
services object (`services.reads`), typed here, so that no feature names another's tables.

/progress reads the check-ins, checklists, rituals, pauses and visits this way; /plan and
/boundaries read which repair track a couple is on, /script the kind of breach they named; the
timers read whether a pause runs; the features that prompt the couple together read whether those
prompts are paused (the safety switch of /support). A feature that isn't registered reads as
having nothing yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.storage import Store

LOW_SCORE = 2  # a weekly score of 2 of 5 or less says the week hurt
PAINFUL_GAP = 2  # partners' scores this far apart say they lived different weeks


def painful(scores: Iterable[int]) -> bool:
    """Whether a check-in's scores make a painful reveal: a low score, or a gap of two or more
    between the partners' (nothing to celebrate right after it)."""
    given = list(scores)
    return any(s <= LOW_SCORE for s in given) or (
        len(given) >= 2 and max(given) - min(given) >= PAINFUL_GAP
    )


@dataclass(frozen=True)
class WeeklyCheckin:
    """A weekly check-in: when it began, whether it is over, who voted what, who finished
    their reflection, and who was away that week (and so wasn't asked)."""

    started_at: datetime
    over: bool
    scores: Mapping[int, int]  # user id → their 1–5 vote
    reflected: frozenset[int]
    away: frozenset[int]
    revealed_at: datetime | None = None

    @property
    def painful(self) -> bool:
        return painful(self.scores.values())

    def answered_by(self, user_id: int) -> bool:
        """A partner answered it: finished the reflection or voted."""
        return user_id in self.reflected or user_id in self.scores


@dataclass(frozen=True)
class Checklist:
    """A finished monthly checklist: its roadmap month and how many statements each partner
    ticked (a partner who didn't answer is missing)."""

    month: int
    ticks: Mapping[int, int]


@dataclass(frozen=True)
class Checklists:
    """The finished checklists, oldest first, and their scale: how many statements there are,
    and how many of them are "most"."""

    done: tuple[Checklist, ...] = ()
    statements: int = 0
    most: int = 0


def _no_checkins(store: Store, chat_id: int) -> list[WeeklyCheckin]:
    return []


def _no_checklists(store: Store, chat_id: int) -> Checklists:
    return Checklists()


def _no_kept_days(store: Store, chat_id: int, user_id: int) -> set[date]:
    return set()


def _no_moments(store: Store, chat_id: int) -> list[datetime]:
    return []


def _no(store: Store, chat_id: int) -> bool:
    return False


def _no_moment(store: Store, chat_id: int) -> datetime | None:
    return None


def _no_days(store: Store, chat_id: int) -> tuple[date, date] | None:
    return None


def _no_track(store: Store, chat_id: int) -> str | None:
    return None


def _no_pause(store: Store, chat_id: int) -> datetime | None:
    return None


@dataclass
class Reads:
    """The read functions, each set by the feature that owns what it reads."""

    # checkins: the couple's weekly check-ins, oldest first; their finished checklists.
    weekly_checkins: Callable[[Store, int], list[WeeklyCheckin]] = field(default=_no_checkins)
    checklists: Callable[[Store, int], Checklists] = field(default=_no_checklists)
    # rituals: the days (their own calendar) on which a partner kept at least one ritual.
    ritual_days: Callable[[Store, int, int], set[date]] = field(default=_no_kept_days)
    # pause: when each of the couple's pauses began.
    pauses: Callable[[Store, int], list[datetime]] = field(default=_no_moments)
    # pause: when the couple's running pause ends (None: no pause runs); timers read it.
    pause_ends: Callable[[Store, int], datetime | None] = field(default=_no_pause)
    # visit: whether a visit was rated safe by both; the first and last day of the visit
    # planned next (in its place's calendar), if one is.
    safe_visit: Callable[[Store, int], bool] = field(default=_no)
    next_visit: Callable[[Store, int], tuple[date, date] | None] = field(default=_no_days)
    # windows: when the couple's next insecurity window opens.
    next_window: Callable[[Store, int], datetime | None] = field(default=_no_moment)
    # repair_track: the track the couple is on ("infidelity", "other"), if they said; and the
    # kind of breach they named ("infidelity", "emotional", "dishonesty", "promises", "neglect").
    repair_track: Callable[[Store, int], str | None] = field(default=_no_track)
    breach: Callable[[Store, int], str | None] = field(default=_no_track)
    # support: a partner paused the couple's joint prompts with the safety switch (check-ins,
    # the checklist, letters, worry windows, visit planning wait until that partner lifts it).
    prompts_paused: Callable[[Store, int], bool] = field(default=_no)
