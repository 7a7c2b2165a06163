"""Chat information and membership: getChat, getChatMember, leaveChat and friends."""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.methods.registry import CallContext, Params, method


@method("getChat")
async def get_chat(call: CallContext, params: Params) -> Any:
    """The chat's ``ChatFullInfo``."""
    chat = call.world.resolve_chat(params["chat_id"], sending=False)
    return call.world.chat_full_api(chat)


@method("getChatMember")
async def get_chat_member(call: CallContext, params: Params) -> Any:
    """A user's ``ChatMember`` in the chat (the subtype matching their status)."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"], sending=False)
    user_id = int(params["user_id"])
    user = world.bot if user_id == world.bot.id else world.users.get(user_id)
    if user is None:
        raise ApiError.bad_request("user not found")
    return world.member_api(chat, user)


@method("getChatMemberCount")
async def get_chat_member_count(call: CallContext, params: Params) -> Any:
    """How many are in the chat, the bot included."""
    chat = call.world.resolve_chat(params["chat_id"], sending=False)
    if chat.type == "private":
        return 2
    return sum(1 for user_id in chat.members if chat.is_member(user_id))


@method("getChatAdministrators")
async def get_chat_administrators(call: CallContext, params: Params) -> Any:
    """The creator and administrators (the bot among them if it is one)."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"], sending=False)
    if chat.type == "private":
        raise ApiError.bad_request("there are no administrators in the private chat")
    admins = []
    for user_id, status in chat.members.items():
        if status in ("creator", "administrator"):
            user = world.bot if user_id == world.bot.id else world.users[user_id]
            admins.append(world.member_api(chat, user))
    return admins


@method("leaveChat")
async def leave_chat(call: CallContext, params: Params) -> Any:
    """The bot leaves a group: ``my_chat_member`` update, and the group sees it go."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"], sending=False)
    if chat.type == "private":
        raise ApiError.bad_request("chat member status can't be changed in private chats")
    world.set_bot_status(chat, "left", by=world.bot)
    world.post(chat, world.bot, service={"left_chat_member": world.bot.to_api()})
    return True
