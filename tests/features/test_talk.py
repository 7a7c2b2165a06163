"""/script and /starter through the sandbox: scripts by situation and role, starters by phase
and depth without repeats, wrong arguments, outsiders, forged presses, German."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from jinja2 import UndefinedError

from bot.context import Services
from bot.features.talk import DEPTHS, STARTERS_PER_SET, STARTERS_USED_TABLE
from bot.model import utcnow
from bot.render import Renderer
from bot.roadmap import PHASES
from bot.sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage
from tests.conftest import People, agree, onboard


async def choose_roles(people: People, repairing: SandboxUser) -> None:
    """The couple says who is doing the repair work, through /settings."""
    await people.group.send(people.alex, "/settings")
    overview = await people.group.expect("How things are set up")
    await people.alex.press(overview, "Roles")
    question = await people.group.expect("Would you like to say")
    await people.sam.press(question, f"{repairing.name} is doing the repair work")
    await agree(people.group, people.alex, "Sam proposes these roles")
    await people.group.expect("Noted:")


def starter_of(message: SentMessage) -> str:
    """The starter itself: the quoted line under the heading."""
    return message.text.split("\n")[2]


def starter_set(services: Services, locale: str, phase: str, depth: str) -> set[str]:
    """Every starter of one phase and depth, as people read them."""
    found = set()
    for index in range(STARTERS_PER_SET):
        rendered = services.render.message(
            locale, "talk/starter", month=1, phase=phase, depth=depth, index=index, restarted=False
        )
        quoted = re.search(r"<blockquote>(.*)</blockquote>", rendered)
        assert quoted is not None
        found.add(html.unescape(quoted.group(1)))
    return found


# -- /script ---------------------------------------------------------------------------------


async def test_scripts_are_offered_by_role_but_open_to_both(couple: People) -> None:
    await choose_roles(couple, repairing=couple.alex)

    await couple.group.send(couple.alex, "/script")
    menu = await couple.group.expect(
        "Words for hard moments", "Alex, the first 6 fit you as the partner doing the repair"
    )
    assert menu.button_texts()[:4] == [
        "Saying plainly what happened",
        "An apology without defending",
        "Listening: reflect, validate, ask",
        "Answering with care when they open up",
    ]
    assert "Sharing your past, bit by bit" not in menu.button_texts()  # the other path's

    await couple.group.send(couple.sam, "/script")
    sams = await couple.group.expect("Sam, the first 7 fit you as the partner who was hurt")
    assert sams.button_texts()[0] == "Words for the one who was hurt"
    assert sorted(sams.button_texts()) == sorted(menu.button_texts())  # same scripts, reordered

    # Sam taps a script offered first to Alex: roles never decide who may use them.
    answer = await couple.sam.press(menu, "An apology without defending")
    assert not answer.show_alert
    script = await couple.group.expect(
        "An apology without defending", "[what you did]", "from now on: [one concrete change"
    )
    assert any(e["type"] == "blockquote" for e in script.entities)

    await couple.alex.press(sams, "Gentler words for hard questions")
    await couple.group.expect("Instead of:", "Try:", "[what you feel like saying]")


async def test_without_roles_both_sides_material_comes_in_order(couple: People) -> None:
    await couple.group.send(couple.sam, "/script")
    menu = await couple.group.expect("Sam, you two haven't chosen roles")
    assert menu.button_texts()[:3] == [
        "Saying plainly what happened",
        "An apology without defending",
        "Words for the one who was hurt",
    ]
    await couple.alex.press(menu, "When … then …")
    await couple.group.expect("When [the specific thing that happens], I [what happens in you]")
    await couple.sam.press(menu, "“I” statements")
    await couple.group.expect("I feel [one feeling] when [a specific moment")


async def test_the_new_path_gets_scripts_for_sharing_the_past(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, path="Trusting again")
    await people.group.send(people.alex, "/script")
    menu = await people.group.expect("Words for hard moments")
    assert menu.button_texts()[:3] == [
        "Sharing your past, bit by bit",
        "Talking about an old fear",
        "“I” statements",
    ]
    assert "Telling your partner about a trigger" in menu.button_texts()
    assert "Saying plainly what happened" not in menu.button_texts()
    await people.sam.press(menu, "Sharing your past, bit by bit")
    await people.group.expect("[a small piece of your story]", "How is it for you to hear this?")
    await people.alex.press(menu, "Talking about an old fear")
    await people.group.expect("I notice I get anxious when [the situation]")
    await people.alex.press(menu, "Telling your partner about a trigger")
    await people.group.expect("In the moment:", "On a calm day")
    # Any script is still there by name.
    await people.group.send(people.sam, "/script acknowledge")
    await people.group.expect("Saying plainly what happened", "[what you did, in one or two")


async def test_scripts_in_private(couple: People) -> None:
    await couple.alex.send_private("/script")
    menu = await couple.alex.private.expect("Words for hard moments")
    await couple.alex.press(menu, "Listening: reflect, validate, ask")
    await couple.alex.private.expect("Reflect what you heard", "[their words, shorter]")
    await couple.alex.send_private("/script hurt")
    await couple.alex.private.expect("Words for the one who was hurt")
    assert not any("Words for" in m.text for m in couple.group.bot_messages())  # private


async def test_script_with_a_wrong_name_lists_the_right_ones(couple: People) -> None:
    await couple.group.send(couple.alex, "/script <b>banana</b>")
    await couple.group.expect(
        "I don't have a script called “<b>banana</b>”",
        "/script apology — An apology without defending",
        "/script whenthen — When … then …",
    )


async def test_outsiders_and_forged_presses_change_nothing(
    sandbox: Sandbox, couple: People
) -> None:
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    await couple.group.send(casey, "/script")
    await couple.group.expect("Hi Casey", "Alex and Sam")

    await couple.group.send(couple.alex, "/script")
    menu = await couple.group.expect("Words for hard moments")
    answer = await casey.press(menu, "An apology without defending")
    assert answer.show_alert and "Alex & Sam" in (answer.text or "")
    answer = await couple.alex.press_data(menu, "script:../../secret")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    await sandbox.settle(idle=0.1)
    assert couple.group.bot_messages()[-1] is menu  # no script was sent for either


# -- /starter --------------------------------------------------------------------------------


async def test_starters_never_repeat_until_the_set_is_used_up(
    couple: People, services: Services
) -> None:
    await couple.group.send(couple.alex, "/starter")
    choose = await couple.group.expect("Month 1 · feeling safe again", "Something light")
    seen = []
    for turn in range(STARTERS_PER_SET):
        person = couple.alex if turn % 2 else couple.sam
        await person.press(choose, "Something light")
        starter = await couple.group.expect(
            "Month 1 · feeling safe again · something light", "Take turns"
        )
        assert "started the list again" not in starter.text
        seen.append(starter_of(starter))
    assert len(set(seen)) == STARTERS_PER_SET
    assert set(seen) == starter_set(services, "en", "stabilise", "light")
    records = services.store.records(couple.group.id, STARTERS_USED_TABLE)
    assert len(records) == STARTERS_PER_SET

    # All used: the set starts over, gently, and not with the one just heard.
    await couple.alex.press(starter, "Something light")
    again = await couple.group.expect(
        "You've talked through every light question", "started the list again"
    )
    assert starter_of(again) != seen[-1]
    assert len(services.store.records(couple.group.id, STARTERS_USED_TABLE)) == 1

    # The deeper set is counted on its own.
    await couple.sam.press(again, "Something deeper")
    deeper = await couple.group.expect("something deeper")
    assert "started the list again" not in deeper.text
    assert starter_of(deeper) in starter_set(services, "en", "stabilise", "deeper")


async def test_the_phase_follows_the_roadmap_month(couple: People, services: Services) -> None:
    async def move_day_one(days_ago: int) -> None:
        with services.store.transaction(couple.group.id) as tx:
            stored = tx.couple()
            assert stored is not None
            stored.setup_completed_at = utcnow() - timedelta(days=days_ago)
            tx.save(stored)

    await move_day_one(130)
    await couple.group.send(couple.sam, "/starter deeper")
    month_five = await couple.group.expect("Month 5 · growing closer · something deeper")
    assert starter_of(month_five) in starter_set(services, "en", "intimacy", "deeper")

    await move_day_one(250)
    await couple.group.send(couple.alex, "/starter")
    await couple.group.expect("Month 9 · building your new normal", "plans, lessons learned")
    await couple.group.send(couple.alex, "/starter light")
    month_nine = await couple.group.expect("Month 9", "something light")
    assert starter_of(month_nine) in starter_set(services, "en", "new_normal", "light")


async def test_starters_in_private_share_the_couples_list(
    couple: People, services: Services
) -> None:
    await couple.alex.send_private("/starter light")
    starter = await couple.alex.private.expect("Month 1", "something light")
    [used] = services.store.records(couple.group.id, STARTERS_USED_TABLE)
    assert starter_of(starter) in starter_set(services, "en", "stabilise", "light")
    assert used["depth"] == "light"


async def test_starter_with_a_wrong_depth(couple: People) -> None:
    await couple.group.send(couple.alex, "/starter medium")
    await couple.group.expect("I didn't understand “medium”", "/starter light", "/starter deeper")


async def test_a_forged_depth_and_an_outsider(sandbox: Sandbox, couple: People) -> None:
    await couple.group.send(couple.alex, "/starter")
    choose = await couple.group.expect("Something light, or something deeper?")
    answer = await couple.sam.press_data(choose, "starter:medium")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    casey = sandbox.user("Casey")
    await couple.group.add_member(casey, by=couple.alex)
    answer = await casey.press(choose, "Something deeper")
    assert answer.show_alert and "Alex & Sam" in (answer.text or "")
    await sandbox.settle(idle=0.1)
    assert couple.group.bot_messages()[-1] is choose


async def test_starters_in_german(couple: People, services: Services) -> None:
    couple.alex.language_code = "de"
    group: SandboxChat = couple.group
    await group.send(couple.alex, "/starter")
    choose = await group.expect(
        "Monat 1 · wieder Sicherheit finden", "Etwas Leichtes oder etwas Tieferes?"
    )
    await couple.sam.press(choose, "Etwas Tieferes")
    starter = await group.expect(
        "Monat 1 · wieder Sicherheit finden · etwas Tieferes", "Wechselt euch ab"
    )
    assert starter_of(starter) in starter_set(services, "de", "stabilise", "deeper")
    await group.send(couple.alex, "/starter leicht")
    await group.expect("etwas Leichtes")
    await group.send(couple.alex, "/script")
    await group.expect("Worte für schwere Momente", "Alex, ihr habt keine Rollen gewählt")


def test_every_starter_set_is_full_and_distinct_in_every_language() -> None:
    render = Renderer()
    for locale in render.locales:
        for phase in PHASES:
            for depth in DEPTHS:
                starters = {
                    render.message(
                        locale,
                        "talk/starter",
                        month=1,
                        phase=phase,
                        depth=depth,
                        index=index,
                        restarted=False,
                    )
                    for index in range(STARTERS_PER_SET)
                }
                assert len(starters) == STARTERS_PER_SET, (locale, phase, depth)
                with pytest.raises(UndefinedError):  # no starter nobody would ever draw
                    render.message(
                        locale,
                        "talk/starter",
                        month=1,
                        phase=phase,
                        depth=depth,
                        index=STARTERS_PER_SET,
                        restarted=False,
                    )


async def test_scripts_for_closeness_and_online_life(couple: People) -> None:
    await couple.group.send(couple.sam, "/script closeness")
    await couple.group.expect("Finding your way back to closeness", "“not yet” is an answer")
    await couple.alex.send_private("/script online")
    await couple.alex.private.expect("social media and exes", "never passwords", "/boundaries")
