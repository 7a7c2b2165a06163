"""What Mend shows fits Telegram's limits, long names and all."""

from __future__ import annotations

from bot.context import Services
from bot.sandbox import Sandbox


async def test_alerts_fit_with_two_long_names(sandbox: Sandbox, services: Services) -> None:
    first = sandbox.user("Maximiliane-Alexandra von Hohenzollern-Sigmaringen-Wittelsbacher")
    second = sandbox.user("Bartholomäus-Konstantin zu Schwarzenberg-Liechtenstein-Habsburgs")
    casey = sandbox.user("Casey")
    assert len(first.name) == len(second.name) == 64
    group = sandbox.group("Us", members=[first, second, casey])
    await group.add_bot(by=first)
    welcome = await group.expect("I'm Mend", "I'm in")
    await first.press(welcome, "I'm in")
    await group.expect("is in")
    await second.press(welcome, "I'm in")
    await group.expect("is in")
    question = await group.expect("Which of these fits")
    answer = await casey.press(question, "Repair after a breach")
    assert answer.show_alert and answer.text is not None
    assert answer.text == (
        "Mend is here for Maximiliane-Alexandra von Hohen… & Bartholomäus-Konstantin zu Schw…, "
        "so only they can change things. Nothing was changed."
    )
