"""The playground's page in a real headless Chromium (Debian's `chromium`, driven by Playwright
through its executable path): a couple's first week, lived the way a newcomer would.

Screenshots of each stage are kept in test-artifacts/browser/ (not committed). scripts/test
installs Chromium when it runs as root (as CI does); elsewhere these tests skip and say why,
and in CI (the CI variable set) a missing browser fails them.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from bot.sandbox.web import Page as PlaygroundPage
from tests.conftest import needs

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# As Chromium runs on these machines: headless, as root (no sandbox), and with none of its own
# calls home, which a closed network refuses, many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 60_000  # a week of timers on a busy 2-core machine
expect.set_options(timeout=WAIT_MS)


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium; scripts/test installs it (as root) when it is missing."""
    found = shutil.which("chromium")
    if found is None:
        needs(
            "chromium",
            "needs Debian's chromium to test the page in a real browser; scripts/test "
            "installs it when run as root (apt-get install chromium)",
        )
    assert found is not None
    return found


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def web(browser: Browser, playground_page: PlaygroundPage) -> AsyncIterator[Page]:
    """The page, opened as a first-time visitor would; page errors fail the test."""
    context = await browser.new_context(
        viewport={"width": 1600, "height": 1000}, accept_downloads=True, locale="en-GB"
    )
    context.set_default_timeout(WAIT_MS)
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("dialog", lambda dialog: problems.append(f"a dialog opened: {dialog.message}"))
    await opened.goto(playground_page.url)
    try:
        yield opened
    finally:
        await context.close()
    assert problems == []


async def shot(web: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await web.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def settled(web: Page) -> None:
    """The action asked for has been answered (the page is no longer busy)."""
    await expect(web.locator("body")).not_to_have_class(re.compile(r"\bbusy\b"))


def column(web: Page, key: str) -> Locator:
    return web.locator(f".column[data-key='{key}']")


async def as_person(web: Page, who: str) -> None:
    """Choose who acts in the group."""
    await web.locator(f".actors [data-actor='{who}']").click()


async def tap(web: Page, where: str, label: str) -> None:
    """Tap the newest button with this label in a chat."""
    await column(web, where).locator(".keyboard button", has_text=label).last.click()
    await settled(web)


async def write(web: Page, where: str, text: str) -> None:
    await column(web, where).locator(".composer input").fill(text)
    await column(web, where).locator(".composer input").press("Enter")
    await settled(web)


async def travel(web: Page, step: str) -> None:
    await web.locator(f"#travel [data-travel='{step}']").click()
    await settled(web)


async def test_a_couple_onboards_pauses_votes_and_sees_the_checkin_a_week_later(
    web: Page,
) -> None:
    group, alex, sam = column(web, "group"), column(web, "alex"), column(web, "sam")
    tour = web.locator("#tour")
    await expect(tour).to_contain_text("Welcome to Mend")  # a first visit starts the tour
    await shot(web, "01-first-visit")
    await tour.get_by_role("button", name="Close").click()
    await expect(tour).to_be_hidden()

    await group.get_by_role("button", name="Add Mend to the group").click()
    await expect(group.locator(".message.bot").first).to_contain_text("Hello, both of you")
    await tap(web, "group", "I'm in")  # Alex acts first
    await expect(group).to_contain_text("Alex is in")
    await as_person(web, "sam")
    await tap(web, "group", "I'm in")
    await expect(group).to_contain_text("Sam is in")
    await as_person(web, "alex")
    await tap(web, "group", "Repair after a breach")
    await as_person(web, "sam")
    await tap(web, "group", "Yes, agreed")
    await tap(web, "group", "Skip roles")
    await as_person(web, "alex")
    await tap(web, "group", "Yes, agreed")
    await expect(group).to_contain_text("Today is day 1")
    # Casey is in the group too: both let personal things be posted here anyway.
    await tap(web, "group", "Post here anyway")
    await as_person(web, "sam")
    await tap(web, "group", "Post here anyway")
    await expect(group).to_contain_text("you both chose to have personal things posted here")
    for who, person in (("alex", alex), ("sam", sam)):
        await as_person(web, who)
        await tap(web, "group", f"{who.title()}: open your private chat")
        await expect(person).to_contain_text(f"Hi {who.title()}.")
    await shot(web, "02-onboarded")

    await as_person(web, "sam")
    await write(web, "group", "/pause 30")
    await expect(group).to_contain_text("Sam asked for a pause of 30 minutes")
    await travel(web, "hour")
    await expect(group).to_contain_text("The pause is over")
    await shot(web, "03-pause-over")

    await as_person(web, "alex")
    await write(web, "group", "/checkin")
    poll = group.locator(".poll").last
    await expect(poll).to_contain_text("how safe and connected")
    await poll.locator(".option", has_text="4 ·").click()
    await settled(web)
    await expect(poll).to_contain_text("Votes: 1")
    await as_person(web, "sam")
    await poll.locator(".option", has_text="5 ·").click()
    await settled(web)
    await expect(poll).to_contain_text("Votes: 2")
    await expect(poll.locator(".result", has_text="✓ 5 ·")).to_be_visible()
    # Alex answers the first question privately, replying to that very message.
    question = alex.locator(".message.bot", has_text="What went well").last
    await question.locator("[data-reply]").click()
    await expect(alex.locator(".replying")).to_contain_text("Replying to Mend")
    await write(web, "alex", "We called every evening, as we said we would.")
    await expect(alex.locator(".message.own .quote").last).to_contain_text("This week's check-in")
    await expect(alex.locator(".message.bot").last).to_contain_text("may Sam see your answer")
    await tap(web, "alex", "Share it")
    await shot(web, "04-poll-answered")

    await travel(web, "week")  # past the check-in's deadline: what there is is shown
    # The first reveal is this check-in's; depending on the hour the week began, the weekly
    # check-in of that week is due and shown too.
    reveal = group.locator(".message.bot", has_text="This week's check-in, side by side").first
    await expect(reveal).to_contain_text("Alex 4/5")
    await expect(reveal).to_contain_text("Sam 5/5")
    await expect(reveal).to_contain_text("We called every evening")
    await expect(reveal.locator("b").first).to_have_text("This week's check-in, side by side")
    await reveal.scroll_into_view_if_needed()
    await shot(web, "05-checkin-revealed")


async def test_the_tour_plays_the_steps_and_the_page_shows_only_telegrams_formatting(
    web: Page,
) -> None:
    group, alex = column(web, "group"), column(web, "alex")
    tour = web.locator("#tour")
    await tour.get_by_role("button", name="Next").click()
    await expect(tour).to_contain_text("Getting started as a couple")
    await tour.get_by_role("button", name="Show me").click()
    await settled(web)
    await expect(group).to_contain_text("Today is day 1")
    await expect(tour).to_contain_text("A talk gets heated")  # on to the next step
    await expect(alex.locator(".mend-zone")).to_contain_text("Mend has: Europe/Berlin")

    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold?</b>'
    await as_person(web, "casey")
    await write(web, "group", hostile)
    said = group.locator(".message.own").last
    await expect(said.locator(".text")).to_have_text(hostile)  # shown as typed, never run
    assert await said.locator("img, script, b").count() == 0
    assert await group.locator(".text script, .text img, .text iframe").count() == 0
    await expect(group.locator(".message.bot .text b").first).to_be_visible()  # Mend's own

    await as_person(web, "alex")
    await write(web, "group", "/progress")
    chart = group.locator("img.photo").last
    await expect(chart).to_be_visible()
    box = await chart.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 50  # the picture loaded
    await write(web, "alex", "/export")
    download_link = alex.locator("a.document").last
    await expect(download_link).to_contain_text("mend-export-")
    async with web.expect_download() as waiting:
        await download_link.click()
    download = await waiting.value
    exported = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
    assert exported["couples"] and "exported_at" in exported
    await shot(web, "06-chart-and-export")

    await web.locator("#page-language").select_option("de")
    await expect(web.locator("#travel [data-travel='week']")).to_have_text("Eine Woche später")
    await expect(group.locator(".actors")).to_contain_text("Du bist")
    await web.locator("#reset-button").click()
    await web.locator("#reset-button").click()  # the second tap confirms
    await settled(web)
    await expect(group.get_by_role("button", name="Mend zur Gruppe hinzufügen")).to_be_visible()
    await expect(group.locator(".message")).to_have_count(0)
