"""The HTTP side of Telegram calls: what surely never arrived is tried again, nothing else.

A request that failed before Telegram could have acted on it (no connection, no free
connection in the pool, or an answer from Telegram saying it failed: 5xx) is repeated a few
times with short pauses. A request that may have arrived (the answer timed out or the
connection broke after the request was written) is repeated only if repeating it is harmless
(an edit, an answer to a button press, a getter); a send is never repeated blindly, because
the person may already see it. What happens to a send that may have arrived is decided by
:func:`bot.messages.may_have_arrived` and the outbox, not here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)

# Pauses before the second, third ... attempt, in seconds.
RETRY_PAUSES = (0.5, 1.5)
# Causes that prove the request never reached Telegram.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
GATEWAY_TIMEOUT = 504
# Methods whose repetition changes nothing a person sees twice.
_REPEATABLE_PREFIXES = ("get", "edit", "set", "delete", "answer", "stop", "pin", "unpin", "leave")


# What the send under way (in this task) wants done the moment its request has been written.
_on_written: ContextVar[Callable[[], None] | None] = ContextVar("on_written", default=None)


@contextmanager
def when_written(hook: Callable[[], None]) -> Iterator[None]:
    """Calls to the Bot API made inside: `hook` runs the moment a request's body has been
    written to the connection, before anything else runs on the event loop: until then, Telegram
    can't have acted on it; from then on, it may have. Marking earlier (when the headers are
    out) would leave a window in which the loop runs other work before the body follows, and a
    crash there would hold back, for good, a request that never left. Marked here, a crash can
    only fall in the hook itself, and then the request is sent once more after the restart.
    The hook should be quick and must not raise."""
    token = _on_written.set(hook)
    try:
        yield
    finally:
        _on_written.reset(token)


async def _trace(name: str, info: dict[str, Any]) -> None:
    hook = _on_written.get()
    if hook is not None and name.endswith("send_request_body.complete"):
        hook()


class MarkingTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, telling a send under way (`when_written`) when its request is out
    (httpcore writes the body's last bytes and reports it without yielding in between)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _on_written.get() is not None:
            request.extensions = {**request.extensions, "trace": _trace}
        return await super().handle_async_request(request)


def never_sent(error: BaseException) -> bool:
    """Whether a failed call surely never reached Telegram (so sending again is safe)."""
    cause = error.__cause__
    if isinstance(cause, NEVER_SENT):
        return True
    # An HTTP answer with a status of 500 or more: Telegram (or its proxy) says it failed;
    # but a gateway's timeout (504) may have come after Telegram did it.
    return (
        type(error) is NetworkError
        and not isinstance(cause, httpx.HTTPError)
        and f"({GATEWAY_TIMEOUT})" not in str(error)
    )


def repeatable(method: str) -> bool:
    """Whether repeating a Bot API method is harmless (edits, answers, getters, settings)."""
    return method.startswith(_REPEATABLE_PREFIXES)


class RetryingRequest(HTTPXRequest):
    """python-telegram-bot's HTTPX transport, repeating requests that surely never arrived
    (and, for repeatable methods, those that may have): `len(RETRY_PAUSES)` more attempts.
    Its requests say when they have been written (`when_written`)."""

    def _build_client(self) -> httpx.AsyncClient:
        kwargs = dict(self._client_kwargs)
        kwargs["transport"] = MarkingTransport(
            limits=kwargs["limits"],
            http1=kwargs.get("http1", True),
            http2=kwargs.get("http2", False),
            proxy=kwargs.pop("proxy", None),
        )
        return httpx.AsyncClient(**kwargs)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        for pause in (*RETRY_PAUSES, None):
            try:
                code, payload = await super().do_request(url, method, request_data, *args, **kwargs)
            except (TimedOut, NetworkError) as error:
                if pause is None or not (never_sent(error) or repeatable(api_method)):
                    raise
                log.warning(
                    "%s failed (%s), trying again in %.1f s",
                    api_method,
                    type(error.__cause__ or error).__name__,
                    pause,
                )
            else:
                may_have_arrived = code == GATEWAY_TIMEOUT and not repeatable(api_method)
                if code < 500 or pause is None or may_have_arrived:
                    return code, payload
                log.warning("%s answered %d, trying again in %.1f s", api_method, code, pause)
            await asyncio.sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")
