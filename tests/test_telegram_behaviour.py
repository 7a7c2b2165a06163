"""Telegram delivers at least once and answers unreliably; each effect happens exactly once
and every follow-up still comes, in the right chat and thread. One test per kind of failure:

1. an update delivered again after a restart;  2. a scheduled job half done (a 5xx);
3. a send that timed out after it arrived, and one that never left;  4. a button pressed while
the bot was down ("query is too old");  5. a double tap;  6. a group upgraded to a supergroup;
7. the bot removed and added back;  8. forum topics;  9. ids after /forget.

(10: files of the wrong shape — tests/storage/test_store.py and tests/test_startup.py; 11: one
reader — tests/test_reading.py and the features' tests; 12: start-up that waits for nobody —
tests/test_startup.py and tests/features/test_rituals.py.)
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Message
from telegram.error import TimedOut
from telegram.ext import ExtBot

from bot.app import services_of
from bot.context import Services
from bot.features.boundaries import REVIEW
from bot.features.checkins import DEADLINE, REMIND, WEEKLY
from bot.features.pause import PAUSE_END, PAUSES_TABLE
from bot.features.rituals import PROMPT
from bot.features.windows import WINDOW_OPEN
from bot.messages import group_message
from bot.model import from_iso
from bot.outbox import MARKS_FILE, MARKS_ROTATE_BYTES, OUTBOX_TABLE, Entry, Outbox, WrittenMarks
from bot.sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage
from bot.sandbox.records import MessageEvent
from bot.timers import TIMERS_TABLE
from tests.conftest import Clock, People, Restart, agree, onboard, path_and_no_roles

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def count(chat: SandboxChat, fragment: str) -> int:
    """How many of the bot's messages in `chat` say `fragment`."""
    return sum(fragment in m.text for m in chat.bot_messages())


def unhandled_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def window_at_the_next_hour(couple: People, clock: Clock) -> datetime:
    """A window that opens at the start of the next hour (UTC: nobody set a zone)."""
    opening = (clock.now() + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    await couple.group.send(couple.alex, f"/window add {DAYS[opening.weekday()]} {opening:%H}:00")
    await couple.group.expect("Window added by Alex")
    return opening


async def a_worry_to_choose(
    couple: People, clock: Clock, sandbox: Sandbox, text: str
) -> SentMessage:
    """Alex parks a worry; at the window's opening it comes back to Alex with its choices."""
    await couple.alex.send_private(f"/worry {text}")
    await couple.alex.private.expect("Parked.")
    opening = await window_at_the_next_hour(couple, clock)
    await clock.to(opening + timedelta(minutes=1), sandbox)
    await couple.group.expect("window is open")
    return await couple.alex.private.wait_for(lambda m: text in m.text and bool(m.buttons))


async def reflect(person: SandboxUser, share: str = "Share it") -> None:
    """A partner answers the check-in's three private questions."""
    for number in (1, 2, 3):
        question = await person.private.expect(f"{number} of 3")
        await person.private.reply(person, to=question, text=f"{person.name}'s answer {number}")
        choice = await person.private.expect("Saved, privately")
        await person.press(choice, share)
    await person.private.expect("that's all three")


def pressed_while_down(
    sandbox: Sandbox, person: SandboxUser, message: SentMessage, label: str
) -> Callable[[], Awaitable[None]]:
    """What a person does while the bot is down: press a button, and wait so long that
    Telegram gives up on the press (answering it will fail: "query is too old")."""

    async def press() -> None:
        await person.press_without_waiting(message, label)
        assert sandbox.expire_presses() == 1

    return press


def answering_failed_as_too_old(sandbox: Sandbox) -> bool:
    failed = [c for c in sandbox.calls if c.method == "answerCallbackQuery" and not c.ok]
    return bool(failed) and "too old" in (failed[-1].description or "")


# -- 1. an update delivered again ---------------------------------------------------------------


async def boundary_agreed(couple: People) -> None:
    """Alex proposes a boundary that asks something of Alex; Sam agrees."""
    group = couple.group
    await group.send(couple.alex, "/boundaries add I tell you when I'm out late")
    await couple.alex.press(await group.expect("Alex, who does"), "It asks something of Alex")
    await agree(group, couple.sam, "Alex proposes a boundary")
    await group.expect("Agreed:", "I tell you when I'm out late", "pencilled in a month")


async def test_1_commands_delivered_again_after_a_restart_take_effect_once(
    sandbox: Sandbox, couple: People, restart: Restart
) -> None:
    mark = sandbox.mark_updates()
    await couple.alex.send_private("/worry When you go quiet at night")
    await couple.alex.private.expect("Parked.")
    await couple.sam.send_private("/journal A thought of my own")
    await couple.sam.private.expect("Saved, just for you")
    await boundary_agreed(couple)

    # The bot stops before Telegram learns that these were handled: they come again.
    app = await restart(while_down=lambda: sandbox.deliver_again(mark))
    await sandbox.settle(confirmed=True)

    assert count(couple.alex.private, "Parked.") == 1
    assert count(couple.sam.private, "Saved, just for you") == 1
    assert count(couple.group, "Alex, who does") == 1
    assert count(couple.group, "Alex proposes a boundary") == 1
    assert count(couple.group, "Agreed:") == 1
    store = services_of(app).store
    assert len(store.records(couple.group.id, "worries")) == 1
    assert len(store.records(couple.group.id, "journal")) == 1
    await couple.group.send(couple.sam, "/boundaries")
    listing = await couple.group.expect("Your boundaries", "1. I tell you when I'm out late")
    assert "2." not in listing.text


async def a_pause(couple: People) -> None:
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause", "30 minutes")


# -- 3. a send that timed out after it arrived; one that never left -------------------------------


async def test_3_a_pause_end_that_timed_out_after_arriving_is_seen_once(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    await a_pause(couple)
    # Telegram posts it, but its answer never comes back: the bot's request times out.
    sandbox.faults.inject("sendMessage", kind="timeout", executed=True, chat_id=couple.group.id)
    await clock.advance(timedelta(minutes=31), sandbox)
    assert sandbox.faults.pending == 0
    await restart(downtime=timedelta(hours=3))
    await sandbox.settle()
    assert count(couple.group, "The pause is over") == 1


async def test_3_a_window_close_that_timed_out_after_arriving_is_seen_once(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    opening = await window_at_the_next_hour(couple, clock)
    await clock.to(opening + timedelta(minutes=1), sandbox)
    await couple.group.expect("window is open")
    sandbox.faults.inject("sendMessage", kind="timeout", executed=True, chat_id=couple.group.id)
    await clock.advance(timedelta(minutes=20), sandbox)
    assert sandbox.faults.pending == 0
    await clock.advance(timedelta(hours=3), sandbox)
    assert count(couple.group, "The window is closed") == 1


async def test_3_a_pause_end_that_could_not_connect_comes_later(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await a_pause(couple)
    await sandbox.go_offline()
    await clock.advance(timedelta(minutes=30, seconds=5))  # every attempt is refused
    await sandbox.come_online()
    assert count(couple.group, "The pause is over") == 0
    await clock.advance(timedelta(minutes=1), sandbox)
    await couple.group.expect("The pause is over")
    await clock.advance(timedelta(hours=3), sandbox)
    assert count(couple.group, "The pause is over") == 1


async def test_3_a_send_is_marked_written_only_once_its_request_has_left(
    sandbox: Sandbox, couple: People, clock: Clock, services: Services
) -> None:
    marked: list[bool] = []

    def arrived(event: MessageEvent) -> None:
        if event.kind == "new" and "The pause is over" in event.message.text:
            [entry] = services.store.records(couple.group.id, OUTBOX_TABLE)
            assert entry["state"] == "pending"  # its token is what says it is under way
            marked.append(entry["token"] in services.outbox.marks.all())

    sandbox.on_message(arrived)
    await a_pause(couple)
    await clock.advance(timedelta(minutes=31), sandbox)
    await couple.group.expect("The pause is over")
    assert marked == [True]  # by the time Telegram has it, it is known to have left


async def test_3_a_timer_is_gone_from_the_store_in_the_same_write_as_its_effect(
    sandbox: Sandbox, couple: People, clock: Clock, services: Services
) -> None:
    # So a crash after the pause's end was written can't fire its timer again.
    seen: list[tuple[bool, list[str]]] = []

    def arrived(event: MessageEvent) -> None:
        if event.kind == "new" and "The pause is over" in event.message.text:
            [pause] = services.store.records(couple.group.id, PAUSES_TABLE)
            timers = services.store.records(couple.group.id, TIMERS_TABLE)
            seen.append((pause["ended_at"] is not None, [t["kind"] for t in timers]))

    sandbox.on_message(arrived)
    await a_pause(couple)
    await clock.advance(timedelta(minutes=31), sandbox)
    await couple.group.expect("The pause is over")
    [(ended, kinds)] = seen
    assert ended and PAUSE_END not in kinds


@pytest.mark.parametrize(
    ("state", "field", "marked", "seen"),
    [
        ("pending", "token", False, 1),
        ("pending", "token", True, 0),
        ("sending", "sent_as", False, 1),
        ("sending", "sent_as", True, 0),
        ("written", "sent_as", False, 0),
        ("pending", None, False, 1),  # queued before entries were given a token then
        ("pending", "sent_as", True, 1),  # refused, kept for a later try, by then
    ],
)
async def test_3_a_send_cut_off_by_a_crash_comes_once_only_if_it_never_left(
    sandbox: Sandbox,
    couple: People,
    services: Services,
    restart: Restart,
    state: str,
    field: str | None,
    marked: bool,
    seen: int,
) -> None:
    # The bot stopped while sending: before its request was written (no mark), Telegram
    # can't have it, so it comes after the restart; once written, it may have arrived.
    # ("written" is how entries were marked before the marks file; "sending" with `sent_as`,
    # before entries were given their token when queued.)
    with services.store.transaction(couple.group.id) as tx:
        current = tx.couple()
        assert current is not None
        services.outbox.put(tx, group_message(services, current, "pause/none"))
        [entry] = tx.table(OUTBOX_TABLE).all()
        tx.table(OUTBOX_TABLE).remove(entry["id"])
        kept = {k: v for k, v in entry.items() if k not in ("id", "token")}
        token = {} if field is None else {field: "a1b2c3"}
        tx.table(OUTBOX_TABLE).insert({**kept, "state": state, **token})  # type: ignore[typeddict-item]
    if marked:
        services.outbox.marks.mark("a1b2c3")
    services.outbox.marks.mark("d4e5f6")  # another send's mark
    await restart()
    assert services.outbox.marks.all() == set()  # forgotten once recovered
    await sandbox.settle()
    assert count(couple.group, "no pause running right now") == seen


async def test_3_an_edit_refused_and_cut_off_before_it_was_sent_anew_comes_after_a_restart(
    sandbox: Sandbox,
    couple: People,
    services: Services,
    restart: Restart,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The message to edit is gone, so it is to be sent anew as a message; the bot stops
    # before that send leaves. The refused edit's mark must not make it count as sent.
    with services.store.transaction(couple.group.id) as tx:
        current = tx.couple()
        assert current is not None
        gone = replace(group_message(services, current, "pause/none"), edit_of=999_999)
        services.outbox.put(tx, gone)
    send = ExtBot.send_message
    stopped: list[int] = []

    async def stops_first(self: ExtBot[None], *args: Any, **kwargs: Any) -> Message:
        if not stopped:
            stopped.append(1)
            raise RuntimeError("the bot stopped here")
        return await send(self, *args, **kwargs)

    monkeypatch.setattr(ExtBot, "send_message", stops_first)
    await restart()  # the start delivers it: the edit is refused, the send stops
    await sandbox.settle()
    assert stopped and count(couple.group, "no pause running right now") == 0
    await restart()
    await sandbox.settle()
    assert count(couple.group, "no pause running right now") == 1


async def test_3_a_send_telegram_refused_is_sent_after_a_restart_though_it_left(
    sandbox: Sandbox, couple: People, services: Services, restart: Restart
) -> None:
    # Each 429 answers an attempt that left, so it was marked written; the entry kept for a
    # later try gets a new token: a restart before that try still sends it, once.
    with services.store.transaction(couple.group.id) as tx:
        current = tx.couple()
        assert current is not None
        services.outbox.put(tx, group_message(services, current, "pause/none"))
    sandbox.faults.inject("sendMessage", kind="flood", chat_id=couple.group.id, retry_after=60)
    now = services_of(await restart())  # the start delivers what is owed: refused
    await sandbox.settle()
    assert sum(c.method == "sendMessage" and not c.ok for c in sandbox.calls) == 1
    [entry] = now.store.records(couple.group.id, OUTBOX_TABLE)
    assert entry["state"] == "pending"
    assert entry["token"] not in now.outbox.marks.all()
    assert count(couple.group, "no pause running right now") == 0
    await restart()
    await sandbox.settle()
    assert count(couple.group, "no pause running right now") == 1


async def test_3_a_message_sent_whose_crossing_off_failed_is_not_sent_again(
    sandbox: Sandbox, couple: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk was full the moment a sent message was to be crossed off the outbox: the next
    # delivery to the couple doesn't send it again (a restart decides by its mark).
    failed: list[int] = []
    finish = Outbox._finish

    def disk_full(self: Outbox, chat_id: int, entry: Entry, message: Message | None) -> None:
        if not failed:
            failed.append(entry["id"])
            raise OSError(errno.ENOSPC, "No space left on device")
        finish(self, chat_id, entry, message)

    monkeypatch.setattr(Outbox, "_finish", disk_full)
    await couple.group.send(couple.alex, "/pause")
    await couple.group.expect("Alex asked for a pause")
    await couple.group.send(couple.alex, "/resume")  # the couple's next delivery
    await sandbox.settle()
    assert failed and count(couple.group, "Alex asked for a pause") == 1


async def test_3_a_send_whose_connection_timed_out_is_sent_later(
    sandbox: Sandbox, couple: People, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Connecting timed out (python-telegram-bot says TimedOut): nothing left, so the message
    # is tried again later, not dropped as if it may have arrived.
    send = Outbox._send
    hung: list[int] = []

    async def connecting_hangs(self: Outbox, *args: Any) -> Message | None:
        if not hung:
            hung.append(1)
            raise TimedOut("Timed out") from httpx.ConnectTimeout("connecting timed out")
        return await send(self, *args)

    monkeypatch.setattr(Outbox, "_send", connecting_hangs)
    await couple.group.send(couple.alex, "/pause")
    await sandbox.settle()
    assert hung and count(couple.group, "Alex asked for a pause") == 0
    await clock.advance(timedelta(minutes=1), sandbox)  # the outbox's first retry
    await couple.group.expect("Alex asked for a pause")


async def test_3_a_poll_whose_send_timed_out_after_arriving_still_counts_the_votes(
    sandbox: Sandbox, couple: People
) -> None:
    sandbox.faults.inject("sendPoll", kind="timeout", executed=True, chat_id=couple.group.id)
    await couple.group.send(couple.alex, "/checkin")
    await couple.group.expect("Check-in: how was this week between you?")
    poll = await couple.group.next_bot_message()
    assert poll.poll is not None
    await couple.alex.answer_poll(poll, [3])
    await couple.sam.answer_poll(poll, [1])
    for person in (couple.alex, couple.sam):
        await reflect(person)
    reveal = await couple.group.expect("side by side")
    assert "Alex 4/5" in reveal.text and "Sam 2/5" in reveal.text
    assert count(couple.group, "how safe and connected") <= 1  # the poll wasn't sent twice


async def test_3_a_question_whose_send_timed_out_after_arriving_can_be_answered(
    sandbox: Sandbox, couple: People
) -> None:
    sandbox.faults.inject("sendMessage", kind="timeout", executed=True, chat_id=couple.alex.id)
    await couple.group.send(couple.alex, "/checkin")
    await couple.group.expect("Check-in: how was this week between you?")
    question = await couple.alex.private.expect("1 of 3")
    await sandbox.settle()
    await couple.alex.private.reply(couple.alex, to=question, text="We laughed")
    await couple.alex.private.expect("Saved, privately")
    assert count(couple.alex.private, "1 of 3") == 1  # asked once


# -- 4. a button pressed while the bot was down ------------------------------------------------


async def test_4_a_check_in_answer_pressed_while_the_bot_was_down_goes_on(
    sandbox: Sandbox, couple: People, restart: Restart
) -> None:
    await couple.group.send(couple.alex, "/checkin")
    await couple.group.expect("Check-in: how was this week between you?")
    question = await couple.alex.private.expect("1 of 3")
    await couple.alex.private.reply(couple.alex, to=question, text="We laughed on the call")
    choice = await couple.alex.private.expect("Saved, privately")
    await restart(while_down=pressed_while_down(sandbox, couple.alex, choice, "Share it"))
    await couple.alex.private.expect("2 of 3")
    await sandbox.settle()  # the press is answered once what it caused was shown
    assert answering_failed_as_too_old(sandbox)


async def test_4_a_worry_shared_while_the_bot_was_down_is_posted(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    item = await a_worry_to_choose(couple, clock, sandbox, "When you go quiet at night")
    await restart(while_down=pressed_while_down(sandbox, couple.alex, item, "Share it now"))
    await couple.group.expect("Alex would like to talk about this", "When you go quiet at night")
    await sandbox.settle()
    assert item.buttons == []
    assert answering_failed_as_too_old(sandbox)


# -- 5. a double tap ----------------------------------------------------------------------------


async def test_5_a_double_tap_has_one_effect_and_no_error(
    sandbox: Sandbox, couple: People, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    item = await a_worry_to_choose(couple, clock, sandbox, "The trip with your friends")
    answers = await asyncio.gather(
        couple.alex.press(item, "Keep it for later"), couple.alex.press(item, "Keep it for later")
    )
    assert sorted(a.text or "" for a in answers) == [
        "Kept for another window.",
        "That button is no longer current. Send the command again for fresh ones.",
    ]
    await sandbox.settle()
    assert item.buttons == []
    [worry] = (couple.services or pytest.fail()).store.records(couple.group.id, "worries")
    assert worry["status"] == "parked"

    await couple.group.send(couple.alex, "/jealous")
    check = await couple.alex.private.expect("Alex, a jealousy check", "Step 1 of 3")
    answers = await asyncio.gather(
        couple.alex.press(check, "I've named it"), couple.alex.press(check, "I've named it")
    )
    assert sum(a.show_alert for a in answers) == 1  # the second press: no longer current
    await sandbox.settle()
    assert "Step 2 of 3" in check.text and len(check.edits) == 1
    assert unhandled_errors(caplog) == []


# -- 2. a scheduled job half done ----------------------------------------------------------------


async def test_2_a_weekly_check_in_whose_group_message_fails_still_comes_whole(
    sandbox: Sandbox, couple: People, clock: Clock, services: Services
) -> None:
    group = couple.group
    [weekly] = services.timers.pending(group.id, WEEKLY)
    due = from_iso(weekly["due"])
    assert due is not None
    # The group's message fails for longer than one request's own repetitions (three).
    sandbox.faults.inject("sendMessage", kind="server_error", status=502, chat_id=group.id, times=3)
    await clock.to(due + timedelta(seconds=2), sandbox)
    await couple.alex.private.expect("1 of 3")
    await couple.sam.private.expect("1 of 3")
    assert sandbox.faults.pending == 0

    await clock.advance(timedelta(seconds=30), sandbox)  # the outbox tries again (or did)
    await group.wait_for(lambda m: "Check-in: how was this week between you?" in m.text)
    poll = await group.next_bot_message()
    assert count(group, "Check-in:") == 1
    assert poll.poll is not None
    await couple.alex.answer_poll(poll, [3])
    assert len(services.timers.pending(group.id, DEADLINE)) == 1
    assert len(services.timers.pending(group.id, REMIND)) == 2

    # Its reminder and deadline come, and so does next week's.
    await clock.advance(timedelta(hours=12, minutes=1), sandbox)
    await couple.alex.private.expect("gentle nudge")
    await clock.advance(timedelta(hours=12), sandbox)
    reveal = await group.expect("side by side", "Alex 4/5")
    assert reveal and poll.poll["is_closed"]
    await clock.to(due + timedelta(days=7, minutes=1), sandbox)
    await group.expect("Check-in: how was this week between you?")
    assert count(group, "Check-in:") == 2


# -- 8. forum topics ------------------------------------------------------------------------------


async def test_8_follow_ups_land_in_the_topic_where_things_started(
    sandbox: Sandbox, services: Services, clock: Clock
) -> None:
    couple = await onboard(sandbox, services, forum=True)
    group = couple.group
    talks = await group.create_topic("Our talks", by=couple.alex)
    care = await group.create_topic("Check-ins", by=couple.sam)

    await group.send(couple.alex, "/pause", thread_id=talks)
    started = await group.expect("Alex asked for a pause")
    assert started.thread_id == talks
    await group.send(couple.sam, "/checkin", thread_id=care)
    outline = await group.expect("Check-in: how was this week between you?")
    poll = await group.next_bot_message()
    assert (outline.thread_id, poll.thread_id) == (care, care)

    await clock.advance(timedelta(minutes=31), sandbox)
    ended = await group.expect("The pause is over")
    assert ended.thread_id == talks
    for person in (couple.alex, couple.sam):
        await reflect(person)
    reveal = await group.expect("side by side")
    assert reveal.thread_id == care


async def test_8_a_worry_shared_at_a_window_lands_in_the_windows_topic(
    sandbox: Sandbox, services: Services, clock: Clock
) -> None:
    couple = await onboard(sandbox, services, forum=True)
    group = couple.group
    windows = await group.create_topic("Windows", by=couple.alex)
    await couple.alex.send_private("/worry When you go quiet at night")
    await couple.alex.private.expect("Parked.")
    opening = (clock.now() + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    await group.send(
        couple.alex, f"/window add {DAYS[opening.weekday()]} {opening:%H}:00", thread_id=windows
    )
    await group.expect("Window added by Alex")
    await clock.to(opening + timedelta(minutes=1), sandbox)
    opened = await group.expect("window is open")
    item = await couple.alex.private.wait_for(lambda m: "go quiet" in m.text and bool(m.buttons))
    await couple.alex.press(item, "Share it now")
    shared = await group.expect("Alex would like to talk about this")
    assert opened.thread_id == windows and shared.thread_id == windows


# -- 6. a group upgraded to a supergroup ---------------------------------------------------------


async def test_6_a_timer_firing_as_the_group_becomes_a_supergroup_fires_once(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    opening = await window_at_the_next_hour(couple, clock)
    await clock.to(opening + timedelta(minutes=1), sandbox)
    await couple.group.expect("window is open")
    upgraded: list[SandboxChat] = []

    async def upgrade() -> None:
        upgraded.append(await couple.group.migrate_to_supergroup())

    # The close comes due while the bot is down and the group is upgraded meanwhile: its send
    # meets the upgrade (ChatMigrated), the couple moves, and the close is said once.
    await restart(downtime=timedelta(minutes=45), while_down=upgrade)
    [supergroup] = upgraded
    await supergroup.wait_for(lambda m: "window is closed" in m.text)
    await clock.advance(timedelta(minutes=5), sandbox)
    assert count(supergroup, "window is closed") == 1


async def test_6_a_check_in_goes_on_when_the_group_becomes_a_supergroup(
    sandbox: Sandbox, services: Services
) -> None:
    couple = await onboard(sandbox, services, open_private=False)
    alex, sam, group = couple.alex, couple.sam, couple.group
    chat = await alex.follow_link(couple.joined["Alex"], "Alex: open your private chat")
    await chat.expect("your private space")
    await group.send(alex, "/checkin")
    outline = await group.expect("Check-in: how was this week between you?", "Sam")
    poll = await group.next_bot_message()
    question = await alex.private.expect("1 of 3")
    await alex.private.reply(alex, to=question, text="We laughed on the call")
    choice = await alex.private.expect("Saved, privately")

    supergroup = await group.migrate_to_supergroup()
    # The supergroup's own messages come to have the ids the old group's messages have.
    while supergroup.state.next_message_id <= outline.message_id:
        await supergroup.send(alex, "/start")
        await supergroup.expect("day 1")
    # Alex's private buttons and typed answers still work.
    await alex.press(choice, "Share it")
    question = await alex.private.expect("2 of 3")
    await alex.private.reply(alex, to=question, text="Friday still stings")
    choice = await alex.private.expect("Saved, privately")
    await alex.press(choice, "Keep it private")
    question = await alex.private.expect("3 of 3")
    await alex.private.reply(alex, to=question, text="Call before bed")
    choice = await alex.private.expect("Saved, privately")
    await alex.press(choice, "Share it")
    await alex.private.expect("that's all three")
    # The link Sam got in the old group still opens Sam's private chat; the old group's
    # "Send me the questions" sends them there (and, as the old group's message can't be
    # changed any more, its buttons come anew in the supergroup).
    chat = await sam.follow_link(couple.joined["Sam"], "Sam: open your private chat")
    await chat.expect("your private space")
    answer = await sam.press(outline, "Send me the questions")
    assert answer.text == "Sent to your private chat." and not answer.show_alert
    again = await supergroup.expect("Check-in: how was this week between you?")
    assert "Send me the questions" in again.button_texts()
    assert not any(m.edited for m in supergroup.bot_messages())  # no other message changed
    # Votes on the poll sent to the old group count.
    await alex.answer_poll(poll, [3])
    await sam.answer_poll(poll, [1])
    await supergroup.send(sam, "/checkin")
    await supergroup.expect("already open")
    await reflect(sam, share="Keep it private")

    reveal = await supergroup.expect("side by side", "Alex 4/5", "Sam 2/5")
    assert "We laughed on the call" in reveal.text and "Friday still stings" not in reveal.text
    assert count(group, "side by side") == 0
    await supergroup.send(sam, "/checkin")  # another one the same week: Alex wants it too
    await alex.press(await supergroup.expect("would like another check-in"), "Yes, one now")
    await supergroup.wait_for(lambda m: "Check-in: how was this week" in m.text)
    assert count(supergroup, "already open") == 1
    assert services.store.chat_ids() == [supergroup.id]


# -- 7. the bot removed and added back -----------------------------------------------------------


async def test_7_a_reveal_owed_while_the_bot_is_out_comes_when_it_is_added_back(
    sandbox: Sandbox, couple: People, caplog: pytest.LogCaptureFixture
) -> None:
    await couple.group.send(couple.alex, "/checkin")
    await couple.group.expect("Check-in: how was this week between you?")
    await reflect(couple.alex)
    await couple.group.remove_bot(by=couple.sam)
    await sandbox.settle()
    sam = couple.sam  # the private chat still works; the reveal waits for the group
    for number in (1, 2, 3):
        question = await sam.private.wait_for(lambda m, n=number: f"{n} of 3" in m.text)
        await sam.private.reply(sam, to=question, text=f"Sam's answer {number}")
        choice = await sam.private.wait_for(lambda m: "Saved, privately" in m.text)
        await sam.press(choice, "Share it")
    await sam.private.wait_for(lambda m: "that's all three" in m.text)
    await sandbox.settle()
    assert count(couple.group, "side by side") == 0
    await couple.group.add_bot(by=couple.sam)
    await couple.group.wait_for(lambda m: "side by side" in m.text)
    await sandbox.settle()
    assert count(couple.group, "side by side") == 1
    assert unhandled_errors(caplog) == []


async def test_7_every_timer_comes_back_when_the_bot_is_added_back(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock, restart: Restart
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await alex.send_private("/rituals")
    overview = await alex.private.expect("Daily rituals for Alex")
    await alex.press(overview, "○ Morning note")
    opening = await window_at_the_next_hour(couple, clock)
    await boundary_agreed(couple)
    [review] = services.timers.pending(group.id, REVIEW)
    [weekly] = services.timers.pending(group.id, WEEKLY)

    await group.remove_bot(by=sam)
    await alex.private.expect("I was removed")
    await clock.to(opening + timedelta(hours=1), sandbox)  # nothing comes meanwhile
    services = services_of(await restart(downtime=timedelta(minutes=5)))  # nor after this
    await sandbox.settle()
    assert count(group, "window is open") == 0
    await group.add_bot(by=sam)
    await group.expect("I'm back", "Nothing was erased")

    # Without a restart: the review date and the weekly check-in as they were, the window's
    # next opening (this one was missed), the morning note's next prompt.
    assert [t["due"] for t in services.timers.pending(group.id, REVIEW)] == [review["due"]]
    assert [t["due"] for t in services.timers.pending(group.id, WEEKLY)] == [weekly["due"]]
    [window] = services.timers.pending(group.id, WINDOW_OPEN)
    assert from_iso(window["due"]) == opening + timedelta(days=7)
    [prompt] = services.timers.pending(group.id, PROMPT)
    due = from_iso(prompt["due"])
    assert due is not None and clock.now() < due
    await clock.to(due + timedelta(minutes=1), sandbox)
    await alex.private.expect("Your morning note")
    await clock.to(opening + timedelta(days=7, minutes=1), sandbox)
    await group.wait_for(lambda m: "window is open" in m.text)


# -- 9. ids after /forget -----------------------------------------------------------------------


async def test_9_buttons_from_before_forget_are_stale_for_the_couple_that_starts_again(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    old_worry = await a_worry_to_choose(couple, clock, sandbox, "An old worry")
    share = old_worry.find_button("Share it now")
    assert share is not None and share.callback_data is not None
    await group.send(alex, "/forget")
    old_confirm = await group.expect("Alex, do you want me to erase everything")
    old_yes = old_confirm.find_button("Yes, erase everything")
    assert old_yes is not None and old_yes.callback_data is not None
    await group.send(alex, "/forget")
    confirm = await group.expect("Alex, do you want me to erase everything")
    await alex.press(confirm, "Yes, erase everything")
    await group.expect("From now on nothing runs")
    notice = await sam.private.expect("Alex asked me to erase everything")
    await sam.press(notice, "Erase it all now")
    await sandbox.wait_until(lambda: "Erase everything" in notice.text, "the question")
    await sam.press(notice, "Yes, erase everything")
    done = await group.expect("I've erased everything")

    # They start again: the same people, new records (whose ids start at 1 again).
    await alex.press(done, "I'm in")
    await group.expect("Alex is in")
    await sam.press(done, "I'm in")
    await group.expect("Sam is in")
    await path_and_no_roles(group, alex, sam, "Trusting again")
    await alex.send_private("/worry A new worry, not to be shared yet")
    await alex.private.expect("Parked.")

    stale = "That button is no longer current"
    assert old_worry.buttons == []  # closed when the couple closed; its data is stale too
    answer = await alex.press_data(old_worry, share.callback_data)
    assert answer.show_alert and stale in (answer.text or "")
    answer = await alex.press_data(old_confirm, old_yes.callback_data)
    assert answer.show_alert and stale in (answer.text or "")
    await sandbox.settle()
    assert count(group, "would like to talk about this") == 0
    restarted = services.store.couple(group.id)
    assert restarted is not None and restarted.path == "new"

    # A confirmation expires: ten minutes later, "yes" erases nothing.
    await group.send(sam, "/forget")
    confirm = await group.expect("Sam, do you want me to erase everything")
    await clock.advance(timedelta(minutes=11), sandbox)
    answer = await sam.press(confirm, "Yes, erase everything")
    assert answer.show_alert and stale in (answer.text or "")
    assert services.store.couple(group.id) is not None


def test_3_the_written_marks_rotate_and_keep_the_file_before(tmp_path: Path) -> None:
    marks = WrittenMarks(tmp_path / MARKS_FILE)
    tokens = [f"{n:016x}" for n in range(MARKS_ROTATE_BYTES // 17 + 10)]
    for token in tokens:
        marks.mark(token)
    assert (tmp_path / MARKS_FILE).stat().st_mode & 0o777 == 0o600
    assert marks.all() == set(tokens)  # the send before rotation is still known
    for token in tokens:
        marks.mark(token + "x")
    assert tokens[0] not in marks.all() and tokens[0] + "x" in marks.all()
    marks.unmark(tokens[-1])  # refused, to be tried again: not written
    assert tokens[-1] not in marks.all()
    marks.mark(tokens[-1])
    assert tokens[-1] in marks.all()
    marks.clear()
    assert marks.all() == set() and not list(tmp_path.iterdir())
