"""One process at a time over a data directory.

The running bot holds the directory's lock (an advisory `flock` on `bot.lock`) for as long as
it runs; rotating the data key takes it too. So a key can't be rotated under a running bot
(which would go on sealing with the key the rotation forgets), and two bots never write the
same couple files. The operating system lets go of the lock when the process ends, however it
ends, so a crash never leaves the directory locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "bot.lock"


class DataInUse(RuntimeError):
    """Another process holds the data directory (the bot runs, or a key is being rotated)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(
            f"another Mend process is using {data_dir} (the bot is running, or a data key is "
            "being rotated): stop it first"
        )


@contextmanager
def holding(data_dir: Path) -> Iterator[None]:
    """Hold `data_dir`'s lock while the block runs. Raises DataInUse at once if another
    process holds it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataInUse(data_dir) from None
        yield
    finally:
        os.close(descriptor)  # lets go of the lock
