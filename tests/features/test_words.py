"""Never drop what a person writes: a command typo gets the closest command, private words that
answer no question are offered to the journal, a reply to the other partner's question says
whose it is, and long words are kept whole; what Mend shows fits Telegram's limits, long names
and all."""

from __future__ import annotations

import json

from bot.context import Services
from bot.features.journal import JOURNAL_TABLE
from bot.features.windows import WORRIES_TABLE
from bot.flows import RUNS_TABLE
from bot.sandbox import Sandbox, SandboxChat, SandboxUser
from tests.conftest import People
from tests.features.test_journal import export_of


async def quiet_after(sandbox: Sandbox, chat: SandboxChat) -> None:
    """Nothing more from the bot in `chat` once everything sent so far was handled."""
    before = len(chat.bot_messages())
    await sandbox.settle()
    assert len(chat.bot_messages()) == before, chat.transcript(last=3)


async def entries_of(person: SandboxUser) -> list[list[str]]:
    """What the person's /export holds of their journal: each entry's answers."""
    return [entry["answers"] for entry in (await export_of(person))["journal"]["entries"]]


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


async def test_private_words_are_offered_to_the_journal(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    alex, group = couple.alex, couple.group
    await alex.send_private("I keep thinking about what you said on Friday.\nIt still stings.")
    offer = await alex.private.expect("Would you like me to keep this in your journal?")
    assert offer.button_texts() == ["Yes, keep it", "No, thanks"]
    await alex.press(offer, "Yes, keep it")
    await alex.private.expect("Kept in your journal, just for you", "/journal shows it")

    # Several messages in a row make one offer; the one before loses its buttons.
    await alex.send_private("One more thing.")
    first = await alex.private.expect("keep this in your journal?")
    first_yes = first.find_button("Yes, keep it")
    assert first_yes is not None and first_yes.callback_data is not None
    await alex.send_private("And another.")
    await alex.private.expect("keep these 2 messages in your journal, together")
    await alex.send_private("And a last one.")
    offer = await alex.private.expect("keep these 3 messages in your journal, together")
    assert first.buttons == []
    stale = await alex.press_data(first, first_yes.callback_data)
    assert stale.show_alert  # an old offer's button changes nothing
    await alex.press(offer, "Yes, keep it")
    await alex.private.expect("all 3 messages, as one entry")

    await alex.send_private("Never mind this one.")
    offer = await alex.private.expect("keep this in your journal?")
    await alex.press(offer, "No, thanks")
    await alex.private.expect("I haven't kept it", "only in this chat")

    assert await entries_of(alex) == [
        ["I keep thinking about what you said on Friday.\nIt still stings."],
        ["One more thing.", "And another.", "And a last one."],
    ]
    stored = json.dumps(services.store.records(group.id, JOURNAL_TABLE))
    runs = json.dumps(services.store.records(group.id, RUNS_TABLE))
    assert "Never mind this one" not in stored + runs  # "no" keeps no copy anywhere
    await sandbox.settle()
    assert not any("Friday" in m.text for m in group.bot_messages())
    await alex.send_private("/journal")
    await alex.private.expect("(and 1 more)")  # a long entry shows its start on a page


async def test_the_pause_invitation_to_write_leads_to_the_journal(couple: People) -> None:
    group, sam = couple.group, couple.sam
    await group.send(couple.alex, "/pause")
    started = await group.expect("Alex asked for a pause")
    await sam.press(started, "A private journaling prompt")
    await sam.private.expect("right here as a message to me", "keep it in your journal")
    await sam.send_private("I felt unheard, and I need us to slow down.")
    offer = await sam.private.expect("keep this in your journal?")
    await sam.press(offer, "Yes, keep it")
    await sam.private.expect("Kept in your journal")
    assert await entries_of(sam) == [["I felt unheard, and I need us to slow down."]]


async def test_a_photo_in_private_gets_a_word(couple: People) -> None:
    await couple.alex.private.send_photo(couple.alex)
    await couple.alex.private.expect("I can only keep written words", "write it to me")


async def test_a_reply_to_the_other_partners_question_says_whose_it_is(
    sandbox: Sandbox, couple: People
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(alex, "/plan")
    checkins = await group.expect("Step 1 of 4")
    await alex.press(checkins, "Every day")
    question = await group.expect("Alex, at what time each day?")
    await group.reply(sam, to=question, text="19:30")
    await group.expect(
        "Sam, that question was for Alex", "tap the same button above yourself and I'll ask you"
    )
    await sam.press(checkins, "Every day")
    question = await group.expect("Sam, at what time each day?")
    await group.reply(sam, to=question, text="19:30")
    await group.expect("Step 2 of 4")

    await group.send(alex, "/visit")
    intro = await group.expect("Planning a visit")
    await alex.press(intro, "Plan a visit")
    where = await group.expect("Where will you be together?")
    await alex.press(where, "Somewhere else")
    place = await group.expect("Alex, which city will you meet in?")
    await group.reply(sam, to=place, text="Lisbon")
    await group.expect("Sam, that question was for Alex", "It stays Alex's to answer")
    await group.reply(alex, to=place, text="Lisbon")
    await group.expect("Alex, on which day does the visit begin?")
    await group.reply(sam, to=place, text="Porto")
    await group.expect("that question was for Alex", "answered or closed since")


async def test_a_long_journal_entry_is_kept_whole(couple: People) -> None:
    alex = couple.alex
    long_entry = "\n\n".join(f"Paragraph {n}:" + " so much to say" * 30 for n in range(8))
    assert len(long_entry) > 3000
    await alex.send_private(f"/journal {long_entry}")
    await alex.private.expect("Saved, just for you")
    assert await entries_of(alex) == [[long_entry]]


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
    question = await group.wait_for(lambda m: "Which of these fits" in m.text)
    answer = await casey.press(question, "Repair after a breach")
    assert answer.show_alert and answer.text is not None
    assert answer.text == (
        "Mend is here for Maximiliane-Alexandra von Hohen… & Bartholomäus-Konstantin zu Schw…, "
        "so only they can change things. Nothing was changed."
    )


async def test_a_worry_over_the_limit_is_asked_again_and_lines_are_kept(
    couple: People, services: Services
) -> None:
    alex, group = couple.alex, couple.group
    await alex.send_private("/worry " + "the call on Friday, " * 60)
    await alex.private.expect("That's 1199 characters", "holds up to 1000", "haven't parked it")
    assert services.store.records(group.id, WORRIES_TABLE) == []
    await alex.send_private("/worry The call on Friday\nand what came after")
    await alex.private.expect("Parked")
    [worry] = services.store.records(group.id, WORRIES_TABLE)
    assert worry["text"] == "The call on Friday\nand what came after"
