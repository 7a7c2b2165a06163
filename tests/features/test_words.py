"""Never drop what a person writes: a command typo gets the closest command; what Mend shows
fits Telegram's limits, long names and all."""

from __future__ import annotations

from bot.context import Services
from bot.sandbox import Sandbox, SandboxChat
from tests.conftest import People


async def quiet_after(sandbox: Sandbox, chat: SandboxChat) -> None:
    """Nothing more from the bot in `chat` once everything sent so far was handled."""
    before = len(chat.bot_messages())
    await sandbox.settle()
    assert len(chat.bot_messages()) == before, chat.transcript(last=3)


async def test_a_command_typo_gets_the_closest_command(sandbox: Sandbox, couple: People) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(alex, "/paus 45")
    answer = await group.expect("I don't have a /paus", "Did you mean /pause 45?")
    assert "Take a cooling-off break" in answer.text
    assert "/help lists everything I can do in this group" in answer.text
    await group.send(alex, "/paus@SomeOtherBot")  # meant for another bot: not ours to answer
    await quiet_after(sandbox, group)

    await sam.send_private("/jurnal")
    await sam.private.expect(
        "I don't have a /jurnal", "Did you mean /journal?", "here, just for you"
    )
    await sam.send_private("/xyzzy")
    await sam.private.expect("I don't have a /xyzzy, and none of my commands is close to it")

    sam.language_code = "de"
    await sam.send_private("/journal")  # Mend follows the app's new language
    await sam.private.expect("Dein Tagebuch")
    await sam.send_private("/chekin")
    await sam.private.expect("Ein /chekin habe ich nicht", "Meintest du /checkin?")


async def test_alerts_fit_with_two_long_names(sandbox: Sandbox, services: Services) -> None:
    first = sandbox.user("Maximiliane-Alexandra von Hohenzollern-Sigmaringen-Wittelsbacher")
    second = sandbox.user("Bartholomäus-Konstantin zu Schwarzenberg-Liechtenstein-Habsburgs")
    casey = sandbox.user("Casey")
    assert len(first.name) == len(second.name) == 64
    group = sandbox.group("Us", members=[first, second, casey])
    await group.add_bot(by=first)
    welcome = await group.expect("I'm Mend", "I'm in")
    await first.press(welcome, "I'm in")
    await group.expect("is in")
    await second.press(welcome, "I'm in")
    await group.expect("is in")
    question = await group.expect("Which of these fits")
    answer = await casey.press(question, "Repair after a breach")
    assert answer.show_alert and answer.text is not None
    assert answer.text == (
        "Mend is here for Maximiliane-Alexandra von Hohen… & Bartholomäus-Konstantin zu Schw…, "
        "so only they can change things. Nothing was changed."
    )
