"""`python -m bot`: run Mend against Telegram, or, with no BOT_TOKEN, against the sandbox."""

from __future__ import annotations

import sys

from bot.config import ConfigError, load_settings
from bot.logs import setup_logging


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"mend: configuration error: {error}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, [settings.token] if settings.token else [])
    if settings.token is None:
        from bot.sandbox.console import run_console

        return run_console(settings)
    from bot.app import run

    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
