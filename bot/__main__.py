"""`python -m bot`: run Mend against Telegram, or, with no BOT_TOKEN, against the sandbox."""

from __future__ import annotations

import argparse
import sys

# Only the standard library before the arguments are read: `--help` works on any Python,
# before the project's dependencies are installed.
DEFAULT_PORT = 8765


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/run",
        description=(
            "Run Mend. With BOT_TOKEN set (in the environment or .env) it polls Telegram. "
            "Without it, Mend runs against its own sandbox on this machine: a page at "
            "http://127.0.0.1:PORT/ shows the couple's group and each person's private chat "
            "(with time travel and a guided tour), and this terminal plays the same people "
            "(type help)."
        ),
        epilog="Configuration: see .env.example and the README.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the sandbox page's port on 127.0.0.1 (default {DEFAULT_PORT}; 0 or a taken "
        "port: any free one); the address is printed",
    )
    parser.add_argument(
        "--no-console",
        action="store_true",
        help="sandbox: serve the page only, without reading the terminal; stop with Ctrl-C",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    from bot.config import ConfigError, load_settings
    from bot.logs import setup_logging

    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"mend: configuration error: {error}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, [settings.token] if settings.token else [])
    if settings.token is None:
        from bot.sandbox.console import run_sandbox

        return run_sandbox(settings, port=arguments.port, console=not arguments.no_console)
    from bot.app import run

    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
