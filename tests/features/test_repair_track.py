"""The infidelity track, the three weekly transparency invitations, and the pitfall notes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.context import Services
from bot.features.repair_track import (
    EXERCISE,
    PITFALLS_TABLE,
    TRACK_TABLE,
    blames_distance,
    breach_kind,
    leans_on_messaging,
    track_kind,
)
from bot.sandbox import Sandbox, SentMessage
from tests.conftest import Clock, People, agree
from tests.features.test_boundaries import agreed_boundary, both_choose
from tests.features.test_plan import START, seen, write_plan


async def leap(clock: Clock, sandbox: Sandbox, moment: datetime) -> None:
    """Jump to `moment` at once, like a laptop waking up: only for stretches where nothing
    is due, so the jump can't make anything late."""
    clock.jump(moment - clock.now())
    await clock.catch_up()
    await sandbox.settle(idle=0.1)


# The kinds of breach a couple can name, as buttons.
BREACH_BUTTONS = [
    "Infidelity",
    "An emotional bond with someone else",
    "Dishonesty, or something kept hidden",
    "Promises broken again and again",
    "Neglect: not being a priority",
    "We'd rather not say",
]


def notes(people: People, fragment: str) -> list[SentMessage]:
    return [
        m for m in people.group.bot_messages() if "gentle note" in m.text and fragment in m.text
    ]


@pytest.mark.clock(START)
async def test_the_infidelity_track(sandbox: Sandbox, couple: People, services: Services) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(sam, "/plan track")
    offer = await group.expect("What kind of breach are you repairing?")
    casey = sandbox.user("Casey")
    await group.add_member(casey, by=alex)
    assert (await casey.press(offer, "Infidelity")).show_alert
    assert (await sam.press_data(offer, "trk:kind:affair")).show_alert
    assert track_kind(services.store, group.id) is None
    # Casey leaves again: the two of them read the group alone (tests/test_audience.py has
    # what happens to the track's messages while someone else is there).
    await group.remove_member(casey, by=alex)
    await sandbox.settle()

    await sam.press(offer, "Infidelity")
    proposed = await group.expect(
        "Sam names the breach as infidelity", "Alex, does that fit how you see it too?"
    )
    assert track_kind(services.store, group.id) is None  # until Alex agrees
    await alex.press(proposed, "Yes, agreed")
    track = await group.expect(
        "Agreed, as Sam proposed: the infidelity track",
        "Full responsibility",
        "without excuses",
        "as far as it's needed",
        "An end to contact",
        "back to autonomy",
        "never a test",
    )
    assert track_kind(services.store, group.id) == "infidelity"

    await alex.press(track, "Agree on no contact")
    whom = await group.expect("Alex, who does “Contact with the third person ends” ask")
    await alex.press(whom, "It asks something of Alex")
    await agree(group, sam, "Alex proposes a boundary", "Contact with the third person ends")
    await group.expect("Agreed:", "Contact with the third person ends", "clearest signs of repair")
    await sam.press(track, "Add a stage to our timeline")
    question = await group.expect("Sam, describe this stage")
    await group.reply(sam, to=question, text="We talk every evening; new plans shared early")
    await sam.press(await group.expect("Sam, who does this stage ask"), "It asks something of Sam")
    await agree(group, alex, "Sam proposes a stage for your timeline")
    stage = await group.expect("Stage 1 is on your timeline", "When does this stage end?")
    await sam.press(stage, "2 weeks")
    await group.expect("Review date set by Sam")

    await group.send(alex, "/boundaries")
    listing = await group.expect(
        "1. Contact with the third person ends",
        "Your timeline back to autonomy",
        "Stage 1: We talk every evening",
    )
    assert "+ Contact with the third person ends" not in listing.button_texts()
    assert "Add a stage to our timeline" in listing.button_texts()

    # A stage is reviewed like a boundary; moving on is its own small milestone.
    await alex.press(listing, next(t for t in listing.button_texts() if "We talk" in t))
    review = await group.expect("Time to look at stage 1 of your timeline")
    outcome = await both_choose(couple, review, "End", "End")
    assert "Stage 1 is behind you" in outcome.text

    # Leaving the track needs Sam's yes too; without it, the track stays.
    await group.send(alex, "/plan track")
    track = await group.expect("The infidelity track")
    await alex.press(track, "This track doesn't fit us")
    offer = await group.expect("What kind of breach are you repairing?")
    await alex.press(offer, "We'd rather not say")
    proposed = await group.expect("proposes leaving the infidelity track", "Sam, does that fit")
    await sam.press(proposed, "Not like this")
    await group.expect(
        "Not agreed, so your track stays as it was", "Sam, thank you", "Alex, what you asked"
    )
    assert track_kind(services.store, group.id) == "infidelity"
    await group.send(alex, "/plan track")
    track = await group.expect("The infidelity track")
    await alex.press(track, "This track doesn't fit us")
    offer = await group.expect("What kind of breach are you repairing?")
    await alex.press(offer, "We'd rather not say")
    await agree(group, sam, "Alex would rather not name the kind of breach")
    await group.expect("Agreed, as Alex proposed: you'd rather not name it")
    assert track_kind(services.store, group.id) == "other"
    assert breach_kind(services.store, group.id) is None


@pytest.mark.clock(START)
async def test_three_weekly_transparency_invitations_then_quiet(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(alex, "/plan track")
    offer = await group.expect("What kind of breach are you repairing?")
    await alex.press(offer, "Promises broken again and again")
    await agree(group, sam, "Alex names the breach as promises broken again and again")
    other = await group.expect("Agreed, as Alex proposed: promises broken again and again")
    await sam.press(other, "Start the transparency exercises")
    await group.expect("Transparency exercises: 3 weeks", "started by Sam", "voluntary")
    week_one = await group.expect(
        "Transparency, week 1 of 3", "good parts of your day", "not a test"
    )
    assert week_one.button_texts() == ["Stop these invitations"]
    already = await alex.press(other, "Start the transparency exercises")
    assert already.show_alert and "already running" in (already.text or "")

    started = clock.now()
    for week, words in ((2, "voice note"), (3, "say hello")):
        due = started + timedelta(days=7 * (week - 1))
        await leap(clock, sandbox, due - timedelta(hours=1))
        assert not any(f"week {week} of 3" in m.text for m in group.bot_messages())
        await clock.advance(timedelta(hours=1, minutes=1), sandbox)
        prompt = await seen(group, f"Transparency, week {week} of 3", words)
    assert "last of the three" in prompt.text and prompt.buttons == []
    assert services.timers.pending(group.id, EXERCISE) == []

    await leap(clock, sandbox, started + timedelta(days=30))
    assert sum("Transparency, week" in m.text for m in group.bot_messages()) == 3


@pytest.mark.clock(START)
async def test_the_invitations_can_be_stopped(couple: People, services: Services) -> None:
    await couple.group.send(couple.sam, "/plan track")
    offer = await couple.group.expect("What kind of breach are you repairing?")
    await couple.sam.press(offer, "Infidelity")
    await agree(couple.group, couple.alex, "Sam names the breach as infidelity")
    track = await couple.group.expect("The infidelity track")
    await couple.sam.press(track, "Start the transparency exercises")
    await couple.group.expect("Transparency exercises")
    week_one = await couple.group.expect("Transparency, week 1 of 3")
    await couple.alex.press(week_one, "Stop these invitations")
    await couple.group.expect("Stopped, as Alex asked")
    assert services.timers.pending(couple.group.id, EXERCISE) == []
    assert (await couple.alex.press_data(week_one, "trk:ex:stop")).show_alert


@pytest.mark.clock(START)
async def test_pitfall_notes_come_when_a_pattern_shows_and_once_a_month(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam

    # Repair as punishment: one partner adds boundary after boundary.
    await group.send(alex, "/boundaries")
    listing = await group.expect("Your boundaries")
    for label in (
        "+ A set time each day to talk",
        "+ Telling each other about new friends",
        "+ Nothing deleted or hidden",
    ):
        await agreed_boundary(couple, alex, label=label, binds="Sam")
    assert notes(couple, "") == []
    await agreed_boundary(couple, alex, words="I tell you who I'm meeting", binds="Sam")
    await group.expect(
        "A gentle note", "most of your boundaries come from Alex", "carry you somewhere"
    )
    await agreed_boundary(couple, alex, words="I share my weekend plans", binds="Sam")
    await sandbox.settle(idle=0.1)
    assert len(notes(couple, "come from Alex")) == 1  # not twice in a month

    # Blaming the distance, and messaging as the only reassurance: seen in the words.
    await agreed_boundary(couple, sam, words="We message each other every hour", binds="Sam")
    await group.expect("A gentle note", "every silence starts to feel like a threat")
    await group.send(alex, "/plan")
    checkins = await group.expect("Step 1 of 4")
    await alex.press(checkins, "Every day")
    question = await group.expect("Alex, at what time each day?")
    await group.reply(alex, to=question, text="8:00, 13:00, 21:00")
    changes = await group.expect("Step 2 of 4")
    await sandbox.settle(idle=0.1)
    assert len(notes(couple, "every silence starts")) == 1  # three a day, but shown already
    await alex.press(changes, "Add a change")
    question = await group.expect("Alex, what is one thing")
    await group.reply(alex, to=question, text="Stop saying it happened because of the distance")
    await group.expect("Step 2 of 4")
    await group.expect("A gentle note", "the kilometres between you", "isn't decided by a map")

    # Moving too fast: every boundary ended in the first weeks.
    for _ in range(6):
        await group.send(sam, "/boundaries")
        listing = await group.expect("Your boundaries")
        await sam.press(listing, review_button_first(listing))
        review = await group.expect("Time to look at a boundary")
        await both_choose(couple, review, "End", "End")
    await group.expect("A gentle note", "all of your boundaries have ended")
    shown = {r["kind"] for r in services.store.records(group.id, PITFALLS_TABLE)}
    assert shown == {"punishment", "crutch", "distance", "too_fast"}

    # A month later the same pattern may be named once more.
    await leap(clock, sandbox, clock.now() + timedelta(days=31))
    for text in ("a", "b", "c", "d"):
        await agreed_boundary(couple, alex, words=f"I share plan {text}", binds="Sam")
    await seen(group, "A gentle note", "come from Alex")


def review_button_first(listing: SentMessage) -> str:
    return next(t for t in listing.button_texts() if t.startswith("Review: "))


@pytest.mark.clock(START)
async def test_the_offer_follows_a_new_plan(sandbox: Sandbox, couple: People) -> None:
    await write_plan(sandbox, couple)
    offer = await couple.group.expect("What kind of breach are you repairing?")
    await couple.alex.press(offer, "Infidelity")
    await agree(couple.group, couple.sam, "Alex names the breach as infidelity")
    await couple.group.expect("Agreed, as Alex proposed: the infidelity track")
    await couple.group.send(couple.sam, "/plan")
    plan = await couple.group.expect("Your repair plan", "infidelity track: /plan track")
    await couple.sam.press(plan, "The kind of breach")
    await couple.group.expect("The infidelity track", "Full responsibility")


@pytest.mark.clock(START)
async def test_naming_the_kind_of_breach_shapes_the_scripts(couple: People) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(sam, "/script")
    menu = await group.expect("Words for hard moments")
    assert menu.button_texts()[0] == "Saying plainly what happened"
    assert "You named the breach" not in menu.text

    await group.send(sam, "/plan track")
    offer = await group.expect("What kind of breach are you repairing?")
    assert offer.button_texts() == BREACH_BUTTONS
    await sam.press(offer, "Neglect: not being a priority")
    proposed = await group.expect("Sam names the breach as neglect", "Alex, does that fit")
    await group.send(alex, "/script")
    menu = await group.expect("Words for hard moments")
    assert "You named the breach" not in menu.text  # not until Alex agrees
    await alex.press(proposed, "Yes, agreed")
    other = await group.expect(
        "Agreed, as Sam proposed: neglect", "attention made reliable", "/script now"
    )
    await group.send(alex, "/script")
    menu = await group.expect("You named the breach as neglect", "come first")
    assert menu.button_texts()[:3] == [
        "When … then …",
        "Listening: reflect, validate, ask",
        "Answering with care when they open up",
    ]
    await group.send(alex, "/script apology")
    await group.expect("After neglect, for example", "one evening a week belongs to the two of you")

    await alex.press(other, "Name the kind of breach again")
    offer = await group.expect("What kind of breach are you repairing?")
    await alex.press(offer, "Dishonesty, or something kept hidden")
    await agree(group, sam, "Alex names the breach as dishonesty")
    await group.expect("Agreed, as Alex proposed: dishonesty", "half-truths")
    await group.send(sam, "/script acknowledge")
    await group.expect("Saying plainly what happened", "A correction given in halves")


@pytest.mark.clock(START)
async def test_the_infidelity_track_chosen_before_kinds_were_named_counts_as_infidelity(
    couple: People, services: Services
) -> None:
    with services.store.transaction(couple.group.id) as tx:
        tx.table(TRACK_TABLE).insert({"kind": "infidelity", "exercises": None})
    assert breach_kind(services.store, couple.group.id) == "infidelity"
    await couple.group.send(couple.alex, "/script acknowledge")
    await couple.group.expect("Saying plainly what happened", "the hard ones too")


def test_reading_patterns() -> None:
    assert blames_distance("it only happened because of the distance")
    assert blames_distance("Die Entfernung ist schuld")
    assert not blames_distance("I'll keep my distance from him")
    assert leans_on_messaging("text me every hour")
    assert not leans_on_messaging("a call every Sunday")
