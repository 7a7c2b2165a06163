"""/boundaries through the sandbox: temporary scaffolds with review dates, proposed by one
partner and applying once the other agrees, the review where both partners choose (and the one a
boundary asks something of may end it), and no surveillance or control, ever."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import UTC, datetime, timedelta

import pytest

from bot import asks
from bot.app import MendApp, services_of, stop
from bot.config import Settings
from bot.context import Services
from bot.features.boundaries import BOUNDARIES_TABLE, REVIEW
from bot.model import from_iso
from bot.render import CONTENT_DIR, content_locales
from bot.sandbox import Sandbox, SandboxUser, SentMessage
from bot.transparency import asks_for_control, asks_for_surveillance
from tests.conftest import Clock, People, agree, errors_logged
from tests.features.test_plan import START, restart, seen, set_zones


async def agreed_boundary(
    people: People,
    by: SandboxUser,
    *,
    label: str | None = None,
    words: str | None = None,
    binds: str = "both of us",
) -> SentMessage:
    """`by` proposes a suggestion (its list button) or their own words, asking something of
    `binds` ("Alex", "Sam" or "both of us"); the other agrees. Returns the agreed boundary's
    message, which asks when to look at it again."""
    group = people.group
    other = people.sam if by is people.alex else people.alex
    if words is not None:
        await group.send(by, f"/boundaries add {words}")
    else:
        await group.send(by, "/boundaries")
        assert label is not None
        await by.press(await seen(group, "Your boundaries"), label)
    await by.press(await seen(group, f"{by.name}, who does"), f"It asks something of {binds}")
    await agree(group, other, f"{by.name} proposes")
    return await seen(group, "Agreed", "pencilled in a month")


async def add_suggested(people: People, label: str) -> SentMessage:
    return await agreed_boundary(people, people.alex, label=label)


def review_button(listing: SentMessage) -> str:
    [label] = [text for text in listing.button_texts() if text.startswith("Review: ")]
    return label


async def both_choose(people: People, review: SentMessage, alex: str, sam: str) -> SentMessage:
    """Alex chooses, then Sam (a boundary that asks something of Alex alone ends with Alex's
    own End, so these reviews are of boundaries Alex may not end alone)."""
    noted = await people.alex.press(review, alex)
    assert noted.text is not None and noted.text.startswith(f"Noted: {alex}.")
    await people.sam.press(review, sam)
    return await seen(people.group, f"Alex: {alex} · Sam: {sam}")


@pytest.mark.clock(START)
async def test_a_boundary_with_a_typed_review_date_and_its_review(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await set_zones(couple)
    await group.send(sam, "/boundaries")
    listing = await group.expect("Your boundaries", "None right now", "never surveillance")
    assert listing.button_texts() == [
        "+ A set time each day to talk",
        "+ Telling each other about new friends",
        "+ Nothing deleted or hidden",
        "+ In our own words",
    ]
    await sam.press(listing, "+ Telling each other about new friends")
    whom = await group.expect("Sam, who does “Telling each other about new close friends” ask")
    assert whom.button_texts() == [
        "It asks something of Alex",
        "It asks something of Sam",
        "It asks something of both of us",
    ]
    await sam.press(whom, "It asks something of Sam")
    await agree(group, alex, "Sam proposes a boundary", "It asks something of Sam.")
    added = await group.expect(
        "Agreed:",
        "Telling each other about new close friends",
        "Proposed by Sam, agreed by Alex",
        "pencilled in a month",
        "April 10, 2026",
    )
    assert added.button_texts() == ["2 weeks", "1 month", "3 months", "Type a date"]
    [pencilled] = services.timers.pending(group.id, REVIEW)

    # Sam types a date: read in New York, where the review comes that evening at 19:00.
    await sam.press(added, "Type a date")
    question = await group.expect("Sam, on which day should you look at", "America/New_York")
    await group.reply(sam, to=question, text="next week sometime")
    question = await group.expect("Sam, I couldn't read “next week sometime”")
    await group.reply(sam, to=question, text="2026-03-12")
    await group.expect(
        "Review date set by Sam",
        "Alex March 13, 2026, 00:00 · Sam March 12, 2026, 19:00",
    )
    [timer] = services.timers.pending(group.id, REVIEW)  # moved, not added
    assert timer["due"] != pencilled["due"]
    assert from_iso(timer["due"]) == datetime(2026, 3, 12, 23, tzinfo=UTC)

    await group.send(alex, "/boundaries")
    await group.expect(
        "Asking something of Sam",
        "1. Telling each other about new close friends",
        "added by Sam",
        "review Alex March 13, 2026 · Sam March 12, 2026",
    )

    # The review comes on time; each partner chooses, and the careful choice holds.
    await clock.to(datetime(2026, 3, 12, 22, 58, tzinfo=UTC), sandbox)
    assert not any("Time to look" in m.text for m in group.bot_messages())
    await clock.advance(timedelta(minutes=3), sandbox)
    review = await seen(
        group,
        "Time to look at a boundary",
        "Telling each other about new close",
        "it asks something of Sam, so Sam's End ends it",
        "Otherwise it ends if you both choose end",
    )
    assert review.button_texts() == ["Keep", "Loosen", "End"]
    casey = sandbox.user("Casey")
    await group.add_member(casey, by=sam)
    assert (await casey.press(review, "End")).show_alert
    boundary_id = services.store.records(group.id, BOUNDARIES_TABLE)[0]["id"]
    for forged in (
        f"bnd:choose:{boundary_id}:forever",
        "bnd:choose:999:end",
        f"bnd:date:{boundary_id}:1y",
        f"bnd:reword:{boundary_id}",
    ):
        answer = await alex.press_data(review, forged)
        assert answer.show_alert and "no longer current" in (answer.text or ""), forged

    await alex.press(review, "End")
    await sandbox.settle(idle=0.05)
    assert "Chosen: Alex. Waiting for Sam." in review.text  # not what Alex chose
    await alex.press(review, "Keep")  # changed their mind before Sam chose
    await sam.press(review, "Loosen")
    outcome = await seen(
        group, "Alex: Keep · Sam: Loosen", "Kept for now", "otherwise the more careful choice holds"
    )  # Alex's End didn't end it: it asks nothing of Alex
    assert review.buttons == []
    stored = services.store.records(group.id, BOUNDARIES_TABLE)[0]
    assert stored["state"] == "active" and stored["kept_in_row"] == 1
    assert len(services.timers.pending(group.id, REVIEW)) == 1

    # Reviewing again right away: loosen, reword, then both end it, a milestone.
    await alex.press(outcome, "1 month")
    await seen(group, "Review date set by Alex")
    await group.send(sam, "/boundaries")
    listing = await seen(group, "Your boundaries")
    await sam.press(listing, review_button(listing))
    review = await seen(group, "Time to look at a boundary", "as Sam asked")
    outcome = await both_choose(couple, review, "Loosen", "Loosen")
    assert "Loosened" in outcome.text
    await alex.press(outcome, "Reword it")
    question = await seen(group, "Alex, how would the lighter version")
    await group.reply(alex, to=question, text="I mention new friends when they come up")
    await agree(group, sam, "Alex proposes a lighter wording", "earlier wording stays")
    await seen(group, "Reworded as Alex proposed and Sam agreed", "I mention new friends")

    await group.send(alex, "/boundaries")
    listing = await seen(group, "I mention new friends", "(loosened)")
    await alex.press(listing, review_button(listing))
    review = await seen(group, "Time to look at a boundary")
    outcome = await both_choose(couple, review, "End", "End")
    assert "has ended" in outcome.text and "milestone" in outcome.text  # both chose it
    assert services.timers.pending(group.id, REVIEW) == []
    await group.wait_for(lambda m: "gentle note" in m.text)  # all gone in the first weeks
    await group.send(sam, "/boundaries")
    await seen(group, "None right now", "1 ended along the way")


@pytest.mark.clock(START)
async def test_a_boundary_applies_only_when_the_other_agrees_and_its_partner_may_end_it(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam

    # Sam proposes a boundary that asks something of Alex: it waits for Alex's yes.
    await group.send(sam, "/boundaries add You tell me about new people you meet")
    whom = await group.expect("Sam, who does “You tell me about new people you meet” ask")
    refused = await alex.press(whom, "It asks something of Alex")
    assert refused.show_alert  # the proposal is Sam's to make
    await sam.press(whom, "It asks something of Alex")
    proposed = await group.expect(
        "Sam proposes a boundary",
        "It asks something of Alex.",
        "Alex, does it work for you too? It applies only once you agree.",
        "you could end it at any review, or bring the review forward",
    )
    assert proposed.button_texts() == ["Yes, agreed", "Not like this"]
    own = await sam.press(proposed, "Yes, agreed")
    assert own.show_alert and "it's Alex's to agree to" in (own.text or "")
    assert services.store.records(group.id, BOUNDARIES_TABLE) == []
    await group.send(sam, "/boundaries")
    await group.expect("Your boundaries", "None right now")
    await alex.press(proposed, "Yes, agreed")
    await group.expect(
        "Agreed:", "Proposed by Sam, agreed by Alex", "It asks something of Alex, who can end it"
    )
    [record] = services.store.records(group.id, BOUNDARIES_TABLE)
    assert record["binds"] == [alex.id] and record["agreed_by"] == alex.id

    # Another one, which Alex doesn't agree to: a kind close for both, nothing is added.
    await group.send(sam, "/boundaries")
    listing = await group.expect("Your boundaries", "Asking something of Alex")
    await sam.press(listing, "+ Nothing deleted or hidden")
    await sam.press(await group.expect("Sam, who does"), "It asks something of Alex")
    proposed = await group.expect("Sam proposes a boundary", "Nothing deleted or hidden")
    await alex.press(proposed, "Not like this")
    await group.expect(
        "Not agreed, so it isn't a boundary between you.",
        "Alex, thank you for saying it plainly",
        "Sam, what you asked for still counts",
    )
    assert len(services.store.records(group.id, BOUNDARIES_TABLE)) == 1
    assert proposed.buttons == []

    # Alex brings the review forward and ends it, although Sam chose to keep it.
    await group.send(alex, "/boundaries")
    listing = await group.expect("Your boundaries")
    await alex.press(listing, review_button(listing))
    review = await group.expect(
        "Time to look at a boundary", "as Alex asked", "so Alex's End ends it"
    )
    await sam.press(review, "Keep")
    await sandbox.settle(idle=0.05)
    assert "Chosen: Sam. Waiting for Alex." in review.text
    ended = await alex.press(review, "End")
    assert "It asked something of you" in (ended.text or "")
    outcome = await group.expect(
        "Alex: End · Sam: Keep",
        "“You tell me about new people you meet” has ended, as Alex chose",
        "ending it was Alex's to decide",
    )
    assert "milestone" not in outcome.text
    [record] = services.store.records(group.id, BOUNDARIES_TABLE)
    assert record["state"] == "ended" and services.timers.pending(group.id, REVIEW) == []


async def test_surveillance_is_never_a_boundary(couple: People, services: Services) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(alex, "/boundaries add I want to see your location at all times")
    await group.expect(
        "Alex, I understand the wish",
        "won't set up anything that tracks",
        "What heals is what's offered",
    )
    await group.send(sam, "/boundaries")
    listing = await group.expect("Your boundaries")
    await sam.press(listing, "+ In our own words")
    question = await group.expect("Sam, what's the boundary")
    await group.reply(sam, to=question, text="You give me your phone password")
    await group.expect("Sam, I understand the wish")
    assert services.store.records(group.id, BOUNDARIES_TABLE) == []

    await group.send(alex, "/boundaries add I tell you when I'm out late")
    await group.expect("Alex, who does “I tell you when I'm out late” ask something of?")
    await group.send(alex, "/boundaries forever")
    await group.expect("This is how /boundaries works", "/boundaries add")


async def test_rules_that_isolate_or_control_are_declined_kindly(
    couple: People, services: Services
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(sam, "/boundaries add Never go out without me")
    declined = await group.expect(
        "Sam, I can hear what's underneath that",
        "won't add a rule that keeps someone from friends",
        "free to choose each other",
        "sharing plans ahead of time",
    )
    assert "location" not in declined.text  # the answer speaks to what was asked
    await group.send(sam, "/boundaries")
    listing = await group.expect("Your boundaries")
    await sam.press(listing, "+ In our own words")
    question = await group.expect("Sam, what's the boundary")
    await group.reply(sam, to=question, text="Answer within 5 minutes")
    await group.expect(
        "Sam, I can hear what's underneath that",
        "asks for an answer within minutes",
        "check-ins in your /plan",
    )
    couple.alex.language_code = "de"
    await group.send(alex, "/boundaries add Du gehst nie ohne mich aus")
    await group.expect("Alex, ich höre, was dahintersteckt", "Freunden, Familie")
    assert services.store.records(group.id, BOUNDARIES_TABLE) == []


def test_what_counts_as_control() -> None:
    for control, kind in (
        ("never go out without me", "isolation"),
        ("No friends until next summer", "isolation"),
        ("You ask me for permission before going out", "isolation"),
        ("answer within 5 minutes", "reachability"),
        ("reply right away, always", "reachability"),
        ("I manage your money from now on", "money"),
        ("I pick your outfits", "clothes"),
        ("sex whenever I want", "sex"),
        ("Du gehst nie ohne mich aus", "isolation"),
        ("Du antwortest innerhalb von 5 Minuten", "reachability"),
        ("Kontrolle über dein Geld", "money"),
        ("Ich bestimme, was du anziehst", "clothes"),
        ("Sex wann immer ich will", "sex"),
    ):
        assert asks_for_control(control) == kind, control
    for open_ in (
        "I tell you when I'm out late",
        "Contact with the third person ends",
        "We go out together on Fridays",
        "I'll tell you before I meet someone new",
        "We message each other every hour",
        "I ask your permission before sharing photos of you",
        "Ich erzähle dir von neuen Freundschaften",
        "Wir gehen freitags zusammen aus",
    ):
        assert asks_for_control(open_) is None, open_


def test_the_control_words_of_every_locale_name_the_same_kinds() -> None:
    kinds = {
        locale: set(tomllib.loads((CONTENT_DIR / locale / "control.toml").read_text()))
        for locale in content_locales()
    }
    assert all(found == kinds["en"] for found in kinds.values()), kinds
    assert kinds["en"] == {"isolation", "reachability", "money", "clothes", "sex"}


def test_what_counts_as_surveillance() -> None:
    for policing in (
        "share your live location",
        "I read your messages every night",
        "check each other's phones",
        "give me your passcode",
        "Standort immer teilen",
        "Ich will deine Nachrichten lesen",
    ):
        assert asks_for_surveillance(policing), policing
    for open_ in (
        "I tell you about new friends",
        "we share our calendars",
        "no deleting messages",
        "Ich erzähle dir von neuen Freundschaften",
    ):
        assert not asks_for_surveillance(open_), open_


@pytest.mark.clock(START)
async def test_a_review_due_while_down_comes_late_once(
    sandbox: Sandbox, app: MendApp, settings: Settings, couple: People, clock: Clock
) -> None:
    added = await add_suggested(couple, "+ Nothing deleted or hidden")
    await couple.alex.press(added, "2 weeks")
    await couple.group.expect("Review date set by Alex")
    fresh = await restart(app, settings, clock, timedelta(days=15))
    try:
        await seen(
            couple.group,
            "A little later than planned",
            "Time to look at a boundary",
            "Nothing deleted or hidden, in messages or online",
        )
        assert services_of(fresh).timers.pending(couple.group.id, REVIEW) == []
        await sandbox.settle(idle=0.1)
        assert sum("Time to look" in m.text for m in couple.group.bot_messages()) == 1
    finally:
        await stop(fresh)


async def test_the_list_in_german(couple: People) -> None:
    couple.alex.language_code = "de"
    await couple.group.send(couple.alex, "/boundaries")
    listing = await couple.group.expect("Eure Grenzen", "Offenheit, niemals Überwachung")
    await couple.alex.press(listing, "+ Eine feste Zeit am Tag zum Reden")
    whom = await couple.group.expect("Alex, von wem verlangt „Eine feste Zeit am Tag zum Reden")
    await couple.alex.press(whom, "Sie verlangt etwas von uns beiden")
    proposed = await couple.group.expect("Alex schlägt eine Grenze vor", "Sam, passt sie")
    await couple.sam.press(proposed, "Ja, einverstanden")
    await couple.group.expect(
        "Vereinbart:",
        "Eine feste Zeit am Tag zum Reden",
        "zugestimmt hat Sam",
        "Ich habe einen Monat vorgemerkt",
    )


@pytest.mark.clock(START)
async def test_double_taps_old_buttons_and_words_asked_again(
    sandbox: Sandbox, couple: People, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(sam, "/boundaries")
    listing = await group.expect("Your boundaries")

    # The same suggestion tapped twice at once is proposed once, and agreed once.
    await asyncio.gather(
        sam.press(listing, "+ Nothing deleted or hidden"),
        sam.press(listing, "+ Nothing deleted or hidden"),
    )
    whom = await group.expect("Sam, who does")
    await sandbox.settle(idle=0.1)
    assert sum(m.contains("Sam, who does") for m in group.bot_messages()) == 1
    await sam.press(whom, "It asks something of both of us")
    proposed = await group.expect("Sam proposes a boundary")
    await asyncio.gather(alex.press(proposed, "Yes, agreed"), alex.press(proposed, "Yes, agreed"))
    added = await group.expect("Agreed:", "Nothing deleted or hidden, in messages")
    await sandbox.settle(idle=0.1)
    assert len(services.store.records(group.id, BOUNDARIES_TABLE)) == 1
    assert not any(m.contains("Agreed:") for m in group.bot_messages() if m is not added)

    # A double tap on a date sets it once; the pressed message's other buttons go stale.
    month = added.find_button("1 month")
    assert month is not None and month.callback_data is not None
    await asyncio.gather(alex.press(added, "2 weeks"), alex.press(added, "2 weeks"))
    await group.expect("Review date set by Alex")
    await sandbox.settle(idle=0.1)
    assert sum(m.contains("Review date set") for m in group.bot_messages()) == 1
    assert len(services.timers.pending(group.id, REVIEW)) == 1
    assert added.buttons == []
    old = await sam.press_data(added, month.callback_data)
    assert old.show_alert and "no longer current" in (old.text or "")

    # Own words too long for a boundary are asked for again, with the reason.
    await sam.press(listing, "+ In our own words")
    question = await group.expect("Sam, what's the boundary")
    await group.reply(sam, to=question, text="I tell you " + "everything " * 20)
    again = await group.expect("Sam, that was 230 characters; a boundary fits in 160.")
    assert again.force_reply and services.store.records(group.id, BOUNDARIES_TABLE)[1:] == []
    await group.reply(sam, to=again, text="I tell you when I'm out late")
    whom = await group.expect("Sam, who does “I tell you when I'm out late” ask")
    await sam.press(whom, "It asks something of Sam")
    await agree(group, alex, "Sam proposes a boundary")
    await group.expect("Agreed:", "I tell you when I'm out late")

    # A newer list answers; the older one is stale (and loses its buttons).
    daily = next(
        b.callback_data for r in listing.buttons for b in r if b.text.startswith("+ A set time")
    )
    await group.send(alex, "/boundaries")
    newer = await group.expect("Your boundaries", "I tell you when I'm out late")
    await sandbox.settle()
    assert listing.buttons == [] and daily is not None
    stale = await alex.press_data(listing, daily)
    assert stale.show_alert and "no longer current" in (stale.text or "")
    await alex.press(newer, review_button_for(newer, "Nothing deleted"))
    review = await group.expect("Time to look at a boundary", "as Alex asked")

    # Choosing the same twice changes nothing, and each tap is answered.
    taps = await asyncio.gather(alex.press(review, "Keep"), alex.press(review, "Keep"))
    assert all((t.text or "").startswith("Noted: Keep.") for t in taps)
    await sandbox.settle(idle=0.1)
    assert "Chosen: Alex. Waiting for Sam." in review.text
    await sam.press(review, "Keep")
    outcome = await seen(group, "Alex: Keep · Sam: Keep", "Kept for now")
    assert outcome.button_texts() == ["2 weeks", "1 month", "3 months", "Type a date"]
    assert review.buttons == []  # the review's buttons went with its outcome
    assert errors_logged(caplog) == []


@pytest.mark.clock(START)
async def test_only_the_bound_partner_moves_a_review_further_out(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    """What binds one, they extend: a review date past the usual month is for the partner the
    boundary asks something of, not for the one who proposed it for them."""
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(sam, "/boundaries")
    listing = await group.expect("Your boundaries")
    await sam.press(listing, "+ Telling each other about new friends")
    whom = await group.expect("Sam, who does")
    await sam.press(whom, "It asks something of Alex")
    await agree(group, alex, "Sam proposes a boundary")
    added = await group.expect("Agreed:", "pencilled in a month")
    [pencilled] = services.timers.pending(group.id, REVIEW)

    refused = await sam.press(added, "3 months")
    assert refused.show_alert and "Only the partner this boundary asks something of" in (
        refused.text or ""
    )
    await sam.press(added, "Type a date")
    question = await group.expect("Sam, on which day should you look at")
    await group.reply(sam, to=question, text="2026-08-01")
    await group.expect("Only Alex can pick a date more than a month out")
    assert services.timers.pending(group.id, REVIEW) == [pencilled]

    await alex.press(added, "3 months")  # later is Alex's to choose
    await group.expect("Review date set by Alex")
    [timer] = services.timers.pending(group.id, REVIEW)
    assert from_iso(timer["due"]) > from_iso(pencilled["due"])


def review_button_for(listing: SentMessage, fragment: str) -> str:
    return next(t for t in listing.button_texts() if t.startswith("Review: ") and fragment in t)


@pytest.mark.clock(START)
async def test_a_late_reply_and_a_review_left_open_before_reviews_were_flows(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    added = await add_suggested(couple, "+ Telling each other about new friends")
    await sam.press(added, "Type a date")
    question = await group.expect("Sam, on which day should you look at")
    await group.send(alex, "/boundaries")
    listing = await group.expect("Your boundaries")
    await alex.press(listing, review_button_for(listing, "new close"))
    await group.expect("Time to look at a boundary")
    await group.reply(sam, to=question, text="2026-04-01")  # the boundary is being reviewed now
    await group.expect("That boundary has changed since I asked")

    # A review opened before reviews were flows kept its choices on the boundary; a reply to
    # a question asked then is told the boundary moved on; its old buttons are stale.
    welcome = group.bot_messages()[0]
    with services.store.transaction(group.id) as tx:
        tx.table(BOUNDARIES_TABLE).insert(
            {
                "text": "We share plans with new people early",
                "suggestion": None,
                "source": "own",
                "stage": None,
                "by": alex.id,
                "added_at": "2026-03-01T12:00:00+00:00",
                "review_at": "2026-03-09T12:00:00+00:00",
                "timer": None,
                "state": "reviewing",
                "choices": {str(alex.id): "end"},
                "kept_in_row": 0,
                "loosened": 0,
                "review_message": welcome.message_id,
                "ended_at": None,
                "thread": None,
            }
        )
        asks.remember(tx, group.id, welcome.message_id, "bnd_reword", sam.id, {"boundary": 2})
    await group.reply(sam, to=welcome, text="a lighter version")
    await group.expect("That boundary has changed since I asked")
    old = await sam.press_data(welcome, "bnd:choose:2:end")
    assert old.show_alert and "no longer current" in (old.text or "")

    await group.send(sam, "/boundaries")
    listing = await group.expect(
        "We share plans with new people early", "being reviewed now", "Asking something of you"
    )  # a boundary from before proposals stays, and either of them may end it
    await sam.press(listing, review_button_for(listing, "We share plans"))
    review = await group.expect("Time to look at a boundary", "Chosen: Alex. Waiting for Sam.")
    await sam.press(review, "End")
    await seen(group, "Alex: End · Sam: End", "has ended")
