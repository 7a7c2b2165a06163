"""Configuration: defaults, the two forms of the API URL, and one clear line for a bad value."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import TELEGRAM_BASE_URL, ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345"


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, dotenv_path=tmp_path / "missing.env")
    assert settings.token is None
    assert settings.api_base_url == TELEGRAM_BASE_URL
    assert settings.file_base_url == "https://api.telegram.org/file/bot"
    assert settings.data_dir.name == "data"
    assert settings.erase_after_days == 14
    assert settings.api_timeout == 5.0
    flood = (settings.flood_same, settings.flood_per_person, settings.flood_per_couple)
    assert (*flood, settings.flood_window) == (5, 30, 20, 30)


def test_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"BOT_TOKEN={TOKEN}\nBOT_DATA_DIR={tmp_path / 'from-dotenv'}\n")
    settings = load_settings({"BOT_DATA_DIR": str(tmp_path / "from-env")}, dotenv_path=dotenv)
    assert settings.token == TOKEN
    assert settings.data_dir == tmp_path / "from-env"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://localhost:8081", "http://localhost:8081/bot"),
        ("http://localhost:8081/bot", "http://localhost:8081/bot"),
        ("https://example.org/tg/bot/", "https://example.org/tg/bot"),
    ],
)
def test_api_base_url_forms(tmp_path: Path, given: str, expected: str) -> None:
    settings = load_settings({"BOT_API_BASE_URL": given}, dotenv_path=tmp_path / "none")
    assert settings.api_base_url == expected
    assert settings.file_base_url == expected.removesuffix("/bot") + "/file/bot"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BOT_TOKEN", "not-a-token"),
        ("BOT_API_BASE_URL", "localhost:8081"),
        ("BOT_API_BASE_URL", "ftp://example.org/bot"),
        ("MEND_ERASE_AFTER_DAYS", "0"),
        ("MEND_ERASE_AFTER_DAYS", "soon"),
        ("MEND_LOG_LEVEL", "LOUD"),
        ("BOT_API_TIMEOUT", "0"),
        ("BOT_API_TIMEOUT", "nan"),
        ("BOT_API_TIMEOUT", "slow"),
        ("MEND_DATA_KEY", "too-short"),
        ("MEND_DATA_KEY", "A" * 40),
        ("MEND_DATA_KEY_PREVIOUS", "not,keys"),
        ("MEND_FLOOD_SAME", "-1"),
        ("MEND_FLOOD_PER_PERSON", "0"),
        ("MEND_FLOOD_PER_COUPLE", "many"),
        ("MEND_FLOOD_WINDOW", "3601"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value}, dotenv_path=tmp_path / "none")
    assert str(caught.value).startswith(f"{variable}: expected ")


def test_flood_limits_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "MEND_FLOOD_SAME": "3",
            "MEND_FLOOD_PER_PERSON": "5",
            "MEND_FLOOD_PER_COUPLE": "9",
            "MEND_FLOOD_WINDOW": "60",
        },
        dotenv_path=tmp_path / "none",
    )
    flood = (settings.flood_same, settings.flood_per_person, settings.flood_per_couple)
    assert (*flood, settings.flood_window) == (3, 5, 9, 60)


def test_api_timeout_in_seconds(tmp_path: Path) -> None:
    settings = load_settings({"BOT_API_TIMEOUT": "12.5"}, dotenv_path=tmp_path / "none")
    assert settings.api_timeout == 12.5


def test_a_bad_token_is_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"BOT_TOKEN": "12345:secret-but-too-short"}, dotenv_path=tmp_path / "n")
    assert "secret" not in str(caught.value)


def test_data_dir_must_not_be_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(ConfigError, match="BOT_DATA_DIR"):
        load_settings({"BOT_DATA_DIR": str(afile)}, dotenv_path=tmp_path / "none")


def test_python_m_bot_exits_with_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "BOT_TOKEN": "nope", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "BOT_TOKEN" in lines[0] and "expected" in lines[0]


def test_the_data_key_in_either_base64_and_never_shown(tmp_path: Path) -> None:
    key = bytes(range(32))
    for form in (base64.b64encode(key), base64.urlsafe_b64encode(key).rstrip(b"=")):
        settings = load_settings(
            {"MEND_DATA_KEY": form.decode(), "MEND_DATA_KEY_PREVIOUS": form.decode()},
            dotenv_path=tmp_path / "none",
        )
        assert settings.data_key == key and settings.previous_data_keys == (key,)
        assert form.decode() not in repr(settings) and repr(key) not in repr(settings)
    with pytest.raises(ConfigError) as caught:
        load_settings({"MEND_DATA_KEY": "secret" * 5}, dotenv_path=tmp_path / "none")
    assert "secret" not in str(caught.value)
