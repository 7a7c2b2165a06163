"""The couples' index across restarts: missing, damaged, or older than a couple file (a crash
between the two writes, a backup put back), the bot finds every couple, person, deep link and
poll as the couple files say; and couple files not in use leave memory and come back whole."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.app import services_of
from bot.config import Settings
from bot.context import Services
from bot.polls import POLLS_TABLE
from bot.sandbox import Sandbox
from bot.storage import store as store_module
from bot.storage.index import INDEX_FILE
from tests.conftest import People, Restart, onboard, path_and_no_roles
from tests.features.test_checkins import start
from tests.test_two_couples import second_couple


def index_files(settings: Settings) -> list[Path]:
    path = settings.data_dir / INDEX_FILE
    return [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm")]


def copy_index(settings: Settings, to: Path) -> None:
    """A consistent copy of the index as it is now (SQLite's own backup)."""
    with sqlite3.connect(settings.data_dir / INDEX_FILE) as source, sqlite3.connect(to) as copy:
        source.backup(copy)
    source.close()
    copy.close()


def put_index_back(settings: Settings, copy: Path) -> None:
    """The index as it was when `copy` was made; the couple files as they are now."""
    for path in index_files(settings):
        path.unlink(missing_ok=True)
    shutil.copyfile(copy, settings.data_dir / INDEX_FILE)


async def test_without_its_index_the_bot_builds_it_and_finds_a_person_in_two_couples(
    sandbox: Sandbox, couple: People, restart: Restart, settings: Settings
) -> None:
    jo, second = await second_couple(sandbox, couple)

    def lose_the_index() -> None:
        for path in index_files(settings):
            path.unlink(missing_ok=True)

    app = await restart(while_down=lose_the_index)

    assert (settings.data_dir / INDEX_FILE).exists()
    await couple.alex.send_private("/journal After the restart")
    question = await couple.alex.private.expect("more than one group", "Which one is this for?")
    assert sorted(question.button_texts()) == ["Alex & Jo", "Alex & Sam"]
    await second.send(jo, "/pause")
    await second.expect("Jo asked for a pause")
    store = services_of(app).store
    assert store.chats_of_user(couple.alex.id) == sorted([couple.group.id, second.id])
    assert store.chats_of_user(jo.id) == [second.id]


async def test_a_damaged_index_is_built_again_from_the_couple_files(
    sandbox: Sandbox,
    restart: Restart,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    couple = await onboard(sandbox, None, open_private=False)

    def damage_the_index() -> None:
        for path in index_files(settings):
            path.unlink(missing_ok=True)
        (settings.data_dir / INDEX_FILE).write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)

    await restart(while_down=damage_the_index)

    assert any("index is unusable" in r.getMessage() for r in caplog.records)
    # The deep links made before the restart are found by their hashes.
    for person in (couple.alex, couple.sam):
        chat = await person.follow_link(
            couple.joined[person.name], f"{person.name}: open your private chat"
        )
        await chat.expect("your private space")
    await couple.group.send(couple.sam, "/pause")
    await couple.group.expect("Sam asked for a pause")


async def test_an_index_older_than_the_couple_files_is_mended_at_start_up(
    sandbox: Sandbox, restart: Restart, settings: Settings, tmp_path: Path
) -> None:
    """As after a crash between a couple file's write and its index's: the couple's file holds
    a partner, a deep link and a poll the index doesn't know."""
    alex = sandbox.user("Alex", language_code="en")
    sam = sandbox.user("Sam", language_code="en")
    group = sandbox.group("Alex & Sam", members=[alex, sam])
    await group.add_bot(by=alex)
    welcome = await group.expect("I'm Mend", "I'm in")
    await alex.press(welcome, "I'm in")
    joined_alex = await group.expect("Alex", "is in")
    older = tmp_path / "older-index"
    app = await restart(while_down=lambda: copy_index(settings, older))
    await sam.press(welcome, "I'm in")
    joined_sam = await group.expect("Sam", "is in")
    await path_and_no_roles(group, alex, sam, "Repair after a breach")
    couple = People(alex, sam, group, {"Alex": joined_alex, "Sam": joined_sam}, services_of(app))
    poll = await start(couple, alex)

    app = await restart(while_down=lambda: put_index_back(settings, older))

    chat = await sam.follow_link(joined_sam, "Sam: open your private chat")
    await chat.expect("your private space")
    assert services_of(app).store.chats_of_user(sam.id) == [group.id]
    await alex.answer_poll(poll, [3])
    await sandbox.settle()
    [record] = services_of(app).store.records(group.id, POLLS_TABLE)
    assert record["votes"] == {str(alex.id): [3]}


async def test_couple_files_not_in_use_leave_memory_and_come_back_whole(
    sandbox: Sandbox, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "KEEP_LOADED", 1)
    first = await onboard(sandbox, services, title="Alex & Sam")
    second = await onboard(sandbox, services, title="Jo & Kim", open_private=False)
    store = services.store
    assert store.in_memory() == 1

    for _ in range(2):  # each couple's file read again in turn
        await first.group.send(first.alex, "/pause")
        await first.group.expect("Alex asked for a pause")
        await second.group.send(second.sam, "/pause")
        await second.group.expect("Sam asked for a pause")
        await first.group.send(first.alex, "/resume")
        await first.group.expect("is ready to come back")
        await second.group.send(second.sam, "/resume")
        await second.group.expect("is ready to come back")
        assert store.in_memory() == 1
    for people, title in ((first, "Alex & Sam"), (second, "Jo & Kim")):
        again = store.couple(people.group.id)
        assert again is not None and again.title == title and again.is_set_up
        assert [p.user_id for p in again.partners] == [people.alex.id, people.sam.id]
    await first.alex.send_private("/journal Kept whole")
    await first.alex.private.expect("Saved, just for you")


async def test_after_a_clean_stop_the_index_is_taken_as_it_is_until_a_couple_file_changes(
    sandbox: Sandbox, couple: People, restart: Restart, settings: Settings
) -> None:
    mark = settings.data_dir / store_module.CLEAN_FILE
    marked: list[bool] = []

    def each_file_looked_at(self: store_module.Store) -> None:
        raise AssertionError("start-up looked at every couple file")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module.Store, "_scan", each_file_looked_at)
        await restart(while_down=lambda: marked.append(mark.exists()))
    assert marked == [True]
    assert not mark.exists()  # taken at start-up: a crash from now on leaves none
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")

    # A couple file removed by hand while the bot is down: the files are looked at again.
    app = await restart(
        while_down=(settings.data_dir / "couples" / f"{couple.group.id}.json").unlink
    )
    assert services_of(app).store.couple(couple.group.id) is None
    assert couple.group.id not in services_of(app).store.chat_ids()


async def test_a_couple_file_put_back_in_place_while_stopped_is_indexed_again_after_start(
    couple: People, restart: Restart, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A backup copied over a couple file keeps the folder as it was, so the start takes the
    index as it was; the look at each file right after finds the file and indexes it again."""
    path = settings.data_dir / "couples" / f"{couple.group.id}.json"
    before = path.read_text()  # no pause yet
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")

    app = await restart(while_down=lambda: path.write_text(before))

    store = services_of(app).store
    await store.check_files()  # done at start-up too; whichever comes first does it
    told = [r.getMessage() for r in caplog.records if "indexed again" in r.getMessage()]
    assert told == ["couple files changed while the bot was stopped, indexed again: 1"]
    assert store.index.files()[couple.group.id] == store_module.file_identity(path.stat())
    await couple.group.send(couple.sam, "/pause")
    await couple.group.expect("Sam asked for a pause")  # the file as put back: no pause
