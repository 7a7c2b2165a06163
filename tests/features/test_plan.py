"""/plan through the sandbox: a couple writes their repair plan together, it is pinned, shown,
changed, reviewed every month, and survives a restart of the bot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot import asks
from bot.app import MendApp, build_application, services_of, start, stop
from bot.config import Settings
from bot.context import Services
from bot.features.plan import PLAN_FLOW, PLAN_TABLE, REVIEW
from bot.flows import runner_of
from bot.model import from_iso
from bot.sandbox import Sandbox, SandboxChat, SentMessage
from tests.conftest import Clock, People, agree, errors_logged, path_and_no_roles

START = datetime(2026, 3, 10, 12, tzinfo=UTC)  # Berlin on winter time, New York on summer time


async def seen(chat: SandboxChat, *fragments: str) -> SentMessage:
    """The next bot message with every fragment. Once time moves, other features' scheduled
    messages (a weekly check-in, a ritual) may come in between; they are skipped."""
    return await chat.wait_for(lambda message: message.contains(*fragments))


async def set_zones(people: People) -> None:
    for person, place in ((people.alex, "Europe/Berlin"), (people.sam, "America/New_York")):
        await person.send_private(f"/timezone {place}")
        await person.private.expect("Time zone set")


async def alex_repairs(people: People) -> None:
    await people.group.send(people.sam, "/settings")
    overview = await people.group.expect("How things are set up")
    await people.sam.press(overview, "Roles")
    roles = await people.group.expect("who is doing the repair work")
    await people.sam.press(roles, "Alex is doing the repair work")
    await agree(people.group, people.alex, "Sam proposes these roles")
    await people.group.expect("Alex: the partner doing the repair work")


async def write_plan(sandbox: Sandbox, people: People, thread: int | None = None) -> SentMessage:
    """The short way through the four steps; returns the posted plan."""
    group, alex, sam = people.group, people.alex, people.sam
    await group.send(alex, "/plan", thread_id=thread)
    checkins = await group.expect("Step 1 of 4")
    await alex.press(checkins, "Every day")
    question = await group.expect("Alex, at what time each day?")
    await group.reply(alex, to=question, text="19:30")
    changes = await group.expect("Step 2 of 4")
    await alex.press(changes, "Add a change")
    question = await group.expect("Alex, what is one thing")
    await group.reply(alex, to=question, text="I'll tell you before I meet someone new")
    changes = await group.expect("Step 2 of 4", "1. I'll tell you before I meet someone new")
    await alex.press(changes, "That's all, next step")
    feelings = await group.expect("Step 3 of 4")
    await sam.press(feelings, "Pause (20+ minutes)")
    await sandbox.settle(idle=0.05)
    await sam.press(feelings, "That's all, next step")
    visit = await group.expect("Step 4 of 4")
    await sam.press(visit, "Not yet")
    await agree(group, alex, "Sam proposes the repair plan you wrote together")
    return await group.expect("Your repair plan", "Agreed together")


@pytest.mark.clock(START)
async def test_a_couple_writes_the_plan_together(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await set_zones(couple)
    await alex_repairs(couple)
    casey = sandbox.user("Casey")
    await group.add_member(casey, by=alex)

    await group.send(casey, "/plan")
    await group.expect("Hi Casey", "only take requests from the two of them")
    await group.send(alex, "/plan")
    checkins = await group.expect(
        "Let's write your repair plan together", "Step 1 of 4", "except step 2, which is Alex's"
    )
    assert checkins.button_texts() == ["Every day", "Certain days each week"]

    # Someone outside the couple, and forged or out-of-order presses, change nothing.
    outsider = await casey.press(checkins, "Every day")
    assert outsider.show_alert and "only they can change things" in (outsider.text or "")
    for forged in ("plan:freq:hourly", "plan:visit:none", "plan:beh:rm:0", "plan:edit:visit"):
        answer = await alex.press_data(checkins, forged)
        assert answer.show_alert and "no longer current" in (answer.text or ""), forged

    # Step 1: Sam asks for certain days; Alex, in Berlin, answers a question of their own.
    await sam.press(checkins, "Certain days each week")
    sams_question = await group.expect("Sam, on which days", "your time in America/New_York")
    assert sams_question.force_reply
    await group.reply(casey, to=sams_question, text="Mon 9:00")  # not Casey's to answer
    await group.reply(sam, to=sams_question, text="whenever")
    again = await group.expect("Sam, I couldn't read “whenever”", "Mon Thu 19:30")
    await alex.press(checkins, "Every day")
    alexs_question = await group.expect("Alex, at what time each day?", "Europe/Berlin")
    await group.reply(alex, to=alexs_question, text="7:30 pm")
    changes = await group.expect("Step 2 of 4", "Alex, this step is yours")
    await group.reply(sam, to=again, text="Mon Thu 19:30")  # that step has moved on
    await group.expect("That step has already moved on")

    # Step 2 belongs to Alex, who is doing the repair work.
    refused = await sam.press(changes, "Add a change")
    assert refused.show_alert and "This step is Alex's" in (refused.text or "")
    await alex.press(changes, "Add a change")
    question = await group.expect("Alex, what is one thing")
    await group.reply(alex, to=question, text="I answer your questions honestly, no excuses")
    changes = await group.expect("So far:", "1. I answer your questions honestly, no excuses")
    await alex.press(changes, "Add a change")
    question = await group.expect("Alex, what is one thing")
    await group.reply(alex, to=question, text="You can read my messages whenever you like")
    await group.expect("Alex, I understand the wish", "won't set up anything")
    await alex.press(changes, "Add a change")
    question = await group.expect("Alex, what is one thing")
    await group.reply(alex, to=question, text="I answer your texts within 5 minutes")
    await group.expect("Alex, I can hear what's underneath that", "an answer within minutes")
    await alex.press(changes, "Add a change")
    question = await group.expect("Alex, what is one thing")
    await group.reply(alex, to=question, text="No more contact with <b>J.</b>")
    changes = await group.expect("2. No more contact with <b>J.</b>")
    await alex.press(changes, "That's all, next step")

    # Step 3: choices as toggles on the same message, plus the couple's own words.
    feelings = await group.expect("Step 3 of 4", "4-4-4 breathing")
    assert changes.buttons == []  # an answered step can't be answered twice
    assert "That's all, next step" not in feelings.button_texts()
    await sam.press(feelings, "Insecurity window (2 × 20 min a week)")
    await sam.press(feelings, "I-statements")
    await sandbox.settle(idle=0.05)
    await alex.press(feelings, "✓ I-statements")  # taken back again
    await sandbox.settle(idle=0.05)
    assert "✓ Insecurity window (2 × 20 min a week)" in feelings.button_texts()
    assert "I-statements" in feelings.button_texts()
    await sam.press(feelings, "In our own words")
    question = await group.expect("Sam, how do you want to handle hard moments")
    await group.reply(sam, to=question, text="We say 'yellow' when it gets too much")
    feelings = await group.expect("Chosen so far:", "✓ We say 'yellow' when it gets too much")
    await sam.press(feelings, "That's all, next step")

    # Step 4: a typed date, read in the answering partner's zone.
    visit = await group.expect("Step 4 of 4")
    await sam.press(visit, "Pick a date")
    question = await group.expect("Sam, on which day does the visit start?")
    await group.reply(sam, to=question, text="2026-04-18")

    # Sam completed it, so Sam proposes it: it holds once Alex agrees.
    proposed = await group.expect(
        "Sam proposes the repair plan you wrote together",
        "Alex, does it work for you too?",
        "Your repair plan",
        "1. I answer your questions honestly",
        "Next visit: April 18, 2026",
    )
    assert "Agreed together" not in proposed.text and "within 5 minutes" not in proposed.text
    assert services.store.records(group.id, PLAN_TABLE) == []
    own = await sam.press(proposed, "Yes, agreed")
    assert own.show_alert and "it's Alex's to agree to" in (own.text or "")
    await group.send(sam, "/plan")  # while it waits, /plan shows the proposal again
    await group.expect("Sam proposes the repair plan you wrote together")
    await alex.press(proposed, "Yes, agreed")
    plan = await group.expect(
        "Your repair plan",
        "Agreed together on March 10, 2026",
        "Alex: 19:30 · Sam: 14:30",  # 19:30 in Berlin is 14:30 in New York that day
        "1. I answer your questions honestly",
        "2. No more contact with <b>J.</b>",
        "• Insecurity window",
        "• We say 'yellow'",
        "Next visit: April 18, 2026",
        "Next time we look at it together: Alex April 10, 2026, 14:00 · Sam April 10, 2026, 08:00",
    )
    assert "I-statements" not in plan.text
    # Casey is in the group too: the plan is pinned, and the track offered, once both chose
    # to have personal things posted here (tests/test_audience.py has the other choice).
    notice = await group.expect("Before I post anything personal here", "4 members")
    assert not plan.pinned
    await alex.press(notice, "Post here anyway")
    await sam.press(notice, "Post here anyway")
    offer = await group.expect("What kind of breach are you repairing?")
    await sandbox.wait_until(lambda: plan.pinned, "the plan pinned")
    assert offer.button_texts()[0] == "Infidelity"

    stored = services.store.records(group.id, PLAN_TABLE)[0]
    assert stored["state"] == "agreed" and stored["zone"] == "Europe/Berlin"
    assert stored["times"] == [{"at": "19:30", "weekday": None}]
    assert [b["by"] for b in stored["behaviours"]] == [alex.id, alex.id]
    [review] = services.timers.pending(group.id, REVIEW)
    assert from_iso(review["due"]) == datetime(2026, 4, 10, 12, tzinfo=UTC)

    await group.send(sam, "/plan")
    shown = await group.expect("Your repair plan", "No more contact with <b>J.</b>")
    assert "Change next visit" in shown.button_texts()


@pytest.mark.clock(START)
async def test_weekly_check_ins_from_a_partner_without_a_zone(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    await couple.group.send(couple.sam, "/plan")
    checkins = await couple.group.expect("Step 1 of 4")
    await couple.sam.press(checkins, "Certain days each week")
    question = await couple.group.expect("Sam, on which days", "I'll read it as UTC")
    await couple.group.reply(couple.sam, to=question, text="Di und Fr um 20 Uhr")
    changes = await couple.group.expect("Step 2 of 4", "Name the specific things")
    # No roles: either partner names the changes.
    await couple.sam.press(changes, "Add a change")
    await couple.group.expect("Sam, what is one thing")
    [writing] = runner_of(services).runs(couple.group.id, PLAN_FLOW)  # the plan being written
    assert writing.data["plan"]["frequency"] == "weekly"
    assert writing.data["plan"]["times"] == [
        {"at": "20:00", "weekday": 1},
        {"at": "20:00", "weekday": 4},
    ]


async def sam_changes_the_visit(people: People) -> SentMessage:
    """Sam changes the next visit of the plan: the question for its date."""
    await people.group.send(people.sam, "/plan edit")
    menu = await people.group.expect("Which part of the plan")
    await people.sam.press(menu, "Change next visit")
    visit = await people.group.expect("Step 4 of 4", "changing this part")
    await people.sam.press(visit, "Pick a date")
    return await people.group.expect("Sam, on which day")


@pytest.mark.clock(START)
async def test_the_review_is_shown_when_it_comes_after_quiet_hours(
    sandbox: Sandbox, couple: People
) -> None:
    await set_zones(couple)
    await couple.sam.send_private("/quiet 07:00-09:00")  # the review's minute, for Sam
    await couple.sam.private.expect("Quiet hours set")
    plan = await write_plan(sandbox, couple)
    assert (
        "Next time we look at it together: Alex April 10, 2026, 15:00 · Sam April 10, 2026, 09:00"
        in plan.text
    )


@pytest.mark.clock(START)
async def test_changing_one_section_repins_the_plan(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    first = await write_plan(sandbox, couple)
    await group.expect("What kind of breach are you repairing?")
    assert first.pinned

    # A change Alex doesn't agree to leaves the plan as it is.
    question = await sam_changes_the_visit(couple)
    await group.reply(sam, to=question, text="01.05.2026")
    proposed = await group.expect(
        "Sam proposes this change to your repair plan",
        "Until you agree, your plan stays as it is",
        "Your repair plan, updated (next visit)",
        "Next visit: May 1, 2026",
    )
    await alex.press(proposed, "Not like this")
    await group.expect("Not agreed, so nothing in your plan changes", "Alex, thank you")
    [stored] = services.store.records(group.id, PLAN_TABLE)
    assert stored["visit"] == "not_yet" and first.pinned

    question = await sam_changes_the_visit(couple)
    await group.reply(sam, to=question, text="someday")
    question = await group.expect("Sam, I couldn't read “someday”")
    await group.reply(sam, to=question, text="18.04.2026")
    await agree(group, alex, "Sam proposes this change")
    updated = await group.expect(
        "Your repair plan, updated",
        "(next visit)",
        "Next visit: April 18, 2026",
        "I'll tell you before",
    )
    await sandbox.settle(idle=0.05)
    assert updated.pinned and not first.pinned

    # Changes can be removed while editing; the plan's buttons lead to each section.
    await alex.press(updated, "Change what will change")
    changes = await group.expect("Step 2 of 4", "changing this part")
    await alex.press(changes, "Remove change 1")
    changes = await group.expect("Step 2 of 4")
    assert "That's all, next step" not in changes.button_texts()
    stale = await alex.press_data(changes, "plan:beh:rm:0")
    assert stale.show_alert


@pytest.mark.clock(START)
async def test_a_plan_that_cannot_be_pinned_is_kept_anyway(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    couple.group.state.members_can_pin = False  # the bot is no admin and members may not pin
    plan = await write_plan(sandbox, couple)
    await couple.group.expect("I couldn't pin the plan", "/plan shows it")
    assert not plan.pinned
    assert services.store.records(couple.group.id, PLAN_TABLE)[0]["state"] == "agreed"


@pytest.mark.clock(START)
async def test_wrong_arguments_and_deleting(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(alex, "/plan edit")
    await group.expect("You don't have a repair plan yet")
    await group.send(alex, "/plan <i>later</i>")
    await group.expect("I don't know “<i>later</i>” here", "/plan edit", "/plan delete")
    await alex.send_private("/plan")
    await alex.private.expect("belongs in your shared group")

    await write_plan(sandbox, couple)
    await group.expect("What kind of breach are you repairing?")
    await group.send(alex, "/plan delete")
    confirm = await group.expect("Alex, do you want me to delete your repair plan?")
    refused = await sam.press(confirm, "Yes, delete the plan")
    assert refused.show_alert and "Only Alex can confirm" in (refused.text or "")
    await alex.press(confirm, "Yes, delete the plan")
    # The plan holds them both: it goes only once Sam agrees too.
    proposed = await group.expect("Alex would like to delete your repair plan", "Sam, the plan")
    await sam.press(proposed, "Not like this")
    await group.expect("Not agreed, so your plan stays as it is")
    assert services.store.records(group.id, PLAN_TABLE) != []
    assert services.timers.pending(group.id, REVIEW) != []
    await group.send(alex, "/plan delete")
    confirm = await group.expect("Alex, do you want me to delete your repair plan?")
    await alex.press(confirm, "Yes, delete the plan")
    await agree(group, sam, "Alex would like to delete your repair plan")
    await group.expect("the plan is deleted and its reviews are off")
    assert services.timers.pending(group.id, REVIEW) == []
    assert services.store.records(group.id, PLAN_TABLE) == []
    await group.send(sam, "/plan")
    await group.expect("Let's write your repair plan together")


async def restart(app: MendApp, settings: Settings, clock: Clock, ahead: timedelta) -> MendApp:
    """Stop the bot, let `ahead` pass while it is down, start a new one on the same data."""
    await stop(app)
    clock.jump(ahead)
    fresh = build_application(settings, rate_limit=False)
    clock.app = fresh
    await start(fresh, poll_timeout=1)
    return fresh


@pytest.mark.clock(START)
async def test_the_monthly_review_fires_on_time_after_a_restart(
    sandbox: Sandbox, app: MendApp, settings: Settings, couple: People, clock: Clock
) -> None:
    group, alex = couple.group, couple.alex
    await write_plan(sandbox, couple)
    await group.expect("What kind of breach are you repairing?")
    review_due = datetime(2026, 4, 10, 12, tzinfo=UTC)

    fresh = await restart(app, settings, clock, review_due - timedelta(hours=1) - clock.now())
    try:
        services = services_of(fresh)
        assert services.store.records(group.id, PLAN_TABLE)[0]["state"] == "agreed"
        [review] = services.timers.pending(group.id, REVIEW)
        assert from_iso(review["due"]) == review_due
        await group.send(alex, "/plan")
        await seen(group, "Your repair plan", "I'll tell you before")

        await clock.advance(timedelta(minutes=58), sandbox)
        assert not any("month on" in m.text for m in group.bot_messages())
        await clock.advance(timedelta(minutes=3), sandbox)
        prompt = await seen(
            group, "Your repair plan, 1 month on", "worth keeping", "I'll tell you before"
        )
        [following] = services.timers.pending(group.id, REVIEW)
        assert from_iso(following["due"]) == datetime(2026, 5, 10, 12, tzinfo=UTC)
        await alex.press(prompt, "Change something")
        await seen(group, "Which part of the plan")
        assert prompt.buttons == []  # answered once, not twice
    finally:
        await stop(fresh)


@pytest.mark.clock(START)
async def test_a_review_missed_while_down_is_dropped_and_the_next_planned(
    sandbox: Sandbox, app: MendApp, settings: Settings, couple: People, clock: Clock
) -> None:
    await write_plan(sandbox, couple)
    await couple.group.expect("What kind of breach are you repairing?")
    missed = datetime(2026, 4, 10, 12, tzinfo=UTC) + timedelta(days=2)
    fresh = await restart(app, settings, clock, missed - clock.now())
    try:
        services = services_of(fresh)
        await sandbox.settle(idle=0.1)
        assert not any("month on" in m.text for m in couple.group.bot_messages())  # not late
        [review] = services.timers.pending(couple.group.id, REVIEW)
        assert from_iso(review["due"]) == datetime(2026, 5, 10, 12, tzinfo=UTC)
    finally:
        await stop(fresh)


@pytest.mark.clock(START)
async def test_in_a_forum_the_plan_stays_in_its_topic(sandbox: Sandbox, services: Services) -> None:
    alex = sandbox.user("Alex", language_code="en")
    sam = sandbox.user("Sam", language_code="en")
    group = sandbox.supergroup("Us", members=[alex, sam], is_forum=True)
    await group.add_bot(by=alex)  # a member, not an admin: it may not pin here
    welcome = await group.expect("I'm Mend")
    await alex.press(welcome, "I'm in")
    await sam.press(welcome, "I'm in")
    await path_and_no_roles(group, alex, sam, "Repair after a breach")
    topic = await group.create_topic("Our plan", by=alex)
    before = len(group.bot_messages())

    people = People(alex, sam, group, {}, services)
    await write_plan(sandbox, people, thread=topic)
    await group.expect("I couldn't pin the plan")
    await group.expect("What kind of breach are you repairing?")
    written = group.bot_messages()[before:]
    assert len(written) > 8 and all(m.thread_id == topic for m in written)


@pytest.mark.clock(START)
async def test_double_taps_old_buttons_and_unreadable_times(
    sandbox: Sandbox, couple: People, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await alex_repairs(couple)
    await group.send(alex, "/plan")
    checkins = await group.expect("Step 1 of 4")

    # Times the reader can't use are asked for again, with the reason; nothing is kept.
    await alex.press(checkins, "Every day")
    question = await group.expect("Alex, at what time each day?")
    await group.reply(alex, to=question, text="7:00, 9:00, 11:00, 13:00, 15:00")
    again = await group.expect(
        "Alex, I couldn't read “7:00, 9:00, 11:00, 13:00, 15:00”", "at most four a day"
    )
    assert again.force_reply
    [writing] = runner_of(services).runs(group.id, PLAN_FLOW)
    assert writing.step == "checkins" and writing.data["plan"]["times"] == []
    await group.reply(alex, to=again, text="19:30")
    changes = await group.expect("Step 2 of 4")

    # A button of a step the plan has moved on from gets the stale answer, and changes nothing.
    old = await sam.press(checkins, "Certain days each week")
    assert old.show_alert and "no longer current" in (old.text or "")
    # Step 2 is Alex's: Sam is told so.
    refused = await sam.press(changes, "Add a change")
    assert refused.show_alert and "This step is Alex's" in (refused.text or "")
    await alex.press(changes, "Add a change")
    question = await group.expect("Alex, what is one thing")
    await group.reply(alex, to=question, text="I call when I say I will")
    changes = await group.expect("So far:", "1. I call when I say I will")

    # A double tap on "next step" moves on once; the second tap changes nothing.
    first, second = await asyncio.gather(
        alex.press(changes, "That's all, next step"), alex.press(changes, "That's all, next step")
    )
    feelings = await group.expect("Step 3 of 4")
    await sandbox.settle(idle=0.1)
    assert sum("Step 3 of 4" in m.text for m in group.bot_messages()) == 1
    assert not first.show_alert or not second.show_alert
    assert changes.buttons == []

    await sam.press(feelings, "4-4-4 breathing")
    await sandbox.settle(idle=0.05)  # the step is shown again in place, with "next step"
    await sam.press(feelings, "That's all, next step")
    visit = await group.expect("Step 4 of 4")
    await asyncio.gather(sam.press(visit, "Not yet"), sam.press(visit, "Not yet"))
    proposed = await group.expect("Sam proposes the repair plan", "1. I call when I say I will")
    await asyncio.gather(alex.press(proposed, "Yes, agreed"), alex.press(proposed, "Yes, agreed"))
    await group.expect("Your repair plan", "Agreed together", "4-4-4 breathing")
    await sandbox.settle(idle=0.1)
    assert sum("Sam proposes the repair plan" in m.text for m in group.bot_messages()) == 1
    assert sum("Agreed together" in m.text for m in group.bot_messages()) == 1
    assert len(services.timers.pending(group.id, REVIEW)) == 1
    assert errors_logged(caplog) == []


@pytest.mark.clock(START)
async def test_buttons_of_an_earlier_plan_go_stale(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    first = await write_plan(sandbox, couple)
    await group.expect("What kind of breach are you repairing?")
    await group.send(sam, "/plan")
    copy = await group.expect("Your repair plan")
    await sam.press(copy, "Change next visit")  # every copy of the current plan answers
    visit = await group.expect("Step 4 of 4", "changing this part")
    await sam.press(visit, "Not yet")
    await agree(group, alex, "Sam proposes this change")
    await group.expect("Your repair plan, updated")
    stale = await alex.press(first, "Change check-ins")
    assert stale.show_alert and "no longer current" in (stale.text or "")

    # A review's choice of section, an edit under way: a new edit takes its place.
    await group.send(alex, "/plan edit")
    menu = await group.expect("Which part of the plan")
    await alex.press(menu, "Change hard moments")
    feelings = await group.expect("Step 3 of 4", "changing this part")
    pause = next(
        b.callback_data
        for r in feelings.buttons
        for b in r
        if b.text.endswith("Pause (20+ minutes)")
    )
    await alex.press(menu, "Change check-ins")
    await group.expect("Step 1 of 4", "changing this part")
    await sandbox.settle()
    assert feelings.buttons == []  # the edit it was part of has closed
    assert pause is not None
    gone = await alex.press_data(feelings, pause)
    assert gone.show_alert and "no longer current" in (gone.text or "")


@pytest.mark.clock(START)
async def test_what_was_stored_before_the_steps_were_flows(
    sandbox: Sandbox, couple: People, services: Services
) -> None:
    """A plan half-written before, and a question asked before: nothing crashes; the plan
    goes on from its step, a late reply is told the step moved on, old buttons are stale."""
    group, alex, sam = couple.group, couple.alex, couple.sam
    welcome = group.bot_messages()[0]
    with services.store.transaction(group.id) as tx:
        tx.table(PLAN_TABLE).insert(
            {
                "state": "drafting",
                "step": "emotions",
                "editing": False,
                "frequency": "daily",
                "times": [{"at": "08:00", "weekday": None}],
                "zone": None,
                "times_by": alex.id,
                "behaviours": [{"text": "I say where I am going", "by": alex.id}],
                "emotions": ["pause"],
                "emotions_own": [],
                "visit": None,
                "thread": None,
            }
        )
        asks.remember(tx, group.id, welcome.message_id, "plan_times", alex.id, {"frequency": "x"})
    await group.reply(alex, to=welcome, text="19:30")
    await group.expect("That step has already moved on")
    old = await sam.press_data(welcome, "plan:emo:done")
    assert old.show_alert and "no longer current" in (old.text or "")

    await group.send(sam, "/plan")
    feelings = await group.expect("Step 3 of 4", "✓ Pause")
    await sam.press(feelings, "That's all, next step")
    visit = await group.expect("Step 4 of 4")
    await sam.press(visit, "Not yet")
    await agree(group, alex, "Sam proposes the repair plan")
    await group.expect("Your repair plan", "1. I say where I am going", "• Pause")
    [stored] = services.store.records(group.id, PLAN_TABLE)
    assert stored["state"] == "agreed" and stored["times"] == [{"at": "08:00", "weekday": None}]
