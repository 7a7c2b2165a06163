"""answerCallbackQuery: the bot's answer to a button press."""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.methods.registry import CallContext, Params, method
from bot.sandbox.records import CallbackAnswer

MAX_ANSWER_TEXT = 200


@method("answerCallbackQuery")
async def answer_callback_query(call: CallContext, params: Params) -> Any:
    """Record the answer and wake the person who pressed; a query is answered only once."""
    world = call.world
    query = world.queries.get(str(params["callback_query_id"]))
    if query is None or query.closed:
        raise ApiError.bad_request(
            "query is too old and response timeout expired or query ID is invalid"
        )
    text = params.get("text")
    if text is not None and len(text) > MAX_ANSWER_TEXT:
        raise ApiError.bad_request("MESSAGE_TOO_LONG")
    world.record_answer(
        CallbackAnswer(
            text=text,
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            query_id=query.id,
            data=query.data,
            user_id=query.user_id,
        )
    )
    return True
