"""The log signer's own memory: the last checkpoint it signed, kept outside the database.

Whoever can write the database but does not hold the log key could rewrite the tree and delete
the checkpoint rows; a signer that only compared the new tree with the rows in that same database
would then sign the forgery. So the key holder remembers, beside its key, the last checkpoint it
signed, and signs a new one only after a consistency proof from *that* checkpoint, computed from
the database, verifies (:meth:`SignerMemory.require_extends`). The memory is written (atomically,
fsynced) before the new checkpoint is stored, so a crash can leave the memory ahead of the
database, never behind it.

Example::

    >>> import tempfile, pathlib
    >>> from ledger.checkpoint import Checkpoint, generate_log_key, verifier_key
    >>> key = generate_log_key()
    >>> memory = SignerMemory(pathlib.Path(tempfile.mkdtemp()) / "log.signed")
    >>> memory.remember(Checkpoint("example.org/log", 0, bytes(32)).sign(key))
    >>> memory.last(verifier_key(key, "example.org/log")).size
    0
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from ledger import merkle
from ledger.checkpoint import Checkpoint, Verifier, open_checkpoint
from ledger.durable import write_atomic
from ledger.errors import LedgerError, LedgerIntegrityError, SignerMemoryError

ProofSource = Callable[[int, int], list[bytes]]


class SignerMemory:
    """The file that holds the last checkpoint note this signer signed (or ``None`` in memory).

    ``path=None`` keeps the memory for the life of the process only: a library user's
    ``Ledger.create(...)`` in a test or a notebook. Anything long-lived passes a path (the
    home's ``ledger/log.signed``, beside ``log.key.pem``).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._note: str | None = None

    def exists(self) -> bool:
        return self._note is not None if self.path is None else self.path.exists()

    def last(self, vkey: str | Verifier) -> Checkpoint | None:
        """The remembered checkpoint, its signature checked with the log's own key."""
        note = self._note
        if self.path is not None:
            try:
                note = self.path.read_text("utf-8")
            except FileNotFoundError:
                return None
            except (OSError, UnicodeDecodeError) as e:
                raise SignerMemoryError(
                    f"{self.path}: cannot read the signer's memory ({e})"
                ) from e
        if note is None:
            return None
        try:
            return open_checkpoint(note, vkey)
        except LedgerError as e:
            where = self.path or "signer memory"
            raise SignerMemoryError(
                f"{where}: not a checkpoint signed by this log key ({e})"
            ) from e

    def remember(self, note: str) -> None:
        """Keep ``note`` as the last signed checkpoint (durable before this returns)."""
        if self.path is None:
            self._note = note
            return
        try:
            write_atomic(self.path, note.encode("utf-8"))
        except OSError as e:
            raise SignerMemoryError(
                f"{self.path}: cannot write the signer's memory ({e.strerror or e})"
            ) from e

    def adopt(self, note: str, *, reason: str, actor: str) -> None:
        """The explicit operator action after the memory file was lost: trust ``note`` (the
        newest checkpoint the database holds, checked by the caller) and log that it happened
        in ``<memory>.log`` beside the file (append-only, one line per adoption)."""
        self.remember(note)
        if self.path is None:
            return
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        first = note.split("\n", 3)
        line = f"{stamp} adopted size={first[1]} root={first[2]} by={actor!r} reason={reason!r}\n"
        log = self.path.with_name(self.path.name + ".log")
        fd = os.open(
            log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def require_extends(
    known: Checkpoint, size: int, root: bytes, proof: ProofSource, *, what: str
) -> None:
    """Raise unless the tree ``(size, root)`` extends ``known`` (a consistency proof from the
    database verifies). ``what`` names where ``known`` came from, for the message."""
    if size < known.size or (size == known.size and root != known.root):
        raise LedgerIntegrityError(_refusal(known, size, root, what, "does not extend it"))
    if size == known.size:
        return
    try:
        ok = known.size == 0 or merkle.verify_consistency(
            known.size, size, known.root, root, proof(known.size, size)
        )
    except LedgerError as e:
        raise LedgerIntegrityError(_refusal(known, size, root, what, f"no proof ({e})")) from e
    if not ok:
        raise LedgerIntegrityError(_refusal(known, size, root, what, "is not consistent with it"))


def _refusal(known: Checkpoint, size: int, root: bytes, what: str, why: str) -> str:
    return (
        f"refusing to sign: the database's tree (size {size}, root {root.hex()[:16]}…) {why}; "
        f"{what} is size {known.size}, root {known.root.hex()[:16]}… — the database was "
        "rewritten or is not this log's"
    )
