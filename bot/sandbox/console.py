"""Talk to Mend without Telegram: the playground in the browser and in this terminal.

`scripts/run` with no BOT_TOKEN lands here. The playground (bot/sandbox/playground.py) holds
the sandbox, the bot and three people: Alex and Sam (the couple) and Casey (a friend in the
same group). Its page (bot/sandbox/web.py) is served on 127.0.0.1; lines typed here (or piped
in) are the same people's actions, and the bot's answers are printed as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
import threading
from datetime import timedelta
from typing import TextIO

from bot.config import Settings
from bot.sandbox.playground import Person, Playground, Refused
from bot.sandbox.records import Button, MessageEvent, SentMessage
from bot.sandbox.web import Page

USAGE = """\
Mend is running against a local sandbox: nothing leaves this machine.
The group "Alex & Sam" has three people: alex, sam and casey (a friend).

  add                       Alex adds Mend to the group     (remove: Alex removes it)
  <who> <text>              says something in the group     alex /start
  <who> dm <text>           writes to Mend in private       sam dm /timezone sydney
  <who> press <button>      taps a button: its number, or a part of its label
                            (on message #n: sam press #9 2)  alex press in  /  sam press 2
  <who> reply <text>        answers Mend's latest question  sam reply Berlin
  <who> reply #<n> <text>   answers message #n              sam reply #14 Berlin
  <who> link                opens their private chat through Mend's link
  <who> vote <n> [<n> ...]  answers the latest poll (options count from 1)
  later hour|day|week|next  moves the clock on (next: until Mend next says something)
  show [<who>]              the group's transcript, or someone's private chat
  reset                     starts again with an empty group
  help                      this text                       (quit, Ctrl-C or Ctrl-D: stop)
"""
_MESSAGE_NUMBER = re.compile(r"#(\d+)\Z")
# Marks and dashes a label may carry that nobody types: "○ Sunday – 19:00" is "sunday - 19:00".
_UNTYPED = str.maketrans({"–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"'})


def typed(label: str) -> str:
    """A label as a person would type it: no marks, plain dashes and quotes, any case."""
    kept = "".join(c for c in label.translate(_UNTYPED) if c.isalnum() or c in " -'\":/.,!?&+")
    return " ".join(kept.split()).casefold()


class Console:
    """Reads actions, plays them through the playground, prints the bot."""

    def __init__(self, playground: Playground, out: TextIO) -> None:
        self.playground = playground
        self.out = out
        self._printed: dict[tuple[int, int], str] = {}
        playground.on_message(self._show)

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def refused(self, refused: Refused) -> None:
        render = self.playground.services.render
        self.say(f"  {render.label('en', refused.key, **refused.values)}")

    def _show(self, event: MessageEvent) -> None:
        message = event.message
        if not message.from_bot or event.kind == "deleted":
            return
        key = (message.chat_id, message.message_id)
        if event.kind == "edited" and self._printed.get(key) == message.render(numbered=True):
            return  # nothing a reader would notice changed
        self._printed[key] = message.render(numbered=True)
        where = self._where(message)
        mark = " (edited)" if event.kind == "edited" else ""
        self.say(f"\n[{where} #{message.message_id}]{mark} {message.render(numbered=True)}")

    def _where(self, message: SentMessage) -> str:
        if message.chat_id == self.playground.group.id:
            return "group"
        for key, person in self.playground.people.items():
            if person.user.id == message.chat_id:
                return f"{key}, private"
        return str(message.chat_id)

    async def handle(self, line: str) -> bool:
        """Carry out one line; False when it's time to stop."""
        words = line.strip().split(maxsplit=1)
        if not words:
            return True
        verb, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
        playground = self.playground
        try:
            if verb in ("quit", "exit"):
                return False
            if verb == "help":
                self.say(USAGE)
            elif verb == "add":
                await playground.act(playground.add_bot)
            elif verb == "remove":
                alex = playground.people["alex"].user
                await playground.act(lambda: playground.group.remove_bot(by=alex))
            elif verb == "later" and rest.strip().lower() in ("hour", "day", "week", "next"):
                moved = await playground.act(lambda: playground.travel(rest.strip().lower()))
                moved = timedelta(seconds=round(moved.total_seconds()))
                self.say(f"  ({moved} later: {playground.clock.now():%A %d %B %Y, %H:%M} UTC)")
            elif verb == "reset":
                await playground.reset()
                self.say("  (everything starts again: an empty group, today's date)")
            elif verb == "show":
                self._transcript(rest.strip().lower())
            elif verb in playground.people:
                await self._act(playground.people[verb], rest.strip())
            else:
                self.say(f"I don't know {words[0]!r}. Type help for what works.")
        except Refused as refused:
            self.refused(refused)
        return True

    def _transcript(self, who: str) -> None:
        person = self.playground.people.get(who)
        chat = self.playground.group
        if person is not None and person.user.started:
            chat = person.user.private
        shown = [f"#{m.message_id} {m.render(numbered=True)}" for m in chat.messages]
        self.say("\n".join(shown) or "(no messages)")

    async def _act(self, person: Person, rest: str) -> None:
        playground = self.playground
        if not rest:
            self.say(f"What should {person.user.name} do? Type help for examples.")
            return
        action, _, argument = rest.partition(" ")
        action, argument = action.lower(), argument.strip()
        if action == "dm" and argument:
            await playground.act(
                lambda: playground.say(person, argument, private=True, reply_to=None)
            )
        elif action == "press" and argument:
            message, button = self._button(person, argument)
            answer = await playground.act(lambda: playground.press(person, message, button))
            if answer:
                self.say(f"  ({person.user.name} sees: {answer})")
        elif action == "reply" and argument:
            message, text = self._replied(person, argument)
            private = message.chat_id != playground.group.id
            await playground.act(
                lambda: playground.say(person, text, private=private, reply_to=message)
            )
        elif action == "link":
            message, button = self._link(person)
            await playground.act(lambda: playground.press(person, message, button))
        elif action == "vote" and argument:
            await self._vote(person, argument)
        else:
            await playground.act(lambda: playground.say(person, rest, reply_to=None))

    def _button(self, person: Person, wanted: str) -> tuple[SentMessage, Button]:
        """The button a person means: its number or a part of its label, on message #n if
        they name one ("#12 2", "#12 agreed"), else on the newest message with buttons (for
        a part of a label: the newest that has a button it fits)."""
        first, _, rest = wanted.partition(" ")
        with_buttons = [m for m in self.playground.newest_first(person) if m.buttons]
        named = _MESSAGE_NUMBER.match(first)
        if named and rest.strip():
            number = int(named.group(1))
            with_buttons = [m for m in with_buttons if m.message_id == number][:1]
            wanted = rest.strip()
        if wanted.isdigit():
            buttons = [b for row in with_buttons[0].buttons for b in row] if with_buttons else []
            if not 1 <= int(wanted) <= len(buttons):
                raise Refused("playground.refused.no_button", name=person.user.name)
            return with_buttons[0], buttons[int(wanted) - 1]
        words = typed(wanted)
        for message in with_buttons:
            buttons = [b for row in message.buttons for b in row]
            exact = [b for b in buttons if typed(b.text) == words]
            fits = exact or [b for b in buttons if words and words in typed(b.text)]
            if len(fits) == 1:
                return message, fits[0]
            if fits:
                choices = " / ".join(b.text for b in fits)
                raise Refused("playground.refused.ambiguous", choices=choices)
        raise Refused("playground.refused.no_button", name=person.user.name)

    def _replied(self, person: Person, argument: str) -> tuple[SentMessage, str]:
        """The message a reply answers (#n names it; else Mend's latest question) and the
        text."""
        first, _, text = argument.partition(" ")
        named = _MESSAGE_NUMBER.match(first)
        if named and text.strip():
            number = int(named.group(1))
            for message in self.playground.newest_first(person):
                if message.message_id == number:
                    return message, text.strip()
            for chat in self.playground.chats_of(person):
                found = chat.state.message(number)
                if found is not None:
                    return found, text.strip()
            raise Refused("playground.refused.no_message", name=person.user.name)
        for message in self.playground.newest_first(person):
            if message.force_reply:
                return message, argument
        raise Refused("playground.refused.no_question", name=person.user.name)

    def _link(self, person: Person) -> tuple[SentMessage, Button]:
        for message in self.playground.newest_first(person):
            for row in message.buttons:
                for button in row:
                    if button.url and "?start=" in button.url and person.user.name in button.text:
                        return message, button
        raise Refused("playground.refused.no_link", name=person.user.name)

    async def _vote(self, person: Person, argument: str) -> None:
        try:
            chosen = [int(n) - 1 for n in argument.split()]
        except ValueError:
            raise Refused("playground.refused.poll_numbers") from None
        polls = [
            message
            for message in self.playground.newest_first(person)
            if message.poll is not None and not message.poll.get("is_closed")
        ]
        if not polls:
            raise Refused("playground.refused.no_poll")
        await self.playground.act(lambda: self.playground.vote(person, polls[0], chosen))


def _read_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Read stdin in a daemon thread, so quitting never waits for a line (or Enter)."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def _main(settings: Settings, out: TextIO, *, port: int, console: bool) -> int:
    playground = Playground(settings)
    await playground.open()
    page = Page(playground)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopping.set)
    try:
        url = await page.start(port)
        talk = Console(playground, out) if console else None
        if talk is not None:
            talk.say(USAGE)
        print(f"Open {url} to play the couple in your browser.", file=out, flush=True)
        if talk is None:
            await stopping.wait()
            return 0
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=_read_lines, args=(loop, queue), daemon=True).start()
        interactive = sys.stdin.isatty()
        while True:
            if interactive:
                print("> ", end="", file=out, flush=True)
            line = await _next_line(queue, stopping)
            if line is None or not await talk.handle(line):
                return 0
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
        await page.stop()
        await playground.close()


async def _next_line(queue: asyncio.Queue[str | None], stopping: asyncio.Event) -> str | None:
    """The next line typed, or None once input ended or Ctrl-C was pressed."""
    line = asyncio.ensure_future(queue.get())
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({line, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not line.done():
        line.cancel()
        return None
    with contextlib.suppress(asyncio.CancelledError):
        return line.result()
    return None


def run_sandbox(settings: Settings, *, port: int, console: bool = True) -> int:
    """Run the playground until the person quits (quit, Ctrl-C, Ctrl-D or SIGTERM)."""
    if settings.log_level == "INFO":
        logging.getLogger().setLevel(logging.WARNING)  # keep the conversation readable
    try:
        return asyncio.run(_main(settings, sys.stdout, port=port, console=console))
    except KeyboardInterrupt:  # Ctrl-C before the playground was up
        return 130
