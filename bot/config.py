"""The only reader of the environment: one frozen Settings, or one clear error."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
_TOKEN_FORM = re.compile(r"^\d{5,15}:[A-Za-z0-9_-]{30,64}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_API_TIMEOUT = 5.0  # python-telegram-bot's own
MAX_API_TIMEOUT = 3600.0
DATA_KEY_BYTES = 32
DATA_KEY_FORM = "32 random bytes in base64, 44 characters (`python -m bot new-key` makes one)"
# Commands and button presses within FLOOD_WINDOW seconds before Mend stops answering for a
# while (bot.flood): a person in a hard conversation may well send several quickly, and go
# through a self-check at speed, but not repeat one command dozens of times.
FLOOD_SAME = 5  # the same command, or the same button, from one person
FLOOD_PER_PERSON = 30  # anything from one person
FLOOD_PER_COUPLE = 20  # both partners together, in their group
FLOOD_WINDOW = 30


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, expected: str, got: str | None = None) -> None:
        self.variable = variable
        shown = "" if got is None else f" (got {got!r})"
        super().__init__(f"{variable}: expected {expected}{shown}")


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    token: str | None
    api_base_url: str
    data_dir: Path
    erase_after_days: int
    log_level: str
    # Seconds to wait for the Bot API at each stage of a call (connecting, sending, answering).
    api_timeout: float = DEFAULT_API_TIMEOUT
    # The key that seals private text at rest (None: the key file in data_dir), and older
    # keys that still open what they sealed, until a rotation has sealed it again.
    data_key: bytes | None = field(default=None, repr=False)
    previous_data_keys: tuple[bytes, ...] = field(default=(), repr=False)
    # Flood limits (bot.flood): the same command or press from one person, any from one
    # person, and any from a couple in its group, within `flood_window` seconds.
    flood_same: int = FLOOD_SAME
    flood_per_person: int = FLOOD_PER_PERSON
    flood_per_couple: int = FLOOD_PER_COUPLE
    flood_window: int = FLOOD_WINDOW

    @property
    def file_base_url(self) -> str:
        """The file download URL that belongs to `api_base_url` (``.../bot`` → ``.../file/bot``)."""
        root = self.api_base_url.removesuffix("/bot")
        return f"{root}/file/bot"


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> Settings:
    """Read settings from the environment, falling back to a `.env` file; raise ConfigError."""
    env: dict[str, str] = {}
    path = dotenv_path if dotenv_path is not None else Path(".env")
    if path.is_file():
        env.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    return Settings(
        token=_token(env.get("BOT_TOKEN", "").strip()),
        api_base_url=_base_url(env.get("BOT_API_BASE_URL", "").strip()),
        data_dir=_data_dir(env.get("BOT_DATA_DIR", "").strip()),
        erase_after_days=_whole(env, "MEND_ERASE_AFTER_DAYS", 14, 365, "days"),
        log_level=_log_level(env.get("MEND_LOG_LEVEL", "").strip()),
        api_timeout=_api_timeout(env.get("BOT_API_TIMEOUT", "").strip()),
        data_key=_data_key(env.get("MEND_DATA_KEY", "").strip()),
        previous_data_keys=_previous_keys(env.get("MEND_DATA_KEY_PREVIOUS", "").strip()),
        flood_same=_whole(env, "MEND_FLOOD_SAME", FLOOD_SAME, 1000),
        flood_per_person=_whole(env, "MEND_FLOOD_PER_PERSON", FLOOD_PER_PERSON, 1000),
        flood_per_couple=_whole(env, "MEND_FLOOD_PER_COUPLE", FLOOD_PER_COUPLE, 1000),
        flood_window=_whole(env, "MEND_FLOOD_WINDOW", FLOOD_WINDOW, 3600, "seconds"),
    )


def _token(raw: str) -> str | None:
    if not raw:
        return None
    if not _TOKEN_FORM.match(raw):
        # Never echo a token back: it may be a real one with a typo.
        raise ConfigError("BOT_TOKEN", "the token from @BotFather, like 123456789:AAE...")
    return raw


def _base_url(raw: str) -> str:
    if not raw:
        return TELEGRAM_BASE_URL
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "BOT_API_BASE_URL", "an http(s) URL such as http://localhost:8081/bot", raw
        )
    url = raw.rstrip("/")
    # Accept both the server root and the ".../bot" form python-telegram-bot appends the token to.
    return url if url.endswith("/bot") else f"{url}/bot"


def _data_dir(raw: str) -> Path:
    if not raw:
        return Path("data").resolve()
    if "\x00" in raw:
        raise ConfigError("BOT_DATA_DIR", "a directory path")
    path = Path(raw).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError("BOT_DATA_DIR", "a directory path, not a file", raw)
    return path.resolve()


def _whole(env: Mapping[str, str], variable: str, default: int, most: int, unit: str = "") -> int:
    """A whole number from 1 to `most` (`unit`: what it counts, for the error)."""
    raw = env.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        counted = f" of {unit}" if unit else ""
        raise ConfigError(variable, f"a whole number{counted} from 1 to {most}", raw)
    return int(raw)


def _log_level(raw: str) -> str:
    if not raw:
        return "INFO"
    if raw.upper() not in _LOG_LEVELS:
        raise ConfigError("MEND_LOG_LEVEL", "one of " + ", ".join(_LOG_LEVELS), raw)
    return raw.upper()


def _api_timeout(raw: str) -> float:
    if not raw:
        return DEFAULT_API_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= MAX_API_TIMEOUT:  # also NaN
        raise ConfigError("BOT_API_TIMEOUT", "seconds from 1 to 3600", raw)
    return seconds


def decode_key(text: str) -> bytes | None:
    """A data key from its base64 form (standard or URL-safe, padded or not); None if it
    isn't 32 bytes in base64."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == DATA_KEY_BYTES else None


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def _data_key(raw: str) -> bytes | None:
    if not raw:
        return None
    key = decode_key(raw)
    if key is None:
        # Never echo a key back, not even a broken one.
        raise ConfigError("MEND_DATA_KEY", DATA_KEY_FORM)
    return key


def _previous_keys(raw: str) -> tuple[bytes, ...]:
    keys = tuple(decode_key(part) for part in raw.split(",") if part.strip())
    if any(key is None for key in keys):
        raise ConfigError("MEND_DATA_KEY_PREVIOUS", "keys of " + DATA_KEY_FORM + ", by commas")
    return tuple(key for key in keys if key is not None)
