"""Private text at rest: what people write in private is sealed in the data files, plain to its
owner (/export, /journal, after a restart, after a group became a supergroup), sealed again by a
key rotation; a sealed value that was changed or copied elsewhere is refused without stopping
anyone, and a wrong MEND_DATA_KEY stops the start with one clear line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.app import MendApp
from bot.bot_api import LEDGER_FILE, UpdateLedger
from bot.config import Settings, decode_key, encode_key
from bot.context import Services
from bot.features.checkins import QUARTERLY
from bot.features.journal import JOURNAL_TABLE
from bot.model import Couple
from bot.sandbox import Sandbox, SandboxUser
from bot.storage import Store
from bot.storage.keys import IN_USE_FILE, KEY_FILE
from bot.storage.lock import holding
from bot.storage.rotation import rotate_data_key
from bot.storage.sealing import PRIVATE, Binding, Place, sealed_with
from tests.conftest import ROOT, Clock, People, Restart, errors_logged, onboard
from tests.features.test_checkins import reflect, start
from tests.features.test_journal import answer, export_of
from tests.features.test_visit import START, plan_visit, see, set_zones, travel

JOURNAL = ("Kept the promise about Friday", "Being left without a word", "My last breakup")
WORRY = "When you go quiet at night I imagine the worst"
TRIGGER = ("a late reply from the airport", "When replies are slow I get scared")
RUNG = "My brother's wedding"
LOOP = ("They'll leave like the last one", "I know they stayed all year")
CHECKIN = ("We laughed on the call", "Friday still stings", "Call before bed")
LETTER = "Your patience in the hard weeks"


def data_files(data_dir: Path) -> Iterator[Path]:
    return (path for path in data_dir.rglob("*") if path.is_file())


def found_in_files(data_dir: Path, *texts: str) -> list[str]:
    """Which of `texts` some file under the data directory holds, as it is or JSON-escaped."""
    contents = [path.read_bytes() for path in data_files(data_dir)]
    forms = {text: (text.encode(), json.dumps(text)[1:-1].encode()) for text in texts}
    return [
        text
        for text, encoded in forms.items()
        if any(form in content for content in contents for form in encoded)
    ]


def couple_file(settings: Settings, chat_id: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (settings.data_dir / "couples" / f"{chat_id}.json").read_text()
    )
    return data


def key_ids_of_private_values(settings: Settings, chat_id: int) -> list[str | None]:
    """The key id of each private value in a couple's file (None: a value that isn't sealed)."""
    tables, seen = couple_file(settings, chat_id), []

    def look(value: Any, bound: Binding) -> Any:
        seen.append(sealed_with(value))
        return value

    for table, private in PRIVATE.items():
        for record_id, doc in tables.get(table, {}).items():
            private.apply(doc, Place(chat_id, table, int(record_id)), look)
    return seen


async def write_in_private(
    sandbox: Sandbox, app: MendApp, couple: People, services: Services
) -> None:
    """Alex and Sam write every kind of private text there is, and leave it unshared."""
    alex, sam, group = couple.alex, couple.sam, couple.group
    await alex.send_private(f"/journal {JOURNAL[0]}")
    await alex.private.expect("Saved, just for you")
    await alex.send_private("/journal")
    menu = await alex.private.expect("Your journal", JOURNAL[0])  # shown in the menu's run too
    await alex.press(menu, "A fear, and where it began")
    await answer(alex, alex.private, "what you dread most", text=JOURNAL[1])
    await answer(alex, alex.private, "When did you first meet this fear", text=JOURNAL[2])
    await alex.private.expect("Saved", "talking about then")

    await alex.send_private(f"/worry {WORRY}")
    await alex.private.expect("Parked.")

    await alex.send_private(f"/trigger {TRIGGER[0]}")
    draft = await alex.private.expect("Here's a way you could say it", TRIGGER[0])
    await alex.press(draft, "Edit")
    await answer(alex, alex.private, "Write it in your own words", text=TRIGGER[1])
    redraft = await alex.private.expect(TRIGGER[1])
    await alex.press(redraft, "Keep private")
    await alex.private.expect("Kept here, just for you")

    await alex.send_private("/ladder")
    ladder = await alex.private.expect("Your vulnerability ladder")
    await alex.press(ladder, "Add my own")
    await answer(alex, alex.private, "next thing you might share", text=RUNG)
    await alex.private.expect(f"1. {RUNG}")

    await sam.send_private("/reflect")
    await answer(sam, sam.private, "Stuck in a loop?", text=LOOP[0])
    notice = await sam.private.expect("the same circle")
    await sam.press(notice, "The same circle")
    await answer(sam, sam.private, "what is fear filling in", text=LOOP[1])
    step = await sam.private.expect("One small next step")
    await sam.press(step, "Keep this in my journal")
    await sam.private.expect("You named the loop")

    await sam.send_private("/selfcheck")
    check = await sam.private.expect("1 of 6")
    await sam.press(check, "Yes, that's me")

    await start(couple, alex)  # Alex answers, Sam doesn't yet: nothing is revealed
    await reflect(alex, list(CHECKIN), [True, False, True])

    [quarterly] = services.timers.pending(group.id, QUARTERLY)
    await services.timers.run_now(app, group.id, quarterly["id"])
    ask = await alex.private.expect("Your appreciation letter to Sam")
    await alex.private.reply(alex, to=ask, text=LETTER)
    await alex.private.expect("Saved, privately")
    await sandbox.settle()


PRIVATE_TEXTS = (*JOURNAL, WORRY, *TRIGGER, RUNG, *LOOP, *CHECKIN, LETTER)


async def test_every_private_text_is_sealed_at_rest_and_plain_to_its_author(
    sandbox: Sandbox,
    app: MendApp,
    couple: People,
    services: Services,
    settings: Settings,
    restart: Restart,
) -> None:
    await write_in_private(sandbox, app, couple, services)

    assert found_in_files(settings.data_dir, *PRIVATE_TEXTS) == []
    # Every private field of every table is sealed, with the one key there is.
    keys = key_ids_of_private_values(settings, couple.group.id)
    assert len(keys) >= len(PRIVATE_TEXTS) and None not in keys
    [key_id] = json.loads((settings.data_dir / IN_USE_FILE).read_text())["keys"]
    assert set(keys) == {key_id}
    assert oct((settings.data_dir / KEY_FILE).stat().st_mode & 0o777) == "0o600"
    # Still plain text for the group's name, the names and the settings: only private text.
    assert found_in_files(settings.data_dir, "Alex & Sam", "Alex", "Sam") == [
        "Alex & Sam",
        "Alex",
        "Sam",
    ]

    mine = json.dumps(await export_of(couple.alex), ensure_ascii=False)
    for text in (*JOURNAL, WORRY, *TRIGGER, RUNG, *CHECKIN, LETTER):
        assert text in mine, text
    theirs = json.dumps(await export_of(couple.sam), ensure_ascii=False)
    assert all(text in theirs for text in LOOP)
    assert not any(text in theirs for text in (*JOURNAL, WORRY, *TRIGGER, RUNG, LETTER))

    await restart()
    await couple.alex.send_private("/journal")
    await couple.alex.private.expect("Recent entries", *JOURNAL)
    await couple.sam.send_private("/journal")
    await couple.sam.private.expect("a loop, looked at", LOOP[1])
    assert found_in_files(settings.data_dir, *PRIVATE_TEXTS) == []


async def journal(person: SandboxUser, *entries: str) -> None:
    for entry in entries:
        await person.send_private(f"/journal {entry}")
        await person.private.expect("Saved, just for you")


async def journal_shows(person: SandboxUser) -> str:
    await person.send_private("/journal")
    menu = await person.private.expect("Your journal")
    return menu.text


@pytest.mark.clock(START)
async def test_a_visit_reflection_is_sealed_until_it_is_revealed(
    sandbox: Sandbox, couple: People, settings: Settings, clock: Clock
) -> None:
    await set_zones(couple)
    await plan_visit(sandbox, couple, arrival="2026-11-27", departure="2026-11-28")
    await travel(clock, sandbox, datetime(2026, 11, 29, 9, 1, tzinfo=UTC))
    question = await see(couple.alex.private, "Hi Alex", "How safe and connected")
    await couple.alex.press(question, "4")
    await couple.alex.press(await see(couple.alex.private, "You chose 4"), "Add a note")
    ask = await see(couple.alex.private, "Write what you'd like to add")
    await couple.alex.private.reply(couple.alex, to=ask, text="The lake walk helped most")
    await see(couple.alex.private, "What may the group see?")
    await sandbox.settle()
    assert found_in_files(settings.data_dir, "The lake walk helped most") == []
    assert None not in key_ids_of_private_values(settings, couple.group.id)
    section = json.dumps(await export_of(couple.alex))
    assert "The lake walk helped most" in section


async def test_private_text_follows_a_group_that_becomes_a_supergroup(
    couple: People, services: Services, settings: Settings, restart: Restart
) -> None:
    await journal(couple.alex, "Written before the upgrade")
    supergroup = await couple.group.migrate_to_supergroup()
    await supergroup.send(couple.alex, "/settings")
    await supergroup.expect("How things are set up")
    assert services.store.chat_ids() == [supergroup.id]
    assert "Written before the upgrade" in await journal_shows(couple.alex)
    # Sealed again for the new chat id: it opens there, after a restart too.
    assert None not in key_ids_of_private_values(settings, supergroup.id)
    await restart()
    assert "Written before the upgrade" in await journal_shows(couple.alex)
    assert found_in_files(settings.data_dir, "Written before the upgrade") == []


async def test_a_key_rotation_seals_everything_again_and_forgets_the_old_key(
    sandbox: Sandbox,
    couple: People,
    services: Services,
    settings: Settings,
    restart: Restart,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = await onboard(sandbox, services, title="Robin & Kim")
    await journal(couple.alex, "Alex's first entry", "Alex's second entry")
    await journal(other.sam, "A note from the other couple")
    await couple.alex.send_private("/worry The plans for winter")
    await couple.alex.private.expect("Parked.")
    old_key = json.loads((settings.data_dir / KEY_FILE).read_text())["keys"]
    [old_id] = json.loads((settings.data_dir / IN_USE_FILE).read_text())["keys"]
    rotated: list[Any] = []

    await restart(while_down=lambda: rotated.append(rotate_data_key(settings)))

    [result] = rotated
    assert result.key_id != old_id and result.unopenable == 0
    assert result.files == 2 and result.values >= 4
    stored = json.loads((settings.data_dir / KEY_FILE).read_text())["keys"]
    assert len(stored) == 1 and stored[0] not in old_key  # the old key is gone
    assert json.loads((settings.data_dir / IN_USE_FILE).read_text())["keys"] == [result.key_id]
    for chat in (couple.group, other.group):
        assert set(key_ids_of_private_values(settings, chat.id)) == {result.key_id}
    shown = await journal_shows(couple.alex)
    assert "Alex's first entry" in shown and "Alex's second entry" in shown
    assert "A note from the other couple" in await journal_shows(other.sam)
    assert found_in_files(settings.data_dir, "Alex's first entry", "The plans for winter") == []


async def test_a_changed_or_copied_sealed_value_is_refused_and_everyone_goes_on(
    sandbox: Sandbox,
    couple: People,
    services: Services,
    settings: Settings,
    restart: Restart,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = await onboard(sandbox, services, title="Robin & Kim")
    await journal(couple.alex, "Entry that will be changed", "Entry that stays whole")
    await journal(other.alex, "Entry of the other couple", "Entry copied over")

    def tamper() -> None:
        mine = settings.data_dir / "couples" / f"{couple.group.id}.json"
        theirs = settings.data_dir / "couples" / f"{other.group.id}.json"
        ours, others = json.loads(mine.read_text()), json.loads(theirs.read_text())
        sealed = ours["journal"]["1"]["answers"]
        flipped = "A" if sealed[-5] != "A" else "B"
        ours["journal"]["1"]["answers"] = sealed[:-5] + flipped + sealed[-4:]
        # The other couple's second entry, copied over Alex's second one (same record id).
        ours["journal"]["2"]["answers"] = others["journal"]["2"]["answers"]
        # And inside the other couple's file: its first entry copied onto its second.
        others["journal"]["2"]["answers"] = others["journal"]["1"]["answers"]
        mine.write_text(json.dumps(ours))
        theirs.write_text(json.dumps(others))

    await restart(while_down=tamper)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        shown = await journal_shows(couple.alex)
        assert "No entries yet" in shown  # both are left out, nothing else is shown
        assert "Entry copied over" not in shown and "Entry that stays whole" not in shown
        theirs = await journal_shows(other.alex)
        assert "Entry of the other couple" in theirs and "Entry copied over" not in theirs
        await couple.alex.send_private("/journal written after it")
        await couple.alex.private.expect("Saved, just for you")
        assert "written after it" in await journal_shows(couple.alex)
        await couple.group.send(couple.sam, "/settings")
        await couple.group.expect("How things are set up")
    logged = errors_logged(caplog)
    assert any(f"{couple.group.id}.json: journal record 1 is left out" in m for m in logged)
    assert any(f"{couple.group.id}.json: journal record 2 is left out" in m for m in logged)
    assert any(f"{other.group.id}.json: journal record 2 is left out" in m for m in logged)
    assert not any("Entry" in m for m in logged)  # never what it held
    # Kept in the file as it was, for a person to look at.
    assert couple_file(settings, couple.group.id)["journal"]["1"]["answers"].startswith("sealed:")


def _mend(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_wrong_data_key_stops_the_start_with_a_clear_line(tmp_path: Path) -> None:
    first, second = os.urandom(32), os.urandom(32)
    env = {
        "BOT_TOKEN": "123456789:AAEabcdefghijklmnopqrstuvwxyz012345",
        "BOT_API_BASE_URL": "http://127.0.0.1:9/bot",  # never reached: the start stops first
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "MEND_DATA_KEY": encode_key(first),
    }
    Store(tmp_path / "data", data_key=first).open()  # the data is sealed with the first key
    assert not (tmp_path / "data" / KEY_FILE).exists()  # the key lives in the environment

    wrong = _mend({**env, "MEND_DATA_KEY": encode_key(second)})
    assert wrong.returncode == 2
    [line] = [line for line in wrong.stderr.splitlines() if "MEND_DATA_KEY" in line]
    assert line.startswith("mend: configuration error: MEND_DATA_KEY: expected the key the data")
    assert "key id" in line and encode_key(second) not in line and encode_key(first) not in line

    unset = _mend({**env, "MEND_DATA_KEY": ""})  # nor does a new key file replace it
    assert unset.returncode == 2 and "the key file" in unset.stderr
    assert "is missing" in unset.stderr and not (tmp_path / "data" / KEY_FILE).exists()

    broken = _mend({**env, "MEND_DATA_KEY": "not a key"})
    assert broken.returncode == 2
    assert "MEND_DATA_KEY: expected 32 random bytes in base64" in broken.stderr


def test_new_key_prints_a_key_mend_data_key_accepts() -> None:
    made = _mend({}, "new-key")
    assert made.returncode == 0
    assert decode_key(made.stdout.strip()) is not None


def test_rotate_key_from_the_command_line_moves_to_mend_data_key(tmp_path: Path) -> None:
    data_dir, new = tmp_path / "data", os.urandom(32)
    store = Store(data_dir)
    store.open()
    write_journal_entry(store, -5, "Before the new key")
    # An update the bot fetched and hadn't handled when it stopped: kept, sealed.
    kept = UpdateLedger(data_dir / LEDGER_FILE, keyring=lambda: store.keyring)
    kept.fetched(Update.de_json(_private_text(7, "Kept before the new key"), None))
    kept.save()
    rotated = _mend({"BOT_DATA_DIR": str(data_dir), "MEND_DATA_KEY": encode_key(new)}, "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "2 values in 1 couple file sealed again" in rotated.stdout, rotated.stdout
    assert not (data_dir / KEY_FILE).exists()  # the old key went with the key file
    again = Store(data_dir, data_key=new)
    again.open()
    [entry] = again.records(-5, JOURNAL_TABLE)
    assert entry["answers"] == ["Before the new key"]
    [update] = UpdateLedger(data_dir / LEDGER_FILE, keyring=lambda: again.keyring).left_over(None)
    assert update.message is not None and update.message.text == "Kept before the new key"
    assert found_in_files(data_dir, "Before the new key", "Kept before the new key") == []


def write_journal_entry(store: Store, chat_id: int, text: str) -> None:
    """A couple in `chat_id` with one journal entry whose answer is `text`."""
    with store.transaction(chat_id) as tx:
        tx.save(Couple(chat_id=chat_id, title="Group", created_at=datetime.now(UTC)))
        tx.table(JOURNAL_TABLE).insert(
            {"author": 1, "at": None, "prompt": "free", "answers": [text]}
        )


def _private_text(update_id: int, text: str) -> dict[str, Any]:
    """An update as Telegram sends it: a person writing `text` to the bot in private."""
    person = {"id": 1, "is_bot": False, "first_name": "Alex"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 1, "type": "private", "first_name": "Alex"},
            "from": person,
            "text": text,
        },
    }


def test_rotate_key_refuses_while_a_bot_runs_over_the_same_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = Store(data_dir)
    store.open()
    write_journal_entry(store, -5, "Kept with the first key")
    key_before = (data_dir / KEY_FILE).read_bytes()
    with holding(data_dir):  # as the running bot does
        refused = _mend({"BOT_DATA_DIR": str(data_dir)}, "rotate-key")
        started = _mend({"BOT_DATA_DIR": str(data_dir)})  # a second bot over the same data
    assert refused.returncode == started.returncode == 2
    assert "another Mend process is using" in refused.stderr
    assert "another Mend process is using" in started.stderr
    assert (data_dir / KEY_FILE).read_bytes() == key_before  # nothing was rotated
    again = Store(data_dir)
    again.open()
    [entry] = again.records(-5, JOURNAL_TABLE)
    assert entry["answers"] == ["Kept with the first key"]
    # Once the bot has stopped, the key can be rotated.
    assert _mend({"BOT_DATA_DIR": str(data_dir)}, "rotate-key").returncode == 0
