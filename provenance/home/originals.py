"""The home's store of recorded originals: a copy of every output file the recorder writes, named
by its SHA-256 (the hash the ledger entry holds), so that verify can confirm a stripped copy
pixel by pixel (:mod:`provenance.recovery.confirm`) instead of trusting fingerprints.

On by default; ``PROVENANCE_ORIGINALS=off`` turns it off. ``PROVENANCE_ORIGINALS_BUDGET`` (bytes,
or with a K/M/G/T suffix; default 5G) caps its size. When a copy would exceed the budget it is not
kept, nothing already stored is ever deleted, and a warning says so once per process. A failure
to keep a copy never fails the recorded call: it warns on stderr.

Example::

    from provenance.home.originals import originals_for

    store = originals_for(home)                 # None when turned off
    store.keep(sha256_hex, signed_bytes)        # True when stored (or already there)
    store.get(sha256_hex)                       # the bytes, only if they still hash to the name
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from provenance.errors import InputError
from provenance.home.files import ensure_private_dir, write_private
from provenance.home.paths import Home
from provenance.vocab import ENV_ORIGINALS, ENV_ORIGINALS_BUDGET

DEFAULT_BUDGET = 5 * 1024**3
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_warned: set[str] = set()  # one warning per store and kind, per process


def parse_budget(text: str) -> int:
    """``"5G"`` -> bytes; :class:`InputError` naming the variable when it is not a size."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not found:
        raise InputError(
            f"{ENV_ORIGINALS_BUDGET}: {text!r} is not a size (bytes, or e.g. 500M, 5G)"
        )
    return int(float(found[1]) * _UNITS[found[2].upper()])


@dataclass
class OriginalsStore:
    """Files under ``root``, each named by the SHA-256 of its bytes, within ``budget`` bytes."""

    root: Path
    budget: int
    _used: int | None = field(default=None, repr=False)  # measured once, then counted

    def path_for(self, sha256: str) -> Path:
        if not _HEX64.fullmatch(sha256):
            raise InputError(f"originals: {sha256!r} is not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256

    def get(self, sha256: str) -> bytes | None:
        """The stored original, or None when it is absent or no longer hashes to its name."""
        try:
            data = self.path_for(sha256).read_bytes()
        except (OSError, InputError):
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def keep(self, sha256: str, data: bytes, *, hashed: bool = False) -> bool:
        """Store ``data`` under ``sha256`` (only if it hashes to it); False when over budget.

        ``hashed``: the caller computed ``sha256`` from these very bytes itself (the recorder,
        which has just hashed them for the ledger), so they are not hashed once more here.
        """
        if not hashed and hashlib.sha256(data).hexdigest() != sha256:
            raise InputError(f"originals: the bytes do not hash to {sha256[:16]}...")
        path = self.path_for(sha256)
        if path.is_file() and self.get(sha256) is not None:
            return True  # the same bytes recorded again
        used = self.used()
        if used + len(data) > self.budget:
            _warn_once(
                f"full:{self.root}",
                f"the originals store {self.root} is full ({used} of {self.budget} bytes); "
                f"new outputs are recorded but not kept there, so stripped copies of them can "
                f"only be a 'possible match'. Nothing stored was deleted: raise "
                f"{ENV_ORIGINALS_BUDGET} or move old originals away",
            )
            return False
        ensure_private_dir(self.root)  # mkdir's parents would get the umask's mode
        write_private(path, data)
        self._used = used + len(data)
        return True

    def used(self) -> int:
        """Bytes stored: measured on first use, then counted as this process adds files."""
        if self._used is None:
            total = 0
            for dirpath, _, names in os.walk(self.root):
                for name in names:
                    try:
                        total += os.lstat(os.path.join(dirpath, name)).st_size
                    except OSError:
                        continue
            self._used = total
        return self._used


def originals_for(home: Home) -> OriginalsStore | None:
    """This home's store, or None when ``PROVENANCE_ORIGINALS`` turns it off."""
    if os.environ.get(ENV_ORIGINALS, "").strip().lower() in ("off", "0", "no", "false"):
        return None
    raw = os.environ.get(ENV_ORIGINALS_BUDGET, "").strip()
    return OriginalsStore(home.originals_dir, parse_budget(raw) if raw else DEFAULT_BUDGET)


def reader_for(home: Home) -> OriginalsStore:
    """This home's store for reading (verify): the off switch stops keeping, not reading."""
    return OriginalsStore(home.originals_dir, DEFAULT_BUDGET)


def keep_outputs(
    store: OriginalsStore | None, files: list[tuple[str, bytes]], *, hashed: bool = False
) -> None:
    """Keep each recorded output; never raises: a failure warns, the recorded call stands.

    ``hashed``: each hash was computed from its bytes by the caller (see ``keep``).
    """
    if store is None:
        return
    for sha256, data in files:
        try:
            store.keep(sha256, data, hashed=hashed)
        except Exception as e:  # a full disk, a read-only home: the entry is already recorded
            _warn_once(
                f"fail:{store.root}",
                f"could not keep a copy of output {sha256[:16]}... in {store.root} "
                f"({type(e).__name__}: {e}); it is recorded, but a stripped copy of it can "
                "only be a 'possible match'",
            )


def _warn_once(key: str, message: str) -> None:
    if key in _warned:
        return
    _warned.add(key)
    print(f"warning: {message}", file=sys.stderr)
