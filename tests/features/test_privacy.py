"""Privacy basics: /export, /forget, removal and erasure, migrated groups, blocked bots."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest

from bot.app import services_of
from bot.context import Services
from bot.features.membership import ERASE
from bot.features.privacy import ERASE_LATER
from bot.sandbox import Sandbox
from tests.conftest import Clock, People, Restart, onboard


async def test_export_in_private_sends_the_partners_data(couple: People) -> None:
    await couple.alex.send_private("/timezone Berlin")
    await couple.alex.private.expect("Time zone set")
    await couple.alex.send_private("/export")
    sent = await couple.alex.private.next_bot_message()
    assert sent.document is not None
    assert sent.document.filename.startswith("mend-export-")
    assert "your partner's" in sent.caption.lower()
    data = json.loads(sent.document.data)
    [mine] = data["couples"]
    assert mine["group"] == "Alex & Sam"
    assert mine["you"]["timezone"] == "Europe/Berlin"
    assert mine["partner"] == {"name": "Sam", "role": None}


async def test_export_from_the_group_goes_to_private(couple: People) -> None:
    await couple.group.send(couple.sam, "/export")
    await couple.group.expect("Sam, I've sent your data to our private chat")
    sent = await couple.sam.private.next_bot_message()
    assert sent.document is not None


async def test_export_for_someone_i_cannot_reach(sandbox: Sandbox, services: Services) -> None:
    people = await onboard(sandbox, services, open_private=False)
    await people.group.send(people.alex, "/export")
    unreachable = await people.group.expect("Alex, I can't reach you privately")
    # The fresh link works for Alex only; then /export reaches the private chat.
    answer = await people.sam.press(unreachable, "A new link to my private chat")
    assert not answer.show_alert
    await people.group.expect("Sam, here is a fresh link")
    await people.alex.press(unreachable, "A new link to my private chat")
    fresh = await people.group.expect("Alex, here is a fresh link")
    chat = await people.alex.follow_link(fresh, "Alex: open your private chat")
    await chat.expect("your private space")
    await people.group.send(people.alex, "/export")
    await people.group.expect("Alex, I've sent your data")
    sent = await chat.next_bot_message()
    assert sent.document is not None


async def test_a_partner_who_blocked_the_bot(couple: People) -> None:
    couple.sam.block_bot()
    await couple.group.send(couple.sam, "/export")
    await couple.group.expect("Sam, I can't reach you privately")


async def test_forget_needs_the_askers_confirmation_then_nothing_runs_and_the_other_is_told(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    await couple.sam.send_private("/journal My own words, only mine")
    await couple.sam.private.expect("Saved")
    await couple.group.send(couple.alex, "/forget")
    confirm = await couple.group.expect(
        "Alex, do you want me to erase everything", "nothing runs here", "7 days", "/export"
    )
    answer = await couple.sam.press(confirm, "Yes, erase everything")
    assert answer.show_alert and "Only Alex can confirm" in (answer.text or "")
    assert services.store.couple(couple.group.id) is not None

    await couple.alex.press(confirm, "Yes, erase everything")
    closing = await couple.group.expect(
        "Done, Alex. From now on nothing runs", "I've told Sam", "or sooner if Sam asks"
    )
    assert "for Alex" in closing.text and "for Sam" in closing.text  # each one's own clock
    notice = await couple.sam.private.expect(
        "Alex asked me to erase everything I keep for Alex & Sam", "/export", "journal"
    )
    assert notice.button_texts() == ["Erase it all now"]
    stored = services.store.couple(couple.group.id)
    assert stored is not None and stored.status == "closing"
    [erase] = [t for t in services.timers.pending(couple.group.id) if not t.get("suspended")]
    assert erase["kind"] == ERASE_LATER

    # Nothing runs: commands and buttons in the group say why, in private too.
    await couple.group.send(couple.sam, "/checkin")
    await couple.group.expect("Nothing runs here any more", "/export")
    await couple.sam.send_private("/journal")
    await couple.sam.private.expect("Nothing runs for your group with me any more")
    answer = await couple.sam.press_data(notice, "quiet:off")  # a button from before
    assert answer.show_alert and "being erased" in (answer.text or "")
    # Sam's own data is still Sam's to download, and Alex's.
    await couple.sam.send_private("/export")
    sent = await couple.sam.private.wait_for(lambda m: m.document is not None)
    assert sent.document is not None and "My own words, only mine" in sent.document.data.decode()
    await couple.group.send(couple.alex, "/export")
    await couple.group.expect("Alex, I've sent your data")

    # Seven days later everything goes, and the group can start again.
    await clock.advance(timedelta(days=6, hours=23), sandbox)
    assert services.store.couple(couple.group.id) is not None
    await clock.advance(timedelta(hours=1, minutes=1), sandbox)
    done = await couple.group.wait_for(lambda m: "I've erased everything" in m.text)
    assert done.contains("The days to download your data are over")
    assert done.button_texts() == ["I'm in"]
    assert services.store.couple(couple.group.id) is None
    assert not (services.settings.data_dir / "couples" / f"{couple.group.id}.json").exists()
    await couple.sam.send_private("/export")
    await couple.sam.private.expect("I'm Mend", "create a group")


async def test_the_other_partner_can_have_it_erased_at_once(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    await couple.group.send(couple.sam, "/forget")
    await couple.sam.press(
        await couple.group.expect("do you want me to erase"), "Yes, erase everything"
    )
    notice = await couple.alex.private.expect("Sam asked me to erase everything")
    await couple.alex.press(notice, "Erase it all now")
    await sandbox.wait_until(lambda: "Erase everything for" in notice.text, "the question")
    await couple.alex.press(notice, "No, keep it until then")
    await sandbox.wait_until(lambda: "Sam asked me" in notice.text, "the notice again")
    assert services.store.couple(couple.group.id) is not None
    await couple.alex.press(notice, "Erase it all now")
    await sandbox.wait_until(lambda: "Erase everything for" in notice.text, "the question")
    await couple.alex.press(notice, "Yes, erase everything")
    await couple.group.wait_for(lambda m: "At Alex's request I've erased everything" in m.text)
    assert services.store.couple(couple.group.id) is None


async def test_a_couple_of_one_is_erased_at_once(sandbox: Sandbox, services: Services) -> None:
    alex = sandbox.user("Alex", language_code="en")
    sam = sandbox.user("Sam", language_code="en")
    group = sandbox.group("Alex & Sam", members=[alex, sam])
    await group.add_bot(by=alex)
    await alex.press(await group.expect("I'm in"), "I'm in")
    await group.expect("Alex", "is in")
    await group.send(alex, "/forget")
    confirm = await group.expect("Alex, do you want me to erase everything")
    assert "7 days" not in confirm.text
    await alex.press(confirm, "Yes, erase everything")
    await group.expect("At Alex's request I've erased everything")
    assert services.store.couple(group.id) is None


async def test_forget_when_the_other_partner_has_no_private_chat(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, open_private=False)
    await people.group.send(people.alex, "/forget")
    confirm = await people.group.expect("do you want me to erase")
    await people.alex.press(confirm, "Yes, erase everything")
    closing = await people.group.expect("From now on nothing runs", "Sam, to download your data")
    assert "sooner" not in closing.text
    await people.group.send(people.sam, "/export")
    unreachable = await people.group.expect("Sam, I can't reach you privately")
    await people.sam.press(unreachable, "A new link to my private chat")
    fresh = await people.group.expect("Sam, here is a fresh link")
    chat = await people.sam.follow_link(fresh, "Sam: open your private chat")
    await chat.expect("your private space")
    await people.sam.send_private("/export")
    sent = await chat.wait_for(lambda m: m.document is not None)
    assert sent.document is not None


async def test_the_erasure_survives_a_restart_and_nothing_else_fires(
    sandbox: Sandbox, couple: People, services: Services, restart: Restart
) -> None:
    await couple.group.send(couple.alex, "/pause 30")
    await couple.group.expect("Alex")
    await couple.group.send(couple.alex, "/forget")
    await couple.alex.press(
        await couple.group.expect("do you want me to erase"), "Yes, erase everything"
    )
    await couple.group.expect("From now on nothing runs")
    seen = len(couple.group.messages)
    app = await restart(downtime=timedelta(days=8))
    await couple.group.wait_for(lambda m: "I've erased everything" in m.text)
    assert services_of(app).store.couple(couple.group.id) is None
    assert not any("pause" in m.text.lower() for m in couple.group.bot_messages()[seen:])


async def test_forget_can_be_called_off(couple: People, services: Services) -> None:
    await couple.group.send(couple.sam, "/forget")
    confirm = await couple.group.expect("do you want me to erase")
    await couple.sam.press(confirm, "No, keep it")
    await couple.group.expect("nothing was erased")
    assert services.store.couple(couple.group.id) is not None


async def test_forget_in_private_points_to_the_group(couple: People) -> None:
    await couple.alex.send_private("/forget")
    await couple.alex.private.expect("works in your shared group")


async def test_removed_then_erased_after_the_grace_period(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    await couple.group.remove_bot(by=couple.sam)
    notice = await couple.alex.private.expect("I was removed from", "Alex & Sam", "/export")
    assert "14 days" in notice.text
    await couple.sam.private.expect("I was removed from")
    assert len(services.timers.pending(couple.group.id, ERASE)) == 1
    assert services.store.couple(couple.group.id).status == "removed"  # type: ignore[union-attr]

    await clock.advance(timedelta(days=13, hours=23), sandbox)
    assert services.store.couple(couple.group.id) is not None
    await clock.advance(timedelta(hours=1, minutes=1), sandbox)
    assert services.store.couple(couple.group.id) is None


async def test_added_back_before_erasure_keeps_everything(
    couple: People, services: Services
) -> None:
    await couple.alex.send_private("/timezone Berlin")
    await couple.alex.private.expect("Time zone set")
    await couple.group.remove_bot(by=couple.sam)
    await couple.alex.private.expect("I was removed")
    await couple.group.add_bot(by=couple.sam)
    await couple.group.expect("I'm back", "Nothing was erased")
    assert services.timers.pending(couple.group.id, ERASE) == []
    restored = services.store.couple(couple.group.id)
    assert restored is not None and restored.status == "active"
    assert restored.partner(couple.alex.id).timezone == "Europe/Berlin"  # type: ignore[union-attr]


async def test_data_follows_a_group_that_becomes_a_supergroup(
    couple: People, services: Services
) -> None:
    old_id = couple.group.id
    supergroup = await couple.group.migrate_to_supergroup()
    await supergroup.send(couple.alex, "/settings")
    await supergroup.expect("How things are set up", "Alex", "Sam")
    assert services.store.chat_ids() == [supergroup.id]
    moved = services.store.couple(supergroup.id)
    assert moved is not None and moved.migrated_from == old_id


async def test_a_new_group_title_is_kept(couple: People) -> None:
    await couple.group.set_title("Us, again", by=couple.sam)
    await couple.alex.send_private("/settings")
    await couple.alex.private.expect("Groups: Us, again")


async def test_a_partner_leaving_keeps_their_place(sandbox: Sandbox, couple: People) -> None:
    await couple.group.remove_member(couple.sam)
    await couple.group.expect("Sam has left the group", "stays theirs")
    assert couple.couple().partner(couple.sam.id).left_group  # type: ignore[union-attr]
    await couple.group.add_member(couple.sam, by=couple.alex)
    await couple.group.expect("Welcome back, Sam")


async def test_a_forget_confirmation_answered_once_and_then_stale(
    sandbox: Sandbox, couple: People, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await couple.group.send(couple.sam, "/forget")
    confirm = await couple.group.expect("Sam, do you want me to erase everything")
    yes = confirm.find_button("Yes, erase everything")
    assert yes is not None and yes.callback_data is not None
    answers = await asyncio.gather(
        couple.sam.press(confirm, "No, keep it"), couple.sam.press(confirm, "No, keep it")
    )
    assert sorted(a.show_alert for a in answers) == [False, True]  # the second: stale
    await couple.group.expect("nothing was erased")
    await sandbox.settle()
    assert confirm.buttons == []
    assert sum("nothing was erased" in m.text for m in couple.group.bot_messages()) == 1
    # Its "yes" after the answer: stale, nothing erased.
    answer = await couple.sam.press_data(confirm, yes.callback_data)
    assert answer.show_alert and "no longer current" in (answer.text or "")
    assert services.store.couple(couple.group.id) is not None
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_forget_confirmation_expires(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    await couple.group.send(couple.alex, "/forget")
    confirm = await couple.group.expect("Alex, do you want me to erase everything")
    await clock.advance(timedelta(minutes=9), sandbox)
    answer = await couple.sam.press(confirm, "Yes, erase everything")
    assert "Only Alex can confirm" in (answer.text or "")
    await clock.advance(timedelta(minutes=2), sandbox)
    answer = await couple.alex.press(confirm, "Yes, erase everything")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    assert services.store.couple(couple.group.id) is not None


async def test_buttons_of_the_old_kind_are_stale(couple: People, services: Services) -> None:
    """Confirmations sent before /forget was a flow carried the asker's id: now stale."""
    await couple.group.send(couple.alex, "/start")
    message = await couple.group.expect("day 1")
    answer = await couple.alex.press_data(message, f"forget:yes:{couple.alex.id}")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    assert services.store.couple(couple.group.id) is not None
