"""sendPoll and stopPoll."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

from bot.sandbox import checks
from bot.sandbox.errors import ApiError
from bot.sandbox.methods.messages import post_from_bot
from bot.sandbox.methods.registry import CallContext, Params, method
from bot.sandbox.spec import load_spec
from bot.sandbox.world import PollState, now

MAX_QUESTION = 300
MAX_OPTION = 100
MAX_EXPLANATION = 200
OPEN_PERIOD = (5, 2_628_000)


def _option_bounds() -> tuple[int, int]:
    """How many options a poll may have, read from the specification's wording ("1-12")."""
    description = load_spec().methods["sendPoll"].fields["options"].description
    match = re.search(r"(\d+)-(\d+) answer options", description)
    return (int(match.group(1)), int(match.group(2))) if match else (2, 10)


def _text(params: Params, text_key: str, mode_key: str, entities_key: str) -> str:
    return checks.format_text(
        params, text_key=text_key, mode_key=mode_key, entities_key=entities_key, lookup=None
    ).text


def _options(raw: list[dict[str, Any]]) -> list[tuple[str, str]]:
    fewest, most = _option_bounds()
    if len(raw) < fewest:
        raise ApiError.bad_request(f"poll must have at least {fewest} option(s)")
    if len(raw) > most:
        raise ApiError.bad_request(f"poll can't have more than {most} options")
    options = []
    for entry in raw:
        text = _text(entry, "text", "text_parse_mode", "text_entities")
        if not text:
            raise ApiError.bad_request("poll options must be non-empty")
        if len(text) > MAX_OPTION:
            raise ApiError.bad_request(f"poll options length must not exceed {MAX_OPTION}")
        options.append((secrets.token_urlsafe(6), text))
    return options


def _closing_delay(params: Params) -> int | None:
    period, close_date = params.get("open_period"), params.get("close_date")
    if period is not None and close_date is not None:
        raise ApiError.bad_request("open_period and close_date can't be used together")
    if period is not None:
        if not OPEN_PERIOD[0] <= period <= OPEN_PERIOD[1]:
            raise ApiError.bad_request("poll open period is invalid")
        return int(period)
    if close_date is not None:
        delay = int(close_date) - now()
        if not OPEN_PERIOD[0] <= delay <= OPEN_PERIOD[1]:
            raise ApiError.bad_request("poll close date is invalid")
        return delay
    return None


@method("sendPoll")
async def send_poll(call: CallContext, params: Params) -> Any:
    """Post a poll; it closes by itself after ``open_period`` / at ``close_date``."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"])
    question = _text(params, "question", "question_parse_mode", "question_entities")
    if not question:
        raise ApiError.bad_request("poll question must be non-empty")
    if len(question) > MAX_QUESTION:
        raise ApiError.bad_request(f"poll question length must not exceed {MAX_QUESTION}")
    options = _options(params["options"])
    kind = params.get("type", "regular")
    if kind not in ("regular", "quiz"):
        raise ApiError.bad_request("poll type is invalid")
    correct = params.get("correct_option_ids")
    if kind == "quiz":
        if not correct or any(not 0 <= i < len(options) for i in correct):
            raise ApiError.bad_request("a quiz needs valid correct_option_ids")
        if list(correct) != sorted(set(correct)):
            raise ApiError.bad_request("correct_option_ids must be increasing")
    elif correct is not None:
        raise ApiError.bad_request("correct_option_ids are for quizzes only")
    explanation = params.get("explanation")
    if explanation is not None and len(explanation) > MAX_EXPLANATION:
        raise ApiError.bad_request("explanation is too long")
    delay = _closing_delay(params)
    poll = PollState(
        id=world.new_poll_id(),
        chat_id=chat.id,
        message_id=chat.next_message_id,
        question=question,
        options=options,
        is_anonymous=bool(params.get("is_anonymous", True)),
        type=kind,
        allows_multiple_answers=bool(params.get("allows_multiple_answers", False)),
        allows_revoting=bool(params.get("allows_revoting", kind == "regular")),
        correct_option_ids=None if correct is None else list(correct),
        explanation=explanation or None,
        open_period=params.get("open_period"),
        close_date=None if delay is None else now() + delay,
        is_closed=bool(params.get("is_closed", False)),
    )
    message = post_from_bot(call, chat, params, poll=poll.to_api())
    poll.message_id = message.message_id
    world.polls[poll.id] = poll
    if delay is not None and not poll.is_closed:
        loop = asyncio.get_running_loop()
        world.timers.append(loop.call_later(delay, world.close_poll, poll))
    return world.message_api(message)


@method("stopPoll")
async def stop_poll(call: CallContext, params: Params) -> Any:
    """Close the bot's poll and return its final state."""
    world = call.world
    chat = world.resolve_chat(params["chat_id"])
    message = chat.message(int(params["message_id"]))
    if message is None or message.poll is None:
        raise ApiError.bad_request("message with poll to stop not found")
    if not message.from_bot:
        raise ApiError.bad_request("poll can't be stopped")
    poll = world.polls[message.poll["id"]]
    if poll.is_closed:
        raise ApiError.bad_request("poll has already been closed")
    if "reply_markup" in params:
        markup = checks.reply_markup(params["reply_markup"])
        message.reply_markup, message.buttons = markup.inline, markup.buttons
    world.close_poll(poll)
    return poll.to_api()
