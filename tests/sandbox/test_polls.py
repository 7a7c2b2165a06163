"""Polls: Bot API 10.1 shapes parsed by PTB, votes, poll answers, closing, limits."""

from __future__ import annotations

import time

import pytest
import telegram
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes, PollAnswerHandler

from bot.sandbox import Sandbox
from bot.sandbox.methods import polls
from tests.sandbox.conftest import Couple, StartApp


async def test_a_poll_as_ptb_sees_it(bot: telegram.Bot, couple: Couple) -> None:
    sent = await bot.send_poll(
        couple.group.id,
        "How was this week?",
        ["Close", "Distant", "Mixed"],
        is_anonymous=False,
        allows_multiple_answers=True,
    )
    poll = sent.poll
    assert poll is not None
    assert poll.question == "How was this week?"
    assert [o.text for o in poll.options] == ["Close", "Distant", "Mixed"]
    assert len({o.persistent_id for o in poll.options}) == 3
    assert poll.allows_revoting and not poll.is_anonymous and not poll.members_only
    view = await couple.group.expect("how was this week")  # expect() reads poll questions
    assert view.poll == poll.to_dict()
    assert view.render() == ("Mend: [poll] How was this week?: Close (0) / Distant (0) / Mixed (0)")


async def test_votes_reach_the_bot(sandbox: Sandbox, bot: telegram.Bot, couple: Couple) -> None:
    sent = await bot.send_poll(couple.group.id, "Checklist", ["A", "B", "C"], is_anonymous=False,
                               allows_multiple_answers=True)  # fmt: skip
    view = couple.group.bot_messages()[-1]
    await couple.alex.answer_poll(view, [0, 2])
    await couple.sam.answer_poll(view, [2])
    assert view.poll is not None
    assert [o["voter_count"] for o in view.poll["options"]] == [1, 0, 2]  # a live view
    updates = await bot.get_updates()
    answers = [u.poll_answer for u in updates if u.poll_answer]
    assert [(a.user.id if a.user else 0, a.option_ids) for a in answers] == [
        (couple.alex.id, (0, 2)),
        (couple.sam.id, (2,)),
    ]
    assert sent.poll is not None
    persistent = [o.persistent_id for o in sent.poll.options]
    assert answers[0].option_persistent_ids == (persistent[0], persistent[2])
    states = [u.poll for u in updates if u.poll]
    assert states[-1].total_voter_count == 2
    await couple.alex.answer_poll(view, [])  # retract
    assert view.poll["total_voter_count"] == 1


async def test_poll_answers_reach_an_application(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple, start_app: StartApp
) -> None:
    seen: list[tuple[int, tuple[int, ...]]] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        answer = update.poll_answer
        assert answer is not None and answer.user is not None
        seen.append((answer.user.id, answer.option_ids))

    await bot.send_poll(couple.group.id, "Q", ["Yes", "No"], is_anonymous=False)
    await start_app(PollAnswerHandler(record))
    await couple.sam.answer_poll(couple.group.bot_messages()[-1], [1])
    await sandbox.settle()
    assert seen == [(couple.sam.id, (1,))]


async def test_stop_poll_and_voting_rules(bot: telegram.Bot, couple: Couple) -> None:
    sent = await bot.send_poll(couple.group.id, "Quiz", ["A", "B"], type="quiz",
                               correct_option_ids=[1], is_anonymous=False)  # fmt: skip
    view = couple.group.bot_messages()[-1]
    await couple.alex.answer_poll(view, [0])
    with pytest.raises(AssertionError, match="forbids changing"):
        await couple.alex.answer_poll(view, [1])  # quizzes don't allow revoting
    with pytest.raises(AssertionError, match="one answer only"):
        await couple.sam.answer_poll(view, [0, 1])
    final = await bot.stop_poll(couple.group.id, sent.message_id)
    assert final.is_closed and final.total_voter_count == 1
    with pytest.raises(BadRequest, match=r"(?i)poll has already been closed"):
        await bot.stop_poll(couple.group.id, sent.message_id)
    with pytest.raises(AssertionError, match="is closed"):
        await couple.sam.answer_poll(view, [1])


@pytest.mark.parametrize(
    ("question", "options", "error"),
    [
        ("", ["A", "B"], "question must be non-empty"),
        ("Q" * 301, ["A", "B"], "must not exceed 300"),
        ("Q", [f"o{i}" for i in range(13)], "more than 12 options"),
        ("Q", ["A", "B" * 101], "must not exceed 100"),
        ("Q", [], "at least 1 option"),
    ],
)
async def test_poll_limits(
    bot: telegram.Bot, couple: Couple, question: str, options: list[str], error: str
) -> None:
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        await bot.send_poll(couple.group.id, question, options)


async def test_twelve_options_and_a_single_one_are_allowed(
    bot: telegram.Bot, couple: Couple
) -> None:
    # Bot API 10.1 says "1-12 answer options"; the sandbox reads the numbers from the spec.
    await bot.send_poll(couple.group.id, "Q", [f"o{i}" for i in range(12)])
    await bot.send_poll(couple.group.id, "Q", ["only"])


async def test_open_period_closes_the_poll(
    sandbox: Sandbox, bot: telegram.Bot, couple: Couple, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polls, "OPEN_PERIOD", (1, 60))  # Telegram's minimum is 5 s: too slow
    sent = time.monotonic()
    await bot.send_poll(couple.group.id, "Quick", ["A", "B"], open_period=1)
    view = couple.group.bot_messages()[-1]
    assert view.poll is not None and not view.poll["is_closed"]
    await sandbox.wait_until(
        lambda: view.poll is not None and view.poll["is_closed"], "the poll closing"
    )
    assert time.monotonic() - sent >= 1  # not before its open period ended
    updates = await bot.get_updates()
    assert updates[-1].poll is not None and updates[-1].poll.is_closed
