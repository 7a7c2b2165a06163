"""Onboarding through the sandbox: greeting, "I'm in", private links, path, roles, outsiders."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.context import Services
from bot.sandbox import Sandbox
from tests.conftest import Clock, People, onboard


async def test_a_couple_sets_up_together(sandbox: Sandbox, services: Services) -> None:
    alex = sandbox.user("Alex", language_code="en")
    sam = sandbox.user("Sam", language_code="en")
    group = sandbox.group("Us", members=[alex, sam])
    await group.add_bot(by=alex)

    welcome = await group.expect("I'm Mend", "never your conversation", "/forget", "14 days")
    assert [b.text for row in welcome.buttons for b in row] == ["I'm in"]

    answer = await alex.press(welcome, "I'm in")
    assert answer.text == "Welcome. You're in."
    joined = await group.expect("Alex is in", "wait for your partner")
    assert joined.buttons[0][0].url.startswith(
        f"https://t.me/{sandbox.bot_user['username']}?start="
    )

    await sam.press(welcome, "I'm in")
    await group.expect("Sam is in")
    question = await group.expect("Which of these fits", "one of you proposes")
    await sam.press(question, "Trusting again")
    proposed = await group.expect(
        "Sam proposes", "learning to trust again, with someone new", "Alex, does that fit"
    )
    assert question.buttons == []  # answered questions lose their buttons
    assert proposed.button_texts() == ["Yes, agreed", "Not like this"]
    own = await sam.press(proposed, "Yes, agreed")  # not Sam's to agree to
    assert own.show_alert and "it's Alex's to agree to" in (own.text or "")
    assert services.store.couple(group.id).path is None  # type: ignore[union-attr]
    await alex.press(proposed, "Yes, agreed")
    roles = await group.expect("Agreed, as Sam proposed", "trusting again", "learning to trust")
    labels = [b.text for row in roles.buttons for b in row]
    assert labels == [
        "Alex is learning to trust again",
        "Sam is learning to trust again",
        "We both are",
        "Skip roles",
    ]

    # Roles one of them proposes apply with the other's yes; a "not like this" closes kindly
    # and the question comes again.
    await alex.press(roles, "Alex is learning to trust again")
    proposed = await group.expect(
        "Alex proposes these roles", "Sam: the supporting partner", "Sam, does that fit"
    )
    await sam.press(proposed, "Not like this")
    await group.expect(
        "Not agreed, so the roles stay open",
        "Sam, thank you for saying it plainly",
        "Alex, what you asked for still counts",
    )
    again = await group.expect("Would you like to say")
    couple = services.store.couple(group.id)
    assert couple is not None and not couple.is_set_up
    assert [p.role for p in couple.partners] == [None, None]
    await sam.press(again, "Sam is learning to trust again")
    proposed = await group.expect("Sam proposes these roles")
    await alex.press(proposed, "Yes, agreed")
    ready = await group.expect(
        "Today is day 1", "Sam: learning to trust again", "Alex: the supporting partner"
    )
    assert ready.sender["id"] == sandbox.bot_user["id"]

    couple = services.store.couple(group.id)
    assert couple is not None and couple.is_set_up and couple.path == "new"
    assert [(p.name, p.role) for p in couple.partners] == [
        ("Alex", "supporting"),
        ("Sam", "learning"),
    ]


async def test_private_links_work_once_and_for_their_owner_only(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, open_private=False)
    alex, sam = people.alex, people.sam

    # Sam taps the link that was made for Alex: it doesn't connect Alex, and Sam, a partner
    # too, is welcomed without using up Alex's link.
    sam_chat = await sam.follow_link(people.joined["Alex"], "Alex: open your private chat")
    await sam_chat.expect("your private space")
    alex_chat = await alex.follow_link(people.joined["Alex"], "Alex: open your private chat")
    await alex_chat.expect("Hi Alex", "your private space", "/timezone")
    assert people.couple().partner(alex.id).private_chat  # type: ignore[union-attr]

    # A stranger with a used link learns how to start, and is connected to nothing.
    casey = sandbox.user("Casey")
    casey_chat = await casey.follow_link(people.joined["Alex"], "Alex: open your private chat")
    await casey_chat.expect("expired or was already used")
    assert services.store.chats_of_user(casey.id) == []


async def test_a_third_person_is_told_kindly_and_changes_nothing(
    sandbox: Sandbox, couple: People
) -> None:
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    before = couple.couple()

    welcome = couple.group.bot_messages()[0]
    answer = await casey.press(welcome, "I'm in")
    assert answer.show_alert and "Alex & Sam" in (answer.text or "")
    # Set up, the couple is the two of them: no place is offered (during setup the two may
    # give one, tests/test_audience.py).
    await sandbox.settle()
    assert not any("would like to be one of the two" in m.text for m in couple.group.bot_messages())

    await couple.group.send(casey, "/settings")
    await couple.group.expect("Hi Casey", "Alex and Sam", "Nothing has been changed")
    await couple.group.send(casey, "/forget")
    await sandbox.settle()
    assert couple.group.bot_messages()[-1].text.startswith("Hi Casey")  # told once, not twice

    path_question = next(m for m in couple.group.bot_messages() if "Which of these" in m.text)
    answer = await casey.press_data(path_question, "onb:path:new")
    assert answer.show_alert
    after = couple.couple()
    assert (after.partners, after.path) == (before.partners, before.path)


async def test_forged_button_presses_change_nothing(sandbox: Sandbox, couple: People) -> None:
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    before = couple.couple()
    any_message = couple.group.bot_messages()[-1]

    # An outsider forging Alex's confirmation of /forget in the couple's own group:
    answer = await casey.press_data(any_message, f"forget:yes:{couple.alex.id}")
    assert answer.show_alert
    # A partner forging a role for someone who isn't in the couple:
    answer = await couple.sam.press_data(any_message, f"onb:role:{casey.id}")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    # Garbage of every kind:
    for data in ("tz:Not/AZone", "quiet:99:99-00:00", "lang:group:xx", "set:nothing", "x" * 64):
        await couple.alex.press_data(any_message, data)

    # Another couple's partner forging Alex's id in their own group reaches only their group.
    other = await onboard(sandbox, couple.services, title="Robin & Kim")
    answer = await other.alex.press_data(
        other.group.bot_messages()[-1], f"forget:yes:{couple.alex.id}"
    )
    assert answer.show_alert
    await sandbox.settle()
    assert couple.couple() == before
    assert other.couple().partners


async def test_start_in_the_group_shows_where_the_couple_stands(couple: People) -> None:
    await couple.group.send(couple.sam, "/start")
    await couple.group.expect("day 1", "repairing trust after a breach")


async def test_a_private_start_from_a_stranger_explains_how_to_begin(
    sandbox: Sandbox, app: object
) -> None:
    robin = sandbox.user("Robin")
    chat = await robin.start_private()
    await chat.expect("create a group with your partner")


async def test_a_stranger_in_private_is_greeted_once_and_every_press_is_answered(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    """Someone in no couple pressing buttons in their private chat (old ones, forwarded ones,
    forged ones, a partner's menus): each press gets an answer at once, none a message; what
    they type is greeted once in a while, not once per command."""
    alex = couple.alex
    for command in ("/settings", "/faq", "/script", "/starter", "/quiet", "/language", "/journal"):
        await alex.send_private(command)
    await couple.group.send(alex, "/pause")
    await sandbox.settle()
    pressed = {
        button.callback_data
        for chat in (alex.private, couple.group)
        for message in chat.bot_messages()
        for row in message.buttons
        for button in row
        if button.callback_data
    }
    assert {"onb:join", "quiet:off", "set:tz"} <= pressed
    assert any(data.startswith("r:") for data in pressed)

    before = couple.couple()
    robin = sandbox.user("Robin", language_code="de")
    chat = await robin.start_private()
    greeting = await chat.expect("Ich bin Mend", "Ich bin dabei")
    for data in sorted(pressed | {"onb:link", "tz:Europe/Berlin", "lang:me:en", "nonsense"}):
        answer = await robin.press_data(greeting, data)
        assert answer.text is None or "Mend" in answer.text or "nicht mehr aktuell" in answer.text
    for command in ("/journal", "/settings", "/pause", "/start", "/worry a thing"):
        await robin.send_private(command)
    await sandbox.settle()
    assert chat.bot_messages() == [greeting]
    assert couple.couple() == before

    await clock.advance(timedelta(hours=6, minutes=1), sandbox)
    await robin.send_private("/journal")
    await chat.expect("Ich bin Mend")


async def test_path_and_roles_answered_once_and_old_questions_stale(
    sandbox: Sandbox, couple: People, caplog: pytest.LogCaptureFixture
) -> None:
    group = couple.group
    await group.send(couple.alex, "/settings")
    overview = await group.expect("How things are set up")
    await couple.alex.press(overview, "Our path")
    question = await group.expect("Which of these fits")
    answers = await asyncio.gather(
        couple.alex.press(question, "Trusting again"),
        couple.sam.press(question, "Repair after a breach"),
    )
    assert sorted(a.show_alert for a in answers) == [False, True]  # the later press: stale
    proposed = await group.expect("proposes", "does that fit for you too")
    await sandbox.settle()
    assert question.buttons == [] and "Alex proposes" in proposed.text  # Alex's came first
    assert couple.couple().path == "repair"  # until Sam agrees
    await couple.sam.press(proposed, "Yes, agreed")
    roles = await group.expect("Agreed, as Alex proposed", "Would you like to say")
    assert couple.couple().path == "new"
    assert sum("Would you like to say" in m.text for m in group.bot_messages()) == 2

    # A newer question makes the older one stale; roles name partners by place, not by id.
    skip = next(b.callback_data for row in roles.buttons for b in row if b.text == "Skip roles")
    await couple.alex.press(overview, "Roles")
    newer = await group.expect("Would you like to say")
    await sandbox.settle()
    assert roles.buttons == []  # the older question loses its buttons
    assert skip is not None
    answer = await couple.sam.press_data(roles, skip)
    assert answer.show_alert and "no longer current" in (answer.text or "")
    data = [b.callback_data or "" for row in newer.buttons for b in row]
    assert data and not any(str(p.id) in d for p in (couple.alex, couple.sam) for d in data)
    role = next(t for t in newer.button_texts() if t.startswith("Sam "))
    await couple.sam.press(newer, role)
    proposed = await group.expect("Sam proposes these roles")
    await couple.alex.press(proposed, "Yes, agreed")
    await group.expect("Noted:", "Sam: ")

    # Once set up, a path not agreed to leaves the one in place.
    await couple.sam.press(overview, "Our path")
    question = await group.expect("Which of these fits")
    await couple.sam.press(question, "Repair after a breach")
    proposed = await group.expect("Sam proposes", "repairing trust after a breach")
    await couple.alex.press(proposed, "Not like this")
    await group.expect("Not agreed, so the path stays as it was", "Alex, thank you")
    await sandbox.settle()
    assert couple.couple().path == "new"
    assert not any("Would you like to say" in m.text for m in group.bot_messages()[-2:])
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
