"""`python -m bot` without a token: the sandbox, the bot and a couple played from stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """\
add
sam press I'm in
alex press I'm in
alex press Repair after a breach
sam press Yes, agreed
sam press Skip roles
alex press Yes, agreed
alex link
alex dm /timezone berln
alex press Berlin (Europe/Berlin)
sam /timezone
sam reply sydney
casey press I'm in
nobody /start
quit
"""


def test_a_newcomer_can_talk_to_the_bot_without_telegram(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(PYTHONPATH=str(ROOT), BOT_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        input=SCRIPT,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "nothing leaves this machine" in out  # the how-to comes first
    assert "[group] Mend: Hello, both of you." in out
    assert "Today is day 1." in out
    assert "[alex, private] Mend: Hi Alex." in out
    assert "Time zone set to Europe/Berlin" in out
    assert "Time zone set to Australia/Sydney" in out
    assert "(Casey sees: Mend is here for Sam & Alex" in out
    assert "I don't know 'nobody'" in out
    assert (tmp_path / "data" / "sandbox" / "couples").is_dir()
