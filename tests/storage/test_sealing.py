"""Sealing at the store: private fields plain to the code, sealed in the file and bound to their
couple, table, record, field and owner; plain files from before sealing are sealed at start-up;
a key rotation goes on after a crash; a chat id change seals again for the new id."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pytest

from bot.config import ConfigError, Settings
from bot.storage import Kind, Store, migrations
from bot.storage.keys import IN_USE_FILE, KEY_FILE, begin_rotation
from bot.storage.rotation import rotate_data_key
from bot.storage.sealing import sealed_with
from bot.storage.store import file_mode
from tests.storage.test_store import couple, save, written_by_an_older_version

SECRET = "what I never told anyone"


class Note(TypedDict):
    id: NotRequired[int]
    author: int
    text: str | None
    mood: NotRequired[str]


class Round(TypedDict):
    id: NotRequired[int]
    answers: dict[str, dict[str, Any]]


NOTES = Kind[Note]("test_notes", private=("text",), owner="author")
ROUNDS = Kind[Round]("test_rounds", private=("answers.*.text",))


def opened(data_dir: Path, key: bytes | None = None, *older: bytes) -> Store:
    store = Store(data_dir, data_key=key, older_keys=older)
    store.open()
    return store


def raw(data_dir: Path, chat_id: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((data_dir / "couples" / f"{chat_id}.json").read_text())
    return data


def test_private_fields_are_plain_to_the_code_and_sealed_in_the_file(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-1, 1, 2))
    with store.transaction(-1) as tx:
        first = tx.table(NOTES).insert({"author": 1, "text": SECRET, "mood": "calm"})
        tx.table(NOTES).insert({"author": 2, "text": None})
        tx.table(ROUNDS).insert({"answers": {"1": {"text": "mine", "shared": True}, "2": {}}})
        tx.table(NOTES).update(first, {"text": SECRET + ", again"})
    assert [n["text"] for n in store.records(-1, NOTES)] == [SECRET + ", again", None]
    assert store.records(-1, "test_notes") == store.records(-1, NOTES)  # by name too
    assert store.records(-1, ROUNDS)[0]["answers"] == {
        "1": {"text": "mine", "shared": True},
        "2": {},
    }
    with store.transaction(-1) as tx:
        assert [n["id"] for n in tx.table(NOTES).find(author=1)] == [first]
        assert tx.table(NOTES).find(text=SECRET + ", again")[0]["mood"] == "calm"

    text = (tmp_path / "couples" / "-1.json").read_text()
    assert SECRET not in text and "mine" not in text and '"calm"' in text
    file = raw(tmp_path, -1)
    assert sealed_with(file["test_notes"]["1"]["text"]) is not None
    assert file["test_notes"]["2"]["text"] is None
    assert file["test_rounds"]["1"]["answers"]["1"]["shared"] is True
    assert file_mode(tmp_path / KEY_FILE) == 0o600
    assert opened(tmp_path).records(-1, NOTES)[0]["text"] == SECRET + ", again"


def test_a_sealed_value_opens_only_where_it_was_sealed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = opened(tmp_path)
    for chat_id in (-1, -2):
        save(store, couple(chat_id, 1, 2))
        with store.transaction(chat_id) as tx:
            tx.table(NOTES).insert({"author": 1, "text": f"{SECRET} in {chat_id}"})
            tx.table(NOTES).insert({"author": 1, "text": "second"})
            tx.table(ROUNDS).insert({"answers": {"1": {"text": "one"}, "2": {"text": "two"}}})
    ours, theirs = raw(tmp_path, -1), raw(tmp_path, -2)
    ours["test_notes"]["2"]["text"] = ours["test_notes"]["1"]["text"]  # another record
    theirs["test_notes"]["1"]["text"] = ours["test_notes"]["1"]["text"]  # another couple
    theirs["test_notes"]["2"]["author"] = 2  # another person
    answers = ours["test_rounds"]["1"]["answers"]  # one partner's answer under the other's
    answers["2"]["text"] = answers["1"]["text"]
    (tmp_path / "couples" / "-1.json").write_text(json.dumps(ours))
    (tmp_path / "couples" / "-2.json").write_text(json.dumps(theirs))

    again = opened(tmp_path)
    with caplog.at_level(logging.ERROR):
        assert [n["text"] for n in again.records(-1, NOTES)] == [f"{SECRET} in -1"]
        assert again.records(-2, NOTES) == [] and again.records(-1, ROUNDS) == []
        again.records(-1, NOTES)  # reported once
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 4 and all("is left out" in m for m in logged)
    assert not any(SECRET in m for m in logged)
    with again.transaction(-1) as tx:
        assert tx.table(NOTES).get(2) is None
        tx.table(NOTES).insert({"author": 2, "text": "life goes on"})
    assert [n["text"] for n in again.records(-1, NOTES)] == [f"{SECRET} in -1", "life goes on"]


def test_a_new_owner_gets_what_stays_sealed_for_them(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-1, 1, 2))
    with store.transaction(-1) as tx:
        note = tx.table(NOTES).insert({"author": 1, "text": SECRET})
        tx.table(NOTES).update(note, {"author": 2})
    assert store.records(-1, NOTES)[0] == {"id": note, "author": 2, "text": SECRET}


def test_plain_private_text_from_before_is_sealed_at_start_up(tmp_path: Path) -> None:
    path = written_by_an_older_version(
        tmp_path,
        -3,
        2,
        test_notes={"1": {"author": 1, "text": SECRET}},
        test_rounds={"1": {"answers": {"2": {"text": "an old answer"}}}},
    )

    again = opened(tmp_path)
    assert SECRET not in path.read_text() and "an old answer" not in path.read_text()
    assert again.records(-3, NOTES)[0]["text"] == SECRET
    assert again.records(-3, ROUNDS)[0]["answers"] == {"2": {"text": "an old answer"}}
    assert raw(tmp_path, -3)["_meta"]["1"]["schema"] == migrations.SCHEMA_VERSION


def test_a_moved_chat_seals_again_for_its_new_id(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-20, 1, 2))
    with store.transaction(-20) as tx:
        tx.table(NOTES).insert({"author": 1, "text": SECRET})
    before = raw(tmp_path, -20)["test_notes"]["1"]["text"]
    store.move(-20, -1000020)
    after = raw(tmp_path, -1000020)["test_notes"]["1"]["text"]
    assert after != before and SECRET not in json.dumps(raw(tmp_path, -1000020))
    assert store.records(-1000020, NOTES)[0]["text"] == SECRET
    assert opened(tmp_path).records(-20, NOTES)[0]["text"] == SECRET  # by its old id too


def key_ids(data_dir: Path, chat_id: int) -> set[str | None]:
    file = raw(data_dir, chat_id)
    return {sealed_with(n["text"]) for n in file["test_notes"].values()}


def settings_for(data_dir: Path, data_key: bytes | None = None) -> Settings:
    return Settings(
        token=None,
        api_base_url="",
        data_dir=data_dir,
        erase_after_days=14,
        log_level="INFO",
        data_key=data_key,
    )


def test_a_rotation_stopped_half_way_goes_on_when_run_again(tmp_path: Path) -> None:
    store = opened(tmp_path)
    for chat_id in (-1, -2):
        save(store, couple(chat_id, 1, 2))
        with store.transaction(chat_id) as tx:
            tx.table(NOTES).insert({"author": 1, "text": f"{SECRET} {chat_id}"})
    [old] = json.loads((tmp_path / IN_USE_FILE).read_text())["keys"]

    begin_rotation(tmp_path, None)  # the new key is kept first ...
    halfway = opened(tmp_path)
    new = halfway.keyring.current
    assert halfway.reseal(-1) == (1, 0)  # ... one file is done, then the process dies
    assert key_ids(tmp_path, -1) == {new} and key_ids(tmp_path, -2) == {old}
    assert {n["text"] for c in (-1, -2) for n in opened(tmp_path).records(c, NOTES)} == {
        f"{SECRET} -1",
        f"{SECRET} -2",
    }  # meanwhile every file opens

    rotated = rotate_data_key(settings_for(tmp_path))
    assert rotated.key_id == new and (rotated.files, rotated.values) == (1, 1)
    assert key_ids(tmp_path, -1) == key_ids(tmp_path, -2) == {new}
    assert len(json.loads((tmp_path / KEY_FILE).read_text())["keys"]) == 1
    assert json.loads((tmp_path / IN_USE_FILE).read_text())["keys"] == [new]
    assert opened(tmp_path).records(-2, NOTES)[0]["text"] == f"{SECRET} -2"


def test_a_lost_key_file_stops_the_start_instead_of_a_new_key(tmp_path: Path) -> None:
    opened(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    with pytest.raises(ConfigError, match="MEND_DATA_KEY: expected the key the data") as caught:
        opened(tmp_path)
    assert "is missing" in str(caught.value) and not (tmp_path / KEY_FILE).exists()


def test_from_the_key_file_to_mend_data_key(tmp_path: Path) -> None:
    store = opened(tmp_path)
    save(store, couple(-1, 1))
    with store.transaction(-1) as tx:
        tx.table(NOTES).insert({"author": 1, "text": SECRET})
    given = bytes(range(32))
    # With MEND_DATA_KEY set, the key file still opens what it sealed, until a rotation.
    assert opened(tmp_path, given).records(-1, NOTES)[0]["text"] == SECRET
    rotate_data_key(settings_for(tmp_path, given))
    assert not (tmp_path / KEY_FILE).exists()
    assert opened(tmp_path, given).records(-1, NOTES)[0]["text"] == SECRET
    with pytest.raises(ConfigError, match="MEND_DATA_KEY: expected the key the data"):
        opened(tmp_path, bytes(32))
