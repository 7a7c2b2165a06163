"""Ways in: the welcome with its "I'm in" button, and deep links from the group to a
partner's private chat with the button that asks for a fresh one.

Several features show these buttons (after /forget, beside a check-in that couldn't reach a
partner privately, ...); onboarding answers their presses.

A link carries a random token; only its hash is stored, it expires, and it works once, for the
partner it was made for.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

from telegram import Chat, InlineKeyboardButton

from bot.context import MendContext, Services
from bot.messages import Buttons, button, say
from bot.model import Couple, from_iso, to_iso, utcnow
from bot.storage import Kind, Store, Transaction


class LinkRecord(TypedDict):
    """A deep link's token, kept only as a hash, for one partner, until it expires."""

    id: NotRequired[int]
    hash: str
    user_id: int
    expires_at: str | None


LINKS_TABLE = Kind[LinkRecord]("links")
LINK_LIFETIME = timedelta(days=7)
JOIN = "onb:join"  # the callback data of "I'm in"
PRIVATE_LINK = "onb:link"  # the callback data of "a fresh link to my private chat"


def welcome_buttons(services: Services, locale: str) -> Buttons:
    """ "I'm in", under the welcome."""
    return [[button(services.render.label(locale, "onboarding.join"), JOIN)]]


def private_link_button(services: Services, locale: str) -> InlineKeyboardButton:
    """A partner asks for a fresh link to their private chat (the old one expired or was used)."""
    return button(services.render.label(locale, "settings.private_link"), PRIVATE_LINK)


async def greet(
    context: MendContext,
    chat: Chat,
    language: str | None,
    thread_id: int | None = None,
    *,
    others: int = 0,
) -> None:
    """The first words in a new group: what the bot does, its privacy promises, "I'm in";
    with `others` (people besides the two partners in the group), a word about who the couple
    is and where personal things will go."""
    services = context.mend
    locale = services.render.locale_for(language)
    await say(
        context,
        chat.id,
        locale,
        "onboarding/welcome",
        buttons=welcome_buttons(services, locale),
        thread_id=thread_id,
        erase_days=services.settings.erase_after_days,
        others=others,
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key(digest: str) -> str:
    return f"link:{digest}"


def new_link(tx: Transaction, couple: Couple, user_id: int, now: datetime | None = None) -> str:
    """Make a fresh token for `user_id` (replacing their older ones); returns the token."""
    now = now or utcnow()
    forget_links(tx, couple, user_id)
    table = tx.table(LINKS_TABLE)
    token = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-], fits /start payloads
    digest = _hash(token)
    table.insert({"hash": digest, "user_id": user_id, "expires_at": to_iso(now + LINK_LIFETIME)})
    couple.add_key(_key(digest))
    return token


def forget_links(tx: Transaction, couple: Couple, user_id: int) -> None:
    """Every link made for `user_id` stops working (a newer one replaces them, or they left)."""
    table = tx.table(LINKS_TABLE)
    for old in table.find(user_id=user_id):
        couple.drop_key(_key(old["hash"]))
        table.remove(old["id"])


def use_link(store: Store, token: str, user_id: int) -> int | None:
    """Redeem a token for `user_id`: the couple chat it was made for, or None. Works once.

    A token made for the other partner is refused and stays valid for them; an expired one is
    refused and removed.
    """
    if len(token) > 64:
        return None
    digest = _hash(token)
    chat_id = store.chat_for_key(_key(digest))
    if chat_id is None:
        return None
    with store.transaction(chat_id) as tx:
        couple = tx.couple()
        table = tx.table(LINKS_TABLE)
        record = next(iter(table.find(hash=digest)), None)
        if couple is None or record is None or record["user_id"] != user_id:
            return None
        table.remove(record["id"])
        couple.drop_key(_key(digest))
        tx.save(couple)
    expires = from_iso(record["expires_at"])
    return chat_id if expires is not None and expires > utcnow() else None


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"
