"""A TinyDB storage that never leaves a half-written file behind.

TinyDB's stock JSONStorage truncates and rewrites its file in place, so a crash mid-write leaves
broken JSON. This storage writes a temporary file, fsyncs it, renames it over the old one and
fsyncs the directory: after a crash the file holds either the old or the new state, never a mix.
Writes inside `batch()` are collected and land as one atomic replace at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

FILE_MODE = 0o600
TEMP_SUFFIX = ".tmp"

Tables = dict[str, dict[str, Any]]


class AtomicJSONStorage(Storage):
    """One JSON file, replaced atomically on every write; the last state is kept in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._text: str | None = None
        self._loaded = False
        self._pending: Tables | None = None
        self._dirty = False
        self._depth = 0
        self.commits = 0  # writes that reached the file

    def read(self) -> Tables | None:
        if self._pending is not None:
            return self._pending
        text = self._current_text()
        return None if text is None else json.loads(text)

    def write(self, data: Tables) -> None:
        if self._depth:
            self._pending = data
            self._dirty = True
            return
        self._commit(data)

    @property
    def changed(self) -> bool:
        """Inside `batch()`: whether anything was written in it so far."""
        return self._dirty

    def close(self) -> None:
        """Nothing to release: the file is only open while it is being replaced."""

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Collect writes and commit them as one atomic replace; drop them on an exception."""
        if self._depth == 0:
            self._pending = self.read() or {}
            self._dirty = False
        self._depth += 1
        committed = False
        try:
            yield
            committed = True
        finally:
            self._depth -= 1
            if self._depth == 0:
                pending, dirty = self._pending, self._dirty
                self._pending, self._dirty = None, False
                if committed and dirty and pending is not None:
                    self._commit(pending)

    def forget(self) -> None:
        """Drop the in-memory copy (the file was removed or moved by the store)."""
        self._text = None
        self._loaded = True

    def _current_text(self) -> str | None:
        if not self._loaded:
            try:
                self._text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                self._text = None
            self._loaded = True
        return self._text

    def _commit(self, data: Tables) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        write_atomically(self.path, text)
        self._text = text
        self._loaded = True
        self.commits += 1


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash leaves either the old or the new content."""
    temp = path.with_name(f"{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
