"""getMe and getUpdates: long polling, offsets, filters, conflicts, privacy mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

import pytest
import telegram
from telegram.constants import UpdateType

from bot.sandbox import Sandbox
from tests.sandbox.conftest import Couple, make_bot


async def waiting(
    sandbox: Sandbox, get_updates: Coroutine[Any, Any, tuple[telegram.Update, ...]]
) -> asyncio.Task[tuple[telegram.Update, ...]]:
    """Start a long poll and return once the sandbox holds it open, waiting for updates."""
    queue = sandbox.world.updates
    opened_before = queue.poll_ticket
    poll = asyncio.create_task(get_updates)
    await sandbox.wait_until(lambda: queue.poll_ticket > opened_before, "the long poll")
    return poll


async def test_get_me_describes_the_bot(sandbox: Sandbox, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "mend_sandbox_bot"
    assert me.first_name == "Mend"
    assert me.can_read_all_group_messages is False  # privacy mode is on
    assert str(me.id) == sandbox.token.split(":")[0]
    assert len(sandbox.token.split(":")[1]) == 35


async def test_wrong_token_and_unknown_method(sandbox: Sandbox, bot: telegram.Bot) -> None:
    impostor = telegram.Bot("7000000001:AA" + "x" * 33, base_url=sandbox.base_url)
    try:
        with pytest.raises(telegram.error.InvalidToken):
            await impostor.get_me()
    finally:
        await impostor.request.shutdown()
    with pytest.raises(telegram.error.EndPointNotFound):
        await bot.do_api_request("sendMessages", api_kwargs={"chat_id": 1})
    with pytest.raises(
        telegram.error.BadRequest, match=r"(?i)method is not supported by the sandbox"
    ):
        await bot.send_dice(chat_id=1)
    assert [(c.method, c.error_code) for c in sandbox.calls[-3:]] == [
        ("getMe", 401),
        ("sendMessages", 404),
        ("sendDice", 400),
    ]


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    sandbox: Sandbox, bot: telegram.Bot
) -> None:
    alex = sandbox.user("Alex")
    started = time.monotonic()
    poll = await waiting(sandbox, bot.get_updates(timeout=5))
    await alex.start_private()
    updates = await poll
    assert time.monotonic() - started < 2
    assert [u.message.text for u in updates if u.message] == ["/start"]
    entity = updates[0].message.entities[0] if updates[0].message else None
    assert entity is not None and entity.type == "bot_command"


async def test_long_poll_without_updates_returns_empty_after_timeout(bot: telegram.Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_offset_confirms_and_limit_caps(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    await alex.start_private()
    for word in ("one", "two", "three"):
        await alex.send_private(word)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["/start", "one"]
    again = await bot.get_updates(limit=2)
    assert [u.update_id for u in again] == [u.update_id for u in first]  # not confirmed yet
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["two", "three"]
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["three"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
    assert sandbox.pending_updates == []


async def test_updates_since_a_mark_can_be_delivered_again(
    sandbox: Sandbox, bot: telegram.Bot
) -> None:
    alex = sandbox.user("Alex")
    await alex.start_private()
    first = await bot.get_updates()
    await bot.get_updates(offset=first[-1].update_id + 1)
    mark = sandbox.mark_updates()
    for word in ("one", "two"):
        await alex.send_private(word)
    fetched = await bot.get_updates()
    assert await bot.get_updates(offset=fetched[-1].update_id + 1) == ()  # confirmed
    await alex.send_private("three")

    # As after a crash before the confirming offset reached Telegram: all of them again,
    # in order, the unconfirmed one once.
    assert sandbox.deliver_again(mark) == 3
    assert sandbox.world.updates.unfetched == 3
    again = await bot.get_updates()
    assert [u.message.text for u in again if u.message] == ["one", "two", "three"]
    assert [u.update_id for u in again[:2]] == [u.update_id for u in fetched]
    assert await bot.get_updates(offset=again[-1].update_id + 1) == ()
    assert sandbox.deliver_again(sandbox.mark_updates()) == 0


async def test_allowed_updates_filter_is_remembered(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    group = sandbox.group("Alex & Sam", members=[alex])
    await bot.get_updates(allowed_updates=[UpdateType.MESSAGE])
    await group.add_bot(by=alex)  # my_chat_member is now filtered out
    updates = await bot.get_updates()
    assert [u.message.new_chat_members[0].id for u in updates if u.message] == [bot.id]
    assert all(u.my_chat_member is None for u in updates)
    await bot.get_updates(offset=updates[-1].update_id + 1, allowed_updates=[])  # back to default
    await group.remove_bot(by=alex)
    kinds = [u.my_chat_member is not None for u in await bot.get_updates()]
    assert True in kinds


async def test_a_second_poller_terminates_the_first(sandbox: Sandbox, bot: telegram.Bot) -> None:
    async with make_bot(sandbox) as second_instance:
        first = await waiting(sandbox, bot.get_updates(timeout=3))
        second = asyncio.create_task(second_instance.get_updates(timeout=0))
        with pytest.raises(telegram.error.Conflict, match="terminated by other getUpdates"):
            await first
        assert await second == ()


async def test_privacy_mode_in_groups(sandbox: Sandbox, bot: telegram.Bot, couple: Couple) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(alex, "just chatting")  # hidden from the bot
    await group.send(alex, "/pause@other_bot 30")  # meant for another bot
    await group.send(alex, "/pause 45")
    await group.send(sam, "/resume@mend_sandbox_bot")
    sent = await bot.send_message(group.id, "Who's in?")
    await group.reply(sam, to=group.messages[-1], text="Me")  # a reply to the bot
    casey = sandbox.user("Casey")
    await group.add_member(casey, by=alex)
    updates = await bot.get_updates()
    seen = [(u.message.text, u.message.new_chat_members) for u in updates if u.message]
    assert seen == [("/pause 45", ()), ("/resume@mend_sandbox_bot", ()), ("Me", ()),
                    (None, (telegram.User(casey.id, "Casey", False),))]  # fmt: skip
    reply = updates[2].message
    assert reply is not None and reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == sent.message_id
    assert [m.text for m in group.messages if not m.is_service][:2] == [
        "just chatting",
        "/pause@other_bot 30",
    ]


async def test_private_chats_deliver_everything(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    await alex.start_private("tok_123")
    await alex.send_private("a plain sentence")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["/start tok_123", "a plain sentence"]
    assert updates[0].message is not None and updates[0].message.chat.type == "private"


async def test_a_group_without_the_bot_delivers_nothing(
    sandbox: Sandbox, bot: telegram.Bot
) -> None:
    alex = sandbox.user("Alex")
    group = sandbox.group("No bot here", members=[alex])
    await group.send(alex, "/start")
    assert await bot.get_updates() == ()


async def test_the_bot_hears_of_its_own_removal(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    await couple.group.remove_bot(by=couple.sam)
    await couple.group.send(couple.alex, "/help")  # no longer delivered
    updates = await bot.get_updates()
    member = updates[0].my_chat_member
    assert member is not None
    assert member.old_chat_member.status == "member"
    assert member.new_chat_member.status == "kicked"
    assert member.from_user.id == couple.sam.id
    left = updates[1].message
    assert left is not None and left.left_chat_member is not None
    assert left.left_chat_member.id == bot.id
    assert len(updates) == 2


async def test_admin_bots_see_every_group_message(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    group = sandbox.supergroup("Team", members=[alex])
    await group.add_bot(by=alex, admin=True)
    await group.send(alex, "hello everyone")
    updates = await bot.get_updates()
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "administrator"
    assert [u.message.text for u in updates if u.message and u.message.text] == ["hello everyone"]
    # An admin bot may ask for chat_member updates (not sent by default).
    await bot.get_updates(offset=updates[-1].update_id + 1, allowed_updates=["chat_member"])
    casey = sandbox.user("Casey")
    await group.add_member(casey, by=alex)
    joined = (await bot.get_updates())[0].chat_member
    assert joined is not None and joined.new_chat_member.user.id == casey.id
    assert (joined.old_chat_member.status, joined.new_chat_member.status) == ("left", "member")


async def test_delete_webhook_can_drop_pending_updates(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    await alex.start_private()
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 1
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()
