"""Flood limits and injected faults, seen through python-telegram-bot's exceptions."""

from __future__ import annotations

import datetime as dtm
import time

import httpx
import pytest
import telegram
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.sandbox import Sandbox
from tests.sandbox.conftest import Couple, fast_request, make_bot


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns when RetryAfter.retry_after is an int; opt in to timedelta."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def test_limits_are_off_by_default(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    await alex.start_private()
    for index in range(10):
        await bot.send_message(alex.id, f"message {index}")
    assert sandbox.rate_limits.too_many_requests == 0


async def test_twenty_a_minute_per_group(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    sandbox.rate_limits.enable()
    for index in range(21):  # 20 a minute, plus one call of slack for jitter
        await bot.send_message(couple.group.id, f"prompt {index}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(couple.group.id, "one too many")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)  # one message per 3 s
    # Getters, chat actions and polling don't count.
    await bot.send_chat_action(couple.group.id, "typing")
    await bot.get_chat(couple.group.id)
    await bot.get_updates()
    assert (sandbox.rate_limits.total_calls, sandbox.rate_limits.too_many_requests) == (22, 1)
    assert sandbox.calls[-4].error_code == 429
    assert sandbox.calls[-4].description == "Too Many Requests: retry after 3"


async def test_private_chats_allow_a_burst_of_three(sandbox: Sandbox, bot: telegram.Bot) -> None:
    sandbox.rate_limits.enable()
    alex = sandbox.user("Alex")
    await alex.start_private()
    for index in range(3):
        await bot.send_message(alex.id, f"burst {index}")
    with pytest.raises(RetryAfter):
        await bot.send_message(alex.id, "fourth")
    sandbox.rate_limits.disable()
    await bot.send_message(alex.id, "fine again")


async def test_thirty_a_second_overall(sandbox: Sandbox, bot: telegram.Bot) -> None:
    sandbox.rate_limits.clock = lambda: 1000.0  # frozen: no refill while the test runs
    sandbox.rate_limits.enable()
    people = [sandbox.user(f"P{index}") for index in range(11)]
    for person in people:
        await person.start_private()
    with pytest.raises(RetryAfter) as caught:
        for person in people:
            for _ in range(3):
                await bot.send_message(person.id, "prompt")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert sandbox.rate_limits.total_calls == 32  # 31 allowed (30 + slack), then 429


async def test_server_errors(sandbox: Sandbox, bot: telegram.Bot, couple: Couple) -> None:
    sandbox.faults.inject("sendMessage", kind="server_error")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(couple.group.id, "first try")
    await bot.send_message(couple.group.id, "second try")
    sandbox.faults.inject(kind="server_error", status=502, times=2)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_chat(couple.group.id)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(couple.group.id, "third try")
    assert [m.text for m in couple.group.bot_messages()] == ["second try"]
    assert sandbox.faults.pending == 0


async def test_flood_fault_and_executed_calls(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    sandbox.faults.inject("sendMessage", kind="flood", retry_after=7, executed=True)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(couple.group.id, "sent although refused")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    # executed=True: the message went out even though the bot saw an error.
    assert [m.text for m in couple.group.bot_messages()] == ["sent although refused"]


async def test_faults_can_target_one_chat(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    other = sandbox.user("Casey")
    await other.start_private()
    sandbox.faults.inject(kind="server_error", chat_id=couple.group.id, times=5)
    await bot.send_message(other.id, "unaffected")
    with pytest.raises(NetworkError):
        await bot.send_message(couple.group.id, "affected")
    sandbox.faults.clear()
    await bot.send_message(couple.group.id, "after clear")


@pytest.mark.parametrize("executed", [False, True])
async def test_timeouts(sandbox: Sandbox, couple: Couple, executed: bool) -> None:
    sandbox.faults.inject("sendMessage", kind="timeout", executed=executed)
    impatient = fast_request(read_timeout=0.2)
    async with make_bot(sandbox, request=impatient) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(couple.group.id, "did it arrive?")
        sent = [m.text for m in couple.group.bot_messages()]
        assert sent == (["did it arrive?"] if executed else [])
        await bot.send_message(couple.group.id, "next one")
    await sandbox.settle(idle=0.05)
    held = next(c for c in sandbox.calls if c.method == "sendMessage")
    assert not held.ok and "held" in (held.description or "")


async def test_delays_answer_late_but_as_usual(sandbox: Sandbox, couple: Couple) -> None:
    sandbox.faults.inject("sendMessage", kind="delay", delay=0.3)
    async with make_bot(sandbox) as bot:
        started = time.monotonic()
        sent = await bot.send_message(couple.group.id, "slow but sure")
        assert time.monotonic() - started >= 0.3
        assert sent.text == "slow but sure"
    sandbox.faults.inject("sendMessage", kind="delay", delay=30)
    impatient = fast_request(read_timeout=0.2)
    async with make_bot(sandbox, request=impatient) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(couple.group.id, "too slow")
    await sandbox.settle(idle=0.05)
    # A call the client gave up on while it was delayed never took effect.
    assert [m.text for m in couple.group.bot_messages()] == ["slow but sure"]
    assert [c.ok for c in sandbox.calls if c.method == "sendMessage"] == [True, False]
    with pytest.raises(ValueError, match="delay"):
        sandbox.faults.inject(kind="delay", delay=0)


async def test_polling_faults_must_be_named(sandbox: Sandbox, bot: telegram.Bot) -> None:
    sandbox.faults.inject(kind="server_error")  # any method except getUpdates
    assert await bot.get_updates() == ()
    sandbox.faults.clear()
    sandbox.faults.inject("getUpdates", kind="server_error")
    with pytest.raises(NetworkError):
        await bot.get_updates()
    with pytest.raises(ValueError, match="unknown fault kind"):
        sandbox.faults.inject(kind="meltdown")  # type: ignore[arg-type]


async def test_offline_requests_fail_to_connect_and_come_back(
    sandbox: Sandbox, couple: Couple
) -> None:
    port = sandbox.port
    async with make_bot(sandbox) as bot:
        await bot.send_message(couple.group.id, "before")
        await sandbox.go_offline()
        with pytest.raises(NetworkError) as failed:
            await bot.send_message(couple.group.id, "while offline")
        assert isinstance(failed.value.__cause__, httpx.ConnectError)  # it never left
        with pytest.raises(RuntimeError, match="not running"):
            await sandbox.go_offline()
        await sandbox.come_online()
        assert sandbox.port == port
        await bot.send_message(couple.group.id, "after")
    assert [m.text for m in couple.group.bot_messages()] == ["before", "after"]
    with pytest.raises(RuntimeError, match="not offline"):
        await sandbox.come_online()
