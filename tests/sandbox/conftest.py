"""Fixtures for the sandbox's own tests: a running sandbox, a PTB Bot, a tiny Application."""

from __future__ import annotations

import ssl
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import telegram
from telegram.ext import Application, ApplicationBuilder, BaseHandler
from telegram.request import HTTPXRequest

from bot.sandbox import Sandbox, SandboxChat, SandboxUser

AnyApp = Application[Any, Any, Any, Any, Any, Any]
AnyHandler = BaseHandler[Any, Any, Any]
StartApp = Callable[..., Awaitable[AnyApp]]

# The sandbox speaks plain HTTP, but every httpx client builds a TLS context, which costs
# ~35 ms; sharing one keeps the suite fast.
TLS = ssl.create_default_context()


def fast_request(**kwargs: Any) -> HTTPXRequest:
    """An HTTPXRequest sharing one TLS context (``kwargs`` as for HTTPXRequest)."""
    return HTTPXRequest(httpx_kwargs={"verify": TLS}, **kwargs)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A running sandbox on a free port; stopping it fails the test on a sandbox bug."""
    async with Sandbox(bot_username="mend_sandbox_bot", bot_name="Mend") as running:
        yield running


def make_bot(sandbox: Sandbox, request: HTTPXRequest | None = None) -> telegram.Bot:
    """A python-telegram-bot Bot talking to the sandbox over HTTP."""
    return telegram.Bot(
        sandbox.token,
        base_url=sandbox.base_url,
        base_file_url=sandbox.base_file_url,
        request=request or fast_request(),
        get_updates_request=fast_request(connection_pool_size=1),
    )


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[telegram.Bot]:
    """An initialized Bot (getMe done)."""
    async with make_bot(sandbox) as client:
        yield client


@dataclass
class Couple:
    """Alex and Sam in a group with the bot (the bot's join updates already confirmed)."""

    alex: SandboxUser
    sam: SandboxUser
    group: SandboxChat


@pytest.fixture
async def couple(sandbox: Sandbox, bot: telegram.Bot) -> Couple:
    """Alex and Sam in "Alex & Sam" with the bot added by Alex."""
    alex = sandbox.user("Alex")
    sam = sandbox.user("Sam", username="sam_w")
    group = sandbox.group("Alex & Sam", members=[alex, sam])
    await group.add_bot(by=alex)
    updates = await bot.get_updates()
    await bot.get_updates(offset=updates[-1].update_id + 1)
    return Couple(alex, sam, group)


@pytest.fixture
async def start_app(sandbox: Sandbox) -> AsyncIterator[StartApp]:
    """Start a polling Application with the given handlers; stopped after the test."""
    apps: list[AnyApp] = []

    async def start(*handlers: AnyHandler) -> AnyApp:
        app = (
            ApplicationBuilder()
            .token(sandbox.token)
            .base_url(sandbox.base_url)
            .base_file_url(sandbox.base_file_url)
            .request(fast_request(connection_pool_size=16))
            .get_updates_request(fast_request(connection_pool_size=1))
            .build()
        )
        for handler in handlers:
            app.add_handler(handler)
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        apps.append(app)
        return app

    yield start
    for app in apps:
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def png(width: int = 3, height: int = 2) -> bytes:
    """A tiny valid PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
