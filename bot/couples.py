"""Operations on a whole couple that several features need: locale, move, erase."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.context import Services
from bot.model import Couple, Partner

log = logging.getLogger(__name__)


def group_locale(services: Services, couple: Couple | None, *fallbacks: str | None) -> str:
    """The language of the couple's group messages: their choice for the group, else the
    first partner's Telegram app (a partner's private choice stays private)."""
    candidates: list[str | None] = []
    if couple is not None:
        candidates.append(couple.language)
        candidates.extend(p.telegram_language for p in couple.partners)
    candidates.extend(fallbacks)
    return services.render.locale_for(*candidates)


def partner_language(partner: Partner) -> str | None:
    return partner.language or partner.telegram_language


def partner_locale(services: Services, partner: Partner) -> str:
    return services.render.locale_for(partner_language(partner))


def move_couple(services: Services, old_chat_id: int, new_chat_id: int) -> bool:
    """The group became a supergroup: data and timers follow the new chat id."""
    if services.store.couple(old_chat_id) is None or services.store.couple(new_chat_id):
        return False
    services.timers.unschedule_all(old_chat_id)
    services.store.move(old_chat_id, new_chat_id)
    services.timers.reschedule_all(new_chat_id)
    log.info("couple data followed a group that became a supergroup")
    return True


def erase_couple(services: Services, chat_id: int) -> None:
    """Erase everything about a couple: its timers stop, its file is deleted."""
    services.timers.unschedule_all(chat_id)
    services.store.delete(chat_id)


def update_partner(
    services: Services, user_id: int, change: Callable[[Partner], None]
) -> list[Couple]:
    """Apply a personal setting to the person in every couple they are part of."""
    updated: list[Couple] = []
    for chat_id in services.store.chats_of_user(user_id):
        with services.store.transaction(chat_id) as tx:
            couple = tx.couple()
            partner = couple.partner(user_id) if couple else None
            if couple is None or partner is None:
                continue
            change(partner)
            tx.save(couple)
            updated.append(couple)
    return updated
