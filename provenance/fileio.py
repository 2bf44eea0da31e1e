"""Creating the files we write: never through a symlink, never by opening an existing path.

Every writer in provenance goes through this module. A file is created with
``O_CREAT | O_EXCL | O_NOFOLLOW`` (so a symlink or file planted at the name makes the call fail
instead of overwriting the link's target), under a fresh random name beside the destination, then
renamed into place: ``rename`` replaces a symlink at the destination itself, never its target.

Example::

    write_atomic(Path("report.html"), page.encode())           # replaces, whole or not at all
    write_atomic(Path("out.csv"), data, overwrite=False)        # refuses an existing out.csv
    with new_text(Path("export.jsonl")) as fh:                   # streamed, then moved into place
        fh.write("...")
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from provenance.errors import InputError

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_CREATE |= getattr(os, "O_CLOEXEC", 0)


def create_new(path: Path, mode: int = 0o600) -> int:
    """Create ``path`` (which must not exist, not even as a dangling symlink); return its fd.

    The mode is exact (the umask cannot widen or narrow it): a private file is never briefly
    readable by others.
    """
    try:
        fd = os.open(path, _CREATE, mode)
    except FileExistsError as e:
        raise InputError(
            f"{path}: already exists (or is a link); refusing to write through it"
        ) from e
    try:
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def temp_beside(dest: Path, tag: str = "tmp") -> Path:
    """A fresh, unguessable name beside ``dest`` (same directory, so a rename is atomic)."""
    return dest.with_name(f".{dest.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:12]}")


def write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` with ``data`` and fsync it; fails if anything exists at ``path``."""
    fd = create_new(path, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def move_into_place(tmp: Path, dest: Path, *, overwrite: bool) -> None:
    """Rename ``tmp`` to ``dest``; without ``overwrite`` an existing ``dest`` is an error."""
    if overwrite:
        os.replace(tmp, dest)  # replaces a link at dest, never writes through it
        return
    try:
        os.link(tmp, dest, follow_symlinks=False)
    except FileExistsError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{dest}: already exists; choose another name") from e
    tmp.unlink()


def write_atomic(dest: Path, data: bytes, *, mode: int = 0o600, overwrite: bool = True) -> None:
    """Write ``dest`` whole or not at all, through a fresh temp file that no link can redirect."""
    tmp = temp_beside(dest)
    write_new(tmp, data, mode)
    try:
        move_into_place(tmp, dest, overwrite=overwrite)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def new_text(dest: Path, *, mode: int = 0o600, overwrite: bool = False) -> Iterator[TextIO]:
    """Stream text into a fresh temp file; on success move it to ``dest`` (else remove it)."""
    tmp = temp_beside(dest)
    fd = create_new(tmp, mode)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        move_into_place(tmp, dest, overwrite=overwrite)
    finally:
        tmp.unlink(missing_ok=True)
