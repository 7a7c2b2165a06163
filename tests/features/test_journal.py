"""/journal and the self-work tools through the sandbox: entries stay with their author (never in
the group, never in the other partner's export), the trigger statement reaches the group only
when its author confirms, and the private checks read gently. As flows: a double tap, an old
button or another person's button data changes nothing, and a long answer is asked again."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import pytest

from bot import asks
from bot.context import Services
from bot.features.journal import CHECKS_TABLE, JOURNAL_TABLE, LADDER_TABLE
from bot.sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage
from tests.conftest import People, agree, onboard


async def until(sandbox: Sandbox, happened: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until something the bot does (a message edited, sent) makes `happened` true."""
    deadline = time.monotonic() + seconds
    while not happened():
        if not await sandbox.world.changed.wait(deadline - time.monotonic()):
            raise AssertionError("what the test waited for never happened")


async def shows(sandbox: Sandbox, message: SentMessage, *fragments: str) -> None:
    """Wait until the bot has edited `message` to show every fragment."""
    try:
        await until(sandbox, lambda: message.contains(*fragments))
    except AssertionError:
        raise AssertionError(f"message never showed {fragments}:\n{message.render()}") from None


async def walk(sandbox: Sandbox, person: SandboxUser, check: SentMessage, *choices: str) -> None:
    """Answer a check's questions one by one, each after the message shows the question."""
    total = len(choices)
    for number, choice in enumerate(choices, start=1):
        await shows(sandbox, check, f"{number} of {total}")
        await person.press(check, choice)
    await until(sandbox, lambda: not check.buttons)


async def answer(person: SandboxUser, chat: SandboxChat, *fragments: str, text: str) -> None:
    """The next bot message in `chat` asks something; `person` replies to it."""
    question = await chat.expect(*fragments)
    assert question.force_reply
    await chat.reply(person, to=question, text=text)


async def export_of(person: SandboxUser) -> dict:  # type: ignore[type-arg]
    await person.send_private("/export")
    sent = await person.private.wait_for(lambda m: m.document is not None)
    assert sent.document is not None
    [section] = json.loads(sent.document.data)["couples"]
    return section  # type: ignore[no-any-return]


async def test_journal_entries_stay_with_their_author(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    alex, sam, group = couple.alex, couple.sam, couple.group
    await group.send(alex, "/journal")
    pointer = await group.expect("Alex, your journal lives in our private chat", "/journal there")
    assert pointer.buttons == []  # the private chat is open already

    await alex.send_private("/journal")
    menu = await alex.private.expect("Your journal", "Only you can see", "No entries yet")
    await alex.press(menu, "One good decision today")
    await answer(alex, alex.private, "a choice you made today", text="I said no to <b>overtime</b>")
    await answer(alex, alex.private, "What was that like", text="Steady, a bit proud")
    await alex.private.expect("Saved, just for you", "your own judgment can be relied on")
    await alex.press(menu, "A fear, and where it began")
    await answer(alex, alex.private, "what you dread most", text="Being left without a word")
    await answer(alex, alex.private, "When did you first meet this fear", text="My last breakup")
    await alex.private.expect("Saved", "talking about then")
    await sam.send_private("/journal Sam's own thought")
    await sam.private.expect("Saved, just for you")

    await alex.send_private("/journal")
    history = await alex.private.expect(
        "Recent entries",
        "a fear",
        "Being left without a word",
        "My last breakup",
        "a good decision",
        "I said no to <b>overtime</b>",
        "Steady, a bit proud",
    )
    assert "Sam's own thought" not in history.text

    section = await export_of(alex)
    mine = section["journal"]["entries"]
    assert [e["answers"] for e in mine] == [
        ["I said no to <b>overtime</b>", "Steady, a bit proud"],
        ["Being left without a word", "My last breakup"],
    ]
    assert "Sam's own thought" not in json.dumps(section)
    assert [e["answers"] for e in (await export_of(sam))["journal"]["entries"]] == [
        ["Sam's own thought"]
    ]

    await sandbox.settle()
    shown = " ".join(m.text for m in group.bot_messages())
    for private in ("overtime", "Being left", "breakup", "Sam's own thought"):
        assert private not in shown
    assert "Being left" not in " ".join(m.text for m in sam.private.bot_messages())
    stored = services.store.records(group.id, JOURNAL_TABLE)
    assert sorted(r["author"] for r in stored) == [alex.id, alex.id, sam.id]


async def test_a_long_journal_is_paged(sandbox: Sandbox, couple: People) -> None:
    alex = couple.alex
    for number in range(1, 13):
        await alex.send_private(f"/journal entry number {number:02d} " + "x" * 600)
        await alex.private.expect("Saved")
    await alex.send_private("/journal")
    page = await alex.private.expect("page 1 of 3", "12 in all", "entry number 12")
    assert "entry number 07" not in page.text and "…" in page.text
    assert len(page.text) < 4096
    await alex.press(page, "◀ Older")
    await shows(sandbox, page, "page 2 of 3", "entry number 07")
    await alex.press(page, "◀ Older")
    await shows(sandbox, page, "page 3 of 3", "entry number 01")
    assert "◀ Older" not in page.button_texts()
    await alex.press(page, "Newer ▶")
    await shows(sandbox, page, "page 2 of 3")
    answer_ = await alex.press_data(page, "jn:pg:x")
    assert answer_.show_alert


async def test_journal_in_the_group_offers_a_fresh_link(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, open_private=False, path="Trusting again")
    await people.group.send(people.sam, "/journal")
    pointer = await people.group.expect(
        "Sam, your journal lives in our private chat", "Open it with the button below"
    )
    await people.sam.press(pointer, "A new link to my private chat")
    fresh = await people.group.expect("Sam, here is a fresh link")
    chat = await people.sam.follow_link(fresh, "Sam: open your private chat")
    await chat.expect("your private space")
    await people.sam.send_private("/journal")
    menu = await chat.expect("Your journal", "tools for trusting again come first")
    assert menu.button_texts()[0] == "Warning signs in me"  # the new path's tools lead
    await people.group.send(people.sam, "/selfcheck")
    await people.group.expect("Sam, this one lives in our private chat")


async def test_a_trigger_reaches_the_group_only_when_its_author_confirms(
    sandbox: Sandbox, couple: People
) -> None:
    alex, sam, group = couple.alex, couple.sam, couple.group
    await group.send(alex, "/trigger")
    await group.expect("Alex, I've written to you in our private chat")
    await answer(alex, alex.private, "What set it off?", text="a late reply")
    draft = await alex.private.expect(
        "Here's a way you could say it", "a late reply", "Something stirred me up", "Alex & Sam"
    )
    assert draft.button_texts() == ["Share in the group", "Edit", "Keep private"]
    share_draft = draft.buttons[0][0].callback_data or ""
    await sandbox.settle()
    assert not any("late reply" in m.text for m in group.bot_messages())

    await alex.press(draft, "Edit")
    await answer(
        alex,
        alex.private,
        "Write it in your own words",
        text="When replies are slow I get scared. Could you tell me we're ok?",
    )
    redraft = await alex.private.expect("When replies are slow I get scared")
    await alex.press(redraft, "Share in the group")
    shared = await group.expect(
        "Alex would like to share something",
        "When replies are slow I get scared",
        "calm, kind answer",
    )
    assert "late reply" not in shared.text
    await alex.private.expect("Shared in your group")
    stale = await alex.press_data(redraft, share_draft)
    assert stale.show_alert  # shared once; the old draft's button is no longer current

    # Straight from the private chat, kept private: nothing ever reaches the group.
    await sam.send_private("/trigger plans changed again")
    kept = await sam.private.expect("Here's a way", "plans changed again")
    for forged in (
        f"jn:tg:{group.id - 5}:2:share",  # a chat Sam isn't in
        f"jn:tg:{group.id}:1:keep",  # Alex's trigger, not Sam's
        f"jn:tg:{group.id}:2:publish",
    ):
        answer_ = await sam.press_data(kept, forged)
        assert answer_.show_alert, forged
    await sam.press(kept, "Keep private")
    await sam.private.expect("Kept here, just for you")
    share = kept.buttons[0][0].callback_data if kept.buttons else None
    assert share is None  # the buttons are gone
    await sandbox.settle()
    assert not any("plans changed" in m.text for m in group.bot_messages())


async def test_warning_signs_self_check(sandbox: Sandbox, couple: People) -> None:
    alex = couple.alex
    await alex.send_private("/selfcheck")
    check = await alex.private.expect("A quiet look at yourself", "1 of 6")
    first = check.buttons[0][0].callback_data or ""
    await walk(
        sandbox,
        alex,
        check,
        "Yes, that's me",
        "Yes, that's me",
        "Not really",
        "Yes, that's me",
        "Yes, that's me",
        "Not really",
    )
    assert "What you noticed" in check.text and "be gentle with yourself" in check.text
    assert "Holding back" in check.text and "/ladder" in check.text
    assert "Watching for danger" not in check.text  # answered "not really"
    assert "/support" in check.text  # four of six apply
    assert "score" not in check.text.lower() and "4" not in check.text
    stale = await alex.press_data(check, first)
    assert stale.show_alert

    await alex.send_private("/selfcheck")
    calm = await alex.private.expect("1 of 6")
    await walk(sandbox, alex, calm, *["Not really"] * 6)
    assert "None of these feel like you" in calm.text and "/support" not in calm.text


async def test_setback_or_red_flag(sandbox: Sandbox, couple: People) -> None:
    sam = couple.sam
    await sam.send_private("/setback")
    check = await sam.private.expect("A setback, or a red flag?", "1 of 5")
    await walk(sandbox, sam, check, "Yes", "No", "Yes", "Yes", "No")
    assert "normal setback" in check.text and "still in this" in check.text

    await sam.send_private("/setback")
    check = await sam.private.expect("1 of 5")
    await walk(sandbox, sam, check, "No", "Yes", "No", "Yes", "No")
    assert "more than a stumble" in check.text and "brushed aside" in check.text
    assert "came back after you'd talked" in check.text and "won't talk about it" in check.text
    assert "/support" in check.text

    await sam.send_private("/setback")
    check = await sam.private.expect("1 of 5")
    await walk(sandbox, sam, check, "Yes", "No", "Yes", "Yes", "Yes")
    # The first line stays neutral; help for Sam alone follows (tests/features/test_support.py).
    assert check.text.split("\n")[0] == "Thank you for answering these honestly."
    assert "afraid of a partner" in check.text and "help that is yours alone" in check.text
    assert "pick up where you left off" not in check.text
    await sam.private.expect("If you don't feel safe")


async def test_vulnerability_ladder(sandbox: Sandbox, couple: People) -> None:
    alex, group = couple.alex, couple.group
    await alex.send_private("/ladder")
    ladder = await alex.private.expect("Your vulnerability ladder", "No rungs yet")
    await alex.press(ladder, "Ideas")
    ideas = await alex.private.expect("A few ideas")
    await alex.press(ideas, "How I like to be comforted")
    ladder = await alex.private.expect("1. how I like to be comforted")
    await alex.press(ladder, "Add my own")
    await answer(alex, alex.private, "next thing you might share", text="My brother's wedding")
    ladder = await alex.private.expect("1. how I like to be comforted", "2. My brother's wedding")
    await alex.press(ladder, "✓ I shared 1")
    await shows(sandbox, ladder, "1. ✓ how I like to be comforted")
    response = await alex.private.expect("How did your partner respond?")
    await alex.press(response, "With care")
    await alex.private.expect("met with care", "next rung")
    await alex.send_private("/ladder")
    ladder = await alex.private.expect("1. ✓ how I like to be comforted · met with care")
    await alex.press(ladder, "✕ Remove 2")
    await until(sandbox, lambda: "My brother's wedding" not in ladder.text)
    await sandbox.settle()
    assert not any("comforted" in m.text for m in group.bot_messages())
    assert not any("comforted" in m.text for m in couple.sam.private.bot_messages())


async def test_from_rumination_to_reflection(sandbox: Sandbox, couple: People) -> None:
    sam, group = couple.sam, couple.group
    for round_ in range(3):
        await sam.send_private("/reflect")
        await answer(sam, sam.private, "Stuck in a loop?", text="They'll leave like the last one")
        notice = await sam.private.expect("anything new", "the same circle")
        await sam.press(notice, "The same circle")
        await answer(
            sam,
            sam.private,
            "rumination",
            "what is fear filling in",
            text="I know they stayed all year",
        )
        step = await sam.private.expect("One small next step")
        await sam.press(step, "Keep this in my journal" if round_ < 2 else "Tell my partner gently")
        done = await sam.private.expect("You named the loop", "They'll leave like the last one")
    assert "several times this week" in done.text and "/support" in done.text
    # The draft builds on what Sam knows, not on the fear that kept circling.
    draft = await sam.private.expect(
        "Here's a way you could say it", "what I actually know: I know they stayed all year"
    )
    assert "the last one" not in draft.text
    await sam.send_private("/journal")
    await sam.private.expect("a loop, looked at", "I know they stayed all year")
    await sandbox.settle()
    assert not any("last one" in m.text for m in group.bot_messages())
    assert draft.button_texts()[0] == "Share in the group"


async def test_drafts_are_worded_for_the_path_and_the_role(
    sandbox: Sandbox, services: Services
) -> None:
    """A hurt partner on the repair path is never made to say it's "only my past"; someone
    learning to trust again speaks of a sore spot from before the relationship."""
    repair = await onboard(sandbox, services)
    await repair.group.send(repair.alex, "/settings")
    overview = await repair.group.expect("How things are set up")
    await repair.alex.press(overview, "Roles")
    roles = await repair.group.expect("who is doing the repair work")
    await repair.alex.press(roles, "Sam is doing the repair work")
    await agree(repair.group, repair.sam, "Alex proposes")
    await repair.group.wait_for(lambda m: "Alex: the partner who was hurt" in m.text)
    await repair.alex.send_private("/trigger the phone went quiet all evening")
    hurt = await repair.alex.private.expect(
        "Something brought back what happened between us", "I'm not accusing you"
    )
    assert "past" not in hurt.text.lower()
    await repair.sam.send_private("/trigger you went quiet at dinner")
    await repair.sam.private.expect("I'd rather tell you than go quiet about it")

    new = await onboard(sandbox, services, path="Trusting again", title="Kim & Jo")
    await new.group.send(new.alex, "/settings")
    overview = await new.group.expect("How things are set up")
    await new.alex.press(overview, "Roles")
    roles = await new.group.expect("who is learning to trust again")
    await new.alex.press(roles, next(t for t in roles.button_texts() if t.startswith("Alex")))
    await agree(new.group, new.sam, "Alex proposes")
    await new.group.wait_for(lambda m: "Alex: learning to trust again" in m.text)
    await new.alex.send_private("/trigger a late reply")
    await new.alex.private.expect("an old sore spot, one from before us", "a late reply")


async def test_german_journal(couple: People) -> None:
    couple.sam.language_code = "de"
    await couple.sam.send_private("/journal")
    menu = await couple.sam.private.expect("Dein Tagebuch", "Noch keine Einträge")
    await couple.sam.press(menu, "Eine gute Entscheidung heute")
    await couple.sam.private.expect("Entscheidung von heute", "Antworte auf diese Nachricht")


# -- the steps as flows: double taps, old buttons, other people, answers asked again -------------


async def test_a_double_tap_changes_nothing(
    sandbox: Sandbox, couple: People, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    alex, group = couple.alex, couple.group
    await alex.send_private("/selfcheck")
    check = await alex.private.expect("1 of 6")
    taps = await asyncio.gather(
        alex.press(check, "Yes, that's me"), alex.press(check, "Yes, that's me")
    )
    await shows(sandbox, check, "2 of 6")
    await sandbox.settle()
    assert len(check.edits) == 1 and "2 of 6" in check.text  # one answer counted
    assert sorted(tap.show_alert for tap in taps) == [False, True]  # the second: not current
    [record] = services.store.records(group.id, CHECKS_TABLE)
    assert record["answers"] == ["y"]
    assert alex.private.bot_messages()[-1] is check

    for number in range(1, 12):
        await alex.send_private(f"/journal entry {number:02d}")
        await alex.private.expect("Saved")
    await alex.send_private("/journal")
    menu = await alex.private.expect("page 1 of 3")
    await asyncio.gather(alex.press(menu, "◀ Older"), alex.press(menu, "◀ Older"))
    await shows(sandbox, menu, "page 2 of 3")
    await asyncio.gather(alex.press(menu, "Write freely"), alex.press(menu, "Write freely"))
    await alex.private.expect("Write whatever you'd like to keep")
    await sandbox.settle()
    assert "page 2 of 3" in menu.text  # one page older, not two
    asked = [m for m in alex.private.bot_messages() if "Write whatever" in m.text]
    assert len(asked) == 1  # asked once
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_old_buttons_are_no_longer_current(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    sam, group = couple.sam, couple.group
    await sam.send_private("/reflect")
    await answer(sam, sam.private, "Stuck in a loop?", text="They'll leave")
    notice = await sam.private.expect("anything new")
    circling = notice.buttons[0][0].callback_data or ""
    await sam.press(notice, "Something new")
    await sam.private.expect("already reflecting", "What do you know for sure")
    stale = await sam.press_data(notice, circling)
    assert stale.show_alert and "no longer current" in (stale.text or "")
    [record] = services.store.records(group.id, CHECKS_TABLE)
    assert record["circling"] is False

    # A newer /journal takes over from the menu before it.
    await sam.send_private("/journal")
    old_menu = await sam.private.expect("Your journal")
    decision = old_menu.buttons[0][0].callback_data or ""
    await sam.send_private("/journal")
    menu = await sam.private.expect("Your journal")
    await until(sandbox, lambda: not old_menu.buttons)
    stale = await sam.press_data(old_menu, decision)
    assert stale.show_alert and "no longer current" in (stale.text or "")

    # Buttons sent before the journal's steps were flows.
    for old in ("jn:p:decision", "jn:pg:1", "jn:sc:1:0:y", f"jn:tg:{group.id}:1:share"):
        stale = await sam.press_data(menu, old)
        assert stale.show_alert and "no longer current" in (stale.text or ""), old
    await sandbox.settle()
    assert sam.private.bot_messages()[-1] is menu  # nothing was asked or started


async def test_only_the_author_moves_their_own_steps(sandbox: Sandbox, couple: People) -> None:
    """Everything here is in the author's private chat: the other partner can't see a button
    of it, and its callback data pressed anywhere else is no longer current."""
    alex, sam, group = couple.alex, couple.sam, couple.group
    await alex.send_private("/trigger a late reply")
    draft = await alex.private.expect("Here's a way", "a late reply")
    share = draft.buttons[0][0].callback_data or ""
    await sam.send_private("/journal")
    menu = await sam.private.expect("Your journal")
    taken = await sam.press_data(menu, share)
    assert taken.show_alert and "no longer current" in (taken.text or "")
    await sandbox.settle()
    assert not any("late reply" in m.text for m in group.bot_messages())
    assert not any("late reply" in m.text for m in sam.private.bot_messages())

    await alex.press(draft, "Share in the group")
    await group.expect("Alex would like to share something", "a late reply")


async def test_a_typed_answer_that_is_too_long_is_asked_again(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    alex, group = couple.alex, couple.group
    await alex.send_private("/ladder")
    ladder = await alex.private.expect("No rungs yet")
    await alex.press(ladder, "Add my own")
    await answer(alex, alex.private, "next thing you might share", text="my brother's day " * 15)
    again = await alex.private.expect(
        "That's 254 characters, 200 at most here", "next thing you might share"
    )
    assert again.force_reply
    assert services.store.records(group.id, LADDER_TABLE) == []
    await alex.private.reply(alex, to=again, text="My brother's wedding")
    await alex.private.expect("1. My brother's wedding")

    await alex.send_private("/trigger " + "so many words " * 20)
    await answer(
        alex, alex.private, "279 characters, 200 at most", "What set it off?", text="a late reply"
    )
    await alex.private.expect("Here's a way", "a late reply")


async def test_what_was_open_before_the_flows_is_closed_kindly(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    alex, group = couple.alex, couple.group
    await alex.send_private("/journal")
    menu = await alex.private.expect("Your journal")
    with services.store.transaction(group.id) as tx:
        # A question of the old kind, and a finished reflection stored the old way.
        asks.remember(tx, alex.private.id, menu.message_id, "journal_entry", alex.id, {"part": 1})
        tx.table(CHECKS_TABLE).insert(
            {
                "author": alex.id,
                "tool": "reflect",
                "at": "2026-01-01T00:00:00+00:00",
                "step": "rest",
            }
        )
    await alex.private.reply(alex, to=menu, text="My last breakup")
    await alex.private.expect("isn't open any more", "haven't kept this answer")
    assert services.store.records(group.id, JOURNAL_TABLE) == []
    [old] = (await export_of(alex))["journal"]["checks"]
    assert old["step"] == "rest"


async def test_a_trigger_from_the_group_when_the_private_chat_is_blocked(
    couple: People,
) -> None:
    couple.alex.block_bot()
    await couple.group.send(couple.alex, "/trigger")
    pointer = await couple.group.expect(
        "Alex, let's take this to our private chat", "Open it with the button below"
    )
    assert pointer.button_texts() == ["A new link to my private chat"]
