"""The recorder's file protocol: temp file beside the destination, fsync, then move into place.

The names of temp files are a contract between the recorder (which writes them) and
``provenance doctor`` (which finds what a crash left behind): ``.NAME.provenance-tmp-PID-RAND``.

Example::

    tmp = write_temp(Path("out.png"), signed_bytes)   # complete and durable, not yet visible
    place(tmp, Path("out.png"), overwrite=False)      # never clobbers an existing file
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from provenance.errors import InputError

TEMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.provenance-tmp-(?P<pid>\d+)-(?P<rand>[0-9a-f]{8})$")


def temp_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.provenance-tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def write_temp(dest: Path, data: bytes) -> Path:
    """Write ``data`` to a fresh temp file beside ``dest``; fsync the file and its directory."""
    tmp = temp_name(dest)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # The temp file's name must survive a power cut too: once the ledger names its hash,
    # `provenance doctor` must be able to find it and finish the rename.
    fsync_dir(dest.parent)
    return tmp


def place(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move a finished temp file into place; without ``overwrite`` never clobber a file."""
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)
    except FileExistsError as e:
        raise InputError(
            f"{dest}: appeared while recording; the recorded file was kept at {tmp}"
        ) from e
    tmp.unlink()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
