"""The recorder's file protocol: temp file beside the destination, fsync, then move into place.

The names of temp files are a contract between the recorder (which writes them) and
``provenance doctor`` (which finds what a crash left behind):
``.NAME.provenance-tmp-HOST-BOOT-PID-RAND`` (older versions wrote ``.NAME.provenance-tmp-PID-RAND``).
A PID means nothing in another PID namespace (another container sharing the volume), so the
writer also holds an exclusive ``flock`` on its temp file for as long as it lives: the kernel
drops it when the process dies, and the doctor touches only files whose lock it can take.

Example::

    tmp = write_temp(Path("out.png"), signed_bytes)   # complete, durable and locked, not visible
    place(tmp, Path("out.png"), overwrite=False)      # never clobbers an existing file; unlocks
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
import socket
import uuid
from pathlib import Path

from provenance.errors import InputError, ProvenanceError
from provenance.fileio import create_new

TEMP_PATTERN = re.compile(
    r"^\.(?P<name>.+)\.provenance-tmp-(?:(?P<host>[a-z0-9]+)-(?P<boot>[0-9a-f]{8})-)?"
    r"(?P<pid>\d+)-(?P<rand>[0-9a-f]{8})$"
)
LOST_SUFFIX = ".provenance-lost"
_held: dict[Path, int] = {}  # temp file -> the open, flock-ed descriptor of its writer


class TempFileVanishedError(ProvenanceError):
    """A signed temp file was removed by someone else after its ledger entry committed."""


def host_id() -> str:
    """This host, as it appears in temp names (letters and digits only, at most 16)."""
    return "".join(c for c in socket.gethostname().lower() if c.isalnum())[:16] or "host"


@functools.cache  # read once per process: a process never outlives its boot
def boot_id() -> str:
    """This kernel's boot: a PID names a process only within one boot of one host."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().replace("-", "")[:8]
    except OSError:
        return "00000000"


def temp_name(dest: Path) -> Path:
    ident = f"{host_id()}-{boot_id()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    return dest.with_name(f".{dest.name}.provenance-tmp-{ident}")


def write_temp(dest: Path, data: bytes, tmp: Path | None = None) -> Path:
    """Write ``data`` to a fresh, locked temp file beside ``dest`` (``tmp``: its name, from
    :func:`temp_name`); fsync it, then its directory. Runs on any thread (the recorder's
    worker writes it while the ledger append is prepared)."""
    tmp = temp_name(dest) if tmp is None else tmp
    fd = create_new(tmp, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with os.fdopen(os.dup(fd), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # The temp file's name must survive a power cut too: once the ledger names its hash,
        # `provenance doctor` must be able to find it and finish the rename. (Right after the
        # file's own fsync, which committed the journal that created it, this one is cheap.)
        fsync_dir(dest.parent)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    _held[tmp] = fd  # the lock lives as long as this process or until place()/discard()
    return tmp


def discard(tmp: Path) -> None:
    """Remove a temp file that will not be placed, and release its lock."""
    tmp.unlink(missing_ok=True)
    _release(tmp)


def place(tmp: Path, dest: Path, overwrite: bool, entry_id: str | None = None) -> None:
    """Move a finished temp file into place; without ``overwrite`` never clobber a file.

    If the temp file vanished (removed by another process), a marker naming the entry is left
    beside ``dest`` for ``provenance doctor`` to report, and a clear error is raised.
    """
    try:
        _move(tmp, dest, overwrite)
    except FileNotFoundError as e:
        _mark_lost(tmp, dest, entry_id)
        raise TempFileVanishedError(
            f"{dest}: the signed temp file {tmp.name} was removed by another process after "
            f"entry {entry_id or '?'} was recorded; run `provenance doctor` to report it"
        ) from e
    finally:
        _release(tmp)


def _move(tmp: Path, dest: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest, follow_symlinks=False)
    except FileExistsError as e:
        raise InputError(
            f"{dest}: appeared while recording; the recorded file was kept at {tmp}"
        ) from e
    tmp.unlink()


def _mark_lost(tmp: Path, dest: Path, entry_id: str | None) -> None:
    marker = dest.with_name(f".{dest.name}{LOST_SUFFIX}-{uuid.uuid4().hex[:8]}")
    body = {"entry": entry_id, "temp": tmp.name, "dest": dest.name}
    try:
        fd = create_new(marker, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f)
    except (OSError, InputError):
        pass  # the error raised next still names the entry


def _release(tmp: Path) -> None:
    fd = _held.pop(tmp, None)
    if fd is not None:
        os.close(fd)  # closing the descriptor drops the flock


def lock_is_free(path: Path) -> bool:
    """Whether no live process holds ``path``'s writer lock (taken and dropped at once)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
