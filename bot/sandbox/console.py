"""Talk to Mend without Telegram: the sandbox, the bot, and a couple played from the terminal.

`scripts/run` with no BOT_TOKEN lands here. Three people exist: Alex and Sam (the couple) and
Casey (a friend in the same group, to see what an outsider meets). Lines typed (or piped in)
are their actions; the bot's answers are printed as they arrive.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from dataclasses import replace
from typing import TextIO

from bot.app import build_application, start, stop
from bot.config import Settings
from bot.sandbox import MessageEvent, Sandbox, SandboxChat, SandboxUser, SentMessage
from bot.zones import warm_up

USAGE = """\
Mend is running against a local sandbox: nothing leaves this machine.
The group "Alex & Sam" has three people: alex, sam and casey (a friend).

  add                       Alex adds Mend to the group     (remove: Alex removes it)
  <who> <text>              says something in the group     alex /start
  <who> dm <text>           writes to Mend in private       sam dm /timezone sydney
  <who> press <button>      taps a button Mend showed them  alex press I'm in
  <who> reply <text>        answers Mend's latest question  sam reply Berlin
  <who> link                opens their private chat through Mend's link
  <who> vote <n> [<n> ...]  answers the latest poll (options count from 1)
  show [<who>]              the group's transcript, or someone's private chat
  help                      this text                       (quit: stop, or Ctrl-D)
"""


class Console:
    """Reads actions, plays them through the sandbox's control side, prints the bot."""

    def __init__(self, sandbox: Sandbox, out: TextIO) -> None:
        self.sandbox = sandbox
        self.out = out
        self.people = {name.lower(): sandbox.user(name) for name in ("Alex", "Sam", "Casey")}
        self.group = sandbox.group("Alex & Sam", members=list(self.people.values()))
        self._printed: dict[tuple[int, int], str] = {}
        sandbox.on_message(self._show)

    def _show(self, event: MessageEvent) -> None:
        message = event.message
        if not message.from_bot or event.kind == "deleted":
            return
        key = (message.chat_id, message.message_id)
        if event.kind == "edited" and self._printed.get(key) == message.text:
            return  # only its buttons changed (an answered question): nothing new to read
        self._printed[key] = message.text
        where = "group" if message.chat_id == self.group.id else self._private_owner(message)
        mark = " (edited)" if event.kind == "edited" else ""
        print(f"\n[{where}]{mark} {message.render()}", file=self.out, flush=True)

    def _private_owner(self, message: SentMessage) -> str:
        for name, person in self.people.items():
            if person.id == message.chat_id:
                return f"{name}, private"
        return str(message.chat_id)

    def _chats_of(self, person: SandboxUser) -> list[SandboxChat]:
        chats = [self.group]
        if person.started:
            chats.append(person.private)
        return chats

    def _latest(self, person: SandboxUser, wanted: str) -> SentMessage | None:
        """The newest bot message seen by `person` that has the wanted thing."""
        candidates = [m for chat in self._chats_of(person) for m in chat.bot_messages()]
        candidates.sort(key=lambda m: m.date)
        for message in reversed(candidates):
            if message.deleted:
                continue
            if wanted == "reply" and message.force_reply:
                return message
            if wanted == "poll" and message.poll and not message.poll.get("is_closed"):
                return message
            if wanted.startswith("button:") and message.find_button(wanted[7:]):
                return message
            if wanted == "link" and any(
                b.url and "?start=" in b.url and person.name in b.text
                for row in message.buttons
                for b in row
            ):
                return message
        return None

    async def handle(self, line: str) -> bool:
        """Carry out one line; False when it's time to stop."""
        words = line.strip().split(maxsplit=2)
        if not words:
            return True
        verb = words[0].lower()
        if verb in ("quit", "exit"):
            return False
        if verb == "help":
            print(USAGE, file=self.out)
        elif verb == "add":
            await self.group.add_bot(by=self.people["alex"])
        elif verb == "remove":
            await self.group.remove_bot(by=self.people["alex"])
        elif verb == "show":
            who = self.people.get(words[1].lower()) if len(words) > 1 else None
            chat = who.private if who is not None and who.started else self.group
            print(chat.transcript(), file=self.out)
        elif verb in self.people:
            await self._act(self.people[verb], line.strip().split(maxsplit=1)[1:])
        else:
            print(f"I don't know {words[0]!r}. Type help for what works.", file=self.out)
        await self.sandbox.settle(idle=0.3, timeout=15)
        return True

    async def _act(self, person: SandboxUser, rest: list[str]) -> None:
        if not rest:
            print(f"What should {person.name} do? Type help for examples.", file=self.out)
            return
        action, _, argument = rest[0].partition(" ")
        action = action.lower()
        try:
            if action == "dm" and argument:
                await person.send_private(argument)
            elif action == "press" and argument:
                message = self._latest(person, f"button:{argument}")
                if message is None:
                    print(f"{person.name} sees no button {argument!r}.", file=self.out)
                    return
                answer = await person.press(message, argument)
                if answer.text:
                    print(f"  ({person.name} sees: {answer.text})", file=self.out)
            elif action == "reply" and argument:
                message = self._latest(person, "reply")
                if message is None:
                    print("Mend hasn't asked anything to reply to.", file=self.out)
                    return
                chat = self.group if message.chat_id == self.group.id else person.private
                await chat.reply(person, to=message, text=argument)
            elif action == "link":
                message = self._latest(person, "link")
                if message is None:
                    print(f"Mend hasn't posted a private link for {person.name}.", file=self.out)
                    return
                label = next(
                    b.text
                    for row in message.buttons
                    for b in row
                    if b.url and person.name in b.text
                )
                await person.follow_link(message, label)
            elif action == "vote" and argument:
                message = self._latest(person, "poll")
                if message is None:
                    print("There is no open poll.", file=self.out)
                    return
                await person.answer_poll(message, [int(n) - 1 for n in argument.split()])
            else:
                await self.group.send(person, rest[0])
        except AssertionError as error:  # the control side explains what a person can't do
            print(f"  {str(error).splitlines()[0]}", file=self.out)
        except ValueError:
            print("Poll options are numbers, like: alex vote 2", file=self.out)


async def _read_lines(queue: asyncio.Queue[str | None]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        await queue.put(line if line else None)
        if not line:
            return


async def _main(settings: Settings, out: TextIO) -> int:
    data_dir = settings.data_dir / "sandbox"
    shutil.rmtree(data_dir, ignore_errors=True)  # the sandbox's people are new each time
    async with Sandbox() as sandbox:
        app = build_application(
            replace(settings, token=sandbox.token, api_base_url=sandbox.base_url, data_dir=data_dir)
        )
        # Build the city index before anyone talks: a reply shouldn't wait for it.
        await asyncio.to_thread(warm_up)
        await start(app)
        console = Console(sandbox, out)
        print(USAGE, file=out)
        interactive = sys.stdin.isatty()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        reader = asyncio.create_task(_read_lines(queue))
        try:
            while True:
                if interactive:
                    print("> ", end="", file=out, flush=True)
                line = await queue.get()
                if line is None or not await console.handle(line):
                    break
        finally:
            reader.cancel()
            await stop(app)
    return 0


def run_console(settings: Settings) -> int:
    """Run the sandbox, the bot and the console until the person quits."""
    if settings.log_level == "INFO":
        logging.getLogger().setLevel(logging.WARNING)  # keep the conversation readable
    try:
        return asyncio.run(_main(settings, sys.stdout))
    except KeyboardInterrupt:
        return 0
