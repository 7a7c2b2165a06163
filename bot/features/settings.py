"""Personal and shared settings: /timezone, /quiet, /language and the /settings overview (in
the group also where personal things go, bot.audience).

A partner's own settings are theirs alone. The group's language binds both (bot.consent): the
partner who picks it proposes it, and it applies once the other agrees (GROUP_LANGUAGE).
"""

from __future__ import annotations

import asyncio
import re
import zoneinfo
from typing import Any

from telegram import Chat, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import asks, audience
from bot.consent import proposal
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale, update_partner
from bot.flows import Flow, Turn, runner_of
from bot.guards import Asked, known_partner
from bot.links import private_link_button
from bot.messages import Buttons, answer_stale, button, choices, chosen, reply
from bot.model import Couple, Partner, utcnow
from bot.outbox import GROUP
from bot.reading import AUTO, read_clock_range, read_language
from bot.render import shorten
from bot.zones import find_zone, warm_up

ZONE = "tz:"
QUIET = "quiet:"
LANGUAGE = "lang:"
SETTINGS = "set:"
GROUP_LANGUAGE = "group_language"  # proposed by one partner, agreed by the other
QUIET_PRESETS = ("22:00-07:00", "23:00-08:00", "21:00-06:30")
ZONE_CHOICE = re.compile(r"^tz:(?P<zone>[A-Za-z0-9_+\-/]{1,60})$")


# -- time zone -------------------------------------------------------------------------------


@known_partner
async def timezone_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/timezone [city or zone]: show, set or (with a typo) suggest."""
    message = update.effective_message
    assert message is not None
    me = asked.partner
    if not asked.args:
        await asks.ask(
            context,
            asked.couple,
            me,
            "timezone",
            "settings/timezone_ask",
            in_chat=message.chat_id,
            reply_to=message.message_id,
            current=me.timezone,
            now=utcnow(),
        )
        return
    await apply_zone(update, context, me, asked.locale, " ".join(asked.args))


def _own_zone(couple: Couple, payload: dict[str, Any]) -> dict[str, str]:
    """The other partner replied to a partner's time zone question: /timezone asks their own."""
    return {"hint": "command", "command": "timezone"}


async def apply_zone(
    update: Update, context: MendContext, me: Partner, locale: str, text: str
) -> None:
    guess = await asyncio.to_thread(find_zone, text)
    if guess.zone is not None:
        await _set_zone(update, context, me.user_id, guess.zone, locale)
        return
    render = context.mend.render
    rows: Buttons = [
        [
            button(
                render.label(locale, "settings.zone_choice", place=s.place, zone=s.zone),
                f"{ZONE}{s.zone}",
            )
        ]
        for s in guess.suggestions
    ]
    template = "settings/timezone_suggest" if rows else "settings/timezone_unknown"
    await reply(update, context, locale, template, buttons=rows, typed=shorten(text))


async def _set_zone(
    update: Update, context: MendContext, user_id: int, zone_name: str, locale: str
) -> None:
    def change(partner: Partner) -> None:
        partner.timezone = zone_name

    update_partner(context.mend, user_id, change)
    await reply(update, context, locale, "settings/timezone_set", zone=zone_name, now=utcnow())


async def zone_answer(update: Update, context: MendContext, answer: asks.Answer) -> None:
    """A typed answer to "which time zone?", in the chat it was asked in."""
    chat = update.effective_chat
    private = chat is not None and chat.type == Chat.PRIVATE
    locale = (
        partner_locale(context.mend, answer.partner)
        if private
        else group_locale(context.mend, answer.couple)
    )
    await apply_zone(update, context, answer.partner, locale, answer.text)


@known_partner
async def zone_button(update: Update, context: MendContext, asked: Asked) -> None:
    """A suggested zone was tapped: it sets the zone of whoever tapped it."""
    zone_name = chosen(context, "zone")
    if zone_name not in zoneinfo.available_timezones():
        await answer_stale(update, context, asked.locale)
        return
    await asked.press.answer()
    await _set_zone(update, context, asked.partner.user_id, zone_name, asked.locale)


# -- quiet hours -----------------------------------------------------------------------------


@known_partner
async def quiet_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/quiet 22:00-07:00, /quiet off, or /quiet to see them with presets."""
    me, locale, text = asked.partner, asked.locale, asked.text
    if not text:
        await reply(
            update,
            context,
            locale,
            "settings/quiet_show",
            buttons=_quiet_buttons(context, locale),
            start=me.quiet_start,
            end=me.quiet_end,
        )
        return
    await _set_quiet(update, context, me, locale, text)


def _quiet_buttons(context: MendContext, locale: str) -> Buttons:
    render = context.mend.render
    rows: list[list[Any]] = [
        [
            button(
                render.label(locale, "settings.quiet_preset", range=preset.replace("-", "–")),
                f"{QUIET}{preset}",
            )
        ]
        for preset in QUIET_PRESETS
    ]
    rows.append([button(render.label(locale, "settings.quiet_off"), f"{QUIET}off")])
    return rows


async def _set_quiet(
    update: Update, context: MendContext, me: Partner, locale: str, text: str
) -> bool:
    if text.lower() in ("off", "none", "aus", "0"):
        hours: tuple[str | None, str | None] = (None, None)
    else:
        parsed = read_clock_range(text)
        if parsed is None:
            await reply(update, context, locale, "settings/quiet_usage", typed=shorten(text))
            return False
        hours = parsed

    def change(partner: Partner) -> None:
        partner.quiet_start, partner.quiet_end = hours

    update_partner(context.mend, me.user_id, change)
    await reply(update, context, locale, "settings/quiet_set", start=hours[0], end=hours[1])
    return True


@known_partner
async def quiet_button(update: Update, context: MendContext, asked: Asked) -> None:
    """A preset of quiet hours (or off) was tapped."""
    await asked.press.answer()
    await _set_quiet(update, context, asked.partner, asked.locale, chosen(context, "hours"))


# -- language --------------------------------------------------------------------------------


@known_partner
async def language_command(update: Update, context: MendContext, asked: Asked) -> None:
    """/language [de]: in private the partner's own language, in the group the group's; the
    language named, or a choice of them."""
    private, locale = asked.private, asked.locale
    scope = "me" if private else "group"
    code = read_language(asked.text) if asked.args else None
    if code is not None:
        await _set_language(update, context, asked, scope, code)
        return
    await reply(
        update,
        context,
        locale,
        "settings/language_choose",
        buttons=_language_buttons(context, locale, scope),
        private=private,
        typed=asked.text[:40],
    )


def _language_buttons(context: MendContext, locale: str, scope: str) -> Buttons:
    render = context.mend.render
    rows: list[list[Any]] = [
        [button(render.label(code, "language.name"), f"{LANGUAGE}{scope}:{code}")]
        for code in render.locales
    ]
    rows.append([button(render.label(locale, "language.auto"), f"{LANGUAGE}{scope}:{AUTO}")])
    return rows


@known_partner
async def language_button(update: Update, context: MendContext, asked: Asked) -> None:
    """A language was tapped: the group's (in the group) or the partner's own."""
    await asked.press.answer()
    await _set_language(update, context, asked, chosen(context, "scope"), chosen(context, "code"))


async def _set_language(
    update: Update, context: MendContext, asked: Asked, scope: str, code: str
) -> None:
    """Set the group's language (`scope` "group", asked in the group) or the partner's own;
    `code` a language Mend speaks, or AUTO: follow the Telegram app."""
    services = context.mend
    me = asked.partner
    language = None if code == AUTO else code
    if scope == "group" and not asked.private:
        # The group's language binds both: proposed to the other partner.
        name = services.render.label(code, "language.name") if language else None
        await runner_of(services).begin(
            context,
            asked.couple,
            GROUP_LANGUAGE,
            owner=me,
            data={"code": code, "language": name},
            thread_id=asked.thread_id,
        )
        return

    def change(partner: Partner) -> None:
        partner.language = language

    updated = update_partner(services, me.user_id, change)
    me = updated[0].partner(me.user_id) or me
    locale = partner_locale(services, me)
    await reply(
        update,
        context,
        locale,
        "settings/language_set",
        scope=scope,
        language=services.render.label(locale if code == AUTO else code, "language.name"),
        auto=language is None,
    )


def _language_agreed(turn: Turn) -> None:
    """The other partner agreed: the group's language changes, and is confirmed in it."""
    current = turn.tx.couple()
    assert current is not None
    code = str(turn.data["code"])
    current.language = None if code == AUTO else code
    turn.tx.save(current)
    locale = group_locale(turn.services, current)
    confirmed = turn.runner.outgoing(
        current,
        GROUP,
        "settings/language_set",
        {
            "scope": "group",
            "language": turn.services.render.label(locale, "language.name"),
            "auto": current.language is None,
        },
        turn.run,
    )
    turn.messages.append(confirmed)


LANGUAGE_FOR_THE_GROUP = Flow(
    name=GROUP_LANGUAGE,
    first="consider",
    superseded=True,
    steps={
        "consider": proposal("settings/language_proposed", what="language", agreed=_language_agreed)
    },
)


# -- /settings -------------------------------------------------------------------------------


@known_partner
async def settings_command(update: Update, context: MendContext, asked: Asked) -> None:
    """Everything in one place, with buttons to change it."""
    services, render = context.mend, context.mend.render
    me, locale = asked.partner, asked.locale
    if asked.private:
        rows = [
            [
                button(render.label(locale, "settings.my_zone"), f"{SETTINGS}tz"),
                button(render.label(locale, "settings.my_quiet"), f"{SETTINGS}quiet"),
            ],
            [button(render.label(locale, "settings.my_language"), f"{SETTINGS}lang_me")],
        ]
        await reply(
            update,
            context,
            locale,
            "settings/overview_private",
            buttons=rows,
            me=_partner_view(services, me),
            groups=[c.title for c in asked.couples],
            now=utcnow(),
        )
        return
    couple = asked.couple
    await audience.recount(context, couple.chat_id)
    rows = [
        [
            button(render.label(locale, "settings.path"), f"{SETTINGS}path"),
            button(render.label(locale, "settings.roles"), f"{SETTINGS}roles"),
        ],
        [button(render.label(locale, "settings.group_language"), f"{SETTINGS}lang_group")],
        [button(render.label(locale, "settings.audience"), f"{SETTINGS}audience")],
        [
            button(render.label(locale, "settings.my_zone"), f"{SETTINGS}tz"),
            button(render.label(locale, "settings.my_quiet"), f"{SETTINGS}quiet"),
        ],
        [private_link_button(services, locale)],
    ]
    day = None
    if couple.setup_completed_at is not None:
        day = (utcnow().date() - couple.setup_completed_at.date()).days + 1
    await reply(
        update,
        context,
        locale,
        "settings/overview_group",
        buttons=rows,
        path=couple.path,
        day=day,
        language=render.label(group_locale(services, couple), "language.name"),
        partners=[_partner_view(services, p) for p in couple.partners],
        now=utcnow(),
    )


def _partner_view(services: Services, partner: Partner) -> dict[str, Any]:
    return {
        "name": partner.name,
        "timezone": partner.timezone,
        "quiet_start": partner.quiet_start,
        "quiet_end": partner.quiet_end,
        "role": partner.role,
        "private_chat": partner.private_chat,
        "language": services.render.label(partner_locale(services, partner), "language.name"),
    }


@known_partner
async def settings_button(update: Update, context: MendContext, asked: Asked) -> None:
    """A button of the /settings overview: what it changes is asked or shown here."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None
    me, locale, couple = asked.partner, asked.locale, asked.couple
    action = chosen(context, "action")
    in_group = not asked.private
    await asked.press.answer()
    if action == "tz":
        await asks.ask(
            context,
            couple,
            me,
            "timezone",
            "settings/timezone_ask",
            in_chat=chat.id,
            current=me.timezone,
            now=utcnow(),
        )
    elif action == "quiet":
        await reply(
            update,
            context,
            locale,
            "settings/quiet_show",
            buttons=_quiet_buttons(context, locale),
            start=me.quiet_start,
            end=me.quiet_end,
        )
    elif action in ("lang_me", "lang_group"):
        scope = "group" if action == "lang_group" and in_group else "me"
        await reply(
            update,
            context,
            locale,
            "settings/language_choose",
            buttons=_language_buttons(context, locale, scope),
            private=scope == "me",
            typed="",
        )
    elif action == "path" and in_group:
        await context.mend.emit("setup.path", context, couple)
    elif action == "roles" and in_group and couple.path:
        await context.mend.emit("setup.roles", context, couple)
    elif action == "audience" and in_group:
        with context.mend.store.transaction(couple.chat_id) as tx:
            audience.settings(tx, context.mend, couple)
        await context.mend.outbox.deliver(context, couple.chat_id)
    elif message is not None:
        await reply(update, context, locale, "settings/unavailable")


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(
        Command("settings", "start", in_group=True, in_private=True),
        Command("timezone", "personal", in_group=True, in_private=True),
        Command("quiet", "personal", in_group=True, in_private=True),
        Command("language", "personal", in_group=True, in_private=True),
    )
    runner_of(services).add(LANGUAGE_FOR_THE_GROUP)
    asks.on_answer("timezone", zone_answer, elsewhere=_own_zone)
    app.add_handler(CommandHandler("timezone", timezone_command))
    app.add_handler(CommandHandler("quiet", quiet_command))
    app.add_handler(CommandHandler("language", language_command))
    app.add_handler(CommandHandler("settings", settings_command))
    app.add_handler(CallbackQueryHandler(zone_button, pattern=ZONE_CHOICE))
    app.add_handler(
        CallbackQueryHandler(quiet_button, pattern=choices("quiet", hours=[*QUIET_PRESETS, "off"]))
    )
    app.add_handler(
        CallbackQueryHandler(
            language_button,
            pattern=choices("lang", scope=("me", "group"), code=[*services.render.locales, AUTO]),
        )
    )
    app.add_handler(
        CallbackQueryHandler(
            settings_button,
            pattern=choices(
                "set",
                action=("tz", "quiet", "lang_me", "lang_group", "path", "roles", "audience"),
            ),
        )
    )
    services.on_start(lambda: asyncio.to_thread(warm_up))  # the city index takes a moment
