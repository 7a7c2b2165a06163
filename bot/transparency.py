"""Transparency, never surveillance, and care, never control: what no boundary and no repair
plan may ask for.

A boundary or a plan may ask for openness (sharing plans, new friendships, nothing hidden), but
never for someone's location, passwords or messages: that is policing. Nor may it isolate or
control one partner: never going out, no friends, answering within minutes, a say over money,
clothes or sex. /boundaries and /plan both decline such words kindly; these are the checks they
share. The words of the control check are in `content/<locale>/control.toml`, one table per kind
("isolation", "reachability", "money", "clothes", "sex"), every locale's read whatever the chat's
language; the answer (boundaries/not_control) speaks to the kind found.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

from bot.render import CONTENT_DIR, content_locales

_SURVEILLANCE = re.compile(
    r"\blocat(e|ion|ing)|\bgps\b|find\s*my|live\s*location|\btrack(ing|er)\b"
    r"|\btrack\s+(my|your|his|her|their|each\s+other)"
    r"|pass\s*(word|code)|pin\s*code|\bunlock"
    r"|\b(read|check|see|go(ing)?\s+through|look(ing)?\s+at|access)\w*\s+"
    r"(all\s+|each\s+other'?s?\s+|my\s+|your\s+|his\s+|her\s+|their\s+|the\s+|our\s+)?"
    r"(phones?|messages?|chats?|texts?|dms?|e-?mails?|inbox|accounts?|whatsapp)"
    r"|\bspy|\bmonitor|screen\s*time|screenshots?"
    r"|standort|ortung|\borten\b|passw|kennw|entsperr|handy\s+(kontroll|durchsuch|check)"
    r"|(nachrichten|chats|mails|handy)\s+(lesen|kontrollieren|durchsehen|checken|durchsuchen)"
    r"|überwach|spionier",
    re.IGNORECASE,
)
CONTROL_FILE = "control.toml"


def asks_for_surveillance(text: str) -> bool:
    """Location, passwords, reading messages: policing, not transparency."""
    return _SURVEILLANCE.search(text) is not None


def asks_for_control(text: str) -> str | None:
    """The kind of control a rule's words ask for ("isolation", "reachability", "money",
    "clothes", "sex"), or None."""
    return next((kind for kind, words in _control().items() if words.search(text)), None)


@cache
def _control(content_dir: Path = CONTENT_DIR) -> dict[str, re.Pattern[str]]:
    """Each kind of control and its patterns from every locale, as one expression."""
    patterns: dict[str, list[str]] = {}
    for locale in content_locales(content_dir):
        path = content_dir / locale / CONTROL_FILE
        if path.exists():
            for kind, table in tomllib.loads(path.read_text(encoding="utf-8")).items():
                patterns.setdefault(kind, []).extend(table["patterns"])
    return {
        kind: re.compile("|".join(f"(?:{p})" for p in found), re.IGNORECASE)
        for kind, found in patterns.items()
    }


def declined(text: str) -> tuple[str, dict[str, str]] | None:
    """How words that no boundary or plan may hold are answered: the template and its values
    (the person's name is added by the caller), or None if they may stand."""
    if asks_for_surveillance(text):
        return "boundaries/not_surveillance", {}
    kind = asks_for_control(text)
    if kind is not None:
        return "boundaries/not_control", {"kind": kind}
    return None
