"""The roadmap and /progress through the sandbox: the chart as a real PNG, the written summary,
the guides' signs and the gentle pointer to support, phases announced once, and milestones
celebrated once."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from matplotlib import image

from bot import charts
from bot.app import services_of
from bot.context import Services
from bot.dates import add_months
from bot.features import progress
from bot.features.checkins import CHECKINS_TABLE, CHECKLISTS_TABLE
from bot.features.pause import PAUSES_TABLE
from bot.features.visit import VISITS_TABLE
from bot.model import to_iso, utcnow
from bot.sandbox import Sandbox
from bot.sandbox.records import MessageEvent
from tests.conftest import Clock, People, Restart, onboard, past_checkin, set_day_one

PNG = b"\x89PNG\r\n\x1a\n"
TITLES = {key: key for key in ("scores", "checklist", "pauses", "week", "month")}
START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def begin(services: Services, people: People, days_ago: int) -> datetime:
    """The couple completed setup `days_ago` days ago (as if they had been here that long)."""
    return set_day_one(services, people, utcnow() - timedelta(days=days_ago))


def seed_weeks(services: Services, people: People, setup: datetime, sam_scores: list[int]) -> None:
    """Finished weekly check-ins, one a week from week 1, and a few pauses."""
    alex, sam = str(people.alex.id), str(people.sam.id)
    with services.store.transaction(people.group.id) as tx:
        for week, score in enumerate(sam_scores):
            moment = setup + timedelta(days=7 * week + 3)
            started = to_iso(moment)
            tx.table(CHECKINS_TABLE).insert(
                past_checkin(moment, {people.alex.id: 4, people.sam.id: score})
            )
            tx.table(PAUSES_TABLE).insert(
                {
                    "by": people.alex.id,
                    "started_at": started,
                    "ends_at": started,
                    "minutes": 30,
                    "ended_at": started,
                    "ended_by": None,
                }
            )
        tx.table(CHECKLISTS_TABLE).insert(
            {
                "state": "done",
                "started_at": to_iso(setup + timedelta(days=28)),
                "deadline": None,
                "month": 1,
                "answers": {alex: [0, 1, 2, 3], sam: [1]},
                "poll_id": None,
            }
        )


async def test_progress_sends_a_chart_and_a_summary_with_the_signs(couple: People) -> None:
    services = couple.services
    assert services is not None
    setup = begin(services, couple, days_ago=30)
    seed_weeks(services, couple, setup, sam_scores=[3, 2, 1, 2])
    await couple.group.send(couple.sam, "/progress")
    chart = await couple.group.expect("Your progress, day 31")
    assert chart.photo is not None and chart.photo.startswith(PNG)
    pixels = image.imread(io.BytesIO(chart.photo), format="png")
    assert pixels.shape[:2] == (900, 800)
    assert pixels.std() > 0.01  # something was drawn, not a blank canvas

    summary = await couple.group.expect(
        "day 31, week 5",
        "Weekly check-ins: 4 so far",
        "Alex: last 4/5",
        "Sam: last 2/5",
        "Alex: 4 of 6",
        "Something worth noticing",
        "/support",
    )
    assert "scores have been low three check-ins running" in summary.text
    assert "many pauses" not in summary.text and "unanswered" not in summary.text


async def test_progress_in_private_and_on_day_one(couple: People) -> None:
    await couple.alex.send_private("/progress")
    chart = await couple.alex.private.expect("Your progress, day 1")
    assert chart.photo is not None and chart.photo.startswith(PNG)
    summary = await couple.alex.private.expect("day 1, week 1, month 1", "none yet")
    assert "worth noticing" not in summary.text
    assert "finding its feet" not in summary.text  # the new path's signs are for the new path
    assert couple.group.bot_messages()[-1].photo is None  # nothing went to the group

    # The chart of the first week counts in whole weeks and pauses (not 0.5, 0.6 … 1.5).
    services = couple.services
    assert services is not None
    series = progress._series(services, couple.couple(), utcnow())
    drawn = charts.chart(series, {p.user_id: p.name for p in couple.couple().partners}, TITLES)
    for axes in drawn.axes:
        for label in [*axes.get_xticklabels(), *axes.get_yticklabels()]:
            assert label.get_text().lstrip("−-").isdigit(), label.get_text()
    assert [t.get_text() for t in drawn.axes[0].get_xticklabels()] == ["1"]


async def test_the_new_path_shows_the_signs_that_trust_is_taking_root(
    sandbox: Sandbox, services: Services
) -> None:
    people = await onboard(sandbox, services, path="Trusting again")
    await people.group.send(people.sam, "/progress")
    await people.group.expect("Your progress, day 1")
    await people.group.expect(
        "Signs that trust is finding its feet",
        "Affection that comes on its own",
        "Lighter talks",
        "Less defending",
        "Talk of what's ahead",
    )


async def test_lasting_low_scores_bring_a_private_word_about_support(
    sandbox: Sandbox, couple: People
) -> None:
    services = couple.services
    assert services is not None
    setup = begin(services, couple, days_ago=20)
    seed_weeks(services, couple, setup, sam_scores=[2, 1])
    await couple.group.send(couple.alex, "/checkin")
    await couple.group.expect("Check-in")
    poll = await couple.group.next_bot_message()
    await couple.sam.answer_poll(poll, [0])
    for person in (couple.alex, couple.sam):
        for number in (1, 2, 3):
            question = await person.private.expect(f"{number} of 3")
            await person.private.reply(person, to=question, text="ok")
            await person.press(await person.private.expect("Saved"), "Keep it private")
        await person.private.expect("that's all three")
    await couple.group.expect("side by side")
    for person in (couple.alex, couple.sam):
        hint = await person.private.expect("just for you", "scores have stayed low", "/support")
        assert "many pauses" not in hint.text
    await sandbox.settle()
    assert not any("/support" in m.text for m in couple.group.bot_messages())


@pytest.mark.clock(START)
async def test_a_new_phase_is_announced_once(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    services = couple.services
    assert services is not None
    begin(services, couple, days_ago=0)
    with services.store.transaction(couple.group.id) as tx:
        current = tx.couple()
        assert current is not None
        current.setup_completed_at = add_months(START, -3) + timedelta(minutes=5)
        tx.save(current)
    services.timers.cancel_kind(couple.group.id, progress.PHASE)
    progress.ensure(services.timers, couple.couple())
    await clock.advance(timedelta(minutes=61), sandbox)
    await couple.group.expect("months 4 to 6 begin", "/starter", "/boundaries")

    app = await restart()
    await sandbox.settle()
    assert sum("months 4 to 6" in m.text for m in couple.group.bot_messages()) == 1
    [upcoming] = services_of(app).timers.pending(couple.group.id, progress.PHASE)
    assert upcoming["payload"] == {"phase": "new_normal"}


async def test_a_visit_both_felt_safe_in_is_celebrated_once(
    sandbox: Sandbox, couple: People
) -> None:
    services = couple.services
    assert services is not None
    with services.store.transaction(couple.group.id) as tx:
        tx.table(VISITS_TABLE).insert({"state": "done", "both_safe": True})
    await couple.group.send(couple.alex, "/progress")
    await couple.group.expect("Your progress")
    await couple.group.expect("Where you are")
    await couple.group.expect("A first visit you both felt safe in")
    await couple.group.send(couple.alex, "/progress")
    await couple.group.expect("Your progress")
    await couple.group.expect("Milestones: a first visit you both felt safe in")
    await sandbox.settle()
    assert sum("🏡" in m.text for m in couple.group.bot_messages()) == 1


async def test_the_next_roadmap_week_is_set_before_a_kept_week_is_celebrated(
    sandbox: Sandbox, couple: People, clock: Clock, services: Services
) -> None:
    # The next week's end is stored before the celebration: a week's look never ends the
    # series, whatever happens while the word is sent.
    in_week_one = begin(services, couple, days_ago=0) + timedelta(days=1)
    progress.ensure(services.timers, couple.couple())
    both = (couple.alex.id, couple.sam.id)
    with services.store.transaction(couple.group.id) as tx:
        tx.table(CHECKINS_TABLE).insert(
            past_checkin(in_week_one, {couple.alex.id: 4, couple.sam.id: 4}, reflected=both)
        )
    weeks_set: list[list[int]] = []

    def arrived(event: MessageEvent) -> None:
        if event.kind == "new" and "A first kept week" in event.message.text:
            timers = services.timers.pending(couple.group.id, progress.WEEK)
            weeks_set.append([t["payload"]["week"] for t in timers])

    sandbox.on_message(arrived)
    await clock.advance(timedelta(days=8), sandbox)
    await sandbox.settle()
    [weeks] = weeks_set  # celebrated once
    assert 2 in weeks  # with week 2's end already set
