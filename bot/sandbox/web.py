"""The playground in the browser: the couple's group and each person's private chat side by
side, as Telegram shows them, with time travel, a guided tour and a reset.

Served by aiohttp on 127.0.0.1 only. The page (bot/sandbox/web/: one HTML file, a script and a
style sheet, nothing from elsewhere) asks for the state with a long poll and sends what a
person does as JSON. The bot's messages go to the page as plain text plus Telegram's entities,
never as HTML: the script builds the few elements Telegram's HTML allows (bold, italic,
underline, strikethrough, spoiler, links to http, https and tg, code, pre, blockquote) from
them, so nothing the bot or a person wrote can become markup. Requests must name this server
as their host (no DNS rebinding) and actions come as JSON from this page's own origin.

Every word of the page is a label or a template under content/<locale>/playground/.
"""

from __future__ import annotations

import asyncio
import contextlib
import zoneinfo
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.sandbox.html import parse_html
from bot.sandbox.playground import COUPLE, Person, Playground, Refused
from bot.sandbox.records import SentMessage

STATIC = Path(__file__).resolve().parent / "web"
FILES = {"app.js": "text/javascript", "style.css": "text/css"}
HOST = "127.0.0.1"
LONG_POLL_SECONDS = 20.0
# The tour: each step's template (playground/tour_<step>) and what "Show me" plays, if anything.
TOUR: tuple[tuple[str, str | None], ...] = (
    ("welcome", None),
    ("onboard", "onboard"),
    ("pause", "pause"),
    ("hour", "hour"),
    ("checkin", "checkin"),
    ("week", "week"),
    ("end", None),
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_IMAGE_TYPES = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


class Page:
    """The web side of one playground."""

    def __init__(self, playground: Playground) -> None:
        self.playground = playground
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_get("/api/labels", self._labels)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/file/{chat}/{message}", self._file)
        app.router.add_post("/api/act", self._act)
        return app

    async def start(self, port: int) -> str:
        """Serve on 127.0.0.1:`port` (if it is taken, on any free port); returns the address."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, HOST, port)
            await site.start()
        except OSError:
            site = web.TCPSite(runner, HOST, 0)
            await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- guard --------------------------------------------------------------------------

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Only this page, from this machine: the Host header must name this server (a page
        elsewhere can't reach it through a name that resolves here), and an action must come
        as JSON from this origin (a form elsewhere can't post one)."""
        ours = {f"{HOST}:{self.port}", f"localhost:{self.port}"}
        if request.host not in ours:
            raise web.HTTPForbidden()
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin is not None and origin.removeprefix("http://") not in ours:
                raise web.HTTPForbidden()
            if request.content_type != "application/json":
                raise web.HTTPUnsupportedMediaType()
        response = await handler(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    # -- the page -----------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Content-Type": "text/html"})

    async def _no_icon(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in FILES:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name, headers={"Content-Type": FILES[name]})

    def _locale(self, request: web.Request) -> str:
        return self.playground.services.render.locale_for(request.query.get("locale"))

    async def _labels(self, request: web.Request) -> web.Response:
        """The page's words and the tour, in the page's language."""
        render = self.playground.services.render
        locale = self._locale(request)
        labels = {
            key: render.raw_label(locale, key)
            for key in render.label_keys()
            if key.startswith("playground.")
        }
        tour = []
        for step, show_me in TOUR:
            text, entities = parse_html(render.message(locale, f"playground/tour_{step}"))
            tour.append({"step": step, "text": text, "entities": entities, "show_me": show_me})
        languages = {code: render.label(code, "language.name") for code in render.locales}
        zones = sorted(zoneinfo.available_timezones())
        return web.json_response(
            {
                "locale": locale,
                "labels": labels,
                "tour": tour,
                "languages": languages,
                "zones": zones,
            }
        )

    async def _state(self, request: web.Request) -> web.Response:
        """Everything the page shows, once it differs from the version the page has (a long
        poll: it waits for a change for a while)."""
        playground = self.playground
        try:
            since = int(request.query.get("since", "-1"))
        except ValueError:
            since = -1
        if playground.version <= since:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed_after(since), LONG_POLL_SECONDS)
        return web.json_response(self.state())

    async def _changed_after(self, version: int) -> None:
        while self.playground.version <= version:
            await self.playground.changed.wait(LONG_POLL_SECONDS)

    def state(self) -> dict[str, Any]:
        playground = self.playground
        group = playground.group
        next_timer = playground.next_timer()
        return {
            "version": playground.version,
            "now": playground.clock.now().timestamp(),
            "next": None if next_timer is None else next_timer.timestamp(),
            "people": [self._person(person) for person in playground.people.values()],
            "couple": list(COUPLE),
            "group": {
                "id": group.id,
                "title": group.title,
                "bot_in": group.bot_status in ("member", "administrator"),
                "messages": [self._message(m) for m in group.messages if not m.deleted],
            },
            "private": {
                person.key: {
                    "id": person.user.id,
                    "messages": [
                        self._message(m) for m in person.user.private.messages if not m.deleted
                    ]
                    if person.user.started
                    else [],
                }
                for person in playground.people.values()
            },
        }

    def _person(self, person: Person) -> dict[str, Any]:
        return {
            "key": person.key,
            "name": person.user.name,
            "id": person.user.id,
            "language": person.user.language_code,
            "zone": person.zone,
            "mend_zone": self.playground.mend_zone(person),
            "partner": self.playground.is_partner(person),
            "started": person.user.started,
        }

    def _message(self, message: SentMessage) -> dict[str, Any]:
        playground = self.playground
        sender_id = message.sender.get("id")
        who = next((p.key for p in playground.people.values() if p.user.id == sender_id), None)
        shown: dict[str, Any] = {
            "id": message.message_id,
            "chat": message.chat_id,
            "from": message.sender_name,
            "bot": message.from_bot,
            "who": who,
            "date": message.date,
            "edited": message.edited,
            "pinned": message.pinned,
            "silent": message.silent,
            "force_reply": message.force_reply,
        }
        if message.is_service:
            shown["service"] = _service(message)
            return shown
        if message.caption is not None or message.photo is not None or message.document:
            shown["text"], shown["entities"] = message.caption or "", message.caption_entities
        else:
            shown["text"], shown["entities"] = message.text, message.entities
        shown["buttons"] = [
            [{"text": b.text, "link": b.url is not None} for b in row] for row in message.buttons
        ]
        if message.reply_to_message_id is not None:
            replied = playground.chat(message.chat_id).state.message(message.reply_to_message_id)
            if replied is not None:
                shown["reply_to"] = {
                    "id": replied.message_id,
                    "from": replied.sender_name,
                    "text": replied.shown_text[:120],
                }
        if message.photo is not None:
            shown["photo"] = True
        if message.document is not None:
            shown["document"] = {
                "name": message.document.filename,
                "size": len(message.document.data),
            }
        if message.poll is not None:
            shown["poll"] = self._poll(message.poll)
        return shown

    def _poll(self, poll: dict[str, Any]) -> dict[str, Any]:
        state = self.playground.sandbox.world.polls.get(poll["id"])
        votes = {}
        if state is not None:
            for person in self.playground.people.values():
                chosen = state.votes.get(person.user.id)
                if chosen:
                    votes[person.key] = list(chosen)
        return {
            "question": poll["question"],
            "options": [
                {"text": option["text"], "count": option["voter_count"]}
                for option in poll["options"]
            ],
            "total": poll["total_voter_count"],
            "closed": poll["is_closed"],
            "multiple": poll["allows_multiple_answers"],
            "revoting": poll.get("allows_revoting", True),
            "votes": votes,
        }

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """A photo to show, or a document to download (never shown in the page)."""
        try:
            chat_id, message_id = (
                int(request.match_info["chat"]),
                int(request.match_info["message"]),
            )
            message = self.playground.chat(chat_id).state.message(message_id)
        except (KeyError, ValueError):
            message = None
        if message is not None and message.photo is not None:
            kind = next((t for magic, t in _IMAGE_TYPES if message.photo.startswith(magic)), None)
            if kind is None:
                raise web.HTTPNotFound()
            return web.Response(body=message.photo, content_type=kind)
        if message is not None and message.document is not None:
            name = "".join(c for c in message.document.filename if c.isalnum() or c in "._-")
            return web.Response(
                body=message.document.data,
                content_type="application/octet-stream",
                headers={"Content-Disposition": f'attachment; filename="{name or "file"}"'},
            )
        raise web.HTTPNotFound()

    # -- actions ------------------------------------------------------------------------

    async def _act(self, request: web.Request) -> web.Response:
        render = self.playground.services.render
        try:
            asked = await request.json()
        except ValueError:
            raise web.HTTPBadRequest() from None
        if not isinstance(asked, dict):
            raise web.HTTPBadRequest()
        locale = render.locale_for(str(asked.get("locale", "")))
        try:
            answer = await self._do(asked)
        except Refused as refused:
            error = render.label(locale, refused.key, **refused.values)
            return web.json_response({"ok": False, "error": error})
        except (KeyError, TypeError, ValueError):
            raise web.HTTPBadRequest() from None
        return web.json_response({"ok": True, **answer})

    async def _do(self, asked: dict[str, Any]) -> dict[str, Any]:
        playground = self.playground
        action = str(asked["action"])
        if action == "reset":
            await playground.reset()
            return {}
        if action == "travel":
            step = str(asked["step"])
            if step not in ("hour", "next", "day", "week"):
                raise ValueError(step)
            await playground.act(lambda: playground.travel(step))
            return {}
        if action == "show_me":
            step = str(asked["step"])
            if step not in {show for _, show in TOUR if show}:
                raise ValueError(step)
            await playground.act(lambda: playground.show_me(step))
            return {}
        if action == "add_bot":
            await playground.act(playground.add_bot)
            return {}
        person = playground.person(str(asked["who"]))
        if action == "language":
            language = str(asked["language"])
            if language not in playground.services.render.locales:
                raise ValueError(language)
            playground.set_language(person, language)
            return {}
        if action == "zone":
            zone = str(asked["zone"])
            if zone not in zoneinfo.available_timezones():
                raise Refused("playground.refused.bad_zone", zone=zone[:40])
            playground.set_zone(person, zone)
            return {}
        if action == "tell_zone":
            text = f"/timezone {person.zone}"
            private = person.user.started
            await playground.act(
                lambda: playground.say(person, text, private=private, reply_to=None)
            )
            return {}
        if action == "open":
            await playground.act(lambda: playground.open_private(person))
            return {}
        if action == "say":
            private = asked.get("where") == "private"
            chat_id = person.user.id if private else playground.group.id
            reply_to = None
            if asked.get("reply_to") is not None:
                reply_to = playground.message(person, chat_id, int(asked["reply_to"]))
            text = str(asked["text"])[:4096]
            await playground.act(
                lambda: playground.say(person, text, private=private, reply_to=reply_to)
            )
            return {}
        message = playground.message(person, int(asked["chat"]), int(asked["message"]))
        if action == "press":
            button = message.buttons[int(asked["row"])][int(asked["col"])]
            text = await playground.act(lambda: playground.press(person, message, button))
            return {"answer": text}
        if action == "vote":
            options = [int(option) for option in asked["options"]]
            await playground.act(lambda: playground.vote(person, message, options))
            return {}
        raise ValueError(action)


def _service(message: SentMessage) -> dict[str, Any]:
    """A service message as a label key and its values (the page words it)."""
    service = message.service
    actor = message.sender_name
    if "new_chat_members" in service:
        names = ", ".join(str(u.get("first_name", "?")) for u in service["new_chat_members"])
        if names == actor:
            return {"key": "joined", "values": {"actor": actor}}
        return {"key": "added", "values": {"actor": actor, "names": names}}
    if "left_chat_member" in service:
        gone = str(service["left_chat_member"].get("first_name", "?"))
        if gone == actor:
            return {"key": "left", "values": {"actor": actor}}
        return {"key": "removed", "values": {"actor": actor, "name": gone}}
    if "pinned_message" in service:
        pinned = service["pinned_message"].get("message_id")
        return {"key": "pinned", "values": {"actor": actor}, "message": pinned}
    if "new_chat_title" in service:
        return {"key": "title", "values": {"actor": actor, "title": service["new_chat_title"]}}
    if "group_chat_created" in service or "supergroup_chat_created" in service:
        return {"key": "created", "values": {"actor": actor}}
    return {"key": "other", "values": {"actor": actor}}
