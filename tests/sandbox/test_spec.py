"""The specification checks: parameters in, every answer out."""

from __future__ import annotations

from typing import Any

import pytest
import telegram

from bot.sandbox import Sandbox, SpecViolation
from bot.sandbox.errors import ApiError
from bot.sandbox.spec import load_spec

SPEC = load_spec()
USER = {"id": 1, "is_bot": False, "first_name": "Alex"}


def message(**extra: Any) -> dict[str, Any]:
    return {"message_id": 1, "date": 1_700_000_000, "chat": {"id": 1, "type": "private"}, **extra}


def test_the_vendored_spec_is_bot_api_10_1() -> None:
    assert SPEC.version == "Bot API 10.1"
    assert SPEC.method("sendmessage") is SPEC.methods["sendMessage"]  # case-insensitive
    assert SPEC.method("sendMessages") is None


def test_a_valid_message_passes() -> None:
    SPEC.validate(message(text="hi", **{"from": USER}), ["Message"])


@pytest.mark.parametrize(
    ("broken", "complaint"),
    [
        (
            {"message_id": 1, "chat": {"id": 1, "type": "private"}},
            'lacks the required field "date"',
        ),
        (message(date="yesterday"), "result.date: expected Integer, got String"),
        (message(date=True), "result.date: expected Integer, got Boolean"),
        (message(colour="red"), 'Message has no field "colour"'),
        (message(**{"from": {"id": 1, "first_name": "A"}}), 'lacks the required field "is_bot"'),
        (message(entities=[{"type": "bold", "offset": 0}]), "result.entities[0]: MessageEntity"),
    ],
)
def test_broken_objects_are_reported_with_their_path(
    broken: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(SpecViolation) as caught:
        SPEC.validate(broken, ["Message"])
    assert complaint in str(caught.value)


def test_subtypes_are_told_apart_by_their_discriminator() -> None:
    SPEC.validate({"status": "left", "user": USER}, ["ChatMember"])
    SPEC.validate({"status": "kicked", "user": USER, "until_date": 0}, ["ChatMember"])
    with pytest.raises(SpecViolation, match='lacks the required field "until_date"'):
        SPEC.validate({"status": "kicked", "user": USER}, ["ChatMember"])
    with pytest.raises(SpecViolation, match="no subtype of ChatMember fits"):
        SPEC.validate({"status": "owner", "user": USER}, ["ChatMember"])


def test_poll_needs_every_field_bot_api_10_1_requires() -> None:
    poll = {
        "id": "1",
        "question": "Q",
        "options": [{"persistent_id": "a", "text": "A", "voter_count": 0}],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": False,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": True,
        "members_only": False,
    }
    SPEC.validate(poll, ["Poll"])
    del poll["allows_revoting"]
    with pytest.raises(SpecViolation, match="allows_revoting"):
        SPEC.validate(poll, ["Poll"])


def test_form_strings_are_coerced_per_the_spec() -> None:
    params = SPEC.parse_params(
        SPEC.methods["sendMessage"],
        {
            "chat_id": "-4100000001",
            "text": '{"not": "json"}',
            "disable_notification": "true",
            "reply_markup": '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}',
        },
    )
    assert params["chat_id"] == -4100000001
    assert params["text"] == '{"not": "json"}'  # String parameters stay raw
    assert params["disable_notification"] is True
    assert params["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"
    assert (
        SPEC.parse_params(SPEC.methods["sendMessage"], {"chat_id": "@group", "text": "x"})[
            "chat_id"
        ]
        == "@group"
    )


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ({"chat_id": "1", "text": "x", "colour": "red"}, 'unknown parameter "colour"'),
        ({"chat_id": "1"}, "message text is empty"),
        ({"text": "x"}, 'parameter "chat_id" is required'),
        ({"chat_id": "1", "text": "x", "disable_notification": "maybe"}, "expected Boolean"),
        ({"chat_id": "1", "text": "x", "reply_markup": "{oops"}, "can't parse JSON"),
        (
            {"chat_id": "1", "text": "x", "reply_markup": '{"inline_keyboard": [[{"txt": "A"}]]}'},
            "reply_markup",
        ),
    ],
)
def test_wrong_parameters_are_rejected(raw: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ApiError) as caught:
        SPEC.parse_params(SPEC.methods["sendMessage"], raw)
    assert caught.value.error_code == 400
    assert complaint in caught.value.description


async def test_a_broken_answer_fails_loudly(
    sandbox: Sandbox, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the sandbox ever builds an invalid object, the call answers 500 and the test fails."""
    alex = sandbox.user("Alex")
    await alex.start_private()
    real = sandbox.world.message_api

    def without_date(sent: Any, *, with_reply: bool = True) -> dict[str, Any]:
        built = real(sent, with_reply=with_reply)
        del built["date"]
        return built

    monkeypatch.setattr(sandbox.world, "message_api", without_date)
    with pytest.raises(telegram.error.NetworkError, match="sandbox bug"):
        await bot.send_message(alex.id, "hello")
    with pytest.raises(SpecViolation, match='lacks the required field "date"'):
        sandbox.check()
    sandbox.world.internal_errors.clear()  # the fixture's stop() would raise it again
