"""`python -m bot`: run Mend against Telegram, or, with no BOT_TOKEN, against the sandbox.

`python -m bot rotate-key` seals every couple's private text with a new data key (the bot
stopped); `python -m bot new-key` prints a new key for MEND_DATA_KEY.
"""

from __future__ import annotations

import sys

from bot.config import ConfigError, Settings, encode_key, load_settings
from bot.logs import setup_logging

USAGE = "usage: python -m bot [rotate-key | new-key]"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["new-key"]:
        from bot.storage.keys import new_key

        print(encode_key(new_key()))
        return 0
    if args not in ([], ["rotate-key"]):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        setup_logging(settings.log_level, [settings.token] if settings.token else [])
        return _rotate_key(settings) if args else _run(settings)
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


def _rotate_key(settings: Settings) -> int:
    import bot.app  # noqa: F401  (the features declare their tables' private fields)
    from bot.storage.rotation import rotate_data_key

    rotated = rotate_data_key(settings)
    print(
        f"mend: private text is sealed with data key {rotated.key_id}: "
        f"{rotated.values} values in {rotated.files} couple files sealed again; "
        "older keys are forgotten"
        + (" (MEND_DATA_KEY_PREVIOUS may go now)" if settings.previous_data_keys else "")
    )
    if rotated.unopenable:
        print(
            f"mend: {rotated.unopenable} private values open with no key (changed on disk, or "
            "copied from elsewhere) and were left as they are; the log names their files",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
