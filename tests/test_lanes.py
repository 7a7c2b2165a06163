"""Couples side by side (bot.lanes): one couple's slow command never holds back another
couple's answers, each couple's own updates keep their order, and an update is confirmed to
Telegram only once it and every update before it were handled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Update

from bot import workers
from bot.app import MendApp
from bot.bot_api import LEDGER_FILE
from bot.config import Settings
from bot.context import Services
from bot.lanes import SHARED, lanes_of
from bot.sandbox import Sandbox
from tests.conftest import onboard


class HeldChart:
    """Drawing a chart waits until the test lets it finish (a chart that takes its time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.drawing = asyncio.Event()
        self.finish = asyncio.Event()
        self._run = workers.run
        monkeypatch.setattr(workers, "run", self.run)

    async def run(self, target: str, *args: Any) -> Any:
        self.drawing.set()
        await self.finish.wait()
        return await self._run(target, *args)


@pytest.fixture
def chart(app: MendApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldChart]:
    held = HeldChart(monkeypatch)
    yield held
    held.finish.set()  # before the bot stops, whatever the test did


async def test_a_slow_chart_holds_back_its_own_couple_only(
    sandbox: Sandbox, services: Services, settings: Settings, chart: HeldChart
) -> None:
    slow = await onboard(sandbox, services, title="Alex & Sam")
    other = await onboard(sandbox, services, title="Kim & Lee")
    await slow.group.send(slow.alex, "/progress")
    await sandbox.wait_until(chart.drawing.is_set, "the chart being drawn")
    await slow.group.send(slow.sam, "/help")
    waiting = len(slow.group.bot_messages())

    # The other couple is answered while the chart is still being drawn.
    await other.group.send(other.sam, "/help")
    await other.group.expect("/settings")
    await sandbox.settle()
    assert len(slow.group.bot_messages()) == waiting  # its /help waits behind its /progress
    # Later updates were confirmed to Telegram; the one being handled is kept until it was
    # (sealed, like anything a person writes).
    assert not sandbox.pending_updates
    ledger = json.loads((settings.data_dir / LEDGER_FILE).read_text())
    # /progress and the /help behind it (and what was handled since the ledger was written).
    assert len(ledger["kept"]) >= 2
    assert "/progress" not in json.dumps(ledger)

    chart.finish.set()
    drawn = await slow.group.expect("Your progress")
    assert drawn.photo is not None
    await slow.group.expect("day 1")  # the written summary
    await slow.group.expect("/settings")  # then, in order, the answer to /help
    await sandbox.settle(confirmed=True)


def _update(**fields: Any) -> Update:
    return Update.de_json({"update_id": 1, **fields}, None)


def _message(chat: dict[str, Any], user_id: int, **fields: Any) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Alex"}
    return {"message_id": 5, "date": 1_700_000_000, "chat": chat, "from": person, **fields}


async def test_each_update_is_in_the_lanes_of_the_couples_it_can_touch(
    sandbox: Sandbox, services: Services
) -> None:
    first = await onboard(sandbox, services, title="Alex & Sam")
    store, alex = services.store, first.alex.id
    group = {"id": first.group.id, "type": "group", "title": "Alex & Sam"}
    in_group = _update(message=_message(group, alex, text="/help"))
    assert lanes_of(store, in_group) == {first.group.id}

    # The messages saying a group became a supergroup: in the lanes of both ids.
    supergroup = {"id": -1009, "type": "supergroup", "title": "Alex & Sam"}
    moving = _update(message=_message(group, alex, migrate_to_chat_id=-1009))
    moved = _update(message=_message(supergroup, alex, migrate_from_chat_id=first.group.id))
    assert lanes_of(store, moving) == lanes_of(store, moved) == {first.group.id, -1009}

    # In private: the lanes of every couple of the person, else their own.
    private = {"id": alex, "type": "private", "first_name": "Alex"}
    assert lanes_of(store, _update(message=_message(private, alex, text="/journal"))) == {
        first.group.id
    }
    stranger = {"id": 99, "type": "private", "first_name": "Kim"}
    assert lanes_of(store, _update(message=_message(stranger, 99, text="/start"))) == {
        ("person", 99)
    }
    assert lanes_of(store, object()) == SHARED
