"""The control side: people, chats, transcripts, waiting for the bot, settling."""

from __future__ import annotations

import re

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ContextTypes

from bot.sandbox import MessageEvent, Sandbox
from tests.sandbox.conftest import Couple, StartApp


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/echo <words> answers with the words, in bold."""
    assert update.effective_message is not None
    words = " ".join(context.args or []) or "nothing"
    await update.effective_message.reply_html(f"<b>{words}</b>")


async def test_addresses_and_ids(sandbox: Sandbox) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/bot", sandbox.base_url)
    assert sandbox.base_file_url == sandbox.base_url.replace("/bot", "/file/bot")
    assert sandbox.bot_user == {
        "id": 7000000001,
        "is_bot": True,
        "first_name": "Mend",
        "username": "mend_sandbox_bot",
    }
    alex, sam = sandbox.user("Alex"), sandbox.user("Sam", language_code="de", username="sam_w")
    assert alex.id != sam.id and len(str(alex.id)) == 10
    assert sam.user == {
        "id": sam.id,
        "is_bot": False,
        "first_name": "Sam",
        "username": "sam_w",
        "language_code": "de",
    }
    group = sandbox.group("Alex & Sam", members=[alex, sam])
    team = sandbox.supergroup("Team", members=[alex])
    assert group.id < 0 and group.type == "group"
    assert str(team.id).startswith("-100") and team.type == "supergroup"
    assert sandbox.chat(group.id) is group and alex.private is alex.private


async def test_transcript_and_expect(sandbox: Sandbox, couple: Couple, start_app: StartApp) -> None:
    await start_app(CommandHandler("echo", echo))
    group = couple.group
    await group.send(couple.alex, "/echo we are fine")
    reply = await group.expect("we are", "FINE")
    assert reply.text == "we are fine" and reply.html == "<b>we are fine</b>"
    assert reply.reply_to_message_id == group.messages[-2].message_id
    assert group.transcript().splitlines()[-2:] == [
        "Alex: /echo we are fine",
        f"Mend: (reply to #{reply.reply_to_message_id}) we are fine",
    ]


async def test_failures_show_the_transcript(
    sandbox: Sandbox, couple: Couple, start_app: StartApp
) -> None:
    await start_app(CommandHandler("echo", echo))
    group = couple.group
    await group.send(couple.sam, "/echo hello")
    with pytest.raises(AssertionError) as caught:
        await group.expect("goodbye")
    assert "lacks ['goodbye']" in str(caught.value)
    assert "Sam: /echo hello" in str(caught.value)
    with pytest.raises(AssertionError) as caught:
        await group.next_bot_message(timeout=0.2)
    assert "did not arrive in 'Alex & Sam' within 0.2 s" in str(caught.value)
    assert "Mend: (reply to" in str(caught.value)


async def test_unfetched_updates_are_reported(sandbox: Sandbox, couple: Couple) -> None:
    await couple.group.send(couple.alex, "/help")  # nobody polls in this test
    with pytest.raises(AssertionError, match=r"1 update\(s\) were never fetched by the bot"):
        await couple.group.next_bot_message(timeout=0.1)
    with pytest.raises(AssertionError, match="did not settle"):
        await sandbox.settle(idle=0.05, timeout=0.2)


async def test_wait_for_skips_other_messages(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    group = couple.group
    for text in ("one", "two", "three"):
        await bot.send_message(group.id, text)
    found = await group.wait_for(lambda message: message.text.startswith("t"))
    assert found.text == "two"
    assert (await group.next_bot_message()).text == "three"
    group.skip()
    await bot.send_message(group.id, "four")
    assert (await group.next_bot_message()).text == "four"


async def test_settle_waits_for_the_bot_to_finish(
    sandbox: Sandbox, couple: Couple, start_app: StartApp
) -> None:
    await start_app(CommandHandler("echo", echo))
    for word in ("a", "b", "c"):
        await couple.group.send(couple.alex, f"/echo {word}")
    await sandbox.settle()
    assert [m.text for m in couple.group.bot_messages()] == ["a", "b", "c"]
    assert sandbox.world.updates.unfetched == 0 and sandbox.world.in_flight == 0


async def test_listeners_see_every_change(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    events: list[MessageEvent] = []
    unsubscribe = sandbox.on_message(events.append)
    sent = await bot.send_message(couple.group.id, "Inhale")
    await bot.edit_message_text("Exhale", couple.group.id, sent.message_id)
    await bot.delete_message(couple.group.id, sent.message_id)
    unsubscribe()
    await bot.send_message(couple.group.id, "unseen")
    assert [(e.kind, e.message.text) for e in events] == [
        ("new", "Exhale"),
        ("edited", "Exhale"),
        ("deleted", "Exhale"),
    ]  # the same live message each time


async def test_render_shows_buttons_edits_and_service(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple
) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes", callback_data="y"),
                InlineKeyboardButton("No", callback_data="n"),
            ]
        ]
    )
    sent = await bot.send_message(couple.group.id, "Ready?\nTake your time.", reply_markup=markup)
    await bot.edit_message_text("Ready now?", couple.group.id, sent.message_id, reply_markup=markup)
    lines = couple.group.transcript().splitlines()
    assert lines[0] == "* Alex added Mend"
    assert lines[-2:] == ["Mend: Ready now? (edited)", "  [Yes] [No]"]
    link = InlineKeyboardMarkup([[InlineKeyboardButton("Go", url="https://t.me/x")]])
    await bot.send_message(couple.group.id, "Link", reply_markup=link)
    with pytest.raises(AssertionError, match=r"opens https://t\.me/x; use follow_link"):
        await couple.alex.press(couple.group.bot_messages()[-1], "Go")


async def test_people_scripts_are_checked(sandbox: Sandbox, couple: Couple) -> None:
    outsider = sandbox.user("Robin")
    with pytest.raises(AssertionError, match="not a member"):
        await couple.group.send(outsider, "/pause")
    with pytest.raises(AssertionError, match="already in"):
        await couple.group.add_bot(by=couple.alex)
    with pytest.raises(AssertionError, match="payload"):
        await couple.alex.start_private("not valid!")
    couple.alex.block_bot()
    with pytest.raises(AssertionError, match="blocked the bot"):
        await couple.alex.send_private("hello")
