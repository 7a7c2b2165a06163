"""`python -m bot` without a token: the sandbox, the bot and a couple played from stdin, the
page's address printed; `--help` before anything else, and a stop that never waits."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """\
add
sam press in
alex press #2 1
alex press breach
sam press agreed
sam press skip
alex press yes
alex press here
sam press 1
alex link
alex dm /timezone berln
alex press berlin
sam /timezone
sam reply sydney
sam /pause 30
later next
alex press e
casey press I'm in
nobody /start
quit
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env.update(PYTHONPATH=str(ROOT), BOT_DATA_DIR=str(tmp_path / "data"))
    return env


def test_a_newcomer_can_talk_to_the_bot_without_telegram(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--port", "0"],
        input=SCRIPT,
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "nothing leaves this machine" in out  # the how-to comes first
    assert re.search(r"Open http://127\.0\.0\.1:\d+/ to play the couple", out)
    assert "[group #2] Mend: Hello, both of you." in out
    assert "[1: I'm in]" in out  # buttons are numbered for `press`
    assert "Today is day 1." in out
    assert "[alex, private #2] Mend: Hi Alex." in out
    assert "Time zone set to Europe/Berlin" in out
    assert "Time zone set to Australia/Sydney" in out  # a reply to Mend's question
    assert "The pause is over" in out  # `later next` went on to the pause's end
    assert "0:30:01 later" in out
    # "e" is in several of the newest buttons' labels: the person is asked which they mean.
    assert "More than one button fits" in out
    assert "(Casey sees: Mend is here for Sam & Alex" in out
    assert "I don't know 'nobody'" in out
    assert (tmp_path / "data" / "sandbox" / "couples").is_dir()


def test_help_says_how_to_run_it_without_installing_anything() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "run"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: scripts/run")
    assert "--port" in result.stdout and "BOT_TOKEN" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("port", ["99999", "-1", "abc"])
def test_a_port_that_cant_be_one_is_refused_with_a_line_that_says_why(port: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "expected a port from 0 to 65535" in result.stderr
    assert "Traceback" not in result.stderr


def _started(process: subprocess.Popen[str]) -> str:
    """Read the output up to the page's address; return the address."""
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    for line in process.stdout:
        found = re.search(r"Open (http://127\.0\.0\.1:\d+/)", line)
        if found:
            return found.group(1)
        assert time.monotonic() < deadline, "the page's address was never printed"
    raise AssertionError(f"the playground ended early: {process.wait()}")


def _stops_at_once(process: subprocess.Popen[str], seconds: float = 15) -> int:
    try:
        return process.wait(seconds)
    finally:
        if process.poll() is None:
            process.kill()


def test_quit_and_ctrl_c_end_it_at_once(tmp_path: Path) -> None:
    """`quit` with the terminal still open (no end of input needed), and Ctrl-C (SIGINT)."""
    for stop in ("quit", "ctrl-c"):
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--port", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env=_env(tmp_path),
            text=True,
        )
        try:
            url = _started(process)
            with urllib.request.urlopen(url, timeout=10) as page:  # the page is served
                assert b"/static/app.js" in page.read()
            assert process.stdin is not None
            if stop == "quit":
                process.stdin.write("quit\n")
                process.stdin.flush()
            else:
                process.send_signal(signal.SIGINT)
            assert _stops_at_once(process) == 0
        finally:
            if process.poll() is None:
                process.kill()
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
