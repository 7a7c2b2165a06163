"""Hostile input for every command, in the group and in private: a clear answer or silence,
never a crash, never a call Telegram would reject."""

from __future__ import annotations

import logging
import random

import pytest

from bot.context import Services
from bot.sandbox import Sandbox
from tests.conftest import People

HOSTILE = [
    "",
    "0",
    "-1",
    "99999999999999999999",
    "1e309",
    "<b>bold</b> & <i>",
    "</code><script>alert(1)</script>",
    "&amp;&lt;&#0;",
    "\u202eevil\u202c",
    "🙂" * 50,
    "x" * 5000,
    "25:61",
    "2026-02-30",
    "sunday 99:99",
    "add sunday 19:00 extra words",
    "remove 0",
    "edit",
    "track",
    "delete",
    "cancel",
    "off",
    "wed 20:30",
    "light",
    "../../etc/passwd",
    "' OR 1=1 --",
    "%s%s%s%n",
    "\\",
    "null",
]


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_command_survives_hostile_arguments(
    sandbox: Sandbox,
    couple: People,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    seed: int,
) -> None:
    rng = random.Random(seed)
    commands = sorted({c.name for c in services.commands} - {"forget", "start"})
    caplog.set_level(logging.ERROR)
    for name in commands:
        for argument in rng.sample(HOSTILE, 6):
            text = f"/{name} {argument}".strip()
            await couple.group.send(couple.alex, text[:4096])
            await couple.alex.send_private(text[:4096])
        await sandbox.settle(idle=0.1)
    await sandbox.settle(idle=0.3)
    rejected = [c for c in sandbox.calls if not c.ok and c.error_code not in (None, 403)]
    assert not rejected, [f"{c.method}: {c.description}" for c in rejected][:5]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors][:5]
    assert services.store.couple(couple.group.id) is not None
