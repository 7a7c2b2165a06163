"""The two ways a sandbox call can fail: an answer Telegram would give, or a sandbox bug."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer of the Bot API, shaped as Telegram sends it.

    The HTTP status equals ``error_code``; ``parameters`` carries ``retry_after`` or
    ``migrate_to_chat_id`` when Telegram gives them.
    """

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, int] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    @classmethod
    def bad_request(cls, detail: str, parameters: dict[str, int] | None = None) -> ApiError:
        """A 400 answer: ``Bad Request: <detail>``."""
        return cls(400, f"Bad Request: {detail}", parameters)

    @classmethod
    def forbidden(cls, detail: str) -> ApiError:
        """A 403 answer: ``Forbidden: <detail>``."""
        return cls(403, f"Forbidden: {detail}")

    def to_json(self) -> dict[str, Any]:
        """The response body."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


class SpecViolation(Exception):
    """The sandbox produced an object the Bot API specification does not allow.

    This is always a bug in the sandbox, never in the bot: the server records it, answers
    500, and :meth:`Sandbox.stop` and the control side's waits raise it so a test fails.
    """
