"""Button presses, callback answers and deep links, played against a polling Application."""

from __future__ import annotations

import asyncio

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.sandbox import Sandbox
from tests.sandbox.conftest import StartApp

JOIN = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("I'm in", callback_data="join")],
        [
            InlineKeyboardButton(
                "Open private chat", url="https://t.me/mend_sandbox_bot?start=tok_1"
            )
        ],
    ]
)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start in a group asks who is in; in private it greets with the payload."""
    assert update.effective_message is not None
    if update.effective_message.chat.type == "private":
        payload = " ".join(context.args or []) or "none"
        await update.effective_message.reply_text(f"Welcome! payload={payload}")
        return
    await update.effective_message.reply_text("Who is in?", reply_markup=JOIN)


async def join(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and edit the message to show who joined."""
    query = update.callback_query
    assert query is not None and query.message is not None
    if query.data != "join":
        await query.answer("That button is not for you.", show_alert=True)
        return
    await query.answer(f"Welcome, {query.from_user.first_name}!")
    assert isinstance(query.message, telegram.Message)
    await query.edit_message_text(f"{query.from_user.first_name} is in", reply_markup=JOIN)


async def ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A buggy handler that never answers the callback query."""


async def test_press_returns_the_bots_answer(sandbox: Sandbox, start_app: StartApp) -> None:
    await start_app(CommandHandler("start", ask), CallbackQueryHandler(join))
    alex, sam = sandbox.user("Alex"), sandbox.user("Sam")
    group = sandbox.group("Alex & Sam", members=[alex, sam])
    await group.add_bot(by=alex)
    await group.send(alex, "/start")
    question = await group.expect("who is in")
    answer = await sam.press(question, "I'm in")
    assert answer.text == "Welcome, Sam!" and not answer.show_alert
    assert sandbox.callback_answers[-1] == answer
    await sandbox.settle()
    assert question.text == "Sam is in"  # the live view shows the edit
    assert question.edits == ["Who is in?"]
    forged = await alex.press_data(question, "couple:-1:admin")
    assert forged.show_alert and forged.text == "That button is not for you."


async def test_a_missing_button_lists_the_ones_shown(sandbox: Sandbox, start_app: StartApp) -> None:
    await start_app(CommandHandler("start", ask))
    alex = sandbox.user("Alex")
    group = sandbox.group("G", members=[alex])
    await group.add_bot(by=alex)
    await group.send(alex, "/start")
    question = await group.next_bot_message()
    with pytest.raises(
        AssertionError, match=r"no button \"Not now\".*\[I'm in\] \[Open private chat\]"
    ):
        await alex.press(question, "Not now")


async def test_an_unanswered_press_fails_the_test(sandbox: Sandbox, start_app: StartApp) -> None:
    await start_app(CommandHandler("start", ask), CallbackQueryHandler(ignore))
    alex = sandbox.user("Alex")
    group = sandbox.group("G", members=[alex])
    await group.add_bot(by=alex)
    await group.send(alex, "/start")
    question = await group.next_bot_message()
    with pytest.raises(AssertionError, match="must always call answerCallbackQuery"):
        await alex.press(question, "I'm in", timeout=0.3)


async def test_an_answer_comes_once(sandbox: Sandbox, bot: telegram.Bot) -> None:
    alex = sandbox.user("Alex")
    chat = await alex.start_private()
    await bot.send_message(alex.id, "Tap", reply_markup=JOIN)
    message = chat.bot_messages()[-1]
    press = asyncio.create_task(alex.press(message, "I'm in"))
    updates = await bot.get_updates(timeout=2)
    query = next(u.callback_query for u in updates if u.callback_query)
    assert query.data == "join" and query.from_user.id == alex.id
    assert isinstance(query.message, telegram.Message) and query.message.text == "Tap"
    assert await bot.answer_callback_query(query.id, text="ok")
    assert (await press).text == "ok"
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)


async def test_a_press_while_the_bot_is_away_can_become_too_old(
    sandbox: Sandbox, bot: telegram.Bot
) -> None:
    alex = sandbox.user("Alex")
    chat = await alex.start_private()
    await bot.send_message(alex.id, "Tap", reply_markup=JOIN)
    message = chat.bot_messages()[-1]
    early = await alex.press_without_waiting(message, "I'm in")
    late = await alex.press_without_waiting(message, "I'm in")
    assert sandbox.expire_presses() == 2
    updates = await bot.get_updates()
    queries = [u.callback_query for u in updates if u.callback_query]
    assert [q.id for q in queries] == [early, late] and queries[0].data == "join"
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(early)
    assert sandbox.callback_answers == []

    # A press waiting for a bot that answers in time is answered as usual.
    third = await alex.press_without_waiting(message, "I'm in")
    assert await bot.answer_callback_query(third, text="late but fine")
    assert [a.text for a in sandbox.callback_answers] == ["late but fine"]
    with pytest.raises(AssertionError, match='no button "Nope"'):
        await alex.press_without_waiting(message, "Nope")


async def test_follow_link_opens_the_private_chat(sandbox: Sandbox, start_app: StartApp) -> None:
    await start_app(CommandHandler("start", ask))
    alex = sandbox.user("Alex")
    group = sandbox.group("G", members=[alex])
    await group.add_bot(by=alex)
    await group.send(alex, "/start")
    question = await group.next_bot_message()
    private = await alex.follow_link(question, "Open private chat")
    assert private is alex.private and alex.started
    await private.expect("welcome", "payload=tok_1")
    assert private.transcript().splitlines()[0] == "Alex: /start tok_1"
