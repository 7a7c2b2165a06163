"""The couple and its two partners, as the features see them and as the store keeps them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

MAX_PARTNERS = 2
# What is a person's own, the same in every couple they are part of: their Telegram app's
# language and the one they chose, their zone, quiet hours, away-mode, and whether Mend can
# reach them in their private chat (one chat, whatever group they opened it from).
PERSONAL = (
    "telegram_language",
    "language",
    "timezone",
    "quiet_start",
    "quiet_end",
    "away_until",
    "private_chat",
)

Path_ = Literal["repair", "new"]
PATHS: tuple[Path_, ...] = ("repair", "new")
# Roles change which scripts are offered, never who may use the bot.
ROLES_BY_PATH: dict[str, tuple[str, ...]] = {
    "repair": ("repairing", "hurt"),
    "new": ("learning", "supporting"),
}


def utcnow() -> datetime:
    """The current time, always timezone-aware in UTC."""
    return datetime.now(UTC)


def to_iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class BadShape(ValueError):
    """A stored document the model can't read. The message names the field, never its value:
    it is logged, and the value may be something a person wrote."""


# A stored field's rule: a check of its value, and whether the field must be there.
FieldRule = tuple[Callable[[Any], bool], bool]
Shape = dict[str, FieldRule]


def _required(check: Callable[[Any], bool]) -> FieldRule:
    return check, True


def _optional(check: Callable[[Any], bool], *, none: bool = True) -> FieldRule:
    """A field that may be missing (and, unless `none` is False, null)."""
    return (lambda value: value is None or check(value)) if none else check, False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_day(value: Any) -> bool:
    """A calendar day as ISO text (2026-12-24)."""
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_moment(value: Any) -> bool:
    """An aware ISO time, as `to_iso` writes it (a naive one couldn't be compared with now)."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _is_list_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and all(check(item) for item in value)


def check_shape(doc: Any, shape: Shape, what: str) -> None:
    """Raise BadShape unless `doc` is an object whose fields fit `shape`."""
    if not isinstance(doc, dict):
        raise BadShape(f"{what} is not an object")
    for name, (check, required) in shape.items():
        if name not in doc:
            if required:
                raise BadShape(f"{what} lacks {name!r}")
        elif not check(doc[name]):
            raise BadShape(f"{what} has {name!r} of the wrong type")


@dataclass
class Partner:
    """One of the two people in the couple; personal settings are theirs alone."""

    user_id: int
    name: str
    joined_at: datetime
    telegram_language: str | None = None
    language: str | None = None
    timezone: str | None = None
    quiet_start: str | None = None  # "HH:MM" in the partner's own time zone
    quiet_end: str | None = None
    role: str | None = None
    private_chat: bool = False
    left_group: bool = False
    # Away-mode (/away): no prompts through this day of their own calendar, in every couple.
    away_until: date | None = None
    # A person in several couples chose this one for their private entries (the journal,
    # worries) at this moment; the latest choice among their couples is the current one. Not
    # a personal setting: written with the entry that was kept here, by the question
    # (`entries_chosen_by`, its token) that asked where it belongs.
    entries_chosen_at: datetime | None = None
    entries_chosen_by: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "joined_at": to_iso(self.joined_at),
            "telegram_language": self.telegram_language,
            "language": self.language,
            "timezone": self.timezone,
            "quiet_start": self.quiet_start,
            "quiet_end": self.quiet_end,
            "role": self.role,
            "private_chat": self.private_chat,
            "left_group": self.left_group,
            "away_until": None if self.away_until is None else self.away_until.isoformat(),
            "entries_chosen_at": to_iso(self.entries_chosen_at),
            "entries_chosen_by": self.entries_chosen_by,
        }

    # What from_doc reads: check_shape(doc, Partner.SHAPE, ...) before calling it.
    SHAPE: ClassVar[Shape] = {
        "user_id": _required(_is_int),
        "name": _required(_is_text),
        "joined_at": _required(_is_moment),
        "telegram_language": _optional(_is_text),
        "language": _optional(_is_text),
        "timezone": _optional(_is_text),
        "quiet_start": _optional(_is_text),
        "quiet_end": _optional(_is_text),
        "role": _optional(_is_text),
        "private_chat": _optional(_is_flag),
        "left_group": _optional(_is_flag),
        "away_until": _optional(_is_day),
        "entries_chosen_at": _optional(_is_moment),
        "entries_chosen_by": _optional(_is_text),
    }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Partner:
        joined = from_iso(doc["joined_at"])
        assert joined is not None
        return cls(
            user_id=int(doc["user_id"]),
            name=str(doc["name"]),
            joined_at=joined,
            telegram_language=doc.get("telegram_language"),
            language=doc.get("language"),
            timezone=doc.get("timezone"),
            quiet_start=doc.get("quiet_start"),
            quiet_end=doc.get("quiet_end"),
            role=doc.get("role"),
            private_chat=bool(doc.get("private_chat", False)),
            left_group=bool(doc.get("left_group", False)),
            away_until=date.fromisoformat(doc["away_until"]) if doc.get("away_until") else None,
            entries_chosen_at=from_iso(doc.get("entries_chosen_at")),
            entries_chosen_by=doc.get("entries_chosen_by"),
        )

    def take_personal(self, other: Partner) -> None:
        """Take the personal settings `other` (the same person, as another couple knows them)
        has: they are the person's own, the same in every couple of theirs."""
        for name in PERSONAL:
            setattr(self, name, getattr(other, name))


@dataclass
class Couple:
    """A couple's shared group chat with the bot, and everything they set up together."""

    chat_id: int
    title: str
    created_at: datetime
    partners: list[Partner] = field(default_factory=list)
    # "closing": a partner asked /forget; nothing runs until it is erased (features/privacy.py)
    status: Literal["active", "removed", "closing"] = "active"
    path: str | None = None
    language: str | None = None
    setup_completed_at: datetime | None = None
    removed_at: datetime | None = None
    migrated_from: int | None = None
    # Lookup keys the store indexes to this chat (poll ids, deep-link token hashes, ...).
    keys: list[str] = field(default_factory=list)

    def partner(self, user_id: int) -> Partner | None:
        return next((p for p in self.partners if p.user_id == user_id), None)

    def other(self, user_id: int) -> Partner | None:
        return next((p for p in self.partners if p.user_id != user_id), None)

    def is_partner(self, user_id: int) -> bool:
        return self.partner(user_id) is not None

    @property
    def is_full(self) -> bool:
        return len(self.partners) >= MAX_PARTNERS

    @property
    def is_set_up(self) -> bool:
        return self.setup_completed_at is not None

    def add_key(self, key: str) -> None:
        if key not in self.keys:
            self.keys.append(key)

    def drop_key(self, key: str) -> None:
        if key in self.keys:
            self.keys.remove(key)

    def to_doc(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "title": self.title,
            "created_at": to_iso(self.created_at),
            "partners": [p.to_doc() for p in self.partners],
            "status": self.status,
            "path": self.path,
            "language": self.language,
            "setup_completed_at": to_iso(self.setup_completed_at),
            "removed_at": to_iso(self.removed_at),
            "migrated_from": self.migrated_from,
            "keys": list(self.keys),
        }

    # What from_doc reads (the partners have Partner.SHAPE): see check_doc.
    SHAPE: ClassVar[Shape] = {
        "chat_id": _required(_is_int),
        "created_at": _required(_is_moment),
        "title": _optional(_is_text),
        "partners": _optional(_is_list_of(_is_object), none=False),
        "status": _optional(_is_text),
        "path": _optional(_is_text),
        "language": _optional(_is_text),
        "setup_completed_at": _optional(_is_moment),
        "removed_at": _optional(_is_moment),
        "migrated_from": _optional(_is_int),
        "keys": _optional(_is_list_of(_is_text), none=False),
    }

    @classmethod
    def check_doc(cls, doc: Any) -> None:
        """Raise BadShape unless from_doc can read `doc` (checked once, when a file loads)."""
        check_shape(doc, cls.SHAPE, "the couple")
        for number, partner in enumerate(doc.get("partners", []), start=1):
            check_shape(partner, Partner.SHAPE, f"partner {number}")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Couple:
        created = from_iso(doc["created_at"])
        assert created is not None
        stored = doc.get("status")
        status: Literal["active", "removed", "closing"] = (
            "removed" if stored == "removed" else "closing" if stored == "closing" else "active"
        )
        return cls(
            chat_id=int(doc["chat_id"]),
            title=str(doc.get("title", "")),
            created_at=created,
            partners=[Partner.from_doc(p) for p in doc.get("partners", [])],
            status=status,
            path=doc.get("path"),
            language=doc.get("language"),
            setup_completed_at=from_iso(doc.get("setup_completed_at")),
            removed_at=from_iso(doc.get("removed_at")),
            migrated_from=doc.get("migrated_from"),
            keys=list(doc.get("keys", [])),
        )
