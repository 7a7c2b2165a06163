"""The bot's own settings: getMe, commands, descriptions, webhook state."""

from __future__ import annotations

from typing import Any

from bot.sandbox import checks
from bot.sandbox.errors import ApiError
from bot.sandbox.methods.registry import CallContext, Params, method
from bot.sandbox.world import World

_PLAIN_SCOPES = frozenset({"default", "all_private_chats", "all_group_chats",
                           "all_chat_administrators"})  # fmt: skip
MAX_DESCRIPTION = 512
MAX_SHORT_DESCRIPTION = 120


def scope_key(world: World, scope: dict[str, Any] | None) -> str:
    """A stable key for a ``BotCommandScope``: "default", "chat:<id>", ..."""
    if scope is None:
        return "default"
    kind = str(scope["type"])
    if kind in _PLAIN_SCOPES:
        return kind
    chat = world.resolve_chat(scope["chat_id"], sending=False)
    if kind != "chat" and chat.type == "private":
        raise ApiError.bad_request(f"scope {kind} can't be used for a private chat")
    if kind == "chat_member":
        return f"chat_member:{chat.id}:{scope['user_id']}"
    return f"{kind}:{chat.id}"


@method("getMe")
async def get_me(call: CallContext, params: Params) -> Any:
    """The bot's ``User``, with the fields only getMe returns."""
    me = call.world.bot.to_api()
    me.update(
        can_join_groups=True,
        can_read_all_group_messages=not call.world.privacy_mode,
        supports_inline_queries=False,
        can_connect_to_business=False,
        has_main_web_app=False,
    )
    return me


@method("deleteWebhook")
async def delete_webhook(call: CallContext, params: Params) -> Any:
    """No webhook is ever set; optionally drop pending updates."""
    if params.get("drop_pending_updates"):
        call.world.updates.clear()
    return True


@method("getWebhookInfo")
async def get_webhook_info(call: CallContext, params: Params) -> Any:
    """An empty webhook (the bot polls) and the pending update count."""
    return {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": len(call.world.updates.pending),
    }


@method("setMyCommands")
async def set_my_commands(call: CallContext, params: Params) -> Any:
    """Store a command list per (scope, language)."""
    commands = checks.bot_commands(params["commands"])
    key = (scope_key(call.world, params.get("scope")), checks.language_code(params))
    call.world.commands[key] = commands
    return True


@method("getMyCommands")
async def get_my_commands(call: CallContext, params: Params) -> Any:
    """The command list stored for exactly this (scope, language)."""
    key = (scope_key(call.world, params.get("scope")), checks.language_code(params))
    return [dict(command) for command in call.world.commands.get(key, [])]


@method("deleteMyCommands")
async def delete_my_commands(call: CallContext, params: Params) -> Any:
    """Forget the command list of this (scope, language)."""
    key = (scope_key(call.world, params.get("scope")), checks.language_code(params))
    call.world.commands.pop(key, None)
    return True


def _store_text(store: dict[str, str], value: str, language: str, limit: int, what: str) -> None:
    if len(value) > limit:
        raise ApiError.bad_request(f"{what} must be at most {limit} characters")
    if value:
        store[language] = value
    else:
        store.pop(language, None)


@method("setMyDescription")
async def set_my_description(call: CallContext, params: Params) -> Any:
    """Store the description shown in an empty private chat (per language)."""
    text = str(params.get("description", ""))
    language = checks.language_code(params)
    _store_text(call.world.descriptions, text, language, MAX_DESCRIPTION, "description")
    return True


@method("getMyDescription")
async def get_my_description(call: CallContext, params: Params) -> Any:
    """The stored description for a language."""
    language = checks.language_code(params)
    return {"description": call.world.descriptions.get(language, "")}


@method("setMyShortDescription")
async def set_my_short_description(call: CallContext, params: Params) -> Any:
    """Store the short description shown on the bot's profile (per language)."""
    text = str(params.get("short_description", ""))
    language = checks.language_code(params)
    _store_text(
        call.world.short_descriptions, text, language, MAX_SHORT_DESCRIPTION, "short description"
    )
    return True


@method("getMyShortDescription")
async def get_my_short_description(call: CallContext, params: Params) -> Any:
    """The stored short description for a language."""
    language = checks.language_code(params)
    return {"short_description": call.world.short_descriptions.get(language, "")}
