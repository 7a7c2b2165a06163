"""/help, and the command menus Telegram shows per scope (group, private) and language."""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Chat,
    Update,
)
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.messages import reply
from bot.render import shorten

# The order sections appear in /help.
PURPOSES = ("start", "together", "calm", "care", "personal", "privacy")
# Pauses between attempts to publish the menus while Telegram fails; the last one repeats.
MENU_RETRY_PAUSES = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
)
# How alike a typed command must be to a known one to be offered as "did you mean" (0–1).
CLOSE_ENOUGH = 0.6


async def help_command(update: Update, context: MendContext) -> None:
    """/help: the commands of this chat type, grouped by what they are for."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.mend
    private = chat.type == Chat.PRIVATE
    locale = _reader_locale(services, chat, user.id, user.language_code)
    sections = []
    for purpose in PURPOSES:
        commands = [
            {"name": c.name, "description": services.render.label(locale, f"commands.{c.name}")}
            for c in services.commands
            if c.purpose == purpose and (c.in_private if private else c.in_group)
        ]
        if commands:
            sections.append(
                {"title": services.render.label(locale, f"help.{purpose}"), "commands": commands}
            )
    await reply(update, context, locale, "help/help", sections=sections, private=private)


async def unknown_command(update: Update, context: MendContext) -> None:
    """A command no handler took (a typo such as /paus): the closest command of this chat,
    if one is close, else a pointer to /help. Never silence."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None or user.is_bot or not message.text:
        return
    first, _, rest = message.text.partition(" ")
    typed, _, addressee = first.removeprefix("/").partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # meant for another bot in the group
    services = context.mend
    private = chat.type == Chat.PRIVATE
    here = [c.name for c in services.commands if (c.in_private if private else c.in_group)]
    everywhere = [c.name for c in services.commands]
    close = difflib.get_close_matches(
        typed.lower(), here, n=1, cutoff=CLOSE_ENOUGH
    ) or difflib.get_close_matches(typed.lower(), everywhere, n=1, cutoff=CLOSE_ENOUGH)
    locale = _reader_locale(services, chat, user.id, user.language_code)
    await reply(
        update,
        context,
        locale,
        "help/unknown_command",
        quote=True,
        typed=shorten(typed),
        suggestion=close[0] if close else None,
        description=services.render.label(locale, f"commands.{close[0]}") if close else "",
        arguments=shorten(rest.strip()),
        private=private,
    )


def _reader_locale(services: Services, chat: Chat, user_id: int, language: str | None) -> str:
    if chat.type == Chat.PRIVATE:
        for chat_id in services.store.chats_of_user(user_id):
            couple = services.store.couple(chat_id)
            partner = couple.partner(user_id) if couple else None
            if partner is not None:
                return partner_locale(services, partner)
        return services.render.locale_for(language)
    return group_locale(services, services.store.couple(chat.id), language)


async def publish_menus(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    """Set the command menus for groups and private chats, in every language we speak."""
    for locale in services.render.locales:
        language = "" if locale == services.render.locales[0] else locale
        for scope, private in (
            (BotCommandScopeAllGroupChats(), False),
            (BotCommandScopeAllPrivateChats(), True),
        ):
            commands = [
                BotCommand(c.name, services.render.label(locale, f"commands.{c.name}"))
                for c in services.commands
                if (c.in_private if private else c.in_group)
            ]
            await app.bot.set_my_commands(commands, scope=scope, language_code=language or None)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("help", "start", in_group=True, in_private=True))
    app.add_handler(CommandHandler("help", help_command))


def register_last(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """After every feature's commands: a command none of them took."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
