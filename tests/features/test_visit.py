"""/visit through the sandbox: a Berlin–Sydney couple plans a visit step by step, the countdown
and the morning check-ins come at each partner's right local time, the reflection stays private
until both answered, /visit cancel, and restarts (missed prompts dropped, the reflection late)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import services_of
from bot.context import Services
from bot.features.visit import (
    CHECKIN,
    COUNTDOWN,
    REFLECT,
    REVEAL,
    VISITS_TABLE,
)
from bot.sandbox import Sandbox, SandboxChat, SentMessage
from tests.conftest import Clock, People, Restart

START = datetime(2026, 11, 20, 9, tzinfo=UTC)  # Berlin UTC+1, Sydney UTC+11 (summer time)


async def set_zones(couple: People) -> None:
    await couple.alex.send_private("/timezone Berlin")
    await couple.alex.private.expect("Time zone set to Europe/Berlin")
    await couple.sam.send_private("/timezone Sydney")
    await couple.sam.private.expect("Time zone set to Australia/Sydney")


async def see(chat: SandboxChat, *fragments: str) -> SentMessage:
    """The next bot message with all fragments, skipping others (after days have passed, other
    features' prompts come and go too)."""
    return await chat.wait_for(lambda m: m.contains(*fragments))


def sent_at(message: SentMessage) -> datetime:
    return datetime.fromtimestamp(message.date, UTC)


def the_visit(services: Services, couple: People) -> dict:  # type: ignore[type-arg]
    [visit] = services.store.records(couple.group.id, VISITS_TABLE)
    return visit


async def plan_visit(
    couple: People, arrival: str = "10.12.", departure: str = "2026-12-13", *, by_sam: bool = False
) -> SentMessage:
    """The shortest way through planning: at Alex's, goals, one activity, rest."""
    group, alex, sam = couple.group, couple.alex, couple.sam
    planner = sam if by_sam else alex
    await group.send(planner, "/visit")
    intro = await group.expect("Planning a visit")
    await planner.press(intro, "Plan a visit")
    where = await group.expect("Where will you be together?")
    await planner.press(where, "At Alex's place")
    question = await group.expect(f"{planner.name}, on which day does the visit begin?")
    await group.reply(planner, to=question, text=arrival)
    question = await group.expect("on which day does it end?")
    await group.reply(planner, to=question, text=departure)
    await group.expect("what does each of you need")
    for person in (alex, sam):
        goal = await group.expect(f"{person.name}, what would help you feel safe")
        await group.reply(person, to=goal, text=f"{person.name}'s goal")
    await group.expect("Still open")
    menu = await group.expect("Time for both")
    await planner.press(menu, "Cook a meal together")
    await planner.press(menu, "Done")
    rest = await group.expect("Room to breathe")
    await planner.press(rest, "An hour to ourselves each day")
    return await group.expect("Your visit plan is ready")


async def travel(clock: Clock, sandbox: Sandbox, moment: datetime) -> None:
    """Skip quiet days quickly (nothing is due in between): jump to an hour before `moment`,
    let the timers' sweep see what is near, then let the clock run up to `moment`."""
    ahead = moment - timedelta(hours=1) - clock.now()
    if ahead > timedelta(0):
        clock.jump(ahead)
    await clock.advance(timedelta(minutes=1))
    await clock.to(moment, sandbox)


@pytest.mark.clock(START)
async def test_a_couple_plans_a_visit_together(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await set_zones(couple)
    casey = sandbox.user("Casey")
    await group.add_member(casey, by=alex)

    await group.send(casey, "/visit")
    await group.expect("Hi Casey", "Nothing has been changed")
    await group.send(alex, "/visit")
    intro = await group.expect("Planning a visit", "what helps each of you feel safe")
    answer = await casey.press(intro, "Plan a visit")
    assert answer.show_alert and "Alex & Sam" in (answer.text or "")
    await alex.press(intro, "Plan a visit")
    where = await group.expect("Where will you be together?")
    assert where.button_texts() == ["At Alex's place", "At Sam's place", "Somewhere else"]
    visit_id = the_visit(services, couple)["id"]

    # Forged presses: an unknown visit, a person who isn't a partner, a step not yet reached.
    for forged in (
        "visit:where:999:1",
        f"visit:where:{visit_id}:{casey.id}",
        f"visit:rest:{visit_id}:hour",
        "visit:where",
        "visit:act:x:y:z:w",
    ):
        answer = await sam.press_data(where, forged)
        assert answer.show_alert and "no longer current" in (answer.text or ""), forged
    assert the_visit(services, couple)["step"] == "where"

    await sam.press(where, "At Alex's place")
    question = await group.expect(
        "Sam, on which day does the visit begin?", "Europe/Berlin", "2026-12-20", "20.12."
    )
    assert where.buttons == []  # answered questions lose their buttons
    assert question.force_reply
    await group.reply(alex, to=question, text="2026-12-10")  # not Alex's question: ignored
    await group.reply(sam, to=question, text="next <b>spring</b>")
    question = await group.expect(
        "couldn't read “next <b>spring</b>” as a date", "on which day does the visit begin?"
    )
    await group.reply(sam, to=question, text="2026-11-01")
    question = await group.expect("has already passed", "on which day does the visit begin?")
    await group.reply(sam, to=question, text="10.12.")
    question = await group.expect("Sam, on which day does it end?", "December 10, 2026")
    await group.reply(sam, to=question, text="9.12.2026")
    question = await group.expect("can't come before the first", "on which day does it end?")
    await group.reply(sam, to=question, text="Dec 13")
    await group.expect(
        "December 10, 2026 to December 13, 2026",
        "3 nights",
        "what does each of you need from this visit to feel safe",
    )

    # Each partner answers their own question; nobody else's answer counts.
    alex_goal = await group.expect("Alex, what would help you feel safe")
    sam_goal = await group.expect("Sam, what would help you feel safe")
    await group.reply(sam, to=alex_goal, text="I'll answer for Alex")
    await group.reply(casey, to=sam_goal, text="Casey's opinion")
    await group.reply(alex, to=alex_goal, text="A calm talk about <i>the trip</i>")
    await group.expect("Still open: Sam")
    await group.reply(sam, to=sam_goal, text="Knowing the plan for each day")
    menu = await group.expect("Time for both", "serious conversation", "light and joyful")
    assert "Revisit a place that matters to us" in menu.button_texts()

    await alex.press(menu, "Cook a meal together")
    await sam.press(menu, "One unhurried serious talk")
    await sam.press(menu, "Long walks, phones away")
    await sam.press(menu, "✓ Long walks, phones away")  # changed their mind
    assert {
        "✓ Cook a meal together",
        "✓ One unhurried serious talk",
        "Long walks, phones away",
    } <= set(menu.button_texts())
    answer = await casey.press(menu, "Done")
    assert answer.show_alert
    await alex.press(menu, "Add our own idea")
    idea = await group.expect("Alex, what would you like to add?")
    await group.reply(alex, to=idea, text="Sunset at the lake")
    menu = await group.expect("Time for both", "Sunset at the lake")
    await alex.press(menu, "Done")
    rest = await group.expect("Room to breathe")
    await sam.press(rest, "An hour to ourselves each day")
    planned = await group.expect(
        "Your visit plan is ready",
        "Thursday, December 10, 2026",
        "Sunday, December 13, 2026",
        "at Alex's place",
        "Alex: A calm talk about <i>the trip</i>",
        "Sam: Knowing the plan for each day",
        "cooking a meal together",
        "Sunset at the lake",
        "one unhurried serious talk",
        "an hour to yourselves each day",
        # The countdown a week before, in each partner's own time.
        "A week before: December 3, 2026, 10:00",
        "for Alex · December 3, 2026, 8:00",
        "Next morning check-in: December 11, 2026, 9:30",
        "for Alex · December 11, 2026, 7:30",
    )
    assert "I'll answer for Alex" not in planned.text and "Casey" not in planned.text

    visit = the_visit(services, couple)
    assert visit["state"] == "planned" and visit["arrival"] == "2026-12-10"
    assert visit["goals"] == {
        str(alex.id): "A calm talk about <i>the trip</i>",
        str(sam.id): "Knowing the plan for each day",
    }
    assert visit["activities"] == ["cooking", "talk"] and visit["ideas"] == ["Sunset at the lake"]
    kinds = sorted(
        r["kind"] for r in services.timers.pending(group.id) if r["kind"].startswith("visit_")
    )
    assert kinds == sorted([COUNTDOWN, COUNTDOWN, CHECKIN, REFLECT, REFLECT, REVEAL])

    await group.send(sam, "/visit")
    await group.expect("Your next visit: in 20 days", "at Alex's place", "PM for Sam")
    await group.send(sam, "/visit please")
    await group.expect("/visit cancel")
    await sam.send_private("/visit")
    await sam.private.expect("belongs in your shared group")


@pytest.mark.clock(START)
async def test_countdown_and_check_ins_come_at_each_partners_local_time(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await set_zones(couple)
    await plan_visit(couple)

    # A week before: 10:00 in Berlin is 20:00 in Sydney, daytime for both.
    week_before = datetime(2026, 12, 3, 9, tzinfo=UTC)
    await travel(clock, sandbox, week_before - timedelta(minutes=1))
    assert not any("until your visit" in m.text for m in group.bot_messages())
    await clock.advance(timedelta(minutes=2), sandbox)
    countdown = await group.wait_for(lambda m: "7 days until your visit" in m.text)
    assert abs(sent_at(countdown) - week_before) < timedelta(minutes=1)
    assert "looking forward to" in countdown.text

    await travel(clock, sandbox, datetime(2026, 12, 9, 9, 1, tzinfo=UTC))
    day_before = await group.wait_for(lambda m: "Tomorrow you'll see each other" in m.text)
    assert "calm, easy time" in day_before.text
    assert "deeper conversations can wait" in day_before.text

    # Each morning of the visit, 9:30 at the place (Berlin), from the day after arrival.
    mornings = []
    for day in (11, 12, 13):
        await travel(clock, sandbox, datetime(2026, 12, day, 8, 31, tzinfo=UTC))
        mornings.append(await group.wait_for(lambda m: "Good morning, day" in m.text))
    assert [sent_at(m).replace(second=0) for m in mornings] == [
        datetime(2026, 12, day, 8, 30, tzinfo=UTC) for day in (11, 12, 13)
    ]
    assert "day 2" in mornings[0].text and "don't feel quite normal yet" in mornings[0].text
    assert "day 4" in mornings[2].text and "last day together" in mornings[2].text
    assert "normal yet" not in mornings[1].text

    await alex.press(mornings[0], "🙂 Good")
    await sam.press(mornings[0], "😔 Heavy")
    assert "Alex: good" in mornings[0].text and "Sam: heavy today" in mornings[0].text
    assert "give each other some time alone" in mornings[0].text
    answer = await alex.press_data(mornings[0], "visit:feel:1:2026-12-25:good")
    assert answer.show_alert


@pytest.mark.clock(START)
async def test_the_reflection_is_private_until_both_answered(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await set_zones(couple)
    await plan_visit(couple, arrival="2026-11-27", departure="2026-11-28")

    # The day after, each in their own morning: Sydney's comes first.
    await travel(clock, sandbox, datetime(2026, 11, 28, 23, 1, tzinfo=UTC))
    sam_question = await see(sam.private, "Hi Sam", "How safe and connected")
    assert sam_question.button_texts() == ["1", "2", "3", "4", "5"]
    await clock.to(datetime(2026, 11, 29, 9, 1, tzinfo=UTC), sandbox)
    alex_question = await see(alex.private, "Hi Alex", "How safe and connected")
    group.skip()

    await sam.press(sam_question, "5")
    note = await see(sam.private, "You chose 5")
    assert sam_question.buttons == []  # answered: the buttons are gone
    await sam.press(note, "No note")
    share = await see(sam.private, "What may the group see?", "Alex will see only")
    assert share.button_texts() == ["Only my rating", "Only that I answered"]
    await sam.press(share, "Only my rating")
    await see(sam.private, "The group will see your rating")
    await sandbox.settle()
    assert not any("How your visit felt" in m.text for m in group.bot_messages())

    visit_id = the_visit(services, couple)["id"]
    forged = await alex.press_data(alex_question, f"visitme:{group.id - 1}:{visit_id}:rate:3")
    assert forged.show_alert
    await alex.press(alex_question, "4")
    note = await see(alex.private, "You chose 4")
    await alex.press(note, "Add a note")
    ask = await see(alex.private, "Write what you'd like to add")
    await alex.private.reply(alex, to=ask, text="The lake walk <b>helped</b>")
    share = await see(alex.private, "What may the group see?")
    await alex.press(share, "My rating and my note")
    reveal = await see(
        group,
        "How your visit felt",
        "Alex: 4 of 5: “The lake walk <b>helped</b>”",
        "Sam: 5 of 5",
        "You both felt safe and connected",
    )
    assert "late" not in reveal.text
    visit = the_visit(services, couple)
    assert visit["both_safe"] is True and visit["state"] == "done"
    assert services.timers.pending(group.id, REVEAL) == []


@pytest.mark.clock(START)
async def test_at_the_deadline_the_group_sees_only_what_was_shared(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group, sam = couple.group, couple.sam
    await set_zones(couple)
    await plan_visit(couple, arrival="2026-11-27", departure="2026-11-28")
    await travel(clock, sandbox, datetime(2026, 11, 28, 23, 1, tzinfo=UTC))
    question = await see(sam.private, "How safe and connected")
    await sam.press(question, "2")
    note = await see(sam.private, "You chose 2")
    await sam.press(note, "Add a note")
    ask = await see(sam.private, "Write what you'd like to add")
    await sam.private.reply(sam, to=ask, text="Too much, too soon")
    share = await see(sam.private, "What may the group see?")
    await sam.press(share, "Only that I answered")

    await travel(clock, sandbox, datetime(2026, 12, 2, 9, 1, tzinfo=UTC))
    reveal = await group.wait_for(lambda m: "How your visit felt" in m.text)
    assert "Sam: answered, and kept it private" in reveal.text
    assert "Alex: didn't answer this time" in reveal.text
    assert "Too much" not in reveal.text and "2 of 5" not in reveal.text
    assert the_visit(services, couple)["both_safe"] is False


@pytest.mark.clock(START)
async def test_visit_cancel_stops_its_timers(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group = couple.group
    await group.send(couple.sam, "/visit cancel")
    await group.expect("no visit planned right now", "nothing to cancel")
    await plan_visit(couple, by_sam=True)
    assert services.timers.pending(group.id)
    await group.send(couple.alex, "/visit cancel")
    await group.expect("Alex called off the visit plan and its reminders")
    assert [r for r in services.timers.pending(group.id) if r["kind"].startswith("visit")] == []
    assert the_visit(services, couple)["state"] == "cancelled"
    await travel(clock, sandbox, datetime(2026, 12, 3, 9, 5, tzinfo=UTC))
    assert not any("until your visit" in m.text for m in group.bot_messages())
    await group.send(couple.alex, "/visit")
    await see(group, "Planning a visit")


@pytest.mark.clock(START)
async def test_a_plan_left_half_way_continues(couple: People, services: Services) -> None:
    group = couple.group
    await group.send(couple.alex, "/visit")
    intro = await group.expect("Planning a visit")
    await couple.alex.press(intro, "Plan a visit")
    where = await group.expect("Where will you be together?")
    await couple.alex.press(where, "Somewhere else")
    question = await group.expect("Alex, which city will you meet in?")
    await group.reply(couple.alex, to=question, text="Qwxzv Zzyqk")
    question = await group.expect("couldn't place", "Alex, which city")
    await group.send(couple.sam, "/visit")  # Sam picks it up where it stands
    question = await group.expect("Sam, which city will you meet in?")
    await group.reply(couple.sam, to=question, text="Lisbon")
    await group.expect("Sam, on which day does the visit begin?", "Europe/Lisbon")
    assert the_visit(services, couple)["zone"] == "Europe/Lisbon"


@pytest.mark.clock(START)
async def test_after_downtime_missed_prompts_are_dropped_and_the_reflection_comes_late(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    group, alex = couple.group, couple.alex
    await set_zones(couple)
    await plan_visit(couple)
    # Down across the week-before countdown: it's dropped, not replayed.
    await travel(clock, sandbox, datetime(2026, 12, 3, 8, tzinfo=UTC))
    app = await restart(downtime=timedelta(hours=3))
    await sandbox.settle()
    assert not any("until your visit" in m.text for m in group.bot_messages())
    assert len(services_of(app).timers.pending(group.id, COUNTDOWN)) == 1  # the day before

    # Down from the second morning of the visit until after it: the missed check-ins are
    # dropped, and the reflection still comes, worded as late.
    await travel(clock, sandbox, datetime(2026, 12, 11, 8, 31, tzinfo=UTC))
    await group.wait_for(lambda m: "Good morning, day 2" in m.text)
    await restart(downtime=timedelta(days=3, hours=2))
    late = await see(alex.private, "How safe and connected")
    assert "later than I meant" in late.text
    assert late.button_texts() == ["1", "2", "3", "4", "5"]
    assert not any("day 3" in m.text or "day 4" in m.text for m in group.bot_messages())
