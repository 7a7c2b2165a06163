"""A person in two couples: Alex is with Sam in one group and with Jo in another.

What Alex writes in private belongs to Alex and to the couple Alex chose: asked once, when it is
ambiguous, remembered, changed with /switch; every offer to share names its group, a share
reaches only that group, and nothing private goes with a couple its author didn't leave.
Alex's own settings (zone, the private chat) are the same in both couples."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.context import Services
from bot.features.journal import JOURNAL_TABLE
from bot.features.windows import WORRIES_TABLE
from bot.flows import RUNS_TABLE
from bot.sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage
from tests.conftest import Clock, People, agree

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


async def second_couple(sandbox: Sandbox, first: People) -> tuple[SandboxUser, SandboxChat]:
    """Alex and Jo make a group of their own, add Mend and set it up; Jo opens the private
    chat. Alex doesn't: Alex's private chat is open already, from the first group."""
    alex = first.alex
    jo = sandbox.user("Jo", language_code="en")
    group = sandbox.group("Alex & Jo", members=[jo, alex])
    await group.add_bot(by=jo)
    welcome = await group.expect("I'm Mend", "I'm in")
    await jo.press(welcome, "I'm in")
    joined_jo = await group.expect("Jo", "is in")
    await alex.press(welcome, "I'm in")
    await group.expect("Alex", "is in")
    await jo.press(await group.expect("Which of these fits"), "Repair after a breach")
    await agree(group, alex, "Jo proposes")
    await alex.press(await group.expect("Would you like to say"), "Skip roles")
    await agree(group, jo, "Alex proposes no roles")
    await group.expect("Today is day 1")
    chat = await jo.follow_link(joined_jo, "Jo: open your private chat")
    await chat.expect("your private space")
    return jo, group


def kept(services: Services, group: SandboxChat) -> dict[str, list[str]]:
    """What the couple's file keeps of Alex's private entries: journal texts and worries."""
    return {
        "journal": [
            answer
            for entry in services.store.records(group.id, JOURNAL_TABLE)
            for answer in entry["answers"]
        ],
        "worries": [w["text"] for w in services.store.records(group.id, WORRIES_TABLE)],
    }


async def export_of(person: SandboxUser) -> dict[str, dict[str, Any]]:
    """The person's /export: each couple's section by its group's title."""
    await person.send_private("/export")
    sent = await person.private.wait_for(lambda m: m.document is not None)
    assert sent.document is not None
    return {section["group"]: section for section in json.loads(sent.document.data)["couples"]}


def entries_in(section: dict[str, Any]) -> list[str]:
    return [answer for entry in section["journal"]["entries"] for answer in entry["answers"]]


async def choose(sandbox: Sandbox, person: SandboxUser, question: SentMessage, title: str) -> None:
    """Answer "which group?" and wait until the question says what was chosen."""
    await person.press(question, title)
    await sandbox.wait_until(
        lambda: question.contains("From now on", f"“{title}”"), "the choice shown"
    )


async def test_a_journal_entry_asks_once_which_group_then_goes_there(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    alex = couple.alex
    await alex.send_private("/journal Written before Jo")
    saved = await alex.private.expect("Saved, just for you")
    assert "/switch" not in saved.text  # one group: nothing to choose, nothing named
    jo, second = await second_couple(sandbox, couple)

    await alex.send_private("/journal About Jo and me")
    question = await alex.private.expect("more than one group", "Which one is this for?")
    assert sorted(question.button_texts()) == ["Alex & Jo", "Alex & Sam"]
    await choose(sandbox, alex, question, "Alex & Jo")
    await alex.private.expect("Saved, just for you", "kept with “Alex & Jo”", "/switch")

    # Remembered: the next one goes there without a question, named.
    await alex.send_private("/journal Again about Jo")
    await alex.private.expect("Saved", "kept with “Alex & Jo”")

    # /switch shows the choice in use and changes it.
    await alex.send_private("/switch")
    switch = await alex.private.expect("Which of your groups", "“Alex & Sam”", "“Alex & Jo” (now)")
    assert "✓ Alex & Jo" in switch.button_texts()
    await choose(sandbox, alex, switch, "Alex & Sam")
    await alex.send_private("/journal About Sam")
    await alex.private.expect("Saved", "kept with “Alex & Sam”")

    # Each entry is kept with its own couple, and only there (what waited for the question
    # is not left with the question).
    assert kept(services, couple.group)["journal"] == ["Written before Jo", "About Sam"]
    assert kept(services, second)["journal"] == ["About Jo and me", "Again about Jo"]
    for group in (couple.group, second):
        runs = services.store.records(group.id, RUNS_TABLE)
        assert not any("About Jo and me" in json.dumps(run["data"]) for run in runs)

    # The journal shows them all, each named by its group; the other partners see nothing.
    await alex.send_private("/journal")
    menu = await alex.private.expect("Your journal", "What you write now is kept with “Alex & Sam”")
    for text in ("Written before Jo", "About Jo and me", "Again about Jo", "About Sam"):
        assert text in menu.text
    assert "free entry · “Alex & Jo”" in menu.text and "free entry · “Alex & Sam”" in menu.text
    for chat in (couple.group, second, couple.sam.private, jo.private):
        assert not any("About" in m.text for m in chat.messages)

    # Alex's /export covers both couples, each with its own entries.
    sections = await export_of(alex)
    assert entries_in(sections["Alex & Sam"]) == ["Written before Jo", "About Sam"]
    assert entries_in(sections["Alex & Jo"]) == ["About Jo and me", "Again about Jo"]


async def test_each_worry_comes_up_at_its_own_groups_window_and_is_shared_only_there(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    alex = couple.alex
    jo, second = await second_couple(sandbox, couple)
    await alex.send_private("/worry When Jo goes quiet I imagine the worst")
    question = await alex.private.expect("Which one is this for?")
    await choose(sandbox, alex, question, "Alex & Jo")
    await alex.private.expect("Parked for “Alex & Jo”")
    await alex.send_private("/switch")
    await choose(sandbox, alex, await alex.private.expect("Which of your groups"), "Alex & Sam")
    await alex.send_private("/worry Sam's phone is always face down")
    await alex.private.expect("Parked for “Alex & Sam”")
    assert kept(services, second)["worries"] == ["When Jo goes quiet I imagine the worst"]
    assert kept(services, couple.group)["worries"] == ["Sam's phone is always face down"]

    # Both groups have a window at the same time (no zones: UTC).
    opening = (clock.now() + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    for group, partner in ((couple.group, couple.sam), (second, jo)):
        await group.send(partner, f"/window add {DAYS[opening.weekday()]} {opening:%H}:00")
        await group.expect("Window added")
    await clock.to(opening + timedelta(minutes=1), sandbox)
    await couple.group.expect("window is open")
    await second.expect("window is open")

    # Each is offered at the window of the group it belongs to, which the offer names (Alex
    # opened the private chat from the first group only).
    await sandbox.settle()
    offers = [m for m in alex.private.bot_messages() if m.contains("The window in")]
    assert sorted(m.text.split(" is open")[0] for m in offers) == [
        "The window in “Alex & Jo”",
        "The window in “Alex & Sam”",
    ]
    assert all(m.contains("share it in “Alex & ") for m in offers)
    items = [m for m in alex.private.bot_messages() if "Share it now" in m.button_texts()]
    about_jo = next(m for m in items if m.contains("When Jo goes quiet"))
    about_sam = next(m for m in items if m.contains("face down"))
    assert about_jo.contains("Parked for “Alex & Jo”")
    assert about_sam.contains("Parked for “Alex & Sam”")
    assert len(items) == 2  # each offered once, at its own window

    # A share goes to that group only.
    await alex.press(about_jo, "Share it now")
    await second.expect("Alex would like to talk about this", "imagine the worst")
    await alex.press(about_sam, "Keep it for later")
    await sandbox.settle()
    assert not any("imagine the worst" in m.text for m in couple.group.messages)
    assert not any("imagine the worst" in m.text for m in couple.sam.private.messages)
    assert not any("face down" in m.text for chat in (couple.group, second) for m in chat.messages)


async def test_joining_a_second_group_hides_nothing_and_brings_alexs_settings(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    alex = couple.alex
    await alex.send_private("/timezone Berlin")
    await alex.private.expect("Time zone set")
    await alex.send_private("/journal Written before Jo")
    await alex.private.expect("Saved, just for you")
    _, second = await second_couple(sandbox, couple)
    there = services.store.couple(second.id)
    assert there is not None
    me = there.partner(alex.id)
    assert me is not None and me.timezone == "Europe/Berlin" and me.private_chat

    await alex.send_private("/journal")
    question = await alex.private.expect("Which one is this for?")
    await choose(sandbox, alex, question, "Alex & Jo")
    menu = await alex.private.expect("Your journal", "kept with “Alex & Jo”")
    assert "Written before Jo" in menu.text and "free entry · “Alex & Sam”" in menu.text
    # A tool opened from this menu keeps its answers with the group chosen.
    await alex.press(menu, "Write freely")
    asked = await alex.private.expect("Write whatever you'd like to keep")
    await alex.private.reply(alex, to=asked, text="Jo's laugh")
    await alex.private.expect("Saved", "kept with “Alex & Jo”")
    assert kept(services, second)["journal"] == ["Jo's laugh"]

    # A setting changed now is changed in both couples.
    await alex.send_private("/timezone Lisbon")
    await alex.private.expect("Time zone set")
    for group in (couple.group, second):
        found = services.store.couple(group.id)
        assert found is not None and found.partner(alex.id).timezone == "Europe/Lisbon"  # type: ignore[union-attr]


async def test_removing_mend_from_one_group_keeps_the_entries_of_the_other(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    alex = couple.alex
    await second_couple(sandbox, couple)
    await alex.send_private("/journal For the group with Sam")
    await choose(sandbox, alex, await alex.private.expect("Which one is this for?"), "Alex & Sam")
    await alex.private.expect("Saved", "kept with “Alex & Sam”")
    await alex.send_private("/switch")
    await choose(sandbox, alex, await alex.private.expect("Which of your groups"), "Alex & Jo")
    await alex.send_private("/journal For the group with Jo")
    await alex.private.expect("Saved", "kept with “Alex & Jo”")
    await alex.send_private("/worry Jo's long silences")
    await alex.private.expect("Parked for “Alex & Jo”")
    await alex.send_private("/switch")
    await choose(sandbox, alex, await alex.private.expect("Which of your groups"), "Alex & Sam")

    # Mend is removed from the group Alex chose: nothing new goes there, not even silently.
    await couple.group.remove_bot(by=couple.sam)
    await alex.private.expect("I was removed from", "Alex & Sam")
    await alex.send_private("/journal After Sam's group removed me")
    await alex.private.expect("Saved", "kept with “Alex & Jo”")
    await alex.send_private("/switch")
    await alex.private.expect("“Alex & Jo”, the one group I'm in with you", "“Alex & Sam”")

    # Its data is erased after the grace period: Alex's entries for it with it, and nothing
    # of what belongs to the group with Jo.
    await clock.advance(timedelta(days=14, hours=1), sandbox)
    assert services.store.couple(couple.group.id) is None
    sections = await export_of(alex)
    assert list(sections) == ["Alex & Jo"]
    assert entries_in(sections["Alex & Jo"]) == [
        "For the group with Jo",
        "After Sam's group removed me",
    ]
    assert [w["text"] for w in sections["Alex & Jo"]["worries"]] == ["Jo's long silences"]


async def test_a_group_mend_has_left_is_never_chosen(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    alex = couple.alex
    await couple.group.send(alex, "/switch")
    await couple.group.expect("Alex, which group your private things go with", "/switch there")
    _, second = await second_couple(sandbox, couple)
    await alex.send_private("/journal Which one, though")
    question = await alex.private.expect("Which one is this for?")

    # Removed from a group while the question waits: that button keeps nothing there.
    await couple.group.remove_bot(by=couple.sam)
    await alex.private.expect("I was removed from", "Alex & Sam")
    answer = await alex.press(question, "Alex & Sam")
    assert answer.show_alert and "not in that group any more" in answer.text
    await choose(sandbox, alex, question, "Alex & Jo")
    await alex.private.expect("Saved", "kept with “Alex & Jo”")

    # Removed from the other one too: there is nowhere to keep an entry, and Alex is told.
    await second.remove_bot(by=alex)
    await alex.private.expect("I was removed from", "Alex & Jo")
    await alex.send_private("/worry Nobody to tell")
    await alex.private.expect("nowhere for me to keep this", "“Alex & Sam”", "“Alex & Jo”")
    await alex.send_private("/switch")
    await alex.private.expect("not working in any of your groups", "I'm no longer in")
    assert kept(services, couple.group) == {"journal": [], "worries": []}
    assert kept(services, second) == {"journal": ["Which one, though"], "worries": []}
