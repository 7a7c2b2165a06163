"""The playground of `scripts/run` without a token, behind its page: what the page is sent,
what it may do, and the time travel (the page itself in a real browser: test_browser.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import time_machine

from bot.sandbox.playground import Playground
from bot.sandbox.web import Page


@pytest.fixture
def page(playground_page: Page) -> Page:
    return playground_page


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def act(http: aiohttp.ClientSession, page: Page, **asked: Any) -> dict[str, Any]:
    async with http.post(page.url + "api/act", json=asked) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def state(http: aiohttp.ClientSession, page: Page) -> dict[str, Any]:
    async with http.get(page.url + "api/state") as response:
        shown: dict[str, Any] = await response.json()
        return shown


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


async def test_the_page_answers_this_machine_and_its_own_page_only(
    page: Page, http: aiohttp.ClientSession
) -> None:
    async with http.get(page.url) as response:
        assert response.status == 200
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert '<script src="/static/app.js"' in await response.text()
    # A name that resolves to this machine from a page elsewhere (DNS rebinding).
    async with http.get(page.url, headers={"Host": "mend.example"}) as response:
        assert response.status == 403
    # A form posted from a page elsewhere, or JSON from another origin.
    async with http.post(page.url + "api/act", data={"action": "reset"}) as response:
        assert response.status == 415
    foreign = {"Origin": "http://mend.example"}
    async with http.post(page.url + "api/act", json={"action": "reset"}, headers=foreign) as r:
        assert r.status == 403
    async with http.get(page.url + "static/..%2Fweb.py") as response:
        assert response.status == 404
    async with http.post(page.url + "api/act", json={"action": "travel", "step": "year"}) as r:
        assert r.status == 400


async def test_words_and_tour_come_in_the_pages_language(
    page: Page, http: aiohttp.ClientSession
) -> None:
    async with http.get(page.url + "api/labels?locale=de-AT") as response:
        body = await response.json()
    assert body["locale"] == "de"
    assert body["labels"]["playground.travel.week"] == "Eine Woche später"
    assert body["languages"] == {"en": "English", "de": "Deutsch"}
    first = body["tour"][0]
    assert first["step"] == "welcome" and first["show_me"] is None
    assert first["text"].startswith("Willkommen bei Mend")
    assert first["entities"][0]["type"] == "bold"  # formatting as entities, never as HTML
    assert "Europe/Berlin" in body["zones"]


async def test_what_people_write_reaches_the_page_as_text_and_the_bots_html_as_entities(
    page: Page, http: aiohttp.ClientSession
) -> None:
    await act(http, page, action="show_me", step="onboard")
    hostile = '<img src=x onerror="alert(1)"><b>hi</b> & /help'
    await act(http, page, action="say", who="casey", where="group", text=hostile)
    shown = await state(http, page)
    group = shown["group"]["messages"]
    casey = next(m for m in group if m["who"] == "casey" and m["text"] == hostile)
    # What a person typed is text; only what Telegram itself finds in it (commands) is marked.
    assert {e["type"] for e in casey["entities"]} == {"bot_command"}
    assert {"type": "bot_command", "offset": 42, "length": 5} in casey["entities"]
    assert all("html" not in m for m in group)
    greeting = next(m for m in group if m["bot"] and "Hello, both of you" in m["text"])
    assert "bold" in {e["type"] for e in greeting["entities"]}
    assert "<b>" not in greeting["text"]
    joined = next(m for m in group if m.get("service") and m["service"]["key"] == "added")
    assert joined["service"]["values"] == {"actor": "Alex", "names": "Mend"}
    people = {p["key"]: p for p in shown["people"]}
    assert people["alex"]["partner"] and people["sam"]["partner"]
    assert not people["casey"]["partner"]
    assert people["alex"]["mend_zone"] == people["alex"]["zone"] == "Europe/Berlin"


async def test_time_travel_moves_mends_clock_and_waits_for_what_came_due(
    page: Page, http: aiohttp.ClientSession, playground: Playground
) -> None:
    before = (await state(http, page))["now"]
    assert (await act(http, page, action="travel", step="next"))["error"] == (
        "Mend has nothing planned yet: set up the couple first."
    )
    await act(http, page, action="travel", step="hour")
    assert (await state(http, page))["now"] - before >= 3600
    await act(http, page, action="show_me", step="onboard")
    await act(http, page, action="say", who="sam", where="group", text="/pause 45")
    paused = playground.clock.now()
    planned = (await state(http, page))["next"]
    assert planned is not None and planned - paused.timestamp() <= 45 * 60 + 5
    await act(http, page, action="travel", step="next")  # on to the pause's end, no further
    moved = playground.clock.now() - paused
    assert timedelta(minutes=45) <= moved < timedelta(minutes=47)
    assert "The pause is over" in texts((await state(http, page))["group"]["messages"])


async def test_a_reply_names_its_message_and_settings_are_each_persons(
    page: Page, http: aiohttp.ClientSession
) -> None:
    await act(http, page, action="show_me", step="onboard")
    await act(http, page, action="say", who="sam", where="private", text="/timezone")
    asked = next(
        m for m in (await state(http, page))["private"]["sam"]["messages"] if m["force_reply"]
    )
    await act(
        http, page, action="say", who="sam", where="private", text="Sydney", reply_to=asked["id"]
    )
    shown = await state(http, page)
    assert "Time zone set to Australia/Sydney" in texts(shown["private"]["sam"]["messages"])
    sam = next(p for p in shown["people"] if p["key"] == "sam")
    assert sam["mend_zone"] == "Australia/Sydney" and sam["zone"] == "America/Toronto"
    await act(http, page, action="zone", who="sam", zone="Australia/Sydney")
    await act(http, page, action="language", who="casey", language="de")
    wrong = await act(http, page, action="zone", who="sam", zone="Mars/Olympus")
    assert wrong == {"ok": False, "error": "That isn't a time zone: Mars/Olympus"}
    people = {p["key"]: p for p in (await state(http, page))["people"]}
    assert people["sam"]["zone"] == "Australia/Sydney"
    assert people["casey"]["language"] == "de"  # what her updates tell Mend from now on


async def test_the_chart_is_a_picture_and_the_export_a_download(
    page: Page, http: aiohttp.ClientSession
) -> None:
    await act(http, page, action="show_me", step="onboard")
    await act(http, page, action="say", who="alex", where="group", text="/progress")
    await act(http, page, action="say", who="alex", where="private", text="/export")
    shown = await state(http, page)
    chart = next(m for m in shown["group"]["messages"] if m.get("photo"))
    async with http.get(page.url + f"api/file/{chart['chat']}/{chart['id']}") as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert (await response.read()).startswith(b"\x89PNG")
    export = next(m for m in shown["private"]["alex"]["messages"] if m.get("document"))
    assert export["document"]["name"].startswith("mend-export-")
    async with http.get(page.url + f"api/file/{export['chat']}/{export['id']}") as response:
        assert response.content_type == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        exported = json.loads(await response.read())
    assert exported["user_id"] == next(p["id"] for p in shown["people"] if p["key"] == "alex")
    # Sam can't fetch what only Alex's chat holds through another chat's number.
    async with http.get(page.url + f"api/file/{shown['group']['id']}/{export['id']}") as r:
        assert r.status == 404 or (await r.read()) != json.dumps(exported).encode()


async def test_reset_starts_again_with_an_empty_group_today(
    page: Page, http: aiohttp.ClientSession, playground: Playground
) -> None:
    await act(http, page, action="show_me", step="onboard")
    await act(http, page, action="travel", step="week")
    real_now = time_machine.escape_hatch.time.time
    assert (await state(http, page))["now"] - real_now() > 7 * 24 * 3600 - 60
    await act(http, page, action="reset")
    shown = await state(http, page)
    assert shown["group"]["messages"] == [] and not shown["group"]["bot_in"]
    assert all(not p["started"] and not p["partner"] for p in shown["people"])
    assert abs(shown["now"] - real_now()) < 120  # today again
