"""Mend's sandbox: a local, in-process fake of Telegram's Bot API server.

The bot talks to it over real HTTP exactly as to Telegram; tests (and the terminal console
of ``scripts/run``) play the people through the control side: :class:`Sandbox`,
:class:`SandboxUser` and :class:`SandboxChat`.
"""

from bot.sandbox.control import SandboxChat, SandboxUser
from bot.sandbox.core import Sandbox
from bot.sandbox.errors import ApiError, SpecViolation
from bot.sandbox.limits import Fault, Faults, RateLimits
from bot.sandbox.records import Button, Call, CallbackAnswer, Document, MessageEvent, SentMessage

__all__ = [
    "ApiError",
    "Button",
    "Call",
    "CallbackAnswer",
    "Document",
    "Fault",
    "Faults",
    "MessageEvent",
    "RateLimits",
    "Sandbox",
    "SandboxChat",
    "SandboxUser",
    "SentMessage",
    "SpecViolation",
]
