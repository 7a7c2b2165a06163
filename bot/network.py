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
import contextlib
import logging
import select
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
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
_on_written: ContextVar[Callable[[bool], None] | None] = ContextVar("on_written", default=None)


@contextmanager
def when_written(hook: Callable[[bool], None]) -> Iterator[None]:
    """Calls to the Bot API made inside: `hook(True)` runs right before a request's bytes are
    handed to the connection, all at once (`_Connection`), with nothing else running on the
    event loop in between: before it, Telegram can't have the request; once it has run, the
    request is on its way. So a crash can neither leave a request marked that never left (it
    would be held back for good) nor one unmarked that Telegram took (it would be sent twice).
    `hook(False)` runs when Telegram answered that it didn't do it (a 5xx) and the request is
    about to be tried again: until the next attempt leaves, it is known not to have arrived.
    The hook runs for each attempt, should be quick and must not raise."""
    token = _on_written.set(hook)
    try:
        yield
    finally:
        _on_written.reset(token)


class _Connection(httpcore.AsyncNetworkStream):
    """One connection to the Bot API, through asyncio's own streams. A request's bytes are
    held until it is complete (httpcore writes its end, or starts reading the answer), then
    the send under way is marked (`when_written`) and the bytes go to the socket in one call:
    asyncio's `write` hands them on at once, where a write through anyio would first let
    other tasks run."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._held = bytearray()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self._held += buffer
        if not buffer:  # the end of a request whose length is known
            await self._flush(timeout)

    async def _flush(self, timeout: float | None) -> None:  # noqa: ASYNC109
        if not self._held:
            return
        data, self._held = bytes(self._held), bytearray()
        hook = _on_written.get()
        try:
            if hook is not None:
                hook(True)
            self._writer.write(data)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as error:
            raise httpcore.WriteTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.WriteError(str(error)) from error

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        await self._flush(timeout)
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as error:
            raise httpcore.ReadTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ReadError(str(error)) from error

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(str(error)) from error
        except OSError as error:  # ssl.SSLError too
            raise httpcore.ConnectError(str(error)) from error
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # the server closed it, or sent what nobody asked for
            sock = self._writer.get_extra_info("socket")
            if self._reader.at_eof() or sock is None or sock.fileno() < 0:
                return True
            return bool(select.select([sock], [], [], 0)[0])
        names = {"client_addr": "sockname", "server_addr": "peername"}
        return self._writer.get_extra_info(names.get(info, info))


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's connections made as `_Connection`s."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Connection(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class MarkingTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over `_Connection`s, telling a send under way (`when_written`) the
    moment its request leaves."""

    def __init__(
        self,
        limits: httpx.Limits,
        *,
        http1: bool = True,
        http2: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`ssl_context`: what TLS trusts (httpx's default, the usual certificate authorities,
        if None)."""
        super().__init__(limits=limits, http1=http1, http2=http2)
        # The same pool httpx makes, over connections of our own.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=_Backend(),
        )


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
        if kwargs.pop("proxy", None) is not None:
            raise ValueError("Mend's requests go to the Bot API directly, not through a proxy")
        kwargs["transport"] = MarkingTransport(
            kwargs["limits"], http1=kwargs.get("http1", True), http2=kwargs.get("http2", False)
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
                hook = _on_written.get()
                if hook is not None:
                    hook(False)  # not done: until the next attempt leaves, it never arrived
            await asyncio.sleep(pause)
        raise AssertionError("unreachable: the last attempt returns or raises")
