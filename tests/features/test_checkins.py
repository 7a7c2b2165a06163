"""The weekly check-in, the monthly checklist and the quarterly letters through the sandbox:
private reflections revealed side by side only when both are done (or at the deadline), one
reminder, milestones celebrated once even across a restart, the monthly verdict and its trend,
and the honest reflection sent privately, never to the group."""

from __future__ import annotations

from datetime import timedelta

from bot.app import services_of
from bot.features.checkins import CHECKLISTS_TABLE, QUARTERLY, WEEKLY
from bot.model import to_iso, utcnow
from bot.sandbox import Sandbox, SandboxUser, SentMessage
from tests.conftest import Clock, People, Restart


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


async def test_both_answer_then_the_group_sees_what_each_shared_and_a_milestone_once(
    sandbox: Sandbox, couple: People, restart: Restart
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
    await couple.group.expect("A first kept week")

    await restart()
    await start(couple, couple.sam)
    await reflect(couple.alex, ["a", "b", "c"], [False, False, False])
    await reflect(couple.sam, ["d", "e", "f"], [False, False, False])
    await couple.group.expect("side by side")
    await sandbox.settle()
    assert said(couple, "A first kept week") == 1


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
    await couple.group.expect("Wednesdays at 20:30")
    [weekly] = services.timers.pending(couple.group.id, WEEKLY)
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


async def checklist(couple: People, alex: list[int], sam: list[int]) -> SentMessage:
    await couple.group.send(couple.alex, "/checklist")
    await couple.group.expect("monthly trust checklist")
    poll = await couple.group.next_bot_message()
    assert poll.poll is not None and poll.poll["allows_multiple_answers"]
    assert len(poll.poll["options"]) == 7
    await couple.alex.answer_poll(poll, alex)
    await couple.sam.answer_poll(poll, sam)
    verdict = await couple.group.expect("Trust checklist, month 1")
    assert poll.poll["is_closed"]
    return verdict


async def test_the_monthly_verdict_and_its_change(couple: People) -> None:
    first = await checklist(couple, [0, 1], [6])
    assert "Alex: 2 of 6" in first.text and "Sam: 0 of 6" in first.text
    assert "don't ring true yet" in first.text and "first one" in first.text
    assert "/plan" in first.text and "/boundaries" in first.text

    second = await checklist(couple, [0, 1, 2, 3, 4], [0, 1, 2, 5])
    assert "Alex: 5 of 6 (+3 since last month)" in second.text
    assert "Sam: 4 of 6 (+4 since last month)" in second.text
    assert "trust is heading the way you hoped" in second.text
    assert not any("quiet word" in m.text for m in couple.alex.private.bot_messages())


async def test_months_without_progress_get_a_private_word_never_a_group_verdict(
    sandbox: Sandbox, couple: People
) -> None:
    services = couple.services
    assert services is not None
    alex, sam = str(couple.alex.id), str(couple.sam.id)
    with services.store.transaction(couple.group.id) as tx:
        for month, ticks in ((1, 3), (2, 2)):
            tx.table(CHECKLISTS_TABLE).insert(
                {
                    "state": "done",
                    "started_at": to_iso(utcnow()),
                    "deadline": to_iso(utcnow()),
                    "month": month,
                    "answers": {alex: list(range(ticks)), sam: [0]},
                    "poll_id": None,
                }
            )
    verdict = await checklist(couple, [0, 1], [3])
    assert "quiet word" not in verdict.text
    await couple.alex.private.expect("Alex, a quiet word, only for you", "/support")
    await couple.sam.private.expect("Sam, a quiet word", "more at ease")
    await sandbox.settle()
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
