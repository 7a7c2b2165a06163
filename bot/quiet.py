"""Quiet hours: whether a moment falls in them (bot/reading.py reads "22:00-07:00"), and
whether a message sent now should arrive without a sound.

What reaches someone in their quiet hours arrives silently (Telegram's `disable_notification`):
a partner's private chat by that partner's quiet hours, the couple's group by either partner's.
It is decided here, once, for every message the bot sends (bot.bot_api applies it), so what
one partner does at 3 am never rings the other.
"""

from __future__ import annotations

from datetime import datetime, time

from bot.model import Partner
from bot.render import zone
from bot.storage import Store


def in_quiet_hours(
    moment: datetime, start: str | None, end: str | None, zone_name: str | None
) -> bool:
    """Whether `moment` falls inside quiet hours given in the partner's own zone."""
    if not start or not end:
        return False
    local = moment.astimezone(zone(zone_name)).time()
    begin, finish = time.fromisoformat(start), time.fromisoformat(end)
    if begin < finish:
        return begin <= local < finish
    return local >= begin or local < finish  # spans midnight


def partner_is_quiet(partner: Partner, moment: datetime) -> bool:
    return in_quiet_hours(moment, partner.quiet_start, partner.quiet_end, partner.timezone)


def arrives_silently(store: Store, chat_id: int, moment: datetime) -> bool:
    """Whether a message to `chat_id` at `moment` should come without a sound: a couple's group
    while either partner is in quiet hours, a partner's private chat while they are."""
    couple = store.couple(chat_id)
    if couple is not None:
        people = couple.partners
    else:
        # A private chat's id is the person's: their quiet hours are personal.
        person = store.person(chat_id)
        people = [person] if person is not None else []
    return any(partner_is_quiet(p, moment) for p in people)
