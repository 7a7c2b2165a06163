"""Personal settings through the sandbox: time zone (with typos), quiet hours, language."""

from __future__ import annotations

from bot.sandbox import Sandbox
from tests.conftest import People, agree


async def test_time_zone_by_city_in_private(couple: People) -> None:
    chat = couple.alex.private
    await couple.alex.send_private("/timezone berlin")
    await chat.expect("Time zone set to Europe/Berlin")
    assert couple.couple().partner(couple.alex.id).timezone == "Europe/Berlin"  # type: ignore[union-attr]


async def test_a_typo_gets_suggestions_as_buttons(couple: People) -> None:
    chat = couple.sam.private
    await couple.sam.send_private("/timezone sydny")
    await chat.expect("Time zone set to Australia/Sydney")  # a known alternate spelling
    await couple.sam.send_private("/timezone melborne")
    suggestions = await chat.expect("couldn't place", "melborne")
    await couple.sam.press(suggestions, "Melbourne (Australia/Melbourne)")
    await chat.expect("Time zone set to Australia/Melbourne")
    assert couple.couple().partner(couple.sam.id).timezone == "Australia/Melbourne"  # type: ignore[union-attr]


async def test_an_unknown_place_explains_what_works(couple: People) -> None:
    await couple.alex.send_private("/timezone <b>Atlantis</b>")
    answer = await couple.alex.private.expect(
        "couldn't find a place", "<b>Atlantis</b>", "/timezone UTC+2"
    )
    assert "<b>Atlantis</b>" in answer.text  # shown as typed, not as formatting


async def test_time_zone_asked_in_the_group_with_a_reply(couple: People) -> None:
    group = couple.group
    await group.send(couple.alex, "/timezone")
    question = await group.expect("Alex, which city or time zone")
    assert question.force_reply
    # Sam answering Alex's question is told whose it is; Alex's own answer counts.
    await group.reply(couple.sam, to=question, text="Tokyo")
    await group.expect("Sam, that question was for Alex", "send /timezone yourself")
    await group.reply(couple.alex, to=question, text="Lisbon")
    await group.expect("Time zone set to Europe/Lisbon")
    couple_now = couple.couple()
    assert couple_now.partner(couple.alex.id).timezone == "Europe/Lisbon"  # type: ignore[union-attr]
    assert couple_now.partner(couple.sam.id).timezone is None  # type: ignore[union-attr]


async def test_quiet_hours(couple: People) -> None:
    chat = couple.alex.private
    await couple.alex.send_private("/quiet 10pm-7am")
    await chat.expect("Quiet hours set to 22:00–07:00")
    await couple.alex.send_private("/quiet whenever")
    await chat.expect("couldn't read", "/quiet 22:00-07:00", "/quiet off")
    await couple.alex.send_private("/quiet")
    shown = await chat.expect("Your quiet hours: 22:00–07:00")
    await couple.alex.press(shown, "No quiet hours")
    await chat.expect("Quiet hours are off")
    partner = couple.couple().partner(couple.alex.id)
    assert partner is not None and partner.quiet_start is None


async def test_settings_overview_in_the_group(couple: People) -> None:
    await couple.alex.send_private("/timezone Europe/Berlin")
    await couple.alex.private.expect("Time zone set")
    await couple.group.send(couple.sam, "/settings")
    overview = await couple.group.expect(
        "How things are set up", "Europe/Berlin", "Private chat: open"
    )
    await couple.sam.press(overview, "My quiet hours")
    await couple.group.expect("Your quiet hours")


async def test_settings_in_private(couple: People) -> None:
    await couple.sam.send_private("/settings")
    mine = await couple.sam.private.expect("Your settings", "not set yet", "Alex & Sam")
    await couple.sam.press(mine, "My time zone")
    question = await couple.sam.private.expect("which city or time zone")
    await couple.sam.private.reply(couple.sam, to=question, text="auckland")
    await couple.sam.private.expect("Time zone set to Pacific/Auckland")


async def test_language_choice_in_private(couple: People) -> None:
    await couple.alex.send_private("/language")
    choice = await couple.alex.private.expect("Which language")
    await couple.alex.press(choice, "English")
    await couple.alex.private.expect("I'll write to you in English")
    partner = couple.couple().partner(couple.alex.id)
    assert partner is not None and partner.language == "en"
    await couple.alex.send_private("/language")
    choice = await couple.alex.private.expect("Which language")
    await couple.alex.press(choice, "Follow my Telegram app")
    await couple.alex.private.expect("I'll follow the language of your Telegram app")
    partner = couple.couple().partner(couple.alex.id)
    assert partner is not None and partner.language is None


async def test_language_named_in_the_command_and_refusals_in_the_chosen_language(
    couple: People,
) -> None:
    alex = couple.alex  # Alex's Telegram app speaks English
    await alex.send_private("/language de")
    await alex.private.expect("Ich schreibe dir ab jetzt auf Deutsch")
    await alex.send_private("/checkin")  # a group command, refused in Alex's chosen language
    await alex.private.expect("Das gehört in eure gemeinsame Gruppe")
    await alex.send_private("/language Englisch")
    await alex.private.expect("I'll write to you in English")
    await alex.send_private("/language klingon")
    choice = await alex.private.expect("I don't speak “klingon” yet", "/language de")
    assert "Deutsch" in choice.button_texts()
    await alex.send_private("/language auto")
    await alex.private.expect("I'll follow the language of your Telegram app")

    # The group's, in the group: it binds both, so Alex is asked first.
    await couple.group.send(couple.sam, "/language German")
    await agree(couple.group, alex, "Sam would like me to write in Deutsch")
    await couple.group.expect("In dieser Gruppe schreibe ich ab jetzt auf Deutsch")


async def test_help_lists_commands_by_purpose_and_menus_are_set(
    sandbox: Sandbox, couple: People
) -> None:
    await couple.group.send(couple.alex, "/help")
    await couple.group.expect("What we can do together", "/settings", "/forget")
    await couple.alex.send_private("/help")
    private_help = await couple.alex.private.expect("in private", "/timezone", "/export")
    assert "/forget" not in private_help.text
    group_menu = [c["command"] for c in sandbox.commands("all_group_chats")]
    private_menu = [c["command"] for c in sandbox.commands("all_private_chats")]
    assert "forget" in group_menu and "forget" not in private_menu
    assert {"start", "help", "settings", "timezone", "export"} <= set(private_menu)


async def test_each_partner_is_answered_in_their_own_language(
    sandbox: Sandbox, couple: People
) -> None:
    # Sam's Telegram app speaks German; the group follows the first partner (English).
    couple.sam.language_code = "de"
    await couple.sam.send_private("/timezone Wien")
    await couple.sam.private.expect("Zeitzone gespeichert", "Europe/Vienna")
    await couple.group.send(couple.sam, "/timezone Wien")
    await couple.group.expect("Time zone set to Europe/Vienna")

    # A choice beats the app's language, in private and for the group.
    await couple.alex.send_private("/language")
    choice = await couple.alex.private.expect("Which language")
    await couple.alex.press(choice, "Deutsch")
    await couple.alex.private.expect("Ich schreibe dir ab jetzt auf Deutsch")
    await couple.group.send(couple.sam, "/language")
    choice = await couple.group.expect("Which language should I use in this group")
    await couple.sam.press(choice, "Deutsch")
    proposed = await couple.group.expect(
        "Sam would like me to write in Deutsch in this group", "Alex, is that all right"
    )
    await couple.alex.press(proposed, "Not like this")
    await couple.group.expect("Not agreed, so I'll keep writing here as before")
    assert couple.couple().language is None
    await couple.group.send(couple.sam, "/language")
    choice = await couple.group.expect("Which language should I use in this group")
    await couple.sam.press(choice, "Deutsch")
    await agree(couple.group, couple.alex, "Sam would like me to write in Deutsch")
    await couple.group.expect("In dieser Gruppe schreibe ich ab jetzt auf Deutsch")
    assert couple.couple().language == "de"
    await couple.group.send(couple.alex, "/help")
    await couple.group.expect("/settings")
    assert sandbox.commands("all_private_chats", "de")  # German command menus exist too


async def test_a_newer_proposal_for_the_groups_language_closes_the_older_one(
    sandbox: Sandbox, couple: People
) -> None:
    group = couple.group
    await group.send(couple.sam, "/language German")
    older = await group.wait_for(lambda m: "Sam would like me to write in Deutsch" in m.text)
    yes = str(older.buttons[0][0].callback_data)
    await group.send(couple.alex, "/language English")
    newer = await group.wait_for(lambda m: "Alex would like me to write in English" in m.text)
    await sandbox.wait_until(lambda: older.buttons == [], "the older proposal closed")
    answer = await couple.alex.press_data(older, yes)  # a copy of the older "Yes, agreed"
    assert answer.show_alert and "no longer current" in (answer.text or "")
    assert couple.couple().language is None
    await couple.sam.press(newer, "Yes, agreed")
    await group.expect("I'll write in English")
    assert couple.couple().language == "en"


async def test_settings_asks_for_the_path_and_the_roles_again(couple: People) -> None:
    await couple.group.send(couple.alex, "/settings")
    overview = await couple.group.expect("How things are set up")
    await couple.alex.press(overview, "Our path")
    path = await couple.group.expect("Which of these fits where you are right now?")
    await couple.sam.press(path, "Trusting again")
    await agree(couple.group, couple.alex, "Sam proposes")
    await couple.group.expect("Agreed, as Sam proposed", "trusting again")
    await couple.sam.press(overview, "Roles")
    await couple.group.expect("Your path", "trusting again", "Would you like to say")
