"""Who reads the group, through the sandbox: with more people in the group than the two
partners, Mend says so before setup and before posting anything personal, and the couple
chooses (and changes in /settings) whether personal things are posted there or go to each of
them privately; a friend who tapped "I'm in" first gives their place to the real partner and
nothing the couple set up is lost."""

from __future__ import annotations

from bot.context import Services
from bot.features.checkins import CHECKINS_TABLE
from bot.features.repair_track import TRACK_TABLE
from bot.sandbox import Sandbox, SandboxChat, SandboxUser
from tests.conftest import Clock, People, agree, onboard
from tests.features.test_checkins import reflect, start
from tests.features.test_repair_track import BREACH_BUTTONS
from tests.test_telegram_behaviour import a_worry_to_choose

NOTICE = "Before I post anything personal here"
TRACK_QUESTION = "What kind of breach are you repairing?"


async def with_a_friend(sandbox: Sandbox, couple: People) -> SandboxUser:
    """Casey joins the couple's group after setup."""
    casey = sandbox.user("Casey", language_code="en")
    await couple.group.add_member(casey, by=couple.alex)
    await sandbox.settle()
    return casey


async def test_a_personal_post_waits_for_the_couples_choice_and_goes_here_when_both_agree(
    sandbox: Sandbox, couple: People
) -> None:
    await with_a_friend(sandbox, couple)
    await couple.group.send(couple.alex, "/plan track")
    notice = await couple.group.expect(NOTICE, "4 members", "one more person than the two of you")
    assert notice.button_texts() == ["Post here anyway", "Send to each of us privately"]
    await sandbox.settle()
    assert not any(TRACK_QUESTION in m.text for m in couple.group.bot_messages())

    answer = await couple.alex.press(notice, "Post here anyway")
    assert answer.text == "Noted. It's posted here once you've both tapped it."
    await sandbox.wait_until(lambda: "Alex would post them here" in notice.text, "Alex's vote")
    assert "waiting for Sam" in notice.text
    assert not any(TRACK_QUESTION in m.text for m in couple.group.bot_messages())

    await couple.sam.press(notice, "Post here anyway")
    question = await couple.group.expect(TRACK_QUESTION)
    assert "you both chose to have personal things posted here" in notice.text
    assert notice.buttons == []
    assert question.button_texts() == BREACH_BUTTONS
    # Chosen once: the next personal post comes at once.
    await couple.group.send(couple.sam, "/plan track")
    await couple.group.expect(TRACK_QUESTION)


async def test_privately_is_decided_by_one_tap_and_the_group_sees_nothing(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    await with_a_friend(sandbox, couple)
    await couple.group.send(couple.alex, "/plan track")
    notice = await couple.group.expect(NOTICE)
    await couple.sam.press(notice, "Send to each of us privately")
    alexs = await couple.alex.private.expect(TRACK_QUESTION)
    assert notice.contains("personal things go to each of you privately", "Sam chose it")
    sams = await couple.sam.private.expect(TRACK_QUESTION)
    assert alexs.button_texts() == sams.button_texts() == BREACH_BUTTONS
    # Answered in private, the track is proposed to Sam privately, and once agreed it is
    # shown to both of them privately, not in the group.
    await couple.alex.press(alexs, "Infidelity")
    await couple.alex.private.expect("I've put it to Sam in their private chat")
    await agree(couple.sam.private, couple.sam, "Alex names the breach as infidelity")
    await couple.alex.private.expect("infidelity")
    await couple.sam.private.expect("infidelity")
    await sandbox.settle()
    assert not any("infidelity" in m.text.lower() for m in couple.group.bot_messages())

    # A check-in's answers go to each of them privately too.
    poll = await start(couple, couple.alex)
    await couple.alex.answer_poll(poll, [3])
    await reflect(couple.alex, ["We laughed on the call", "b", "c"], [True, False, False])
    for number, text in enumerate(["You called when you said", "e", "f"], start=1):
        question = await couple.sam.private.expect(f"{number} of 3")
        if number == 1:
            assert "comes to each of you privately" in question.text
        await couple.sam.private.reply(couple.sam, to=question, text=text)
        choice = await couple.sam.private.expect("Saved, privately")
        await couple.sam.press(choice, "Share it" if number == 1 else "Keep it private")
    for person in (couple.alex, couple.sam):
        reveal = await person.private.wait_for(lambda m: "side by side" in m.text)
        assert "We laughed on the call" in reveal.text and "You called" in reveal.text
    await sandbox.settle()
    assert not any("We laughed" in m.text for m in couple.group.bot_messages())
    [checkin] = services.store.records(couple.group.id, CHECKINS_TABLE)
    assert checkin["state"] == "revealed"


async def test_the_choice_changes_in_settings_and_more_people_ask_again(
    sandbox: Sandbox, couple: People
) -> None:
    await with_a_friend(sandbox, couple)
    await couple.group.send(couple.sam, "/settings")
    overview = await couple.group.expect("How things are set up")
    await couple.sam.press(overview, "Where personal things go")
    choice = await couple.group.expect("Where personal things go", "You haven't chosen yet")
    await couple.alex.press(choice, "Post here anyway")
    await sandbox.wait_until(lambda: "waiting for Sam" in choice.text, "Alex's vote")
    await couple.sam.press(choice, "Post here anyway")
    await sandbox.wait_until(lambda: "you both chose" in choice.text, "the choice made")
    await couple.group.send(couple.alex, "/plan track")
    await couple.group.expect(TRACK_QUESTION)

    # One more person joins: they are asked again before the next personal post.
    robin = sandbox.user("Robin")
    await couple.group.add_member(robin, by=couple.sam)
    await sandbox.settle()
    await couple.group.send(couple.alex, "/plan track")
    await couple.group.expect(NOTICE, "5 members", "2 more people")


async def test_a_shared_worry_goes_to_each_privately_when_they_chose_so(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await with_a_friend(sandbox, couple)
    await couple.group.send(couple.sam, "/settings")
    await couple.sam.press(
        await couple.group.expect("How things are set up"), "Where personal things go"
    )
    choice = await couple.group.expect("Where personal things go")
    await couple.sam.press(choice, "Send to each of us privately")
    await sandbox.wait_until(lambda: "privately" in choice.text and not choice.buttons, "chosen")

    item = await a_worry_to_choose(couple, clock, sandbox, "The trip with your friends")
    await couple.alex.press(item, "Share it now")
    for person in (couple.alex, couple.sam):
        await person.private.wait_for(
            lambda m: "would like to talk about this" in m.text and "The trip" in m.text
        )
    await sandbox.settle()
    assert not any("The trip" in m.text for m in couple.group.bot_messages())


async def test_two_people_see_no_notice(sandbox: Sandbox, couple: People) -> None:
    await couple.group.send(couple.alex, "/plan track")
    await couple.group.expect(TRACK_QUESTION)
    assert not any(NOTICE in m.text for m in couple.group.bot_messages())
    assert not any("A word first" in m.text for m in couple.group.bot_messages())


async def test_a_partner_without_a_private_chat_gets_their_copy_when_they_open_it(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, open_private=False)
    await with_a_friend(sandbox, people)
    chat = await people.alex.follow_link(people.joined["Alex"], "Alex: open your private chat")
    await chat.expect("your private space")
    await people.group.send(people.alex, "/plan track")
    notice = await people.group.expect(NOTICE)
    await people.alex.press(notice, "Send to each of us privately")
    pointer = await people.group.expect("Sam, something personal from me is waiting")
    assert "go to each of you privately" in notice.text
    assert TRACK_QUESTION not in pointer.text
    await chat.expect(TRACK_QUESTION)
    await people.sam.press(pointer, "A new link to my private chat")
    fresh = await people.group.expect("Sam, here is a fresh link")
    sams = await people.sam.follow_link(fresh, "Sam: open your private chat")
    await sams.expect("your private space")
    await sams.expect(TRACK_QUESTION)


# -- setup with more people in the group, and a place taken by mistake ----------------------


async def _group_of_three(
    sandbox: Sandbox,
) -> tuple[SandboxUser, SandboxUser, SandboxUser, SandboxChat]:
    alex = sandbox.user("Alex", language_code="en")
    sam = sandbox.user("Sam", language_code="en")
    casey = sandbox.user("Casey", language_code="en")
    group = sandbox.group("Alex & Sam", members=[alex, casey, sam])
    await group.add_bot(by=alex)
    return alex, sam, casey, group


async def test_setup_says_so_and_a_friend_gives_the_place_back_without_losing_anything(
    sandbox: Sandbox, services: Services
) -> None:
    alex, sam, casey, group = await _group_of_three(sandbox)
    welcome = await group.expect("I'm Mend", "A word first", "one more person is in this group")
    await alex.press(welcome, "I'm in")
    await group.expect("Alex", "is in")
    await casey.press(welcome, "I'm in")  # by mistake
    await group.expect("Casey", "is in")
    notice = await group.expect(NOTICE, "4 members")
    path = await group.expect("Which of these fits")
    await alex.press(path, "Repair after a breach")
    await group.expect("Alex proposes", "Casey, does that fit for you too?")

    # Sam, the real partner, taps "I'm in": that asks for a place.
    answer = await sam.press(welcome, "I'm in")
    assert answer.show_alert
    offer = await group.expect("Sam would like to be one of the two", "Alex and Casey are in")
    assert offer.button_texts() == ["Give my place to Sam"]
    await sam.press(welcome, "I'm in")  # asking again asks nothing new
    await sandbox.settle()
    assert group.bot_messages()[-1] is offer

    await casey.press(offer, "Give my place to Sam")
    await sandbox.wait_until(lambda: "Alex, do you agree?" in offer.text, "Alex asked")
    answer = await casey.press(offer, "Yes, agreed")
    assert answer.show_alert and "other partner" in (answer.text or "")
    await alex.press(offer, "Yes, agreed")
    link = await group.expect("Sam, here is a fresh link")
    assert offer.contains("Done: Sam is in, in place of Casey", "Everything you've set up stays")
    # The path, put to Casey, is asked again: Alex proposes it and Sam agrees this time.
    path = await group.wait_for(lambda m: "Which of these fits" in m.text and m.buttons != [])
    await alex.press(path, "Repair after a breach")
    await agree(group, sam, "Alex proposes", "Sam, does that fit")
    roles = await group.expect("Would you like to say")
    assert roles.button_texts() == [
        "Alex is doing the repair work",
        "Sam is doing the repair work",
        "Skip roles",
    ]
    chat = await sam.follow_link(link, "Sam: open your private chat")
    await chat.expect("your private space")
    await sam.press(roles, "Skip roles")
    await agree(group, alex, "Sam proposes no roles")
    await group.expect("Today is day 1")

    couple = services.store.couple(group.id)
    assert couple is not None
    assert [p.name for p in couple.partners] == ["Alex", "Sam"]
    assert couple.path == "repair"  # what they set up stays
    assert services.store.chats_of_user(casey.id) == []
    await group.send(casey, "/settings")
    await group.expect("Hi Casey", "Alex and Sam")
    # The question asked before setup still decides where personal things go.
    await sam.press(notice, "Send to each of us privately")
    await sandbox.wait_until(lambda: "go to each of you privately" in notice.text, "the choice")


async def test_a_place_is_only_given_when_the_other_partner_agrees(
    sandbox: Sandbox, services: Services
) -> None:
    alex, sam, casey, group = await _group_of_three(sandbox)
    welcome = await group.expect("I'm Mend")
    await alex.press(welcome, "I'm in")
    await casey.press(welcome, "I'm in")
    await sam.press(welcome, "I'm in")
    offer = await group.wait_for(lambda m: "Sam would like to be one of the two" in m.text)
    await casey.press(offer, "Give my place to Sam")
    await sandbox.wait_until(lambda: "Alex, do you agree?" in offer.text, "Alex asked")
    await alex.press(offer, "No, leave it as it is")
    await sandbox.wait_until(lambda: "nothing changes" in offer.text, "declined")
    couple = services.store.couple(group.id)
    assert couple is not None and [p.name for p in couple.partners] == ["Alex", "Casey"]


async def test_the_named_breach_stays_out_of_scripts_someone_else_reads(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    with services.store.transaction(couple.group.id) as tx:
        tx.table(TRACK_TABLE).insert({"kind": "other", "breach": "neglect", "exercises": None})
    await with_a_friend(sandbox, couple)
    await couple.group.send(couple.alex, "/script apology")
    script = await couple.group.expect("An apology without defending")
    assert "neglect" not in script.text
    await couple.group.send(couple.alex, "/script")
    menu = await couple.group.expect("Words for hard moments")
    assert "You named the breach" not in menu.text
    assert menu.button_texts()[0] == "Saying plainly what happened"  # the usual order

    # In private the script is Alex's alone to read.
    await couple.alex.send_private("/script apology")
    await couple.alex.private.expect("After neglect, for example")
