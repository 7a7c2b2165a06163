"""Reaching chats: migration, people who never started or blocked the bot, membership."""

from __future__ import annotations

import pytest
import telegram
from telegram.error import BadRequest, ChatMigrated, Forbidden

from bot.sandbox import Sandbox
from tests.sandbox.conftest import Couple


async def test_migration_to_a_supergroup(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    old = couple.group
    new = await old.migrate_to_supergroup()
    assert new.type == "supergroup" and str(new.id).startswith("-100")
    assert old.migrated_to is new
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(old.id, "Still here?")
    assert caught.value.new_chat_id == new.id
    updates = await bot.get_updates()
    service = [u.message for u in updates if u.message]
    assert service[0].migrate_to_chat_id == new.id and service[0].chat.id == old.id
    assert service[1].migrate_from_chat_id == old.id and service[1].chat.id == new.id
    await bot.send_message(new.id, "Here we are")
    await new.expect("here we are")
    assert [person.name for person in new.members] == ["Alex", "Sam"]


async def test_private_messages_need_a_started_unblocked_chat(
    sandbox: Sandbox, bot: telegram.Bot
) -> None:
    alex = sandbox.user("Alex")
    with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
        await bot.send_message(alex.id, "Hi")
    await alex.start_private()
    await bot.send_message(alex.id, "Hi")
    alex.block_bot()
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(alex.id, "Hi again")
    updates = await bot.get_updates()
    blocked = updates[-1].my_chat_member
    assert blocked is not None and blocked.new_chat_member.status == "kicked"
    alex.unblock_bot()
    await bot.send_message(alex.id, "Welcome back")
    assert alex.private.bot_messages()[-1].text == "Welcome back"


async def test_groups_the_bot_is_not_in(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    other = sandbox.group("Elsewhere", members=[couple.alex])
    with pytest.raises(Forbidden, match=r"(?i)bot is not a member of the group chat"):
        await bot.send_message(other.id, "Hi")
    await couple.group.remove_bot(by=couple.alex)
    with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the group chat"):
        await bot.send_message(couple.group.id, "Hi")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-4999999999, "Hi")
    await couple.group.add_bot(by=couple.alex)
    await bot.send_message(couple.group.id, "Back again")


async def test_chat_info_and_members(sandbox: Sandbox, bot: telegram.Bot, couple: Couple) -> None:
    chat = await bot.get_chat(couple.group.id)
    assert chat.title == "Alex & Sam" and chat.type == "group"
    owner = await bot.get_chat_member(couple.group.id, couple.alex.id)
    assert isinstance(owner, telegram.ChatMemberOwner)
    member = await bot.get_chat_member(couple.group.id, couple.sam.id)
    assert isinstance(member, telegram.ChatMemberMember)
    stranger = sandbox.user("Casey")
    left = await bot.get_chat_member(couple.group.id, stranger.id)
    assert isinstance(left, telegram.ChatMemberLeft)
    assert await bot.get_chat_member_count(couple.group.id) == 3
    admins = await bot.get_chat_administrators(couple.group.id)
    assert [a.user.id for a in admins] == [couple.alex.id]
    await couple.alex.start_private()
    private = await bot.get_chat(couple.alex.id)
    assert private.type == "private" and private.first_name == "Alex"


async def test_admin_bot_and_leaving(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    team = sandbox.supergroup("Team", members=[alex])
    await team.add_bot(by=alex, admin=True)
    me = await bot.get_chat_member(team.id, bot.id)
    assert isinstance(me, telegram.ChatMemberAdministrator) and me.can_delete_messages
    assert await bot.leave_chat(team.id)
    assert team.bot_status == "left"
    with pytest.raises(Forbidden, match=r"(?i)not a member of the supergroup chat"):
        await bot.send_message(team.id, "Hi")
    updates = await bot.get_updates()
    assert updates[-1].my_chat_member is not None
    assert updates[-1].my_chat_member.new_chat_member.status == "left"


async def test_a_third_person_joins_and_leaves(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    await couple.group.send(casey, "/pause")
    await couple.group.remove_member(casey)
    with pytest.raises(AssertionError, match="not a member"):
        await couple.group.send(casey, "/pause")
    updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message]
    assert messages[0].new_chat_members[0].id == casey.id
    assert messages[1].text == "/pause" and messages[1].from_user is not None
    assert messages[2].left_chat_member is not None and messages[2].left_chat_member.id == casey.id
