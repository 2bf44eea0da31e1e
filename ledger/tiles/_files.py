"""Durable file writes for a published log: temp file, fsync, rename, then the directories."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ledger.durable import fsync_dir
from ledger.tiles.layout import TilesError


class Writer:
    """Writes files under ``root`` atomically; :meth:`sync` makes the renames durable."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self.durable = durable
        self.bytes_written = 0
        self._dirs: set[Path] = set()

    def _mkdir(self, d: Path) -> None:
        missing = []
        while not d.exists():
            missing.append(d)
            d = d.parent
        for m in reversed(missing):
            m.mkdir(exist_ok=True)
            self._dirs.add(m.parent)  # the new name lives in its parent's directory entry

    def same(self, rel: str, data: bytes) -> bool | None:
        """True when ``rel`` already holds ``data``, False when it holds other bytes, None if absent."""
        try:
            return (self.root / rel).read_bytes() == data
        except FileNotFoundError:
            return None
        except OSError as e:
            raise TilesError(f"{self.root / rel}: cannot read ({e.strerror})") from e

    def write(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        try:
            self._mkdir(path.parent)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_all(fd, data)
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as e:
            raise TilesError(f"{path}: cannot write ({e.strerror})") from e
        self._dirs.add(path.parent)
        self.bytes_written += len(data)

    def sync(self) -> None:
        """fsync every directory a name was added to, so the renames survive a crash."""
        if self.durable:
            for d in sorted(self._dirs, key=lambda p: len(p.parts), reverse=True):
                fsync_dir(d)
        self._dirs.clear()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """One publisher per directory at a time (an advisory lock file beside the log)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / ".publish.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise TilesError(f"{root}: cannot publish here ({e.strerror})") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise TilesError(f"{root}: another publish is writing this directory") from e
        yield
    finally:
        os.close(fd)
