"""/visit through the sandbox: a Berlin–Sydney couple plans a visit step by step, the countdown
and the morning check-ins come at each partner's right local time, the reflection stays private
until both answered, /visit cancel, and restarts (missed prompts dropped, the reflection late);
the repair plan shows the visit planned here."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import services_of
from bot.context import Services
from bot.features.visit import (
    CHECKIN,
    COUNTDOWN,
    PLAN,
    REFLECT,
    REFLECTION,
    REVEAL,
    VISITS_TABLE,
)
from bot.flows import runner_of
from bot.sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage
from tests.conftest import Clock, People, Restart, agree
from tests.features.test_plan import write_plan

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


async def tap(sandbox: Sandbox, person: SandboxUser, message: SentMessage, label: str) -> None:
    """Press a button whose answer edits the message in place, and wait until it has."""
    await person.press(message, label)
    await sandbox.settle(idle=0.05)


async def plan_visit(
    sandbox: Sandbox,
    couple: People,
    arrival: str = "10.12.",
    departure: str = "2026-12-13",
    *,
    by_sam: bool = False,
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
    await group.expect("what would make this visit feel safe to each of you")
    for person in (alex, sam):
        goal = await group.expect(f"{person.name}, what would make this visit feel safe to you")
        await group.reply(person, to=goal, text=f"{person.name}'s goal")
    await group.expect("Still open")
    menu = await group.expect("Time for both")
    await planner.press(menu, "Cook a meal together")
    await tap(sandbox, planner, menu, "Done")
    assert menu.contains("Room to breathe")  # the menu makes way for the next question
    await planner.press(menu, "An hour to ourselves each day")
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
    intro = await group.expect(
        "Planning a visit", "what would make the days feel safe to each of you"
    )
    answer = await casey.press(intro, "Plan a visit")
    assert answer.show_alert and "Alex & Sam" in (answer.text or "")
    await alex.press(intro, "Plan a visit")
    where = await group.expect("Where will you be together?")
    assert where.button_texts() == ["At Alex's place", "At Sam's place", "Somewhere else"]
    visit_id = the_visit(services, couple)["id"]

    # Forged presses: data from before planning was a flow, a person who isn't a partner, an
    # option the step doesn't have, a step not yet reached.
    real = where.buttons[0][0].callback_data or ""
    token = real.split(":")[1]
    for forged in (
        "visit:where:999:1",
        f"visit:where:{visit_id}:{casey.id}",
        f"visit:rest:{visit_id}:hour",
        f"r:{token}:where:host_7",
        f"r:{token}:rest:hour",
        "r:AAAAAAAA:where:else",
    ):
        answer = await sam.press_data(where, forged)
        assert answer.show_alert and "no longer current" in (answer.text or ""), forged
    [planning] = runner_of(services).runs(group.id, PLAN)
    assert planning.step == "where"

    await sam.press(where, "At Alex's place")
    question = await group.expect(
        "Sam, on which day does the visit begin?", "Europe/Berlin", "2026-12-20", "20.12."
    )
    assert where.buttons == []  # answered questions lose their buttons
    assert question.force_reply
    await group.reply(alex, to=question, text="2026-12-10")  # not Alex's question: not used
    await group.expect("Alex, that question was for Sam", "It stays Sam's to answer")
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
        "what would make this visit feel safe to each of you",
    )

    # Each partner answers their own question; nobody else's answer counts.
    alex_goal = await group.expect("Alex, what would make this visit feel safe to you")
    sam_goal = await group.expect("Sam, what would make this visit feel safe to you")
    await group.reply(sam, to=alex_goal, text="I'll answer for Alex")
    await group.expect("Sam, that question was for Alex")  # told, and not counted
    await group.reply(casey, to=sam_goal, text="Casey's opinion")  # not in the couple: ignored
    await group.reply(alex, to=alex_goal, text="A calm talk about <i>the trip</i>")
    await group.expect("Still open: Sam")
    await group.reply(sam, to=sam_goal, text="Knowing the plan for each day")
    menu = await group.expect("Time for both", "serious conversation", "light and joyful")
    assert "Revisit a place that matters to us" in menu.button_texts()

    await tap(sandbox, alex, menu, "Cook a meal together")
    await tap(sandbox, sam, menu, "One unhurried serious talk")
    await tap(sandbox, sam, menu, "Long walks, phones away")
    await tap(sandbox, sam, menu, "✓ Long walks, phones away")  # changed their mind
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
    await tap(sandbox, alex, menu, "Done")
    assert menu.contains("Room to breathe")
    await sam.press(menu, "An hour to ourselves each day")
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
        "for Alex · December 3, 2026, 20:00",
        # The mornings of the visit, on the clock of the place where both of them are.
        "Next morning check-in: December 11, 2026, 09:30 where you'll both be",
    )
    assert "I'll answer for Alex" not in planned.text and "Casey" not in planned.text
    assert "December 11, 2026, 19:30" not in planned.text  # not Sam's clock back home

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
    await group.expect("Your next visit: in 20 days", "at Alex's place", "20:00 for Sam")
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
    await plan_visit(sandbox, couple)

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
    assert "Let the first evening be easy" in day_before.text
    assert "keep the big talks for when you've both landed" in day_before.text

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

    await tap(sandbox, alex, mornings[0], "🙂 Good")
    await tap(sandbox, sam, mornings[0], "😔 Heavy")
    assert "Alex: good" in mornings[0].text and "Sam: heavy today" in mornings[0].text
    assert "give each other some time alone" in mornings[0].text
    await asyncio.gather(  # a double tap: the same answer, shown once
        alex.press(mornings[0], "😐 Mixed"), alex.press(mornings[0], "😐 Mixed")
    )
    await sandbox.settle()
    assert "Alex: mixed" in mornings[0].text and "Sam: heavy today" in mornings[0].text
    answer = await alex.press_data(mornings[0], "visit:feel:1:2026-12-25:good")
    assert answer.show_alert


@pytest.mark.clock(START)
async def test_the_reflection_is_private_until_both_answered(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await set_zones(couple)
    await plan_visit(sandbox, couple, arrival="2026-11-27", departure="2026-11-28")

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
    await plan_visit(sandbox, couple, arrival="2026-11-27", departure="2026-11-28")
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
    # Alex's question is closed now: its buttons are gone, and a late press changes nothing.
    late = await see(couple.alex.private, "How safe and connected")
    await sandbox.settle()
    assert late.buttons == []
    [alexs] = [
        run
        for run in runner_of(services).runs(group.id, REFLECTION, finished=True)
        if run.owner == couple.alex.id
    ]
    answer = await couple.alex.press_data(late, f"r:{alexs.token}:rate:5")
    assert answer.show_alert and "no longer current" in (answer.text or "")
    assert str(couple.alex.id) not in the_visit(services, couple)["reflections"]


@pytest.mark.clock(START)
async def test_visit_cancel_stops_its_timers(
    sandbox: Sandbox, couple: People, services: Services, clock: Clock
) -> None:
    group = couple.group
    await group.send(couple.sam, "/visit cancel")
    await group.expect("no visit planned right now", "nothing to cancel")
    await plan_visit(sandbox, couple, by_sam=True)
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
    await plan_visit(sandbox, couple)
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


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.clock(START)
async def test_double_taps_old_buttons_and_answers_asked_again(
    sandbox: Sandbox, couple: People, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await group.send(alex, "/visit")
    intro = await group.expect("Planning a visit")
    # A double tap starts one plan, not two.
    await asyncio.gather(alex.press(intro, "Plan a visit"), alex.press(intro, "Plan a visit"))
    where = await group.expect("Where will you be together?")
    old_where = where.buttons[0][0].callback_data or ""
    await asyncio.gather(sam.press(where, "At Alex's place"), sam.press(where, "At Alex's place"))
    question = await group.expect("Sam, on which day does the visit begin?")
    await sandbox.settle()
    assert [m for m in group.bot_messages() if "Where will you be" in m.text] == [where]
    assert len(services.store.records(group.id, VISITS_TABLE)) == 1

    # The plan has moved on: the old button is out of date and changes nothing.
    answer = await alex.press_data(where, old_where)
    assert answer.show_alert and "no longer current" in (answer.text or "")
    await group.reply(sam, to=question, text="10.12.")
    question = await group.expect("on which day does it end?")
    await group.reply(sam, to=question, text="13.12.")
    intro = await group.expect("what would make this visit feel safe to each of you")
    alex_goal = await group.expect("Alex, what would make this visit feel safe to you")
    sam_goal = await group.expect("Sam, what would make this visit feel safe to you")

    # Alex would rather say it in person: tapped twice, it is noted once; their question closes.
    await asyncio.gather(
        alex.press(intro, "I'll say mine in person"), alex.press(intro, "I'll say mine in person")
    )
    await group.expect("Still open: Sam")
    await group.reply(alex, to=alex_goal, text="Changed my mind")
    await group.expect("That question has already moved on")

    # An answer over the limit is asked for again, saying why; nothing is cut or kept.
    await group.reply(sam, to=sam_goal, text="x" * 501)
    again = await group.expect(
        "over 500 characters", "Sam, what would make this visit feel safe to you"
    )
    assert again.force_reply
    assert the_visit(services, couple)["goals"] == {str(alex.id): ""}
    await group.reply(sam, to=again, text="Knowing the plan")
    menu = await group.expect("Time for both")
    assert intro.buttons == []  # nothing left to skip
    await sandbox.settle()
    assert not [m for m in group.bot_messages() if "Still open" in m.text][1:]
    assert the_visit(services, couple)["goals"] == {
        str(alex.id): "",
        str(sam.id): "Knowing the plan",
    }

    # The idea question is asked again of whoever asks where the plan stands.
    await alex.press(menu, "Add our own idea")
    await group.expect("Alex, what would you like to add?")
    await group.send(sam, "/visit")
    idea = await group.expect("Sam, what would you like to add?")
    await group.reply(sam, to=idea, text="A picnic")
    menu = await group.expect("Time for both", "A picnic")
    await tap(sandbox, sam, menu, "Done")
    await asyncio.gather(
        alex.press(menu, "An hour to ourselves each day"),
        alex.press(menu, "An hour to ourselves each day"),
    )
    await group.expect("Your visit plan is ready", "A picnic", "Alex: to be said in person")
    await sandbox.settle()
    assert len([m for m in group.bot_messages() if "plan is ready" in m.text]) == 1
    assert errors(caplog) == []


@pytest.mark.clock(START)
async def test_records_and_buttons_from_before_planning_was_a_flow(
    sandbox: Sandbox, couple: People, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    group, alex = couple.group, couple.alex
    old = {
        "host": alex.id,
        "zone": None,
        "goals": {str(alex.id): "Calm"},
        "activities": ["walks"],
        "ideas": [],
        "rest": None,
        "checkins": {"2026-11-12": {}},
        "reflections": {},
        "both_safe": None,
        "created_at": "2026-11-01T10:00:00+00:00",
    }
    with services.store.transaction(group.id) as tx:
        table = tx.table(VISITS_TABLE)
        over = table.insert(
            {
                **old,
                "state": "over",
                "step": None,
                "arrival": "2026-11-10",
                "departure": "2026-11-12",
            }
        )
        half = table.insert(
            {
                **old,
                "state": "planning",
                "step": "time",
                "planner": alex.id,
                "arrival": "2026-12-10",
                "departure": "2026-12-13",
            }
        )
    welcome = group.bot_messages()[0]
    for data in (f"visit:act:{half}:cooking", f"visit:feel:{over}:2026-11-12:good", "visit:plan"):
        answer = await alex.press_data(welcome, data)
        assert answer.show_alert and "no longer current" in (answer.text or "")
    mine = alex.private.bot_messages()[-1]
    answer = await alex.press_data(mine, f"visitme:{group.id}:{over}:rate:5")
    assert answer.show_alert

    # The reflection owed for the visit that is over is asked now; the plan left half-way
    # can't go on, so a new one is offered.
    await group.send(alex, "/visit")
    await group.expect("Alex, I've sent you the question")
    await group.expect("Planning a visit")
    question = await see(alex.private, "How safe and connected", "November 10, 2026")
    await alex.press(question, "4")
    note = await see(alex.private, "You chose 4")
    await alex.press(note, "No note")
    share = await see(alex.private, "What may the group see?")
    await alex.press(share, "Only my rating")
    await see(alex.private, "The group will see your rating")
    reflections = services.store.records(group.id, VISITS_TABLE)[0]["reflections"]
    assert reflections[str(alex.id)]["rating"] == 4
    assert errors(caplog) == []


@pytest.mark.clock(START)
async def test_a_partner_the_reflection_cant_reach_is_told_in_the_group(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    group, alex, sam = couple.group, couple.alex, couple.sam
    await set_zones(couple)
    await plan_visit(sandbox, couple, arrival="2026-11-27", departure="2026-11-28")
    alex.block_bot()
    await travel(clock, sandbox, datetime(2026, 11, 29, 9, 1, tzinfo=UTC))
    await see(sam.private, "Hi Sam", "How safe and connected")
    notice = await see(group, "Alex, I'd like to ask you privately", "can't reach you there")
    assert notice.button_texts() == ["A new link to my private chat"]

    await alex.start_private()
    await group.send(alex, "/visit")
    await see(group, "Alex, I've sent you the question")
    question = await see(alex.private, "Hi Alex", "How safe and connected")
    assert "later than I meant" not in question.text
    await alex.press(question, "3")
    await see(alex.private, "You chose 3")


@pytest.mark.clock(START)
async def test_a_morning_check_in_that_fails_once_comes_once_later(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    group, alex = couple.group, couple.alex
    await set_zones(couple)
    await plan_visit(sandbox, couple, arrival="2026-11-27", departure="2026-11-28")
    await travel(clock, sandbox, datetime(2026, 11, 28, 8, 29, tzinfo=UTC))
    # Each delivery attempt is a request sent three times (bot.network): the first one fails.
    sandbox.faults.inject("sendMessage", kind="server_error", status=502, times=3)
    await clock.to(datetime(2026, 11, 28, 8, 30, 5, tzinfo=UTC), sandbox)
    assert sandbox.faults.pending == 0  # it fell due and failed; tried again 15 s later
    assert not [m for m in group.bot_messages() if "Good morning" in m.text]
    await clock.advance(timedelta(seconds=20), sandbox)
    morning = await group.wait_for(lambda m: "Good morning, day 2" in m.text)
    await tap(sandbox, alex, morning, "🙂 Good")
    assert "Alex: good" in morning.text
    assert len([m for m in group.bot_messages() if "Good morning" in m.text]) == 1


@pytest.mark.clock(START)
async def test_the_plan_follows_the_visit_planned_here(sandbox: Sandbox, couple: People) -> None:
    group, sam = couple.group, couple.sam
    await write_plan(sandbox, couple)
    await group.expect("What kind of breach are you repairing?")
    await group.send(sam, "/plan edit")
    await sam.press(await group.expect("Which part of the plan"), "Change next visit")
    await sam.press(await group.expect("Step 4 of 4"), "Pick a date")
    await group.reply(sam, to=await group.expect("Sam, on which day"), text="24.12.2026")
    await agree(group, couple.alex, "Sam proposes this change")
    pinned = await group.expect("Your repair plan, updated", "Next visit: December 24, 2026")

    await plan_visit(sandbox, couple, arrival="1.12.", departure="2026-12-04")
    planned = "Next visit: December 1, 2026 to December 4, 2026, as planned with /visit"
    await sandbox.wait_until(lambda: planned in pinned.text, "the pinned plan follows the visit")
    await group.send(sam, "/plan")
    await group.expect(planned)

    await group.send(sam, "/visit cancel")
    await group.expect("called off")
    await sandbox.wait_until(lambda: "December 24, 2026" in pinned.text, "the typed day again")
