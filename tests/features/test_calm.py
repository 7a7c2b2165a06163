"""/jealous and /breathe through the sandbox: the guided check step by step in one message,
who may move it on, private checks, and breathing in one edited message."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot import breathing
from bot.app import MendApp, stop
from bot.context import MendContext, Services
from bot.features import calm
from bot.flows import runner_of
from bot.sandbox import Sandbox, SentMessage
from tests.conftest import People, onboard


async def shows(sandbox: Sandbox, message: SentMessage, *fragments: str) -> None:
    """Wait until the bot has edited `message` to show every fragment."""
    try:
        await sandbox.wait_until(
            lambda: message.contains(*fragments),
            f"message #{message.message_id} showing {fragments}",
        )
    except AssertionError as error:
        raise AssertionError(f"{error}; it shows:\n{message.render()}") from None


@pytest.fixture
def quick_breaths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(breathing, "PHASE_SECONDS", 0.01)


# -- /jealous --------------------------------------------------------------------------------


async def test_a_jealousy_check_from_the_group_happens_in_private(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    group = couple.group
    group_before = len(group.bot_messages())
    await group.send(couple.alex, "/jealous")
    check = await couple.alex.private.expect("Alex, a jealousy check", "Step 1 of 3: notice it")
    assert check.button_texts() == ["I've named it", "Stop here"]

    await couple.alex.press(check, "I've named it")
    await shows(
        sandbox,
        check,
        "Step 2 of 3",
        "Did something new actually happen",
        "a fear you already know",
    )
    assert check.button_texts() == [
        "Something new happened",
        "An old fear",
        "I'm not sure",
        "Stop here",
    ]
    await couple.alex.press(check, "An old fear")
    await shows(sandbox, check, "Step 3 of 3", "isn't evidence about today")
    await couple.alex.press(check, "Share it with an “I” statement")
    await shows(
        sandbox,
        check,
        "I feel [the feeling] when [what you saw or heard, plainly], and I think "
        "an old fear is part of it",
        "how this looks from where you are",
    )
    assert check.button_texts() == ["Let my partner know I'd like to talk"]
    await sandbox.settle(idle=0.1)
    assert len(group.bot_messages()) == group_before  # nothing of it reached the group
    assert couple.alex.private.bot_messages()[-1] is check  # one place, edited step by step
    assert len(check.edits) == 3

    # Telling Sam is Alex's explicit choice, and Sam learns nothing of the check itself.
    await couple.alex.press(check, "Let my partner know I'd like to talk")
    note = await couple.sam.private.expect("Alex would like to talk with you", "listening")
    assert "jealous" not in note.text.lower()
    await couple.alex.private.expect("I've let Sam know", "Nothing else of this check")
    assert check.buttons == []
    await sandbox.settle(idle=0.1)
    assert len(group.bot_messages()) == group_before

    [stored] = runner_of(services).runs(group.id, calm.JEALOUS, finished=True)
    assert (stored.owner, stored.step, stored.data["source"], stored.data["choice"]) == (
        couple.alex.id,
        None,
        "old",
        "share",
    )


async def test_a_jealousy_check_for_someone_without_a_private_chat(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, open_private=False)
    await people.group.send(people.sam, "/jealous")
    unreachable = await people.group.expect("I answer that in a private chat")
    assert "Sam" not in unreachable.text and "jealous" not in unreachable.text.lower()
    assert unreachable.button_texts() == ["A new link to my private chat"]
    assert not runner_of(services).runs(people.group.id, calm.JEALOUS)

    # Alex opens the private chat; Sam hasn't, so Alex can't have Sam told.
    chat = await people.alex.follow_link(people.joined["Alex"], "Alex: open your private chat")
    await chat.expect("your private space")
    await people.group.send(people.alex, "/jealous")
    check = await chat.expect("Alex, a jealousy check")
    await people.alex.press(check, "I've named it")
    await shows(sandbox, check, "Step 2 of 3")
    await people.alex.press(check, "Something new happened")
    await shows(sandbox, check, "Step 3 of 3")
    await people.alex.press(check, "Share it with an “I” statement")
    await shows(sandbox, check, "Sharing it, kindly", "I can let Sam know")
    answer = await people.alex.press(check, "Let my partner know I'd like to talk")
    assert answer.show_alert and "hasn't opened a private chat" in (answer.text or "")
    assert check.button_texts() == ["Let my partner know I'd like to talk"]


async def test_a_private_check_parks_the_worry(sandbox: Sandbox, couple: People) -> None:
    before = len(couple.group.bot_messages())
    await couple.sam.send_private("/jealous")
    check = await couple.sam.private.expect("Sam, a jealousy check", "Step 1 of 3")
    assert "privately" not in check.text
    await couple.sam.press(check, "I've named it")
    await shows(sandbox, check, "Step 2 of 3")
    await couple.sam.press(check, "Something new happened")
    await shows(sandbox, check, "deserves a calm conversation")
    await couple.sam.press(check, "Park it for our window")
    await shows(sandbox, check, "Write it down right here", "/worry", "insecurity window")
    await sandbox.settle(idle=0.1)
    assert len(couple.group.bot_messages()) == before  # nothing of it reached the group


async def test_a_pause_or_stopping_early(sandbox: Sandbox, couple: People) -> None:
    await couple.group.send(couple.sam, "/jealous")
    check = await couple.sam.private.expect("Sam, a jealousy check")
    await couple.sam.press(check, "I've named it")
    await shows(sandbox, check, "Step 2 of 3")
    await couple.sam.press(check, "I'm not sure")
    await shows(sandbox, check, "Not knowing is fine")
    await couple.sam.press(check, "Take a pause first")
    await shows(sandbox, check, "/pause for 30 minutes", "/breathe")

    await couple.alex.send_private("/jealous")
    second = await couple.alex.private.expect("Alex, a jealousy check")
    await couple.alex.press(second, "Stop here")
    await shows(sandbox, second, "we'll leave it here")
    assert second.buttons == []


async def test_forged_and_stale_presses(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    await couple.group.send(couple.alex, "/jealous")
    check = await couple.alex.private.expect("Alex, a jealousy check")
    for forged in ("jealous:share", "jealous:bogus", "jealous:"):
        answer = await couple.alex.press_data(check, forged)
        assert answer.show_alert and "no longer current" in (answer.text or "")
    # A check button on a message that isn't a check (here: the welcome).
    welcome = couple.group.bot_messages()[0]
    answer = await couple.alex.press_data(welcome, "jealous:noticed")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    await sandbox.settle(idle=0.1)
    assert not check.edited
    [stored] = runner_of(services).runs(couple.group.id, calm.JEALOUS)
    assert stored.step == "notice"

    # A finished check can't be pressed again.
    await couple.alex.press(check, "Stop here")
    await shows(sandbox, check, "leave it here")
    answer = await couple.alex.press_data(check, "jealous:stop")
    assert answer.show_alert


async def test_jealousy_check_in_german(sandbox: Sandbox, couple: People) -> None:
    couple.alex.language_code = "de"
    await couple.group.send(couple.alex, "/jealous")
    check = await couple.alex.private.expect("Alex, ein Eifersuchts-Check", "Schritt 1 von 3")
    await couple.alex.press(check, "Ich hab's benannt")
    await shows(sandbox, check, "Schritt 2 von 3")


# -- /breathe --------------------------------------------------------------------------------


async def test_breathing_edits_one_message_through_the_rounds(
    sandbox: Sandbox, couple: People, quick_breaths: None
) -> None:
    await couple.group.send(couple.sam, "/breathe 2")
    breath = await couple.group.expect(
        "Breathing together · round 1 of 2", "Breathe in slowly", "●○"
    )
    await shows(sandbox, breath, "2 rounds done")
    await sandbox.settle(idle=0.1)
    assert couple.group.bot_messages()[-1] is breath
    steps = breath.edits  # every earlier text of the one message, in order
    assert len(steps) == 2 * 3
    assert ["in" if "Breathe in" in s else "hold" if "Hold it" in s else "out" for s in steps] == [
        "in",
        "hold",
        "out",
    ] * 2
    assert "round 2 of 2" in steps[-1] and "●●" in steps[-1]


async def test_one_breathing_session_per_chat(
    sandbox: Sandbox, couple: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(breathing, "PHASE_SECONDS", 0.1)
    await couple.group.send(couple.alex, "/breathe 1")
    breath = await couple.group.expect("round 1 of 1")
    await couple.group.send(couple.sam, "/breathe")
    await couple.group.expect("We're already breathing here")
    # Privately, Alex can breathe at the same time.
    await couple.alex.send_private("/breathe 1")
    await couple.alex.private.expect("round 1 of 1")
    await shows(sandbox, breath, "1 round done")
    await couple.group.send(couple.sam, "/breathe 1")
    await couple.group.expect("round 1 of 1")
    await sandbox.settle(idle=0.4)


async def test_a_deleted_breathing_message_stops_quietly(
    sandbox: Sandbox, couple: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(breathing, "PHASE_SECONDS", 0.05)
    await couple.alex.send_private("/breathe 5")
    breath = await couple.alex.private.expect("round 1 of 5")
    breath.deleted = True  # Alex deleted it in the app
    await sandbox.settle(idle=0.3)
    assert len(breath.edits) < 3 * 5
    # The chat is free again.
    monkeypatch.setattr(breathing, "PHASE_SECONDS", 0.01)
    await couple.alex.send_private("/breathe 1")
    again = await couple.alex.private.expect("round 1 of 1")
    await shows(sandbox, again, "1 round done")


async def test_breathing_with_wrong_rounds(couple: People) -> None:
    for typed in ("99", "0", "slowly"):
        await couple.group.send(couple.alex, f"/breathe {typed}")
        await couple.group.expect(
            f"I couldn't read “{typed}” as a number of rounds", "/breathe 6", "1 to 10"
        )


async def test_an_outsider_cannot_start_breathing(sandbox: Sandbox, couple: People) -> None:
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    await couple.group.send(casey, "/breathe")
    await couple.group.expect("Hi Casey", "Nothing has been changed")
    await couple.group.send(casey, "/jealous")
    await sandbox.settle(idle=0.1)
    assert not any(
        "breath" in m.text.lower() or "jealousy" in m.text.lower()
        for m in couple.group.bot_messages()
    )


async def test_run_breathing_is_reusable(
    sandbox: Sandbox, couple: People, app: MendApp, quick_breaths: None
) -> None:
    """Other features (the pause) call run_breathing directly, in any chat and language."""
    context = MendContext(app)
    await asyncio.gather(
        breathing.run_breathing(context, couple.alex.id, "de", rounds=1),
        breathing.run_breathing(context, couple.alex.id, "de", rounds=1),  # ignored: one at a time
    )
    breath = await couple.alex.private.expect("1 Runde geschafft")  # done when gather returns
    assert len(breath.edits) == 3
    assert "Gemeinsam atmen · Runde 1 von 1" in breath.edits[0]
    await sandbox.settle(idle=0.1)
    assert (
        sum(
            "Gemeinsam atmen" in m.html or "geschafft" in m.text
            for m in couple.alex.private.bot_messages()
        )
        == 1
    )
    assert not breathing.breathing_in(context, couple.alex.id)


async def test_export_holds_only_the_partners_own_checks(sandbox: Sandbox, couple: People) -> None:
    await couple.alex.send_private("/jealous")
    await couple.alex.private.expect("Alex, a jealousy check")
    await couple.group.send(couple.sam, "/jealous")
    check = await couple.sam.private.expect("Sam, a jealousy check")
    await couple.sam.press(check, "Stop here")
    await shows(sandbox, check, "leave it here")

    await couple.sam.send_private("/export")
    sent = await couple.sam.private.wait_for(lambda m: m.document is not None)
    assert sent.document is not None
    [mine] = json.loads(sent.document.data)["couples"]
    assert [c["choice"] for c in mine["calm"]["jealousy_checks"]] == ["stop"]
    assert mine["calm"]["jealousy_checks"][0]["private"] is True


async def test_stopping_the_bot_is_not_held_up_by_breathing(
    couple: People, app: MendApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(breathing, "PHASE_SECONDS", 0.5)
    await couple.group.send(couple.alex, "/breathe 10")  # 15 s of breathing
    breath = await couple.group.expect("round 1 of 10")
    started = time.monotonic()
    await stop(app)
    assert time.monotonic() - started < 3
    assert "round 1 of 10" in breath.text  # left where it was, quietly
