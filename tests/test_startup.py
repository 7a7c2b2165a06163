"""Start-up through the sandbox: couple files of the wrong shape beside good ones, and a
Telegram that answers slowly or not at all while the bot starts."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import timers
from bot.app import MendApp, services_of, stop
from bot.config import Settings
from bot.context import MendContext, Services
from bot.features.checkins import WEEKLY
from bot.model import utcnow
from bot.sandbox import Sandbox
from bot.storage.store import file_mode
from bot.timers import Fired
from tests.conftest import BotProcess, Clock, People, Restart, launch, onboard


def spoiled(good: dict[str, Any], chat_id: int, *path: str) -> dict[str, Any]:
    """A copy of a good couple file for `chat_id`, without the field at `path`."""
    data = copy.deepcopy(good)
    data["couple"]["1"]["chat_id"] = chat_id
    *parents, last = path
    place = data
    for key in parents:
        place = place[key]
    del place[last]
    return data


async def test_files_of_the_wrong_shape_are_set_aside_and_every_other_couple_runs(
    sandbox: Sandbox,
    couple: People,
    restart: Restart,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = await onboard(sandbox, couple.services, title="Jo & Kim", open_private=False)
    couples_dir = settings.data_dir / "couples"
    good = json.loads((couples_dir / f"{couple.group.id}.json").read_text())
    with_partners = copy.deepcopy(good)
    with_partners["couple"]["1"]["chat_id"] = -905
    with_partners["couple"]["1"]["partners"][0]["name"] = {"first": "Alex"}
    bad: dict[str, Any] = {
        "-901.json": "a private worry",
        "-902.json": ["a private worry"],
        "-903.json": spoiled(good, -903, "couple", "1", "created_at"),
        "-904.json": spoiled(good, -904, "couple", "1", "chat_id"),
        "-905.json": with_partners,
        "-906.json": {**good, "timers": ["a private worry"]},  # also: chat id isn't -906
        "-907.json": {**spoiled(good, -907, "_meta"), "journal": {"1": "a private worry"}},
        "-908.json": good,  # the chat id in the file isn't the file's
    }
    for name, content in bad.items():
        (couples_dir / name).write_text(json.dumps(content))

    app = await restart()

    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")
    await other.group.send(other.sam, "/help")
    await other.group.expect("/pause")
    assert sorted(p.name for p in couples_dir.iterdir()) == sorted(
        [f"{couple.group.id}.json", f"{other.group.id}.json"]
        + [f"{name}.unreadable" for name in bad]
    )
    for name, content in bad.items():  # kept as they were, for a person to look at
        assert json.loads((couples_dir / f"{name}.unreadable").read_text()) == content
    store = services_of(app).store
    assert sorted(store.chat_ids()) == sorted([couple.group.id, other.group.id])
    assert store.chats_of_user(couple.alex.id) == [couple.group.id]
    set_aside = [r.getMessage() for r in caplog.records if "aside" in r.getMessage()]
    assert len(set_aside) == len(bad)
    assert all(r.levelno == logging.ERROR for r in caplog.records if "aside" in r.getMessage())
    for line in set_aside:
        assert "worry" not in line and "Alex" not in line and str(couple.group.id) not in line


async def test_menus_that_fail_at_start_up_come_later_and_the_bot_answers_meanwhile(
    sandbox: Sandbox, settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.hold_seconds = 0.5  # then a gateway's 504
    # Each attempt is a request sent three times (bot.network): two attempts fail.
    sandbox.faults.inject("setMyCommands", kind="timeout", times=3)
    sandbox.faults.inject("setMyCommands", kind="server_error", status=502, times=3)
    app = await launch(settings, clock)
    try:
        alex = sandbox.user("Alex")
        await alex.send_private("/help")
        await alex.private.expect("What you can do here", "/help")
        await sandbox.settle()
        assert sandbox.commands("all_group_chats") == []
        await clock.advance(timedelta(seconds=31), sandbox)
        assert sandbox.commands("all_group_chats") == []
        await clock.advance(timedelta(minutes=2), sandbox)
        assert "pause" in [c["command"] for c in sandbox.commands("all_group_chats")]
        assert "help" in [c["command"] for c in sandbox.commands("all_private_chats")]
        assert sandbox.commands("all_private_chats", "de")
        assert sandbox.faults.pending == 0
    finally:
        await stop(app)
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [line for line in failures if "menus" in line] == [
        "command menus: attempt 1 failed (NetworkError); next try in 0:00:30",
        "command menus: attempt 2 failed (NetworkError); next try in 0:02:00",
    ]


async def test_the_bot_process_starts_and_answers_while_telegram_fails(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """`python -m bot` (run_polling): each start-up call fails once; the bot keeps going."""
    # A request that fails is sent again at once (bot.network); the menus fail for longer.
    sandbox.faults.inject("getMe", kind="server_error", status=502)
    sandbox.faults.inject("deleteWebhook", kind="server_error", status=503)
    sandbox.faults.inject("setMyCommands", kind="server_error", times=3)
    bot = BotProcess(sandbox, tmp_path / "data", tmp_path / "bot.log")
    await bot.start()
    try:
        alex = sandbox.user("Alex")
        await alex.send_private("/help")
        await alex.private.expect("What you can do here", timeout=30)
        assert bot.process is not None and bot.process.poll() is None
        await bot.logged("command menus: attempt 1 failed (NetworkError); next try in 0:00:30")
        assert sandbox.faults.pending == 0
    finally:
        await bot.stop()


async def test_data_restored_with_loose_modes_is_made_owner_only_at_start_up(
    couple: People, restart: Restart, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A backup put back with 0644 files and 0755 directories (the couples' files, the update
    ledger, a key file, a folder of its own) is owner-only again before the bot runs."""
    data = settings.data_dir
    couple_file = data / "couples" / f"{couple.group.id}.json"
    ledger, key = data / "updates.json", data / "data.key"
    restored = data / "restored" / "older.json"
    outside = data.parent / "elsewhere.txt"

    def put_back_loosely() -> None:
        assert key.exists()  # the data key, made on the first start
        restored.parent.mkdir()
        restored.write_text("{}")
        outside.write_text("not ours")
        outside.chmod(0o644)
        (data / "a-link").symlink_to(outside)
        for path in (couple_file, ledger, key, restored):
            path.chmod(0o644)
        for directory in (data, data / "couples", restored.parent):
            directory.chmod(0o755)

    app = await restart(while_down=put_back_loosely)
    # Nothing was added to the couples' folder: the start took the index as it was, and the
    # couple files are looked at right after it.
    await services_of(app).store.check_files()

    for directory in (data, data / "couples", restored.parent):
        assert file_mode(directory) == 0o700
    for path in (couple_file, ledger, key, restored):
        assert file_mode(path) == 0o600
    assert file_mode(outside) == 0o644  # a link is not followed out of the data directory
    told = [r.getMessage() for r in caplog.records if "owner-only" in r.getMessage()]
    assert told == [
        "data made owner-only (files and directories): 6",
        "data made owner-only (files and directories): 1",
    ]
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")


async def test_a_recurring_series_added_by_an_upgrade_reaches_couples_that_have_others(
    couple: People, restart: Restart, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start normally puts back recurring timers only for couples with none pending (the
    others keep their series going as each fires). A couple here lacks its weekly check-in
    but has other timers, as after an upgrade that brings a new series: it gets it once the
    series are raised (RECURRING_SERIES), at the next start."""
    services = services_of(await restart())
    chat_id = couple.group.id
    [weekly] = services.timers.pending(chat_id, WEEKLY)
    services.timers.cancel(chat_id, weekly["id"])
    assert services.timers.pending(chat_id)  # other series are still pending

    services = services_of(await restart())
    await clock.catch_up()  # the start-up tasks ran
    assert services.timers.pending(chat_id, WEEKLY) == []  # nothing told it to look

    monkeypatch.setattr(timers, "RECURRING_SERIES", timers.RECURRING_SERIES + 1)
    services = services_of(await restart())
    await clock.catch_up()
    assert len(services.timers.pending(chat_id, WEEKLY)) == 1
    services = services_of(await restart())  # once: the next start knows every couple has it
    await clock.catch_up()
    assert len(services.timers.pending(chat_id, WEEKLY)) == 1


async def test_a_timer_that_fired_never_removes_the_newer_one_given_its_id(
    couple: People, app: MendApp, services: Services
) -> None:
    """While a timer's handler waits (a send), the schedule changes: the timer is cancelled
    and the next one added, which gets the same record id (the highest was removed). When
    the handler finishes, the newer timer stays."""
    chat_id = couple.group.id
    moment = utcnow() + timedelta(days=1)
    added: list[int] = []

    async def replaced_meanwhile(context: MendContext, fired: Fired) -> None:
        services.timers.cancel(chat_id, fired.timer_id)
        added.append(services.timers.schedule(chat_id, "test_next", moment))
        await asyncio.sleep(0)

    services.timers.register("test_first", replaced_meanwhile)
    services.timers.register("test_next", replaced_meanwhile)
    highest = services.timers.schedule(chat_id, "test_first", moment)
    await services.timers.run_now(app, chat_id, highest)
    assert added == [highest]  # the newer timer was given the same id
    [kept] = services.timers.pending(chat_id, "test_next")
    assert kept["id"] == highest
