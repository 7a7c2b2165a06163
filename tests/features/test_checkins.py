"""The weekly check-in, the monthly checklist and the quarterly letters through the sandbox:
private reflections revealed side by side only when both are done (or at the deadline), one
reminder, a kept week celebrated once it is over (once, even across a restart) and never right
after a painful reveal, which offers a slow talk or the next window instead; one checklist a
month, its verdict and the change since the month before, and the honest reflection (only
after three months and checklists in three different months) sent privately, outside quiet
hours, never to the group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import services_of
from bot.context import Services
from bot.dates import add_months
from bot.features.checkins import CHECKINS_TABLE, CHECKLISTS_TABLE, QUARTERLY, WEEKLY
from bot.model import to_iso, utcnow
from bot.sandbox import Sandbox, SandboxUser, SentMessage
from tests.conftest import Clock, People, Restart, past_checkin, set_day_one


async def start(couple: People, by: SandboxUser) -> SentMessage:
    """/checkin: the questions go privately, the group gets the outline and the poll."""
    await couple.group.send(by, "/checkin")
    await couple.group.expect("Check-in: how was this week between you?")
    poll = await couple.group.next_bot_message()
    assert poll.poll is not None and not poll.poll["is_anonymous"]
    assert len(poll.poll["options"]) == 5
    return poll


async def reflect(person: SandboxUser, texts: list[str], share: list[bool]) -> None:
    """Answer the three private questions, choosing for each whether the group may see it."""
    for number, (text, sharing) in enumerate(zip(texts, share, strict=True), start=1):
        question = await person.private.expect(f"{number} of 3")
        assert question.force_reply
        await person.private.reply(person, to=question, text=text)
        choice = await person.private.expect("Saved, privately")
        answer = await person.press(choice, "Share it" if sharing else "Keep it private")
        assert answer.text == ("Shared when the check-in is shown." if sharing else "Kept private.")
    await person.private.expect("that's all three")


def said(couple: People, fragment: str) -> int:
    return sum(fragment in m.text for m in couple.group.bot_messages())


async def progress(couple: People, by: SandboxUser) -> None:
    """/progress: the chart, then where the couple is (and a milestone newly reached)."""
    await couple.group.send(by, "/progress")
    await couple.group.wait_for(lambda m: "Where you are" in m.text)


async def test_both_answer_then_the_group_sees_what_each_shared_and_a_kept_week_once_it_is_over(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    poll = await start(couple, couple.alex)
    await couple.alex.answer_poll(poll, [3])
    await couple.sam.answer_poll(poll, [4])
    await reflect(
        couple.alex,
        ["We laughed on the call", "Friday still stings", "Call before bed"],
        [True, False, True],
    )
    await sandbox.settle()
    assert said(couple, "side by side") == 0  # Sam hasn't finished: nothing is shown yet
    await reflect(
        couple.sam,
        ["You called when you said", "Trusting the late nights", "Tell you about my week"],
        [True, True, False],
    )

    reveal = await couple.group.expect("side by side", "Alex 4/5", "Sam 5/5")
    assert "We laughed on the call" in reveal.text and "You called when you said" in reveal.text
    assert "Trusting the late nights" in reveal.text and "Call before bed" in reveal.text
    assert "Friday still stings" not in reveal.text  # Alex kept it private
    assert "Tell you about my week" not in reveal.text
    assert reveal.text.count("answered, and kept it private") == 2
    assert "Something for the week ahead" in reveal.text  # a good week: something nice next
    await progress(couple, couple.alex)
    await sandbox.settle()
    assert said(couple, "A first kept week") == 0  # on day 1: the week isn't over yet

    await clock.advance(timedelta(days=7, hours=3), sandbox)  # the morning after day 7
    assert said(couple, "A first kept week") == 1
    await restart()
    await progress(couple, couple.sam)
    await sandbox.settle()
    assert said(couple, "A first kept week") == 1


@pytest.mark.clock(datetime(2026, 5, 6, 9, 0, tzinfo=UTC))  # a Wednesday morning
async def test_a_painful_reveal_offers_a_slow_talk_or_the_window_and_no_celebration(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    services = couple.services
    assert services is not None
    # Week 1 (days 1-7) is over and was kept: both answered its check-in.
    setup = set_day_one(services, couple, utcnow() - timedelta(days=8))
    both = (couple.alex.id, couple.sam.id)
    with services.store.transaction(couple.group.id) as tx:
        tx.table(CHECKINS_TABLE).insert(past_checkin(setup + timedelta(hours=1), {}, both))
    await couple.group.send(couple.sam, "/window add mon 19:00")
    await couple.group.expect("Window added")

    poll = await start(couple, couple.alex)
    await couple.alex.answer_poll(poll, [3])  # 4 of 5
    await couple.sam.answer_poll(poll, [1])  # 2 of 5: this week hurt
    await reflect(couple.alex, ["a", "b", "c"], [True, True, True])
    await reflect(couple.sam, ["d", "e", "f"], [True, True, True])
    reveal = await couple.group.expect(
        "side by side", "Alex 4/5", "Sam 2/5", "Some of this week hurt", "/script listen"
    )
    assert "your next insecurity window: Monday 19:00 for Alex" in reveal.text
    assert "Something for the week ahead" not in reveal.text
    await progress(couple, couple.alex)
    await sandbox.settle()
    assert said(couple, "A first kept week") == 0  # not straight after that

    await clock.advance(timedelta(days=1, hours=1), sandbox)
    await progress(couple, couple.alex)
    await couple.group.expect("A first kept week")


async def test_another_check_in_within_the_week_only_if_both_want_it(
    sandbox: Sandbox, couple: People
) -> None:
    await start(couple, couple.alex)
    await reflect(couple.alex, ["a", "b", "c"], [True, True, True])
    await reflect(couple.sam, ["d", "e", "f"], [True, True, True])
    await couple.group.expect("side by side")

    await couple.group.send(couple.alex, "/checkin")  # a minute later
    ask = await couple.group.expect("Alex would like another check-in now", "Sam, would you")
    answer = await couple.alex.press(ask, "Yes, one now")
    assert answer.show_alert and "for your partner" in (answer.text or "")
    await couple.sam.press(ask, "Not now")
    await couple.group.expect("Sam would rather wait", "weekly rhythm stays")
    await sandbox.settle()
    assert said(couple, "Check-in: how was this week") == 1
    assert sum("1 of 3" in m.text for m in couple.sam.private.bot_messages()) == 1

    await couple.group.send(couple.alex, "/checkin")
    ask = await couple.group.expect("Alex would like another check-in now")
    await couple.sam.press(ask, "Yes, one now")
    await couple.group.expect("Check-in: how was this week", "started by Alex")
    await couple.sam.private.expect("1 of 3")
    assert said(couple, "Check-in: how was this week") == 2


async def test_the_reveal_waits_for_the_deadline_with_one_reminder(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    poll = await start(couple, couple.alex)
    await couple.sam.answer_poll(poll, [1])
    await reflect(
        couple.alex, ["Steady calls", "Nothing new", "Plan the visit"], [True, True, True]
    )
    first_question = await couple.sam.private.expect("1 of 3")
    await clock.advance(timedelta(hours=11, minutes=50), sandbox)
    assert said(couple, "side by side") == 0

    await clock.advance(timedelta(minutes=20), sandbox)
    await couple.sam.private.expect("gentle nudge")
    again = await couple.sam.private.expect("1 of 3")
    assert again.force_reply
    assert not any("nudge" in m.text for m in couple.alex.private.bot_messages())

    await clock.advance(timedelta(hours=12), sandbox)
    reveal = await couple.group.expect("side by side", "Not everyone finished", "Sam 2/5")
    assert "Steady calls" in reveal.text and "no answer this time" in reveal.text
    assert poll.poll is not None and poll.poll["is_closed"]
    await clock.advance(timedelta(hours=13), sandbox)
    assert said(couple, "side by side") == 1 and said(couple, "nudge") == 0

    await couple.sam.private.reply(couple.sam, to=first_question, text="Too late?")
    await couple.sam.private.expect("already closed")


async def test_usage_schedule_and_who_may_start(sandbox: Sandbox, couple: People) -> None:
    services = couple.services
    assert services is not None
    [weekly] = services.timers.pending(couple.group.id, WEEKLY)  # set up with the couple
    setup = couple.couple().setup_completed_at
    assert setup is not None and weekly["due"] >= to_iso(setup + timedelta(days=5))

    await couple.group.send(couple.alex, "/checkin whenever")
    await couple.group.expect("/checkin sunday 19:00", "/checkin off")
    await couple.group.send(couple.sam, "/checkin wed 20:30")
    set_at = await couple.group.expect("Wednesdays at 20:30", "Wednesday 20:30 for Alex")
    assert "quiet hours" not in set_at.text
    [weekly] = services.timers.pending(couple.group.id, WEEKLY)
    # A time in someone's quiet hours is shown as when it will really start.
    await couple.alex.send_private("/quiet 20:00-07:00")
    await couple.alex.private.expect("Quiet hours set")
    await couple.group.send(couple.sam, "/checkin wed 20:30")
    await couple.group.expect(
        "Thursday 07:00 for Alex", "20:30 falls in the quiet hours of Alex", "starts as they end"
    )
    await couple.group.send(couple.sam, "/checkin off")
    await couple.group.expect("weekly check-in is paused")
    assert services.timers.pending(couple.group.id, WEEKLY) == []

    outsider = sandbox.user("Robin")
    await couple.group.add_member(outsider, by=couple.alex)
    await couple.group.send(outsider, "/checkin")
    await couple.group.wait_for(lambda m: "I'm here for Alex and Sam" in m.text)
    assert said(couple, "Check-in:") == 0
    await start(couple, couple.alex)
    await couple.group.send(couple.sam, "/checkin")
    await couple.group.expect("already open")


async def test_forged_and_stale_share_presses_change_nothing(couple: People) -> None:
    await start(couple, couple.alex)
    question = await couple.sam.private.expect("1 of 3")
    await couple.sam.private.reply(couple.sam, to=question, text="Mine")
    choice = await couple.sam.private.expect("Saved, privately")
    data = next(b.callback_data for row in choice.buttons for b in row if b.text == "Share it")
    assert data is not None
    _, token, step, _ = data.split(":")
    other_token = ("A" if token[0] != "A" else "B") + token[1:]
    for forged in (
        f"r:{other_token}:{step}:share",  # no such conversation
        f"r:{token}:s_hurts:share",  # not the step it is at
        f"r:{token}:{step}:publish",  # not one of the step's buttons
        f"r:{token}:q_well:share",
        "r:x",
        "chk:zz",
    ):
        answer = await couple.sam.press_data(choice, forged)
        assert answer.show_alert and "no longer current" in (answer.text or "")
    await couple.sam.press(choice, "Keep it private")
    assert choice.buttons == []  # answered: the buttons are gone
    answer = await couple.sam.press_data(choice, data)  # a second tap that was on its way
    assert answer.show_alert
    await couple.sam.private.expect("2 of 3")


async def checklist(couple: People, alex: list[int], sam: list[int], month: int = 1) -> SentMessage:
    await couple.group.send(couple.alex, "/checklist")
    await couple.group.expect("monthly trust checklist", f"(month {month})")
    poll = await couple.group.next_bot_message()
    assert poll.poll is not None and poll.poll["allows_multiple_answers"]
    assert len(poll.poll["options"]) == 7
    await couple.alex.answer_poll(poll, alex)
    await couple.sam.answer_poll(poll, sam)
    verdict = await couple.group.expect(f"Trust checklist, month {month}")
    assert poll.poll["is_closed"]
    return verdict


def months_in(services: Services, couple: People, months: int, days: int = 1) -> None:
    """The couple has been here `months` calendar months and `days` days."""
    set_day_one(services, couple, add_months(utcnow(), -months) - timedelta(days=days))


def checklists_done(services: Services, couple: People, *ticks: tuple[int, int, int]) -> None:
    """Finished checklists: (month, Alex's ticks, Sam's ticks)."""
    with services.store.transaction(couple.group.id) as tx:
        for month, alex, sam in ticks:
            tx.table(CHECKLISTS_TABLE).insert(
                {
                    "state": "done",
                    "started_at": to_iso(utcnow()),
                    "deadline": to_iso(utcnow()),
                    "month": month,
                    "answers": {
                        str(couple.alex.id): list(range(alex)),
                        str(couple.sam.id): [0] * sam,
                    },
                }
            )


async def test_one_checklist_a_month_and_the_change_since_the_month_before(
    couple: People,
) -> None:
    services = couple.services
    assert services is not None
    first = await checklist(couple, [0, 1], [6])
    assert "Alex: 2 of 6" in first.text and "Sam: 0 of 6" in first.text
    assert "don't ring true yet" in first.text and "first one" in first.text
    assert "/plan" in first.text and "/boundaries" in first.text

    # Again the same day: this month's result and when the next one comes, no new poll.
    await couple.group.send(couple.sam, "/checklist")
    again = await couple.group.expect(
        "This month's checklist is done", "(month 1)", "Alex: 2 of 6", "The next one:"
    )
    assert "since" not in again.text
    await couple.group.send(couple.alex, "/start")
    await couple.group.next_bot_message()  # nothing else came in between: no poll

    months_in(services, couple, 1)  # a calendar month later
    second = await checklist(couple, [0, 1, 2, 3, 4], [0, 1, 2, 5], month=2)
    assert "Alex: 5 of 6 (+3 since last month)" in second.text
    assert "Sam: 4 of 6 (+4 since last month)" in second.text
    assert "trust is heading the way you hoped" in second.text
    assert not any("quiet word" in m.text for m in couple.alex.private.bot_messages())


async def test_no_not_working_word_before_three_months_and_three_months_of_checklists(
    sandbox: Sandbox, couple: People
) -> None:
    services = couple.services
    assert services is not None
    months_in(services, couple, 2, days=20)  # month 3, not yet three months since day 1
    checklists_done(services, couple, (1, 3, 1), (2, 2, 1))
    await checklist(couple, [0, 1], [3], month=3)
    await sandbox.settle()
    assert not any("quiet word" in m.text for m in couple.alex.private.bot_messages())


@pytest.mark.clock(datetime(2026, 5, 4, 1, 0, tzinfo=UTC))  # 01:00 for both of them
async def test_months_without_progress_get_a_private_word_outside_quiet_hours_never_in_the_group(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    services = couple.services
    assert services is not None
    await couple.sam.send_private("/quiet 00:00-07:00")
    await couple.sam.private.expect("Quiet hours set")
    months_in(services, couple, 3)  # month 4: three months since day 1
    checklists_done(services, couple, (2, 3, 1), (3, 2, 1))
    verdict = await checklist(couple, [0, 1], [3], month=4)
    assert "quiet word" not in verdict.text
    word = await couple.alex.private.expect(
        "Alex, a quiet word, only for you", "First, what is working", "3 months in", "/support"
    )
    assert word.text.index("what is working") < word.text.index("hasn't moved much")
    await sandbox.settle()
    assert not any("quiet word" in m.text for m in couple.sam.private.bot_messages())

    await clock.advance(timedelta(hours=6, minutes=5), sandbox)  # Sam's quiet hours end
    await couple.sam.private.wait_for(lambda m: "Sam, a quiet word" in m.text)
    assert not any("quiet word" in m.text for m in couple.group.bot_messages())


async def test_quarterly_letters_are_revealed_together_and_can_be_taken_back(
    sandbox: Sandbox, app: object, couple: People
) -> None:
    services = couple.services
    assert services is not None
    [quarterly] = services.timers.pending(couple.group.id, QUARTERLY)
    await services.timers.run_now(app, couple.group.id, quarterly["id"])  # type: ignore[arg-type]
    invitation = await couple.group.expect("appreciation letter", "/visit")
    ask_alex = await couple.alex.private.expect("Your appreciation letter to Sam")
    await couple.sam.private.expect("Your appreciation letter to Alex")

    await couple.group.send(couple.alex, "/start")  # the group moves on meanwhile
    await couple.group.next_bot_message()
    await couple.alex.private.reply(couple.alex, to=ask_alex, text="First draft")
    saved = await couple.alex.private.expect("Saved, privately")
    await couple.alex.press(saved, "Take my letter back")
    again = await couple.alex.private.expect("Taken back")
    await couple.alex.press(again, "Write a new one")
    ask_alex = await couple.alex.private.expect("Your appreciation letter to Sam")
    await couple.alex.private.reply(couple.alex, to=ask_alex, text="Your patience, always")
    await couple.alex.private.expect("Saved, privately")
    await sandbox.settle()
    assert not any("Your patience" in m.text for m in couple.group.bot_messages())

    answer = await couple.alex.press(invitation, "Write my letter")
    assert answer.show_alert and "already" in (answer.text or "")
    answer = await couple.sam.press(invitation, "Write my letter")  # a second copy of it
    ask_sam = await couple.sam.private.expect("Your appreciation letter to Alex")
    await couple.sam.private.reply(couple.sam, to=ask_sam, text="How you listen")
    await couple.sam.private.expect("both letters are in your group")
    letters = await couple.group.expect(
        "Your appreciation letters", "Alex to Sam", "Your patience, always", "How you listen"
    )
    assert "First draft" not in letters.text
    [next_quarter] = services_of(app).timers.pending(  # type: ignore[arg-type]
        couple.group.id, QUARTERLY
    )
    assert next_quarter["payload"]["quarter"] == 2


async def test_a_partner_away_is_not_asked_and_votes_of_outsiders_do_not_count(
    sandbox: Sandbox, couple: People
) -> None:
    services = couple.services
    assert services is not None
    await couple.sam.send_private(f"/away {utcnow().date().isoformat()}")
    await couple.sam.private.expect("Away-mode is on")
    outsider = sandbox.user("Robin")
    await couple.group.add_member(outsider, by=couple.alex)
    await couple.group.send(couple.alex, "/checkin")
    await couple.group.expect("Check-in", "Sam is away")
    poll = await couple.group.next_bot_message()
    await outsider.answer_poll(poll, [0])
    await couple.alex.answer_poll(poll, [2])
    await reflect(couple.alex, ["x", "y", "z"], [True, True, True])
    # Robin reads the group too: the couple chooses first where the answers go.
    notice = await couple.group.expect("Before I post anything personal here")
    await couple.alex.press(notice, "Post here anyway")
    await couple.sam.press(notice, "Post here anyway")
    reveal = await couple.group.expect("side by side", "Alex 3/5", "Sam no vote", "away this week")
    assert "Not everyone finished" not in reveal.text
    assert not any("1 of 3" in m.text for m in couple.sam.private.bot_messages())
    [record] = services.store.records(couple.group.id, "checkins")
    assert record["scores"] == {str(couple.alex.id): 3}


async def test_a_private_answer_is_only_in_its_authors_export(couple: People) -> None:
    await start(couple, couple.alex)
    question = await couple.alex.private.expect("1 of 3")
    await couple.alex.private.reply(couple.alex, to=question, text="Only mine to see")
    await couple.alex.press(await couple.alex.private.expect("Saved"), "Keep it private")
    await couple.sam.send_private("/export")
    sent = await couple.sam.private.wait_for(lambda m: m.document is not None)
    assert sent.document is not None and b"Only mine to see" not in sent.document.data
    await couple.alex.send_private("/export")
    sent = await couple.alex.private.wait_for(lambda m: m.document is not None)
    assert sent.document is not None and "Only mine to see" in sent.document.data.decode()


async def test_a_deadline_missed_during_downtime_reveals_late_once_and_the_nudge_is_dropped(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    await start(couple, couple.alex)
    await reflect(couple.alex, ["Kind words", "Old doubts", "Ask, not assume"], [True, False, True])
    await restart(downtime=timedelta(hours=25))
    reveal = await couple.group.expect("side by side", "a little later than planned", "Kind words")
    assert "Old doubts" not in reveal.text
    await restart()
    await clock.advance(timedelta(hours=1), sandbox)
    assert said(couple, "side by side") == 1
    assert not any("nudge" in m.text for m in couple.sam.private.bot_messages())


@pytest.mark.clock(datetime(2026, 5, 4, 3, 31, tzinfo=UTC))  # a Monday, 03:31
async def test_a_deadline_that_is_not_today_names_its_day(couple: People) -> None:
    await couple.group.send(couple.alex, "/checkin")
    started = await couple.group.expect("Check-in:", "until Tuesday 03:31 for Alex (UTC)")
    assert "AM" not in started.text and "PM" not in started.text
    await couple.alex.private.expect("1 of 3", "Tuesday 03:31")
