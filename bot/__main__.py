"""`python -m bot`: run Mend against Telegram, or, with no BOT_TOKEN, against the sandbox.

`python -m bot new-key` prints a new key for MEND_DATA_KEY.
"""

from __future__ import annotations

import sys

from bot.config import ConfigError, Settings, encode_key, load_settings
from bot.logs import setup_logging

USAGE = "usage: python -m bot [new-key]"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["new-key"]:
        from bot.storage.keys import new_key

        print(encode_key(new_key()))
        return 0
    if args:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        setup_logging(settings.log_level, [settings.token] if settings.token else [])
        return _run(settings)
    except ConfigError as error:
        print(f"mend: configuration error: {error}", file=sys.stderr)
        return 2


def _run(settings: Settings) -> int:
    if settings.token is None:
        from bot.sandbox.console import run_console

        return run_console(settings)
    from bot.app import run

    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
