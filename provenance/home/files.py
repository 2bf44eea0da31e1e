"""Writing a home's files atomically: created 0600 (folders 0700) through :mod:`provenance.fileio`."""

from __future__ import annotations

from pathlib import Path

from provenance.fileio import write_atomic

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def ensure_private_dir(path: Path) -> None:
    """Make ``path`` (and missing parents) with mode 0700; tighten an existing one."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file created with mode 0600 (never briefly world-readable), atomically."""
    ensure_private_dir(path.parent)
    write_atomic(path, data, mode=PRIVATE_FILE)


def write_public(path: Path, data: bytes) -> None:
    """A certificate or public key: not secret, but the home keeps every file 0600 anyway."""
    write_private(path, data)


def secure_sqlite_files(db: Path) -> None:
    """Make an SQLite ledger file (and its -wal/-shm, which SQLite creates with the database's
    mode) 0600: it holds the prompts."""
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.exists():
            path.chmod(PRIVATE_FILE)
