"""sendMessage and friends: HTML, Telegram's limits, keyboards, replies, edits, pins."""

from __future__ import annotations

import pytest
import telegram
from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest

from bot.sandbox import Button, Sandbox
from tests.sandbox.conftest import Couple


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(list(rows))


async def test_html_is_parsed_into_text_and_entities(bot: telegram.Bot, couple: Couple) -> None:
    sent = await bot.send_message(
        couple.group.id, "  <b>Pause</b> until <i>19:00</i> &amp; breathe  ", parse_mode="HTML"
    )
    assert sent.text == "Pause until 19:00 & breathe"
    assert sent.text_html == "<b>Pause</b> until <i>19:00</i> &amp; breathe"
    view = couple.group.bot_messages()[-1]
    assert view.text == sent.text
    assert view.html == "  <b>Pause</b> until <i>19:00</i> &amp; breathe  "
    assert view.sender["id"] == bot.id and view.from_bot
    assert isinstance(view.date, int)


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("Hi <foo>", 'Unsupported start tag "foo" at byte offset 3'),
        ("<b>Hi", 'Can\'t find end tag corresponding to start tag "b"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a &hellip; b", 'Unsupported HTML entity "&hellip;"'),
    ],
)
async def test_invalid_html_is_refused_as_telegram_does(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple, html: str, error: str
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(couple.group.id, html, parse_mode="HTML")
    # PTB changes the case of error messages; the wire carries Telegram's exact wording.
    description = sandbox.calls[-1].description or ""
    assert description.startswith("Bad Request: can't parse entities: " + error)
    assert couple.group.bot_messages() == []


async def test_text_length_limits(bot: telegram.Bot, couple: Couple) -> None:
    await bot.send_message(couple.group.id, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(couple.group.id, "x" * 4097)
    # The limit counts characters after parsing: tags are free.
    await bot.send_message(couple.group.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(couple.group.id, "<b> </b>", parse_mode="HTML")


async def test_markdown_and_unknown_parse_modes_are_refused(
    bot: telegram.Bot, couple: Couple
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)sends html"):
        await bot.send_message(couple.group.id, "*hi*", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(couple.group.id, "hi", parse_mode="BBCode")


async def test_unknown_parameters_are_rejected(bot: telegram.Bot, couple: Couple) -> None:
    with pytest.raises(BadRequest, match=r'(?i)unknown parameter "colour"'):
        await bot.send_message(couple.group.id, "hi", api_kwargs={"colour": "red"})


async def test_inline_buttons_are_checked(bot: telegram.Bot, couple: Couple) -> None:
    chat = couple.group.id
    await bot.send_message(
        chat,
        "Join?",
        reply_markup=keyboard(
            [InlineKeyboardButton("I'm in", callback_data="join:" + "x" * 59)],
            [InlineKeyboardButton("Guide", url="https://t.me/mend_sandbox_bot?start=abc")],
        ),
    )
    assert couple.group.bot_messages()[-1].buttons == [
        [Button("I'm in", callback_data="join:" + "x" * 59)],
        [Button("Guide", url="https://t.me/mend_sandbox_bot?start=abc")],
    ]
    too_long = keyboard([InlineKeyboardButton("A", callback_data="é" * 33)])  # 66 bytes
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(chat, "x", reply_markup=too_long)
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(
            chat, "x", reply_markup={"inline_keyboard": [[{"text": "no action"}]]}
        )
    with pytest.raises(BadRequest, match=r"(?i)exactly one"):
        await bot.send_message(
            chat,
            "x",
            reply_markup={
                "inline_keyboard": [[{"text": "A", "callback_data": "a", "url": "https://x.org"}]]
            },
        )
    with pytest.raises(BadRequest, match=r"(?i)url 'ftp://x' is invalid"):
        await bot.send_message(
            chat, "x", reply_markup=keyboard([InlineKeyboardButton("A", url="ftp://x")])
        )
    with pytest.raises(BadRequest, match=r"(?i)button_text_invalid"):
        await bot.send_message(
            chat, "x", reply_markup=keyboard([InlineKeyboardButton(" ", callback_data="a")])
        )


async def test_force_reply_and_replies(bot: telegram.Bot, couple: Couple) -> None:
    group = couple.group
    ask = await bot.send_message(
        group.id, "When is your next visit?", reply_markup=ForceReply(selective=True)
    )
    assert group.bot_messages()[-1].force_reply
    answer = await group.reply(couple.sam, to=group.bot_messages()[-1], text="Sunday 19:00")
    updates = await bot.get_updates()
    assert updates[-1].message is not None
    assert updates[-1].message.reply_to_message is not None
    assert updates[-1].message.reply_to_message.message_id == ask.message_id
    confirm = await bot.send_message(
        group.id, "Noted", reply_parameters=ReplyParameters(answer.message_id)
    )
    assert confirm.reply_to_message is not None
    assert confirm.reply_to_message.text == "Sunday 19:00"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(group.id, "x", reply_parameters=ReplyParameters(9999))
    lenient = ReplyParameters(9999, allow_sending_without_reply=True)
    assert (
        await bot.send_message(group.id, "x", reply_parameters=lenient)
    ).reply_to_message is None


async def test_edits_and_not_modified(bot: telegram.Bot, couple: Couple) -> None:
    markup = keyboard([InlineKeyboardButton("Breathe", callback_data="breathe")])
    sent = await bot.send_message(couple.group.id, "Inhale", reply_markup=markup)
    view = couple.group.bot_messages()[-1]
    edited = await bot.edit_message_text(
        "Hold", couple.group.id, sent.message_id, reply_markup=markup
    )
    assert isinstance(edited, telegram.Message)
    assert edited.edit_date is not None
    assert (view.text, view.edits, view.edited) == ("Hold", ["Inhale"], True)  # a live view
    with pytest.raises(BadRequest, match=r"(?i)message is not modified: specified new message"):
        await bot.edit_message_text("Hold", couple.group.id, sent.message_id, reply_markup=markup)
    # Leaving reply_markup out removes the keyboard, as on Telegram.
    await bot.edit_message_text("Hold", couple.group.id, sent.message_id)
    assert view.buttons == []
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(couple.group.id, sent.message_id)
    await bot.edit_message_reply_markup(couple.group.id, sent.message_id, reply_markup=markup)
    assert view.button_texts() == ["Breathe"]


async def test_edit_errors(bot: telegram.Bot, couple: Couple) -> None:
    theirs = await couple.group.send(couple.alex, "/pause")
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", couple.group.id, theirs.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", couple.group.id, 9999)


async def test_delete_and_pin(bot: telegram.Bot, couple: Couple) -> None:
    group = couple.group
    sent = await bot.send_message(group.id, "Paused until 19:00")
    assert await bot.pin_chat_message(group.id, sent.message_id)
    view = group.bot_messages()[-1]
    assert view.pinned
    assert (await bot.get_chat(group.id)).pinned_message is not None
    assert group.messages[-1].service["pinned_message"]["message_id"] == sent.message_id
    assert await bot.unpin_chat_message(group.id)
    assert not view.pinned
    assert await bot.delete_message(group.id, sent.message_id)
    assert view.deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(group.id, sent.message_id)
    theirs = await group.send(couple.alex, "/help")
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await bot.delete_message(group.id, theirs.message_id)


async def test_threads_are_kept(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    forum = sandbox.supergroup("Us", members=[alex], is_forum=True)
    await forum.add_bot(by=alex)
    topic = await forum.create_topic("Check-ins")
    command = await forum.send(alex, "/checkin", thread_id=topic)
    updates = await bot.get_updates()
    message = updates[-1].message
    assert message is not None and message.text == "/checkin"
    assert message.message_thread_id == topic and message.is_topic_message
    answer = await bot.send_message(forum.id, "Here", message_thread_id=topic)
    assert answer.message_thread_id == topic
    assert forum.bot_messages()[-1].thread_id == command.thread_id == topic
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(forum.id, "x", message_thread_id=12345)


async def test_chat_actions(bot: telegram.Bot, couple: Couple) -> None:
    assert await bot.send_chat_action(couple.group.id, "typing")
    assert couple.group.actions == ["typing"]
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(couple.group.id, "dancing")


async def test_commands_per_scope_and_language(sandbox: Sandbox, bot: telegram.Bot) -> None:
    group_commands = [
        telegram.BotCommand("pause", "Take a break"),
        telegram.BotCommand("help", "Help"),
    ]
    await bot.set_my_commands(group_commands, scope=telegram.BotCommandScopeAllGroupChats())
    await bot.set_my_commands(
        [telegram.BotCommand("journal", "Write")],
        scope=telegram.BotCommandScopeAllPrivateChats(),
        language_code="de",
    )
    assert [c["command"] for c in sandbox.commands()] == ["pause", "help"]
    assert sandbox.commands("all_private_chats", "de") == [
        {"command": "journal", "description": "Write"}
    ]
    assert sandbox.commands("all_private_chats") == []
    fetched = await bot.get_my_commands(scope=telegram.BotCommandScopeAllGroupChats())
    assert [c.command for c in fetched] == ["pause", "help"]
    await bot.delete_my_commands(scope=telegram.BotCommandScopeAllGroupChats())
    assert sandbox.commands() == []
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([telegram.BotCommand("Pause", "Capital letters")])
    with pytest.raises(BadRequest, match=r"(?i)bot_commands_too_much"):
        await bot.set_my_commands([telegram.BotCommand(f"c{i}", "x") for i in range(101)])
    await bot.set_my_description("Mend helps couples.")
    await bot.set_my_short_description("Rebuild trust.", language_code="en")
    assert sandbox.description() == "Mend helps couples."
    assert sandbox.short_description("en") == "Rebuild trust."
    assert (await bot.get_my_description()).description == "Mend helps couples."
