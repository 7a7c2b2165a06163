"""Bot API method handlers; importing this package fills :data:`HANDLERS`."""

from bot.sandbox.methods import bot_info, callbacks, chats, media, messages, polls, updates
from bot.sandbox.methods.registry import HANDLERS, CallContext, Handler, Params

__all__ = [
    "HANDLERS",
    "CallContext",
    "Handler",
    "Params",
    "bot_info",
    "callbacks",
    "chats",
    "media",
    "messages",
    "polls",
    "updates",
]
