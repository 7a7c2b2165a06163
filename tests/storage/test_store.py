"""The couple store: atomic, private, per-couple files with derived indexes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.model import Couple, Partner
from bot.storage import Store, migrations
from bot.storage.index import INDEX_FILE
from bot.storage.store import file_mode

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def couple(chat_id: int, *user_ids: int) -> Couple:
    return Couple(
        chat_id=chat_id,
        title=f"Group {chat_id}",
        created_at=NOW,
        partners=[Partner(user_id=u, name=f"P{u}", joined_at=NOW) for u in user_ids],
    )


def save(store: Store, value: Couple) -> None:
    with store.transaction(value.chat_id) as tx:
        tx.save(value)


def opened(path: Path) -> Store:
    store = Store(path)
    store.open()
    return store


def test_a_saved_couple_survives_reopening(tmp_path: Path) -> None:
    store = opened(tmp_path)
    original = couple(-100, 1, 2)
    original.partners[0].timezone = "Europe/Berlin"
    save(store, original)

    again = opened(tmp_path)
    loaded = again.couple(-100)
    assert loaded == original
    assert again.chats_of_user(1) == [-100]
    assert again.chats_of_user(3) == []


def test_data_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    store = opened(tmp_path / "data")
    save(store, couple(-1, 1))
    assert file_mode(tmp_path / "data") == 0o700
    assert file_mode(tmp_path / "data" / "couples") == 0o700
    assert file_mode(tmp_path / "data" / "couples" / "-1.json") == 0o600


def test_a_write_touches_only_its_own_couples_file(tmp_path: Path) -> None:
    store = opened(tmp_path)
    for chat_id in range(-10, 0):
        save(store, couple(chat_id, 1000 + chat_id))
    files = sorted((tmp_path / "couples").glob("*.json"))
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in files}

    with store.transaction(-3) as tx:
        current = tx.couple()
        assert current is not None
        current.path = "repair"
        tx.save(current)

    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in files}
    changed = [name for name in before if before[name] != after[name]]
    assert changed == ["-3.json"]


def test_a_transaction_lands_whole_or_not_at_all(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-5, 1, 2))
    with pytest.raises(RuntimeError), store.transaction(-5) as tx:
        current = tx.couple()
        assert current is not None
        current.path = "new"
        tx.save(current)
        tx.table("timers").insert({"kind": "x"})
        raise RuntimeError("crash in the middle")
    assert store.couple(-5).path is None  # type: ignore[union-attr]
    assert store.records(-5, "timers") == []
    assert opened(tmp_path).couple(-5).path is None  # type: ignore[union-attr]


def test_records_and_lookup_keys(tmp_path: Path) -> None:
    store = opened(tmp_path)
    value = couple(-7, 1, 2)
    value.add_key("poll:abc")
    save(store, value)
    with store.transaction(-7) as tx:
        first = tx.table("notes").insert({"text": "one", "by": 1})
        tx.table("notes").insert({"text": "two", "by": 2})
        tx.table("notes").update(first, {"text": "uno"})
    assert store.chat_for_key("poll:abc") == -7
    assert [r["text"] for r in store.records(-7, "notes")] == ["uno", "two"]

    again = opened(tmp_path)
    assert again.chat_for_key("poll:abc") == -7
    with again.transaction(-7) as tx:
        current = tx.couple()
        assert current is not None
        current.drop_key("poll:abc")
        tx.save(current)
    assert again.chat_for_key("poll:abc") is None


def test_a_half_written_temp_file_is_ignored(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-9, 1))
    leftover = tmp_path / "couples" / "-9.json.4242.tmp"
    leftover.write_text('{"couple": {"1": {"chat_id": -9, "tit')
    again = opened(tmp_path)
    assert again.couple(-9) is not None
    assert not leftover.exists()


def test_an_unreadable_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "couples").mkdir(parents=True)
    (tmp_path / "couples" / "-11.json").write_text("{not json")
    store = opened(tmp_path)
    save(store, couple(-12, 1))
    assert store.chat_ids() == [-12]
    assert (tmp_path / "couples" / "-11.json.unreadable").exists()


def good_file(chat_id: int) -> dict[str, Any]:
    """A couple file as the store writes it, to be spoiled by a test."""
    return {
        "couple": {"1": couple(chat_id, 1, 2).to_doc()},
        "timers": {"1": {"kind": "pause_end"}},
        "_meta": {"1": {"schema": migrations.SCHEMA_VERSION}},
    }


def spoil(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """A file changed in place by `change` (whatever `change` returns is dropped)."""

    def spoiled(data: dict[str, Any]) -> Any:
        change(data)
        return data

    return spoiled


WRONG_SHAPES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "a bare string": lambda _: "a private worry",
    "a list": lambda _: ["a private worry"],
    "null": lambda _: None,
    "a couple without created_at": spoil(lambda d: d["couple"]["1"].pop("created_at")),
    "a couple without chat_id": spoil(lambda d: d["couple"]["1"].pop("chat_id")),
    "a chat id that isn't the file's": spoil(lambda d: d["couple"]["1"].update(chat_id=-999)),
    "a chat id as text": spoil(lambda d: d["couple"]["1"].update(chat_id="-31")),
    "a naive created_at": spoil(lambda d: d["couple"]["1"].update(created_at="2026-11-25")),
    "a created_at that isn't a time": spoil(lambda d: d["couple"]["1"].update(created_at="x")),
    "partners that aren't a list": spoil(lambda d: d["couple"]["1"].update(partners={})),
    "a partner that isn't an object": spoil(lambda d: d["couple"]["1"].update(partners=[7])),
    "a partner without joined_at": spoil(
        lambda d: d["couple"]["1"]["partners"][0].pop("joined_at")
    ),
    "a partner whose name isn't text": spoil(
        lambda d: d["couple"]["1"]["partners"][1].update(name=["a", "b"])
    ),
    "keys that aren't a list": spoil(lambda d: d["couple"]["1"].update(keys="poll:1")),
    "a table that isn't an object": spoil(lambda d: d.update(timers=["a private worry"])),
    "a record that isn't an object": spoil(lambda d: d["timers"].update({"2": "a worry"})),
    "a record id that isn't a number": spoil(lambda d: d["timers"].update(first={})),
    "a couple record that isn't an object": spoil(lambda d: d["couple"].update({"1": "x"})),
    "a schema that isn't a number": spoil(lambda d: d["_meta"]["1"].update(schema=[1])),
}


@pytest.mark.parametrize("wrong", WRONG_SHAPES)
def test_a_file_of_the_wrong_shape_is_set_aside_not_fatal(
    tmp_path: Path, wrong: str, caplog: pytest.LogCaptureFixture
) -> None:
    couples_dir = tmp_path / "couples"
    couples_dir.mkdir(parents=True)
    (couples_dir / "-30.json").write_text(json.dumps(good_file(-30)))
    spoiled = WRONG_SHAPES[wrong](good_file(-31))
    (couples_dir / "-31.json").write_text(json.dumps(spoiled))
    store = opened(tmp_path)
    assert store.chat_ids() == [-30]
    assert store.chats_of_user(1) == [-30]
    assert sorted(p.name for p in couples_dir.iterdir()) == ["-30.json", "-31.json.unreadable"]
    assert json.loads((couples_dir / "-31.json.unreadable").read_text()) == spoiled
    [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "-31.json" in line.getMessage()
    assert "worry" not in caplog.text and "poll:1" not in caplog.text


def test_optional_fields_may_be_missing(tmp_path: Path) -> None:
    couples_dir = tmp_path / "couples"
    couples_dir.mkdir(parents=True)
    minimal = {
        "chat_id": -32,
        "created_at": NOW.isoformat(),
        "partners": [{"user_id": 1, "name": "P1", "joined_at": NOW.isoformat()}],
    }
    (couples_dir / "-32.json").write_text(json.dumps({"couple": {"1": minimal}}))
    (couples_dir / "-33.json").write_text(json.dumps({"timers": {}}))  # no couple yet
    store = opened(tmp_path)
    assert sorted(store.chat_ids()) == [-33, -32]
    loaded = store.couple(-32)
    assert loaded is not None and loaded.partners[0].name == "P1" and loaded.keys == []


def test_delete_erases_the_file_and_the_indexes(tmp_path: Path) -> None:
    store = opened(tmp_path)
    value = couple(-13, 1, 2)
    value.add_key("link:x")
    save(store, value)
    store.delete(-13)
    assert store.couple(-13) is None
    assert store.chats_of_user(1) == []
    assert store.chat_for_key("link:x") is None
    assert not (tmp_path / "couples" / "-13.json").exists()
    assert opened(tmp_path).chat_ids() == []


def test_a_change_after_an_erase_brings_nothing_of_the_couple_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A send or a timer of theirs still under way when they were erased writes what it did.
    store = opened(tmp_path)
    save(store, couple(-13, 1, 2))
    store.delete(-13)
    with store.transaction(-13) as tx:
        assert tx.couple() is None
        tx.table("journal").insert({"text": "what one of them wrote"})
    assert "a change for a chat without a couple was not written" in caplog.text
    assert not (tmp_path / "couples" / "-13.json").exists()
    assert store.records(-13, "journal") == []
    assert opened(tmp_path).chat_ids() == []
    save(store, couple(-13, 1, 2))  # set up again: a couple may begin there anew
    assert store.couple(-13) is not None


def test_move_follows_a_migrated_chat(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-20, 1, 2))
    with store.transaction(-20) as tx:
        tx.table("timers").insert({"kind": "pause_end"})
    store.move(-20, -1000020)
    moved = store.couple(-1000020)
    assert moved is not None and moved.chat_id == -1000020 and moved.migrated_from == -20
    # Everything that still names the old id (a button, a record) finds the couple by it.
    assert store.chat_ids() == [-1000020] and not (tmp_path / "couples" / "-20.json").exists()
    old_name = store.couple(-20)
    assert old_name is not None and old_name.chat_id == -1000020
    with store.transaction(-20) as tx:
        tx.table("timers").insert({"kind": "window_open"})
    assert store.chat_ids() == [-1000020] and not (tmp_path / "couples" / "-20.json").exists()
    assert store.chats_of_user(2) == [-1000020]
    assert [r["kind"] for r in store.records(-1000020, "timers")] == ["pause_end", "window_open"]


def test_a_crash_during_move_keeps_the_new_chat_only(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-30, 1, 2))
    # What a crash between writing the new file and deleting the old one leaves behind:
    data = json.loads((tmp_path / "couples" / "-30.json").read_text())
    data["couple"]["1"].update(chat_id=-1000030, migrated_from=-30)
    (tmp_path / "couples" / "-1000030.json").write_text(json.dumps(data))
    again = opened(tmp_path)
    assert again.chat_ids() == [-1000030]
    assert again.chats_of_user(1) == [-1000030]


def test_every_file_carries_a_schema_version(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-40, 1))
    data = json.loads((tmp_path / "couples" / "-40.json").read_text())
    assert data["_meta"]["1"]["schema"] == migrations.SCHEMA_VERSION


def test_older_files_are_migrated_once_when_first_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = opened(tmp_path)
    save(store, couple(-41, 1))
    save(store, couple(-42, 2))
    current = migrations.SCHEMA_VERSION
    first, second = (tmp_path / "couples" / f"{c}.json" for c in (-41, -42))

    def add_motto(tables: migrations.Tables, upgrade: migrations.Upgrade) -> None:
        tables["couple"]["1"]["motto"] = "steady"

    monkeypatch.setattr(migrations, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(migrations.MIGRATIONS, current, add_motto)
    again = opened(tmp_path)
    assert json.loads(first.read_text())["_meta"]["1"]["schema"] == current  # not read yet
    assert again.couple(-41) is not None
    data = json.loads(first.read_text())
    assert data["_meta"]["1"]["schema"] == current + 1
    assert data["couple"]["1"]["motto"] == "steady"
    assert json.loads(second.read_text())["_meta"]["1"]["schema"] == current  # still unused
    migrated = first.stat().st_mtime_ns
    assert opened(tmp_path).couple(-41) is not None
    assert first.stat().st_mtime_ns == migrated  # once


def test_a_file_from_a_newer_version_stops_the_start(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-42, 1))
    path = tmp_path / "couples" / "-42.json"
    data = json.loads(path.read_text())
    data["_meta"]["1"]["schema"] = migrations.SCHEMA_VERSION + 5
    path.write_text(json.dumps(data))
    with pytest.raises(migrations.SchemaTooNew):
        opened(tmp_path)


def written_by_an_older_version(
    data_dir: Path, chat_id: int, schema: int, **tables: dict[str, Any]
) -> Path:
    """A couple's file (partners 1 and 2) as a version of schema `schema` left it, with `tables`."""
    save(opened(data_dir), couple(chat_id, 1, 2))
    path = data_dir / "couples" / f"{chat_id}.json"
    data = json.loads(path.read_text())
    data["_meta"]["1"]["schema"] = schema
    data.update(tables)
    path.write_text(json.dumps(data))
    return path


def test_away_mode_moves_from_the_ritual_settings_to_the_partner(tmp_path: Path) -> None:
    path = written_by_an_older_version(
        tmp_path,
        -43,
        1,
        ritual_settings={
            "1": {"partner": 1, "on": ["morning"], "at": {}, "away_until": "2026-12-24"},
            "2": {"partner": 2, "on": [], "at": {}, "away_until": None},
        },
    )
    again = opened(tmp_path)
    moved = again.couple(-43)
    assert moved is not None
    assert [str(p.away_until) for p in moved.partners] == ["2026-12-24", "None"]
    assert all("away_until" not in r for r in again.records(-43, "ritual_settings"))
    assert json.loads(path.read_text())["_meta"]["1"]["schema"] == migrations.SCHEMA_VERSION


def test_a_persons_settings_are_made_the_same_in_every_couple_at_start_up(tmp_path: Path) -> None:
    """Data from before a person's settings were kept together: the couple they joined later
    lacks their zone and quiet hours, and their private chat was opened from the first group."""
    store = opened(tmp_path)
    first, second = couple(-100, 1, 2), couple(-200, 1, 3)
    alex = first.partners[0]
    alex.timezone, alex.quiet_start, alex.quiet_end = "Europe/Berlin", "22:00", "07:00"
    second.partners[0].private_chat = True
    second.partners[1].timezone = "Asia/Tokyo"  # someone else's setting stays theirs
    save(store, first)
    save(store, second)
    store.close()
    (tmp_path / INDEX_FILE).unlink()  # such data came without an index

    again = opened(tmp_path)
    for chat_id in (-100, -200):
        found = again.couple(chat_id)
        assert found is not None
        me = found.partner(1)
        assert me is not None
        assert (me.timezone, me.quiet_start, me.quiet_end) == ("Europe/Berlin", "22:00", "07:00")
        assert me.private_chat
    assert again.couple(-100).partner(2).timezone is None  # type: ignore[union-attr]
    assert again.couple(-200).partner(3).timezone == "Asia/Tokyo"  # type: ignore[union-attr]


def test_only_the_couple_files_in_use_stay_in_memory(tmp_path: Path) -> None:
    store = Store(tmp_path, keep_loaded=2)
    store.open()
    for chat_id in range(-60, -50):
        value = couple(chat_id, 1000 + chat_id)
        value.add_key(f"poll:{chat_id}")
        save(store, value)
        assert store.in_memory() <= 2
    with store.transaction(-60) as tx:  # in use: kept while others come and go
        for chat_id in range(-59, -50):
            found = store.couple(chat_id)
            assert found is not None and found.keys == [f"poll:{chat_id}"]
        assert store.in_memory() == 2
        tx.table("notes").insert({"text": "while the others were read"})
    assert [r["text"] for r in store.records(-60, "notes")] == ["while the others were read"]
    again = opened(tmp_path)
    assert [r["text"] for r in again.records(-60, "notes")] == ["while the others were read"]
    assert again.in_memory() == 1  # nothing was read at start-up but what was asked for


def test_an_index_that_disagrees_with_a_couple_file_is_mended_from_the_file(
    tmp_path: Path,
) -> None:
    store = opened(tmp_path)
    save(store, couple(-70, 1, 2))
    store.close()
    older = (tmp_path / INDEX_FILE).read_bytes()
    store = opened(tmp_path)
    changed = couple(-70, 1, 3)
    changed.add_key("link:new")
    save(store, changed)
    save(store, couple(-71, 4))
    store.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)
    (tmp_path / INDEX_FILE).write_bytes(older)  # as if the index writes were lost

    again = opened(tmp_path)
    assert again.chat_for_key("link:new") == -70
    assert again.chats_of_user(3) == [-70] and again.chats_of_user(2) == []
    assert again.chats_of_user(4) == [-71]
    assert sorted(again.chat_ids()) == [-71, -70]
    assert again.in_memory() == 2  # the two files the index didn't know as they are


def test_a_missing_or_damaged_index_is_built_from_the_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = opened(tmp_path)
    value = couple(-80, 1, 2)
    value.add_key("poll:p")
    save(store, value)
    store.close()
    for spoil_it in (lambda p: p.unlink(), lambda p: p.write_bytes(b"not an index at all")):
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)
        spoil_it(tmp_path / INDEX_FILE)
        again = opened(tmp_path)
        assert again.chat_for_key("poll:p") == -80
        assert again.chats_of_user(2) == [-80]
        assert file_mode(tmp_path / INDEX_FILE) == 0o600
        again.close()
    assert "the couples' index is unusable" in caplog.text
