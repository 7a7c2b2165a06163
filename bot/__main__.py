"""`python -m bot`: run Mend against Telegram, or, with no BOT_TOKEN, against the sandbox.

`python -m bot rotate-key` seals every couple's private text with a new data key (the bot
stopped); `python -m bot new-key` prints a new key for MEND_DATA_KEY.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

# Only the standard library before the arguments are read: `--help` works on any Python,
# before the project's dependencies are installed.
DEFAULT_PORT = 8765


def _port(typed: str) -> int:
    """A TCP port, 0 to 65535 (0: any free one)."""
    try:
        port = int(typed)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, not {typed!r}")
    return port


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
        "command",
        nargs="?",
        choices=("rotate-key", "new-key"),
        help="rotate-key: seal every couple's private text with a new data key (stop the bot "
        "first); new-key: print a new key for MEND_DATA_KEY",
    )
    parser.add_argument(
        "--port",
        type=_port,
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
    from bot.config import ConfigError, encode_key, load_settings
    from bot.logs import setup_logging

    if arguments.command == "new-key":
        from bot.storage.keys import new_key

        print(encode_key(new_key()))
        return 0
    from bot.storage.lock import DataInUse

    try:
        settings = load_settings()
        setup_logging(settings.log_level, [settings.token] if settings.token else [])
        if arguments.command == "rotate-key":
            return _rotate_key(settings)
        return _run(settings, arguments)
    except ConfigError as error:
        print(f"mend: configuration error: {error}", file=sys.stderr)
        return 2
    except DataInUse as error:
        print(f"mend: {error}", file=sys.stderr)
        return 2


def _run(settings: Settings, arguments: argparse.Namespace) -> int:
    """The bot, holding its data directory while it runs (bot.storage.lock)."""
    from bot.storage.lock import holding

    with holding(settings.data_dir):
        if settings.token is None:
            from bot.sandbox.console import run_sandbox

            return run_sandbox(settings, port=arguments.port, console=not arguments.no_console)
        from bot.app import run

        run(settings)
        return 0


def _rotate_key(settings: Settings) -> int:
    import bot.app  # noqa: F401  (the features declare their tables' private fields)
    from bot.storage.rotation import rotate_data_key

    rotated = rotate_data_key(settings)
    print(
        f"mend: private text is sealed with data key {rotated.key_id}: "
        f"{_count(rotated.values, 'value')} in {_count(rotated.files, 'couple file')} "
        "sealed again; "
        "older keys are forgotten"
        + (" (MEND_DATA_KEY_PREVIOUS may go now)" if settings.previous_data_keys else "")
    )
    if rotated.unopenable:
        print(
            f"mend: {_count(rotated.unopenable, 'private value')} open with no key (changed on "
            "disk, or copied from elsewhere) and were left as they are; the log names their files",
            file=sys.stderr,
        )
    return 0


def _count(number: int, thing: str) -> str:
    """`number` `thing`s, in words a person would write ("1 value", "2 values")."""
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


if __name__ == "__main__":
    sys.exit(main())
