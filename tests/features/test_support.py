"""/support, the safety help and /faq through the sandbox: help goes privately to whoever asked,
with a neutral first line, the numbers of their country and a quiet safety switch; the group
sees nothing that names them; an FAQ answer is shared with the partner only by choice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.context import Services
from bot.features.checkins import WEEKLY
from bot.helplines import all_numbers, country_of, helplines_for
from bot.model import from_iso
from bot.sandbox import Sandbox
from tests.conftest import Clock, People, onboard

NEUTRAL_FIRST_LINE = "Here is the information you asked for."
# Words that would tell the group (or a lock screen) what was asked for.
REVEALING = ("safe", "therap", "support", "danger", "help", "emergency", "abuse", "afraid")


def _neutral(text: str) -> bool:
    return not any(word in text.lower() for word in REVEALING)


async def test_support_from_the_group_goes_only_to_the_asker_and_the_group_sees_nothing(
    sandbox: Sandbox, couple: People
) -> None:
    group_before = len(couple.group.bot_messages())
    sams_private_before = len(couple.sam.private.bot_messages())
    await couple.group.send(couple.alex, "/support")

    info = await couple.alex.private.next_bot_message()
    assert info.text.split("\n")[0] == NEUTRAL_FIRST_LINE
    assert info.contains(
        "If you don't feel safe",
        "your local emergency number",  # no time zone yet: no country to choose numbers for
        "/timezone",
        "private browsing window",
        "Your partner isn't told that you asked",
        "Help for you, first",
        "When it may be time",
        "Online couples therapy",
        "I'm not a therapist",
    )
    # Help for that person comes before couples therapy.
    assert info.text.index("Help for you, first") < info.text.index("Online couples therapy")
    assert info.text.index("If you don't feel safe") < info.text.index("Help for you, first")
    assert info.button_texts() == ["Pause our joint prompts"]

    await sandbox.settle(idle=0.1)
    assert len(couple.group.bot_messages()) == group_before  # the group learns nothing
    assert len(couple.sam.private.bot_messages()) == sams_private_before  # never told


@pytest.mark.parametrize(
    ("place", "numbers"),
    [
        ("Berlin", ("112", "116 016", "Hilfetelefon")),
        ("London", ("999", "0808 2000 247", "National Domestic Abuse Helpline")),
        ("Sydney", ("000", "1800 737 732", "1800RESPECT")),
        ("Auckland", ("111", "0800 456 450")),
        ("New York", ("911", "1-800-799-7233")),
        ("Toronto", ("911",)),
        ("Vienna", ("112", "0800 222 555")),
    ],
)
async def test_support_shows_the_numbers_of_the_partners_country(
    couple: People, place: str, numbers: tuple[str, ...]
) -> None:
    await couple.sam.send_private(f"/timezone {place}")
    await couple.sam.private.expect("Time zone set")
    await couple.sam.send_private("/support")
    info = await couple.sam.private.expect(*numbers)
    assert info.text.startswith(NEUTRAL_FIRST_LINE)
    assert "your local emergency number" not in info.text
    # The other partner's zone chooses nothing for Sam.
    await couple.alex.send_private("/support")
    alexs = await couple.alex.private.expect("your local emergency number")
    assert numbers[-1] not in alexs.text


async def test_a_country_without_known_numbers_gets_the_general_advice(couple: People) -> None:
    await couple.alex.send_private("/timezone Tokyo")
    await couple.alex.private.expect("Time zone set")
    await couple.alex.send_private("/support")
    info = await couple.alex.private.expect("your local emergency number", "where you live")
    assert "/timezone" not in info.text  # the zone is known; there is just no number for it


def test_every_number_names_its_source_and_when_it_was_checked() -> None:
    numbers = all_numbers()
    assert numbers
    for number in numbers:
        assert number.source.startswith("https://"), number
        assert isinstance(number.checked, date) and number.checked <= date.today(), number
        assert number.number.strip() and number.kind, number
        assert isinstance(number.reverify, bool)
    assert country_of("Europe/Berlin") == "DE" and country_of("UTC") is None
    # Old and alias names count as the zone they stand for.
    for alias, country in (("US/Eastern", "US"), ("Canada/Eastern", "CA"), ("GB", "GB")):
        assert country_of(alias) == country, alias
    for alias in ("US/Pacific", "Australia/NSW", "NZ", "Europe/Belfast", "Europe/Nicosia"):
        assert helplines_for(alias).emergency is not None, alias
    assert helplines_for("Europe/Jersey").emergency is not None
    assert helplines_for("Europe/Paris").emergency is not None  # the EU's 112
    assert not helplines_for("Etc/GMT-3").known


async def test_support_for_someone_who_has_no_private_chat_yet(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, open_private=False)
    await people.group.send(people.sam, "/support")
    unreachable = await people.group.expect("I answer that in a private chat", "send the command")
    assert _neutral(unreachable.text) and "Sam" not in unreachable.text
    await people.sam.press(unreachable, "A new link to my private chat")
    fresh = await people.group.expect("Sam, here is a fresh link")
    chat = await people.sam.follow_link(fresh, "Sam: open your private chat")
    await chat.expect("your private space")
    before = len(people.group.bot_messages())
    await people.group.send(people.sam, "/support")
    info = await chat.next_bot_message()
    assert info.text.startswith(NEUTRAL_FIRST_LINE)
    await sandbox.settle(idle=0.1)
    assert len(people.group.bot_messages()) == before


async def test_support_for_a_partner_who_blocked_the_bot(couple: People) -> None:
    couple.alex.block_bot()
    await couple.group.send(couple.alex, "/support")
    unreachable = await couple.group.expect("I can't reach you there yet")
    assert "Alex" not in unreachable.text


async def test_support_and_outsiders(sandbox: Sandbox, couple: People) -> None:
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    await couple.group.send(casey, "/support")
    # Help is for anyone: a neutral line, naming no one, points to a private chat.
    pointer = await couple.group.expect("Help is here for anyone who asks", "send /support there")
    assert "Casey" not in pointer.text and "thanks for your interest" not in pointer.text
    [[open_chat]] = pointer.buttons
    assert open_chat.url is not None and open_chat.url.startswith("https://t.me/")
    # Anyone who asks in private gets the information, even without a couple (no switch).
    await casey.start_private()
    await casey.private.expect("Mend")
    await casey.send_private("/support")
    info = await casey.private.next_bot_message()
    assert info.text.startswith(NEUTRAL_FIRST_LINE)
    assert info.buttons == []


async def test_support_in_german(sandbox: Sandbox, couple: People) -> None:
    couple.alex.language_code = "de"
    await couple.alex.send_private("/timezone Berlin")
    await couple.alex.private.next_bot_message()
    await couple.group.send(couple.alex, "/support")
    info = await couple.alex.private.next_bot_message()
    assert info.text.split("\n")[0] == "Hier sind die Infos, nach denen du gefragt hast."
    assert info.contains(
        "Wenn du dich nicht sicher fühlst", "116 016", "privaten Browserfenster", "Zuerst Hilfe"
    )
    assert info.button_texts() == ["Gemeinsame Impulse pausieren"]


# -- the safety switch -----------------------------------------------------------------------


async def test_the_safety_switch_pauses_joint_prompts_without_saying_why(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    await couple.sam.send_private("/support")
    info = await couple.sam.private.expect("If you don't feel safe")
    group_before = len(couple.group.bot_messages())
    alexs_before = len(couple.alex.private.bot_messages())

    answer = await couple.sam.press(info, "Pause our joint prompts")
    assert not answer.show_alert
    paused = await couple.sam.private.expect("the joint prompts are paused", "Only you")
    assert paused.button_texts() == ["Switch joint prompts on again"]
    await sandbox.wait_until(
        lambda: info.button_texts() == ["Switch joint prompts on again"], "the switch flipped"
    )
    await sandbox.settle(idle=0.1)
    assert len(couple.group.bot_messages()) == group_before  # nothing is announced
    assert len(couple.alex.private.bot_messages()) == alexs_before

    # Alex learns only that prompts are paused for now, whatever Alex tries.
    for command in ("/checkin", "/checklist", "/visit"):
        await couple.group.send(couple.alex, command)
        notice = await couple.group.expect("Joint prompts are paused for now")
        assert "Sam" not in notice.text and _neutral(notice.text)
    # The weekly check-in's time comes and goes without a check-in; the series goes on.
    [weekly] = services.timers.pending(couple.group.id, WEEKLY)
    due = from_iso(weekly["due"])
    assert due is not None
    seen = len(couple.group.messages)
    await clock.to(due + timedelta(minutes=1), sandbox)
    arrived = couple.group.messages[seen:]
    assert not any(m.poll is not None or "Check-in" in m.text for m in arrived)
    [following] = services.timers.pending(couple.group.id, WEEKLY)
    assert following["id"] != weekly["id"]

    # Only Sam can switch them on again: Alex's own switch adds Alex's pause, lifts nothing.
    await couple.alex.send_private("/support")
    alexs = await couple.alex.private.expect("If you don't feel safe")
    assert alexs.button_texts() == ["Pause our joint prompts"]
    await couple.alex.press_data(alexs, "care:resume")
    await couple.alex.private.expect("on again")
    await couple.group.send(couple.alex, "/checkin")
    await couple.group.expect("Joint prompts are paused for now")

    await couple.sam.press(paused, "Switch joint prompts on again")
    await couple.sam.private.expect("The joint prompts are on again")
    await couple.group.send(couple.alex, "/checkin")
    await couple.group.expect("check-in")


async def test_setback_afraid_of_the_partner_brings_help_for_that_person_first(
    sandbox: Sandbox, couple: People
) -> None:
    await couple.alex.send_private("/timezone London")
    await couple.alex.private.expect("Time zone set")
    await couple.alex.send_private("/setback")
    check = await couple.alex.private.expect("A setback, or a red flag?")
    for answer in ("Yes", "No", "Yes", "Yes"):  # heard, repeated, talking, effort: no flags
        step = len(check.edits)
        await couple.alex.press(check, answer)
        await sandbox.wait_until(lambda s=step: len(check.edits) > s, "the next question")
    await couple.alex.press(check, "Yes")  # afraid of the partner
    await sandbox.wait_until(lambda: "Thank you" in check.text, "the reading")
    assert check.text.split("\n")[0] == "Thank you for answering these honestly."
    assert _neutral(check.text.split("\n")[0])

    safety = await couple.alex.private.expect("999", "0808 2000 247", "private browsing")
    assert safety.text.split("\n")[0] == "Something to keep at hand."
    assert safety.text.index("If you don't feel safe") < safety.text.index("Help for you, first")
    assert safety.button_texts() == ["Pause our joint prompts"]
    await sandbox.settle(idle=0.1)
    assert not any("999" in m.text for m in couple.sam.private.bot_messages())


# -- /faq ------------------------------------------------------------------------------------


async def test_faq_tapped_in_the_group_is_answered_privately(
    sandbox: Sandbox, couple: People
) -> None:
    await couple.group.send(couple.sam, "/faq")
    menu = await couple.group.expect("Questions many couples ask", "Tap one")
    assert len(menu.button_texts()) == 10
    group_before = len(couple.group.bot_messages())
    answer = await couple.sam.press(menu, "My partner won't change. What now?")
    assert answer.text == "Sent privately." and not answer.show_alert
    private = await couple.sam.private.expect(
        "My partner won't change. What now?",
        "one person can't repair a relationship for two",
        "sends this answer to Alex",
    )
    assert private.button_texts() == ["Share this with my partner"]
    await couple.alex.press(menu, "Can I ever trust fully again?")
    await couple.alex.private.expect(
        "Can I ever trust fully again?", "every promise you watched being kept", "has reasons"
    )
    await sandbox.settle(idle=0.1)
    assert len(couple.group.bot_messages()) == group_before  # nothing names who asked what

    # Sharing is Sam's choice, made in private.
    alexs_before = len(couple.alex.private.bot_messages())
    shared = await couple.sam.press(private, "Share this with my partner")
    assert shared.text == "Sent to Alex."
    note = await couple.alex.private.expect(
        "Sam wanted to share this with you.", "My partner won't change. What now?"
    )
    assert note.buttons == []
    assert len(couple.alex.private.bot_messages()) == alexs_before + 1
    await sandbox.settle(idle=0.1)
    assert len(couple.group.bot_messages()) == group_before


async def test_faq_by_number_and_in_private(sandbox: Sandbox, couple: People) -> None:
    await couple.group.send(couple.alex, "/faq 3")
    sent = await couple.group.expect("Sent privately.")
    assert sent.text == "Sent privately."
    await couple.alex.private.expect(
        "Is it fair to want more openness after being hurt?", "Passwords, tracking"
    )
    await couple.alex.send_private("/faq")
    private_menu = await couple.alex.private.expect("Questions many couples ask")
    answer = await couple.alex.press(private_menu, "How do I stop checking for signs?")
    assert answer.text is None
    await couple.alex.private.expect("Right now I'm scared that", "/worry")
    await couple.alex.press(private_menu, "I was the one hurt. Why is the work on me?")
    await couple.alex.private.expect("belongs to your partner, all of it")
    await couple.alex.press(private_menu, "Can therapy help when we live apart?")
    await couple.alex.private.expect("work by video", "/support")
    await couple.alex.send_private("/faq 9")
    await couple.alex.private.expect("each at its time", "end date", "/rituals", "/support")
    await couple.alex.send_private("/faq 10")
    await couple.alex.private.expect("made up but close to life", "no-contact boundary")


async def test_faq_for_someone_without_a_private_chat(sandbox: Sandbox, services: Services) -> None:
    people = await onboard(sandbox, services, open_private=False)
    await people.group.send(people.alex, "/faq")
    menu = await people.group.expect("Questions many couples ask")
    answer = await people.alex.press(menu, "How long does rebuilding trust take?")
    assert answer.show_alert and "private chat" in (answer.text or "")
    await people.group.send(people.alex, "/faq 1")
    unreachable = await people.group.expect("I answer that in a private chat")
    assert "Alex" not in unreachable.text


async def test_sharing_with_a_partner_who_has_no_private_chat(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, open_private=False)
    chat = await people.alex.follow_link(people.joined["Alex"], "Alex: open your private chat")
    await chat.expect("your private space")
    await people.alex.send_private("/faq 2")
    answer_message = await chat.expect("Can I ever trust fully again?")
    answer = await people.alex.press(answer_message, "Share this with my partner")
    assert answer.show_alert and "Sam hasn't opened a private chat" in (answer.text or "")


async def test_faq_with_wrong_arguments(couple: People) -> None:
    for typed in ("0", "11", "why"):
        await couple.group.send(couple.alex, f"/faq {typed}")
        await couple.group.expect(
            f"I didn't understand “{typed}”", "a number from 1 to 10", "/faq 1"
        )


async def test_faq_forged_and_outsider_presses(sandbox: Sandbox, couple: People) -> None:
    await couple.group.send(couple.alex, "/faq")
    menu = await couple.group.expect("Questions many couples ask")
    answer = await couple.alex.press_data(menu, "faq:secrets")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    answer = await couple.alex.press_data(menu, "faq:share:how_long")  # only in private
    assert not answer.show_alert
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    answer = await casey.press(menu, "How long does rebuilding trust take?")
    assert answer.show_alert and "Alex & Sam" in (answer.text or "")
    await sandbox.settle(idle=0.1)
    assert couple.group.bot_messages()[-1] is menu
    assert not any("How long" in m.text for m in couple.sam.private.bot_messages())


async def test_faq_in_german(couple: People) -> None:
    couple.alex.language_code = "de"
    await couple.group.send(couple.alex, "/faq")
    menu = await couple.group.expect("Fragen, die viele Paare stellen")
    couple.sam.language_code = "de"
    answer = await couple.sam.press(menu, "Kann ich je wieder ganz vertrauen?")
    assert answer.text == "Privat geschickt."
    await couple.sam.private.expect("jedes gehaltene Versprechen, das du miterlebt hast")
