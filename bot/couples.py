"""Operations on a whole couple that several features need: locale, move, erase; and a person
in several couples: their personal settings, and the couple their private entries go to."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from bot.context import Services
from bot.model import Couple, Partner
from bot.render import shorten
from bot.storage import Store

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
    return services.store.update_person(user_id, change)


def joining(
    store: Store, user_id: int, name: str, telegram_language: str | None, now: datetime
) -> Partner:
    """A person taking a place in a couple, with the personal settings their other couples
    know (language, zone, quiet hours, away-mode, their private chat: `model.PERSONAL`)."""
    partner = Partner(user_id=user_id, name=name, joined_at=now)
    known = store.person(user_id)
    if known is not None:
        partner.take_personal(known)
    partner.telegram_language = telegram_language or partner.telegram_language
    return partner


# -- where a person's private entries go --------------------------------------------------------


def entries_place(couples: Iterable[Couple], user_id: int) -> Couple | None:
    """The couple a person's new private entries (journal, worries) go to: the one they chose
    last, while Mend is in it; otherwise the only couple of theirs Mend is in. None: there is
    none, or they must choose (see bot.which)."""
    mine = [c for c in couples if c.partner(user_id) is not None]
    active = [c for c in mine if c.status == "active"]
    chosen = max(
        (c for c in mine if _chosen_at(c, user_id) is not None),
        key=lambda c: _chosen_at(c, user_id) or datetime.min,
        default=None,
    )
    if chosen is not None and chosen.status == "active":
        return chosen
    return active[0] if len(active) == 1 else None


def _chosen_at(couple: Couple, user_id: int) -> datetime | None:
    partner = couple.partner(user_id)
    return partner.entries_chosen_at if partner is not None else None


def couples_of(store: Store, user_id: int) -> list[Couple]:
    """Every couple a person is a partner in (any status), by chat id."""
    return [c for c in map(store.couple, store.chats_of_user(user_id)) if c is not None]


def chosen_first(couples: Sequence[Couple], user_id: int) -> list[Couple]:
    """A person's couples in the order their private commands take them: the one their
    private entries go to, then the others Mend is in, then those it was removed from."""
    place = entries_place(couples, user_id)
    return sorted(
        couples,
        key=lambda c: (place is None or c.chat_id != place.chat_id, c.status != "active"),
    )


SHORT_TITLE = 40  # characters of a group's title where many are shown (buttons, lists)


def short_title(title: str) -> str:
    """A group's title where space is short: its first SHORT_TITLE characters, and "…" for
    the rest (Telegram allows 128)."""
    return shorten(title, SHORT_TITLE)


def entries_group(store: Store, couple: Couple, user_id: int) -> str | None:
    """The group to name beside a person's private entry kept with `couple`: its title when
    the person is in more than one couple (with one, there is no doubt where it is)."""
    return couple.title if len(store.chats_of_user(user_id)) > 1 else None
