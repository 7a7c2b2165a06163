"""Insecurity windows and parked worries through the sandbox: local times across daylight
saving in both hemispheres, privacy of worries, restarts and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import services_of
from bot.features.windows import WINDOW_OPEN
from bot.sandbox import Sandbox, SentMessage
from tests.conftest import Clock, People, Restart, onboard

BERLIN, SYDNEY = ZoneInfo("Europe/Berlin"), ZoneInfo("Australia/Sydney")


async def set_zones(couple: People) -> None:
    await couple.alex.send_private("/timezone Berlin")
    await couple.alex.private.expect("Time zone set")
    await couple.sam.send_private("/timezone Sydney")
    await couple.sam.private.expect("Time zone set")


def local(message: SentMessage, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(message.date, zone)


def openings(couple: People) -> list[SentMessage]:
    return [m for m in couple.group.bot_messages() if "window is open" in m.text]


async def test_adding_windows_with_buttons_and_words(couple: People) -> None:
    await set_zones(couple)
    await couple.group.send(couple.alex, "/window")
    empty = await couple.group.expect("None yet", "Two windows of 20 minutes")
    await couple.alex.press(empty, "Add a window")
    days = await couple.group.expect("Which day?")
    await couple.alex.press(days, "Sunday")
    times = await couple.group.expect("Sunday, at what time?", "Europe/Berlin")
    await couple.alex.press(times, "19:00")
    added = await couple.group.expect("Window added by Alex", "20 minutes")
    assert "Sunday 19:00 for Alex" in added.text
    assert "Monday 04:00 for Sam" in added.text or "Monday 05:00 for Sam" in added.text

    await couple.group.send(couple.sam, "/window add wed 08:30")
    added = await couple.group.expect("Window added by Sam")
    assert "Wednesday 08:30 for Sam" in added.text

    await couple.group.send(couple.sam, "/window add someday 25:00")
    await couple.group.expect("/window add sunday 19:00", "/window remove 2")
    await couple.group.send(couple.alex, "/window")
    listed = await couple.group.expect("1. ", "2. ")
    await couple.alex.press(listed, "Remove window 2")
    await couple.group.expect("Window 2 removed. 1 left.")


async def test_days_and_times_are_read_as_everywhere_else(couple: People) -> None:
    """ "Sonnabend" is Saturday (not Sunday because it starts with "so"); "7pm" is a time."""
    await couple.group.send(couple.alex, "/window add sonnabend 19:00")
    added = await couple.group.expect("Window added by Alex")
    assert "Saturday 19:00 for Alex" in added.text
    await couple.group.send(couple.sam, "/window add fri 7pm")
    added = await couple.group.expect("Window added by Sam")
    assert "Friday 19:00 for Sam" in added.text
    await couple.group.send(couple.sam, "/window add so 7:30 pm")
    added = await couple.group.expect("Window added by Sam")
    assert "Sunday 19:30 for Sam" in added.text
    for ambiguous in ("/window add s 19:00", "/window add son 19:00"):
        await couple.group.send(couple.alex, ambiguous)
        await couple.group.expect("/window add sunday 19:00", "7pm", "/window remove 2")
    await couple.group.send(couple.alex, "/window length 1h")
    await couple.group.expect("60 minutes")


async def test_a_typed_time_for_a_window(couple: People) -> None:
    await couple.group.send(couple.sam, "/window")
    shown = await couple.group.expect("None yet")
    await couple.sam.press(shown, "Add a window")
    await couple.sam.press(await couple.group.expect("Which day?"), "Friday")
    await couple.sam.press(await couple.group.expect("at what time?"), "Another time")
    question = await couple.group.expect("Sam, what time on Friday?")
    await couple.group.reply(couple.sam, to=question, text="not a time")
    await couple.group.expect("isn't a time I can read")


@pytest.mark.clock(datetime(2026, 3, 23, 9, 0, tzinfo=UTC))
async def test_windows_keep_local_time_across_both_spring_changes(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    """Europe springs forward on 29 March, Sydney falls back on 5 April 2026."""
    await set_zones(couple)
    await couple.group.send(couple.alex, "/window add sunday 19:00")  # Berlin time
    await couple.group.expect("Window added by Alex")
    await couple.group.send(couple.sam, "/window add wednesday 08:00")  # Sydney time
    await couple.group.expect("Window added by Sam")

    await clock.to(datetime(2026, 4, 9, tzinfo=UTC), sandbox)
    opened = openings(couple)
    by_alex = [local(m, BERLIN) for m in opened if local(m, BERLIN).weekday() == 6]
    by_sam = [local(m, SYDNEY) for m in opened if local(m, SYDNEY).weekday() == 2]
    assert [(d.day, d.hour, d.minute) for d in by_alex] == [(29, 19, 0), (5, 19, 0)]
    assert [(d.day, d.hour, d.minute) for d in by_sam] == [(25, 8, 0), (1, 8, 0), (8, 8, 0)]
    closed = [m for m in couple.group.bot_messages() if "window is closed" in m.text]
    assert len(closed) == 5
    assert all(
        timedelta(minutes=19)
        < datetime.fromtimestamp(c.date, UTC) - datetime.fromtimestamp(o.date, UTC)
        <= timedelta(minutes=21)
        for o, c in zip(opened, closed, strict=True)
    )


@pytest.mark.clock(datetime(2026, 9, 28, 9, 0, tzinfo=UTC))
async def test_windows_keep_local_time_across_both_autumn_changes(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    """Sydney springs forward on 4 October, Europe falls back on 25 October 2026."""
    await set_zones(couple)
    await couple.group.send(couple.sam, "/window add sunday 07:30")  # Sydney time
    await couple.group.expect("Window added by Sam")
    await couple.group.send(couple.alex, "/window add sunday 21:00")  # Berlin time
    await couple.group.expect("Window added by Alex")

    await clock.to(datetime(2026, 10, 27, tzinfo=UTC), sandbox)
    opened = openings(couple)
    sydney = sorted(
        {
            (
                local(m, SYDNEY).month,
                local(m, SYDNEY).day,
                local(m, SYDNEY).hour,
                local(m, SYDNEY).minute,
            )
            for m in opened
            if (local(m, SYDNEY).hour, local(m, SYDNEY).minute) == (7, 30)
        }
    )
    berlin = sorted(
        {
            (local(m, BERLIN).day, local(m, BERLIN).hour)
            for m in opened
            if local(m, BERLIN).hour == 21
        }
    )
    assert sydney == [(10, 4, 7, 30), (10, 11, 7, 30), (10, 18, 7, 30), (10, 25, 7, 30)]
    assert berlin == [(4, 21), (11, 21), (18, 21), (25, 21)]


async def test_worries_stay_private_until_their_author_shares(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    await set_zones(couple)
    await couple.alex.send_private("/worry When you go quiet at night I imagine the worst")
    parked = await couple.alex.private.expect("Parked.", "set up a window")
    await couple.sam.send_private("/worry")
    question = await couple.sam.private.expect("What's on your mind?")
    await couple.sam.private.reply(couple.sam, to=question, text="The trip with your friends")
    await couple.sam.private.expect("Parked.")
    await couple.group.send(couple.alex, "/worry I should not be typed here")
    await couple.group.expect("worries are parked privately")

    opening = (clock.now().astimezone(BERLIN) + timedelta(hours=1)).replace(minute=0, second=0)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[opening.weekday()]
    await couple.group.send(couple.alex, f"/window add {day} {opening:%H}:00")
    await couple.group.expect("Window added by Alex")
    await couple.alex.send_private("/worry Money, again")
    await couple.alex.private.expect("Parked.", "your next window")
    assert parked.text

    await clock.to(opening + timedelta(minutes=1), sandbox)
    opened = await couple.group.expect("window is open", "If you parked a worry for it")
    group_text = " ".join(m.text for m in couple.group.messages)
    assert "imagine the worst" not in group_text and "trip with your friends" not in group_text
    assert "Money" not in group_text and opened

    await couple.alex.private.expect("You parked 2 worries")
    first = await couple.alex.private.expect("When you go quiet at night")
    second = await couple.alex.private.expect("Money, again")
    await couple.sam.private.expect("You parked 1 worry")
    sams = await couple.sam.private.expect("trip with your friends")

    # Sam can't share Alex's worry, not even with forged data.
    data = next(b.callback_data for row in first.buttons for b in row if b.text == "Share it now")
    answer = await couple.sam.press_data(sams, data)
    assert answer.show_alert
    answer = await couple.alex.press(first, "Share it now")
    assert answer.text == "Shared in the group."
    await couple.group.expect("Alex would like to talk about this", "imagine the worst")
    await couple.alex.press(second, "Keep it for later")
    await couple.sam.press(sams, "Let it go")

    await clock.advance(timedelta(minutes=21), sandbox)
    closed = await couple.group.expect("The window is closed", "kept for later stays parked")
    assert "Money" not in closed.text
    services = couple.services
    assert services is not None
    statuses = sorted(w["status"] for w in services.store.records(couple.group.id, "worries"))
    assert statuses == ["let_go", "parked", "shared"]


async def test_the_group_never_learns_whether_or_how_many_worries_were_parked(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    """Two couples, windows at the same time: Alex parks three worries, nobody else parks
    any. Both groups read the same words when their windows open and close; only Alex hears
    of Alex's worries, privately."""
    quiet_couple = await onboard(sandbox, couple.services, title="Jo & Kim")
    for worry in ("The gym at night", "Your phone face down", "The old friend again"):
        await couple.alex.send_private(f"/worry {worry}")
        await couple.alex.private.expect("Parked.")
    at = clock.now() + timedelta(hours=1)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[at.weekday()]
    for people in (couple, quiet_couple):
        await people.group.send(people.alex, f"/window add {day} {at:%H}:00")
        await people.group.expect("Window added")

    await clock.to(at.replace(minute=1), sandbox)
    opened = [await p.group.expect("window is open") for p in (couple, quiet_couple)]
    assert opened[0].text == opened[1].text
    await couple.alex.private.expect("You parked 3 worries")
    for name in ("The gym at night", "Your phone face down", "The old friend again"):
        await couple.alex.private.expect(name)
    await clock.advance(timedelta(minutes=21), sandbox)
    closed = [await p.group.expect("window is closed") for p in (couple, quiet_couple)]
    assert closed[0].text == closed[1].text
    for person in (couple.sam, quiet_couple.alex, quiet_couple.sam):
        assert not [m for m in person.private.bot_messages() if "worr" in m.text.lower()]


async def test_a_missed_window_is_dropped_and_the_next_one_still_comes(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    now = clock.now() + timedelta(hours=1)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()]
    await couple.group.send(couple.alex, f"/window add {day} {now:%H}:00")  # UTC: no zone
    await couple.group.expect("Window added by Alex")
    app = await restart(downtime=timedelta(hours=3))
    await sandbox.settle()
    assert openings(couple) == []
    [pending] = services_of(app).timers.pending(couple.group.id, WINDOW_OPEN)
    assert pending["due"] > (clock.now() + timedelta(days=6)).isoformat()


async def test_a_close_missed_during_downtime_comes_late_once(
    sandbox: Sandbox, couple: People, clock: Clock, restart: Restart
) -> None:
    now = clock.now() + timedelta(minutes=30)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()]
    await couple.group.send(couple.alex, f"/window add {day} {now:%H:%M}")
    await couple.group.expect("Window added")
    await clock.advance(timedelta(minutes=31), sandbox)
    await couple.group.expect("window is open")
    await restart(downtime=timedelta(hours=1))
    await couple.group.expect("The window is closed", "I'm late saying so")
    await restart()
    await sandbox.settle()
    assert len([m for m in couple.group.bot_messages() if "window is closed" in m.text]) == 1


async def test_an_opening_in_quiet_hours_waits_until_they_end(
    sandbox: Sandbox, couple: People, clock: Clock
) -> None:
    now = clock.now()
    start = now + timedelta(hours=1)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()]
    await couple.sam.send_private(f"/quiet {now:%H}:00-{(now + timedelta(hours=3)):%H}:00")
    await couple.sam.private.expect("Quiet hours set")
    await couple.group.send(couple.alex, f"/window add {day} {start:%H}:00")
    quiet_end = (now + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    # Shown as when it opens, with whose quiet hours move it there.
    added = await couple.group.expect("Window added", "inside the quiet hours of Sam")
    assert f"{quiet_end:%H}:00 for Alex (UTC) · " in added.text
    assert f"{start:%H}:00 (UTC), the time Alex picked" in added.text
    await couple.group.send(couple.sam, "/window")
    listed = await couple.group.expect("Your insecurity windows")
    assert f"{quiet_end:%H}:00 for Sam" in listed.text and f"{start:%H}:00" not in listed.text
    await clock.to(quiet_end - timedelta(minutes=5), sandbox)
    assert openings(couple) == []
    await clock.advance(timedelta(minutes=10), sandbox)
    [opened] = openings(couple)
    assert abs(datetime.fromtimestamp(opened.date, UTC) - quiet_end) < timedelta(minutes=1)


async def test_worries_are_in_the_authors_export_only(couple: People) -> None:
    await couple.alex.send_private("/worry Something of mine")
    await couple.alex.private.expect("Parked.")
    await couple.sam.send_private("/export")
    sent = await couple.sam.private.next_bot_message()
    assert sent.document is not None and b"Something of mine" not in sent.document.data
    await couple.alex.send_private("/export")
    sent = await couple.alex.private.next_bot_message()
    assert sent.document is not None and "Something of mine" in sent.document.data.decode()
