"""Transparency, never surveillance: what no boundary and no repair plan may ask for.

A boundary or a plan may ask for openness (sharing plans, new friendships, nothing hidden), but
never for someone's location, passwords or messages: that is policing. /boundaries and /plan
both refuse such words kindly; this is the one check they share.
"""

from __future__ import annotations

import re

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


def asks_for_surveillance(text: str) -> bool:
    """Location, passwords, reading messages: policing, not transparency."""
    return _SURVEILLANCE.search(text) is not None
