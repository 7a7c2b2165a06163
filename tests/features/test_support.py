"""/support and /faq through the sandbox: help goes privately to whoever asked, with a neutral
first line; the group sees only that something was sent; the FAQ answers where it was asked."""

from __future__ import annotations

from bot.context import Services
from bot.sandbox import Sandbox
from tests.conftest import People, onboard

NEUTRAL_FIRST_LINE = "Here is the information you asked for."
# Words that would tell the group (or a lock screen) what was asked for.
REVEALING = ("safe", "therap", "support", "danger", "help", "emergency", "abuse")


async def test_support_from_the_group_goes_only_to_the_asker(
    sandbox: Sandbox, couple: People
) -> None:
    sams_private_before = len(couple.sam.private.bot_messages())
    await couple.group.send(couple.alex, "/support")
    notice = await couple.group.expect("Alex, I've sent that to you privately.")
    assert not any(word in notice.text.lower() for word in REVEALING)
    assert notice.buttons == []

    info = await couple.alex.private.next_bot_message()
    assert info.text.split("\n")[0] == NEUTRAL_FIRST_LINE
    assert info.contains(
        "If you don't feel safe",
        "your local emergency number",
        "local helpline",
        "You don't need to tell your partner",
        "When it may be time",
        "What you'd find there",
        "Online couples therapy",
        "I'm not a therapist",
    )
    assert "http" not in info.html and not any(ch.isdigit() for ch in info.text)

    await sandbox.settle(idle=0.1)
    assert len(couple.sam.private.bot_messages()) == sams_private_before  # never told
    assert couple.group.bot_messages()[-1] is notice


async def test_support_in_private(couple: People) -> None:
    await couple.sam.send_private("/support")
    info = await couple.sam.private.expect("When it may be time")
    assert info.text.startswith(NEUTRAL_FIRST_LINE)


async def test_support_for_someone_who_has_no_private_chat_yet(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, open_private=False)
    await people.group.send(people.sam, "/support")
    unreachable = await people.group.expect(
        "Sam, I can't reach you privately yet", "send the command again"
    )
    assert not any(word in unreachable.text.lower() for word in REVEALING)
    await people.sam.press(unreachable, "A new link to my private chat")
    fresh = await people.group.expect("Sam, here is a fresh link")
    chat = await people.sam.follow_link(fresh, "Sam: open your private chat")
    await chat.expect("your private space")
    await people.group.send(people.sam, "/support")
    await people.group.expect("Sam, I've sent that to you privately.")
    info = await chat.next_bot_message()
    assert info.text.startswith(NEUTRAL_FIRST_LINE)


async def test_support_for_a_partner_who_blocked_the_bot(couple: People) -> None:
    couple.alex.block_bot()
    await couple.group.send(couple.alex, "/support")
    await couple.group.expect("Alex, I can't reach you privately yet")


async def test_support_and_outsiders(sandbox: Sandbox, couple: People) -> None:
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    await couple.group.send(casey, "/support")
    await couple.group.expect("Hi Casey", "Nothing has been changed")
    # Anyone who asks in private gets the information, even without a couple.
    await casey.start_private()
    await casey.private.expect("Mend")
    await casey.send_private("/support")
    info = await casey.private.next_bot_message()
    assert info.text.startswith(NEUTRAL_FIRST_LINE)


async def test_support_in_german(couple: People) -> None:
    couple.alex.language_code = "de"
    await couple.group.send(couple.alex, "/support")
    await couple.group.expect("Alex, ich hab's dir privat geschickt.")
    info = await couple.alex.private.next_bot_message()
    assert info.text.split("\n")[0] == "Hier sind die Infos, nach denen du gefragt hast."
    assert info.contains("Wenn du dich nicht sicher fühlst", "Online-Paartherapie")


# -- /faq ------------------------------------------------------------------------------------


async def test_faq_answers_where_it_was_asked(couple: People) -> None:
    await couple.group.send(couple.sam, "/faq")
    menu = await couple.group.expect("Questions many couples ask", "Tap one")
    assert len(menu.button_texts()) == 10
    await couple.alex.press(menu, "Can I ever trust fully again?")
    await couple.group.expect(
        "Can I ever trust fully again?", "every promise you watched being kept", "has reasons"
    )
    await couple.sam.press(menu, "I was the one hurt. Why is the work on me?")
    await couple.group.expect("belongs to your partner, all of it")
    await couple.sam.press(menu, "Can therapy help when we live apart?")
    await couple.group.expect("work by video", "/support")

    await couple.alex.send_private("/faq")
    private_menu = await couple.alex.private.expect("Questions many couples ask")
    await couple.alex.press(private_menu, "How do I stop checking for signs?")
    await couple.alex.private.expect("Right now I'm scared that", "/worry")

    await couple.group.send(couple.alex, "/faq 3")
    await couple.group.expect(
        "Is it fair to want more openness after being hurt?", "Passwords, tracking"
    )
    await couple.sam.press(menu, "Openness, rituals or therapy: which suits us?")
    await couple.group.expect("each at its time", "end date", "/rituals", "/support")
    await couple.alex.press(menu, "What can repair look like for a couple?")
    await couple.group.expect("made up but close to life", "no-contact boundary")


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
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    answer = await casey.press(menu, "How long does rebuilding trust take?")
    assert answer.show_alert and "Alex & Sam" in (answer.text or "")
    await sandbox.settle(idle=0.1)
    assert couple.group.bot_messages()[-1] is menu


async def test_faq_in_german(couple: People) -> None:
    couple.alex.language_code = "de"
    await couple.group.send(couple.alex, "/faq")
    menu = await couple.group.expect("Fragen, die viele Paare stellen")
    await couple.sam.press(menu, "Kann ich je wieder ganz vertrauen?")
    await couple.group.expect("jedes gehaltene Versprechen, das du miterlebt hast")
