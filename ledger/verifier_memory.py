"""A verifier's memory of the logs it has checked, like the Go checksum database client's.

For every log (origin and key) it has verified, a verifier keeps the newest signed checkpoint it
accepted, in its own state directory (never in the ledger it checks). Whatever the log shows next
must be proven consistent with it; a smaller tree, a different root at the same size, or a failing
consistency proof is a fork: :class:`ledger.errors.ForkDetectedError` carries both signed notes,
which anyone can check with the log's public key.

Example::

    >>> import tempfile, pathlib
    >>> from ledger.checkpoint import Checkpoint, generate_log_key, open_checkpoint, verifier_key
    >>> key = generate_log_key(); vkey = verifier_key(key, "example.org/log")
    >>> memory = CheckpointMemory(pathlib.Path(tempfile.mkdtemp()))
    >>> seen = open_checkpoint(Checkpoint("example.org/log", 0, bytes(32)).sign(key), vkey)
    >>> memory.advance(seen, vkey, lambda old, new: []).size
    0
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    Verifier,
    open_checkpoint,
    parse_checkpoint_body,
    parse_note,
)
from ledger.durable import write_atomic
from ledger.errors import ForkDetectedError, LedgerError, MalformedNoteError

ProofSource = Callable[[int, int], list[bytes]]
_SUFFIX = ".checkpoint"


class CheckpointMemory:
    """Newest verified checkpoint per log, one file per (origin, key) in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, verifier: Verifier) -> Path:
        digest = hashlib.sha256(f"{verifier.name}+{verifier.key_id.hex()}".encode()).hexdigest()
        return self.directory / f"{digest[:24]}{_SUFFIX}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def last(self, vkey: str | Verifier) -> Checkpoint | None:
        """The remembered checkpoint for this log, or ``None`` if it was never verified here."""
        verifier = vkey if isinstance(vkey, Verifier) else Verifier.parse(vkey)
        path = self._file(verifier)
        try:
            note = path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            raise LedgerError(f"{path}: cannot read a remembered checkpoint ({e})") from e
        return open_checkpoint(note, verifier)

    def advance(self, seen: Checkpoint, vkey: str | Verifier, proof: ProofSource) -> Checkpoint:
        """Accept ``seen`` (already signature-checked) if it extends what was remembered.

        Returns the checkpoint now remembered. Raises :class:`ForkDetectedError` when ``seen``
        is smaller, has another root at the same size, or its consistency proof fails.
        """
        verifier = vkey if isinstance(vkey, Verifier) else Verifier.parse(vkey)
        with self._locked():
            known = self.last(verifier)
            if known is not None:
                if seen.size <= known.size:
                    check_same_history(known, seen)
                    return known
                check_extends(known, seen, proof)
            write_atomic(self._file(verifier), seen.note.encode("utf-8"))
            return seen

    def remembered(self) -> list[str]:
        """Every remembered signed note (for export / gossip)."""
        if not self.directory.is_dir():
            return []
        return [p.read_text("utf-8") for p in sorted(self.directory.glob(f"*{_SUFFIX}"))]


def check_same_history(known: Checkpoint, seen: Checkpoint) -> None:
    """``seen`` is not newer than ``known``: only the same tree is acceptable at the same size;
    a smaller tree means the log now shows less than it showed before."""
    if seen.size == known.size and seen.root == known.root:
        return
    why = (
        "a different root at the same size"
        if seen.size == known.size
        else f"a smaller tree than the {known.size} entries seen before"
    )
    raise ForkDetectedError(_fork(known, seen, why), known.note, seen.note)


def check_extends(known: Checkpoint, seen: Checkpoint, proof: ProofSource) -> None:
    """Raise :class:`ForkDetectedError` unless a consistency proof shows ``seen`` extends
    ``known``."""
    try:
        path = proof(known.size, seen.size)
    except LedgerError as e:
        raise ForkDetectedError(
            _fork(known, seen, f"the log gave no consistency proof ({e})"), known.note, seen.note
        ) from e
    if not merkle.verify_consistency(known.size, seen.size, known.root, seen.root, path):
        raise ForkDetectedError(
            _fork(known, seen, "its consistency proof does not verify"), known.note, seen.note
        )


def _fork(known: Checkpoint, seen: Checkpoint, why: str) -> str:
    return (
        f"fork alarm: the log {known.origin!r} rewrote its history: it now shows size "
        f"{seen.size} (root {seen.root.hex()[:16]}…), {why}; remembered: size {known.size} "
        f"(root {known.root.hex()[:16]}…)"
    )


def split_notes(text: str) -> list[str]:
    """Signed notes concatenated (as :meth:`CheckpointMemory.remembered` exports them)."""
    notes, current = [], ""
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        if current:
            notes.append(current + "\n\n" + block.rstrip("\n") + "\n")
            current = ""
        else:
            current = block.strip("\n")
    if current:
        raise MalformedNoteError("remembered checkpoints: a note without signature lines")
    for n in notes:
        parse_checkpoint_body(parse_note(n)[0])
    return notes
