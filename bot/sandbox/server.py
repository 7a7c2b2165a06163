"""The aiohttp app answering ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

One call goes: token, method lookup, parameters (query string, form, multipart or JSON)
coerced and checked against the specification, injected faults, flood limits, the handler,
then the result checked against the specification before it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.errors import ApiError
from bot.sandbox.limits import Fault, Faults, RateLimits
from bot.sandbox.methods import HANDLERS, CallContext
from bot.sandbox.records import Call
from bot.sandbox.spec import ApiSpec, Upload
from bot.sandbox.world import World

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 50 * 1024 * 1024  # Telegram accepts uploads up to 50 MB
_ATTACH = "attach://"
# What a proxy in front of Telegram answers when the backend is down: HTML, not JSON.
_PROXY_PAGE = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class _Note:
    """What the call log will say about a call being handled."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    error_code: int | None = None
    description: str | None = "the client closed the connection before the answer"


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


async def read_params(request: web.Request) -> dict[str, Any]:
    """Collect a call's parameters from the query string and the body, as Telegram does."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError.bad_request("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise ApiError.bad_request("the JSON body must be an object")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    with value.file as handle:
                        data = handle.read()
                    params[key] = Upload(value.filename, value.content_type, data)
                else:
                    params[key] = value
    # A file may be sent as its own part and named by "attach://<part>" in a parameter.
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith(_ATTACH):
            part = value[len(_ATTACH) :]
            upload = params.pop(part, None)
            if not isinstance(upload, Upload):
                raise ApiError.bad_request(f'parameter "{key}" names a file part that was not sent')
            params[key] = upload
    return params


class ApiServer:
    """Serves the Bot API for one bot token over real HTTP."""

    def __init__(
        self, *, token: str, world: World, spec: ApiSpec, limits: RateLimits, faults: Faults
    ) -> None:
        self.token = token
        self.world = world
        self.spec = spec
        self.limits = limits
        self.faults = faults
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self.host = ""
        self.port = 0

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("GET", "/bot{token}/{method}", self._api)
        app.router.add_route("POST", "/bot{token}/{method}", self._api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._file)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (port 0: any free port; see :attr:`port`)."""
        self._stopping = asyncio.Event()
        # handler_cancellation: a request whose client went away (a held "timeout" fault,
        # an abandoned long poll) stops being handled.
        runner = web.AppRunner(
            self.app(),
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.host, self.port = host, int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Answer waiting long polls, release held requests and close the server."""
        self.world.closing = True
        self.world.updates.arrived.fire()
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- handlers -------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return _json(ApiError(404, "Not Found").to_json(), 404)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json(ApiError(401, "Unauthorized").to_json(), 401)
        stored = self.world.file_paths.get(request.match_info["path"])
        if stored is None:
            return _json(ApiError(404, "Not Found").to_json(), 404)
        return web.Response(body=stored.data, content_type=stored.mime_type)

    async def _api(self, request: web.Request) -> web.Response:
        world = self.world
        note = _Note(request.match_info["method"])
        polling = note.method.lower() == "getupdates"
        if not polling:
            world.in_flight += 1
            world.last_activity = time.monotonic()
        try:
            return await self._answer(request, note)
        except Exception as bug:  # a sandbox bug: fail the test, answer 500
            world.internal_errors.append(bug)
            log.exception("sandbox bug while answering %s", note.method)
            note.error_code, note.description = 500, f"Internal Server Error: sandbox bug: {bug}"
            return _json(ApiError(500, note.description).to_json(), 500)
        finally:
            world.calls.append(
                Call(
                    note.method,
                    note.params,
                    note.ok,
                    note.error_code,
                    note.description,
                    time.time(),
                )
            )
            if not polling:
                world.in_flight -= 1
                world.last_activity = time.monotonic()
            world.changed.fire()

    def _error(self, note: _Note, error: ApiError) -> web.Response:
        note.ok, note.error_code, note.description = False, error.error_code, error.description
        return _json(error.to_json(), error.error_code)

    async def _answer(self, request: web.Request, note: _Note) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(note, ApiError(401, "Unauthorized"))
        spec = self.spec.method(note.method)
        if spec is None:
            return self._error(note, ApiError(404, "Not Found"))
        note.method = spec.name
        handler = HANDLERS.get(spec.name)
        if handler is None:
            return self._error(note, ApiError.bad_request("method is not supported by the sandbox"))
        try:
            note.params = self.spec.parse_params(spec, await read_params(request))
        except ApiError as failure:
            return self._error(note, failure)
        chat_id = note.params.get("chat_id")
        fault = self.faults.take(spec.name, chat_id)
        if fault is not None and fault.kind == "delay":
            await self._hold(fault.delay)  # a slow Telegram: late, then answered as usual
            fault = None
        if fault is not None and not fault.executed:
            return await self._fault(note, fault, None)
        retry_after = self.limits.admit(spec.name, *self._chat_kind(chat_id))
        if retry_after is not None:
            return self._error(note, _flood(retry_after))
        context = CallContext(self.world, lambda: _alive(request))
        try:
            result = await handler(context, note.params)
        except ApiError as failure:
            if fault is not None:
                return await self._fault(note, fault, None)
            return self._error(note, failure)
        self.spec.validate_result(spec, result)
        if fault is not None:
            return await self._fault(note, fault, result)
        note.ok, note.error_code, note.description = True, None, None
        return _json({"ok": True, "result": result})

    def _chat_kind(self, chat_id: Any) -> tuple[int | None, str | None]:
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if not isinstance(chat_id, int):
            return None, None
        chat = self.world.chats.get(chat_id)
        if chat is not None:
            return chat_id, chat.type
        return (chat_id, "private") if chat_id in self.world.users else (None, None)

    async def _fault(self, note: _Note, fault: Fault, result: Any) -> web.Response:
        suffix = (
            " (injected fault; the call took effect)" if fault.executed else " (injected fault)"
        )
        if fault.kind == "flood":
            response = self._error(note, _flood(fault.retry_after))
        elif fault.kind == "server_error" and fault.status == 500:
            response = self._error(note, ApiError(500, "Internal Server Error"))
        elif fault.kind == "server_error":
            page = _PROXY_PAGE.format(code=fault.status, reason=fault.reason)
            note.error_code, note.description = fault.status, fault.reason
            response = web.Response(text=page, status=fault.status, content_type="text/html")
        else:
            note.error_code, note.description = None, "timeout: the request was held"
            await self._hold(self.faults.hold_seconds)
            if result is not None:
                note.ok = True
                return _json({"ok": True, "result": result})
            response = web.Response(
                text=_PROXY_PAGE.format(code=504, reason="Gateway Timeout"),
                status=504,
                content_type="text/html",
            )
        note.description = f"{note.description}{suffix}"
        return response

    async def _hold(self, seconds: float) -> None:
        """Keep a request open for `seconds`, until the client gives up or the server stops."""
        if self._stopping is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


def _flood(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _alive(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()
