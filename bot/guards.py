"""Who may do what: rules that apply to many handlers, written once.

In a group, only the couple's two partners may change anything; anyone else is told kindly (a
command) or shown a private alert (a button), and nothing changes. Button presses are checked
against the chat the button is in, never against anything the callback data claims, so forged
data can't reach another couple.

In private, someone who is in no couple (a stranger, an old or forwarded button) is greeted
with who Mend is and how to begin, at most once in STRANGER_GREETING_INTERVAL however often they
type; a press is answered at once with a short alert instead, so a button never spins and a
press never brings a message.

A guarded handler is handed what it needs once (`Asked`): the couple, the partner who asked,
the language to answer in, and what was typed or pressed.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import CallbackQuery, Chat, MessageEntity, Update, User

from bot.context import MendContext
from bot.couples import chosen_first, couples_of, group_locale, partner_locale, update_partner
from bot.messages import reply, thread_of
from bot.model import Couple, Partner, utcnow


@dataclass(frozen=True)
class Asked:
    """Who asked, where, and what: what a guarded handler needs, worked out once.

    couple: the group's couple; in private, the couple the person's private entries go to
        (bot.couples.entries_place), else the first one Mend is in.
    partner: the person who asked, as that couple knows them; `first_name`: the name their
        Telegram account shows now (what they just did is told with it).
    couples: every couple of theirs (in a group, just its own), in that order.
    locale: the answer's language: the partner's own in private, the group's in a group.
    thread_id: the forum topic the update came from (what follows lands there too).
    args: the command's arguments as typed; `words`: the same, lower-cased.
    typed: everything after the command, exactly as written (line breaks kept): for words that
        are kept (a journal entry, a worry), where `text` would join the lines into one.
    query: the button press, if it is one.
    """

    couple: Couple
    partner: Partner
    first_name: str
    couples: tuple[Couple, ...]
    locale: str
    private: bool
    thread_id: int | None
    args: tuple[str, ...]
    words: tuple[str, ...]
    typed: str
    query: CallbackQuery | None

    @property
    def text(self) -> str:
        """The arguments as one line, as typed."""
        return " ".join(self.args).strip()

    @property
    def press(self) -> CallbackQuery:
        """The button press (in a handler of buttons, which always has one)."""
        assert self.query is not None, "a button handler is handed a press"
        return self.query


GuardedHandler = Callable[[Update, MendContext, Asked], Awaitable[None]]
Handler = Callable[[Update, MendContext], Coroutine[Any, Any, None]]

# Someone outside the couple is told at most once in this long per chat.
OUTSIDER_NOTICE_INTERVAL = timedelta(minutes=10)
# Someone in no couple is greeted in private at most once in this long.
STRANGER_GREETING_INTERVAL = timedelta(hours=6)


def partners_only(handler: GuardedHandler) -> Handler:
    """A group command or button for the couple's partners, with the couple loaded."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: MendContext) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return
        if chat.type == Chat.PRIVATE:
            if not context.mend.store.chats_of_user(user.id):
                await greet_stranger(update, context)
                return
            await refuse(update, context, None, "common/group_only", "alert.group_only")
            return
        couple = await _partners_couple(update, context, chat, user)
        if couple is not None:
            await handler(update, context, _asked(update, context, user, [couple]))

    return guarded


def known_partner(handler: GuardedHandler) -> Handler:
    """A command for a person who is a partner in at least one couple (any chat type).

    A couple whose data is being erased (a partner asked /forget) counts for nothing here:
    see `partner_with_data`."""
    return _known(handler, closing=False)


def partner_with_data(handler: GuardedHandler) -> Handler:
    """Like `known_partner`, and a couple whose data is being erased counts too: what still
    makes sense while it waits to be erased (/export, a fresh link to the private chat)."""
    return _known(handler, closing=True)


def _known(handler: GuardedHandler, *, closing: bool) -> Handler:
    @functools.wraps(handler)
    async def guarded(update: Update, context: MendContext) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return
        if chat.type != Chat.PRIVATE:
            couple = await _partners_couple(update, context, chat, user, closing=closing)
            if couple is not None:
                await handler(update, context, _asked(update, context, user, [couple]))
            return
        store = context.mend.store
        known = couples_of(store, user.id)
        couples = chosen_first([c for c in known if closing or c.status != "closing"], user.id)
        if not known:
            await greet_stranger(update, context)
            return
        if not couples:  # only couples whose data is being erased
            await refuse(update, context, known[0], "common/closing", "alert.closing", private=True)
            return
        if _language_changed(context, couples, user):
            couples = [store.couple(c.chat_id) or c for c in couples]
        await handler(update, context, _asked(update, context, user, couples))

    return guarded


def _asked(update: Update, context: MendContext, user: User, couples: Sequence[Couple]) -> Asked:
    """What the handler is handed: the couple and partner (the guards made sure the person
    is one), the language to answer in, and what was typed or pressed."""
    chat = update.effective_chat
    private = chat is not None and chat.type == Chat.PRIVATE
    couple = couples[0]
    partner = couple.partner(user.id)
    assert partner is not None
    services = context.mend
    args = tuple(context.args or ())
    return Asked(
        couple=couple,
        partner=partner,
        first_name=user.first_name,
        couples=tuple(couples),
        locale=partner_locale(services, partner) if private else group_locale(services, couple),
        private=private,
        thread_id=thread_of(update),
        args=args,
        words=tuple(a.lower() for a in args),
        typed=_after_command(update),
        query=update.callback_query,
    )


def _after_command(update: Update) -> str:
    """What follows a command in its message, as written; "" for anything else."""
    message = update.effective_message
    if message is None or not message.text or not message.entities:
        return ""
    command = message.entities[0]
    if command.type != MessageEntity.BOT_COMMAND or command.offset != 0:
        return ""
    # Entity offsets count UTF-16 code units; the command itself is plain ASCII.
    return message.text[command.length :].strip()


async def _partners_couple(
    update: Update, context: MendContext, chat: Chat, user: User, *, closing: bool = False
) -> Couple | None:
    """The group's couple if `user` is one of its partners; otherwise say why not. A couple
    whose data is being erased is found only when `closing` says it may be."""
    store = context.mend.store
    couple = store.couple(chat.id)
    if couple is not None and couple.status == "closing" and not closing:
        await refuse(update, context, couple, "common/closing", "alert.closing")
        return None
    if couple is None or couple.status == "removed" or not couple.partners:
        await refuse(update, context, couple, "common/not_set_up", "alert.not_set_up")
        return None
    if not couple.is_partner(user.id):
        await refuse_outsider(update, context, couple)
        return None
    if _language_changed(context, [couple], user):
        couple = store.couple(chat.id) or couple
    return couple


def _language_changed(context: MendContext, couples: list[Couple], user: User) -> bool:
    """Follow a partner who switched their Telegram app's language; True if stored anew."""
    if not user.language_code or all(
        (p := c.partner(user.id)) is None or p.telegram_language == user.language_code
        for c in couples
    ):
        return False

    def change(partner: Partner) -> None:
        partner.telegram_language = user.language_code

    update_partner(context.mend, user.id, change)
    return True


async def refuse(
    update: Update,
    context: MendContext,
    couple: Couple | None,
    template: str,
    alert: str,
    **data: Any,
) -> None:
    """Say why not: an alert for a button, a short message for a command (`template` with
    `data`). In private, in the language the person chose (if they are a partner), as
    everything else there."""
    user, chat = update.effective_user, update.effective_chat
    services = context.mend
    private = user is not None and chat is not None and chat.type == Chat.PRIVATE
    me = services.store.person(user.id) if private and user is not None else None
    if me is not None:
        locale = partner_locale(services, me)
    else:
        locale = group_locale(services, couple, user.language_code if user else None)
    query = update.callback_query
    if query is not None:
        await query.answer(context.mend.render.alert(locale, alert), show_alert=True)
    elif update.effective_message is not None:
        await reply(update, context, locale, template, **data)


async def refuse_outsider(update: Update, context: MendContext, couple: Couple) -> None:
    """Someone who isn't a partner: asked to join while there is room, else kindly told the
    bot is for the two of them. Nothing changes."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    if not couple.is_full:
        await refuse(update, context, couple, "common/join_first", "alert.join_first")
        return
    locale = group_locale(context.mend, couple, user.language_code)
    names = [p.name for p in couple.partners]
    query = update.callback_query
    if query is not None:
        text = context.mend.render.alert(locale, "alert.outsider", names=names)
        await query.answer(text, show_alert=True)
        return
    if _first_in_a_while(context, (chat.id, user.id), OUTSIDER_NOTICE_INTERVAL):
        await reply(
            update, context, locale, "common/outsider", name=user.first_name, partners=names
        )


async def greet_stranger(update: Update, context: MendContext) -> None:
    """Someone in no couple, in private: a press is answered with a short alert; otherwise who
    Mend is and how to begin, once in STRANGER_GREETING_INTERVAL."""
    user = update.effective_user
    assert user is not None
    render = context.mend.render
    locale = render.locale_for(user.language_code)
    query = update.callback_query
    if query is not None:
        await query.answer(render.label(locale, "alert.stranger"), show_alert=True)
    elif _first_in_a_while(context, (user.id, user.id), STRANGER_GREETING_INTERVAL):
        await reply(update, context, locale, "common/stranger")


def _first_in_a_while(context: MendContext, key: tuple[int, int], interval: timedelta) -> bool:
    """Whether nothing was said for `key` (a chat and a person) within `interval`; if so, it
    is now. Notices older than the longest interval are forgotten as new ones come."""
    notices = context.mend.outsider_notices
    now = utcnow().timestamp()
    if now - notices.get(key, now - interval.total_seconds()) < interval.total_seconds():
        return False
    longest = max(OUTSIDER_NOTICE_INTERVAL, STRANGER_GREETING_INTERVAL).total_seconds()
    for old in [k for k, at in notices.items() if now - at >= longest]:
        del notices[old]
    notices[key] = now
    return True
