"""Pinned log keys and the verifier's state: verification never takes a log's key from the
database it is checking.

A ledger check needs the log's verifier key from the user's side: ``--log-key`` (a file or the
key text), this home's own ``ledger/log.pub``, or the list of known logs a desk keeps in
``<home>/trust/logs`` (one signed-note verifier key per line; ``provenance logs add/remove/list``).
The newest checkpoint verified per log is remembered in the user's state directory
(``PROVENANCE_STATE_DIR``, default the platform's user state directory), never in the ledger.

Example::

    from provenance.home import home_from_env
    from provenance.home.log_keys import KnownLogs, pinned_key

    logs = KnownLogs(home_from_env())
    logs.add("example.org/log+1a2b3c4d+AQ...")
    print(pinned_key(home_from_env(), "example.org/log"))
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.checkpoint import Checkpoint, Verifier
from ledger.errors import ForkDetectedError, LedgerError
from ledger.verifier_memory import CheckpointMemory, ProofSource
from provenance.errors import InputError
from provenance.home.files import write_private
from provenance.home.paths import Home

if TYPE_CHECKING:
    from cryptography import x509

    from ledger import AuditReport, Ledger

from provenance.vocab import ENV_STATE_DIR


@dataclass(frozen=True)
class PinnedKey:
    """A verifier key and where the user pinned it (for reports: "pinned in FILE")."""

    vkey: str
    origin: str
    source: str


def parse_vkey(text: str, what: str) -> Verifier:
    """A signed-note verifier key, or a one-line error naming ``what``."""
    try:
        return _parsed(text.strip())
    except LedgerError as e:
        raise InputError(f"{what}: not a log verifier key ({e.diagnostics()})") from e


@functools.lru_cache(maxsize=32)  # every file of a batch checks its proof under the same key
def _parsed(text: str) -> Verifier:
    return Verifier.parse(text)


def read_vkey_arg(value: str) -> PinnedKey:
    """``--log-key``: a file holding the key, or the key text itself."""
    path = Path(value)
    if "+" not in value or path.exists():
        try:
            text = path.read_text("utf-8").strip()
        except OSError as e:
            raise InputError(f"{value}: cannot read the log key ({e.strerror or e})") from e
        verifier = parse_vkey(text, value)
        return PinnedKey(text, verifier.name, f"the log key given ({value})")
    verifier = parse_vkey(value, "log key")
    return PinnedKey(value.strip(), verifier.name, "the log key given")


class KnownLogs:
    """The desk's list of logs it knows, by origin: ``<home>/trust/logs``."""

    def __init__(self, home: Home) -> None:
        self.path = home.trust_dir / "logs"

    def all(self) -> list[PinnedKey]:
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return []
        except OSError as e:
            raise InputError(f"{self.path}: cannot read the known logs ({e.strerror or e})") from e
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                verifier = parse_vkey(line, f"{self.path}:{n}")
                out.append(
                    PinnedKey(line.strip(), verifier.name, f"the known log key in {self.path}")
                )
        return out

    def add(self, vkey: str) -> PinnedKey:
        """Pin ``vkey`` for its origin (replacing an earlier key for that origin)."""
        verifier = parse_vkey(vkey, "log key")
        keep = [k for k in self.all() if k.origin != verifier.name]
        pinned = PinnedKey(vkey.strip(), verifier.name, f"the known log key in {self.path}")
        self._write([*keep, pinned])
        return pinned

    def remove(self, origin: str) -> bool:
        before = self.all()
        keep = [k for k in before if k.origin != origin]
        if len(keep) != len(before):
            self._write(keep)
        return len(keep) != len(before)

    def _write(self, keys: list[PinnedKey]) -> None:
        # a home file like any other: 0600 in a 0700 folder, never written through a link
        write_private(self.path, "".join(k.vkey + "\n" for k in keys).encode())


def pinned_key(
    home: Home | None, origin: str, explicit: PinnedKey | None = None
) -> PinnedKey | None:
    """The user's key for the log ``origin``: the explicit one, this home's own ``log.pub``, or
    a known log; ``None`` when the user pinned none (the check is then not a proof).

    A home's ``log.pub`` for another origin is still returned when no known log matches: a
    checkpoint of this ledger then fails to verify with it, which is what the user must see.
    """
    if explicit is not None:
        return explicit if explicit.origin == origin else None
    if home is None:
        return None
    own = _home_key(home)
    if own is not None and own.origin == origin:
        return own
    known = next((k for k in KnownLogs(home).all() if k.origin == origin), None)
    return known or own


def _home_key(home: Home) -> PinnedKey | None:
    try:
        text = home.log_pub.read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(f"{home.log_pub}: cannot read the log's public key ({e.strerror})") from e
    if not text:
        return None
    return PinnedKey(text, parse_vkey(text, str(home.log_pub)).name, "the log's public key")


def state_dir() -> Path:
    """Where this user's verifier state lives (``PROVENANCE_STATE_DIR`` or the platform's)."""
    env = os.environ.get(ENV_STATE_DIR)
    if env:
        return Path(env).expanduser()
    return _platform_state_dir()


@functools.cache
def _platform_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_dir("provenance", appauthor=False))


def checkpoint_memory() -> CheckpointMemory:
    """The verifier's memory of the newest checkpoint seen per log."""
    key = (os.environ.get(ENV_STATE_DIR), os.environ.get("HOME"))  # what state_dir() reads
    found = _memories.get(key)
    if found is None:  # one per state directory: a batch asks once per file
        if len(_memories) >= 16:
            _memories.clear()
        found = _memories[key] = CheckpointMemory(state_dir() / "checkpoints")
    return found


_memories: dict[tuple[str | None, str | None], CheckpointMemory] = {}


_accepted: set[tuple[Path, int, str, str]] = set()  # (memory folder, its mtime, key, note)


def remember(checkpoint: Checkpoint, vkey: str, proof: ProofSource) -> ForkDetectedError | None:
    """Advance the verifier's memory to ``checkpoint`` (signature already checked with ``vkey``);
    the fork, if the log's history no longer extends what this user saw before.

    A checkpoint this process already accepted, with the memory unchanged since, is not checked
    again (a batch of files from one log sees the same checkpoint for every file: one locked read
    and signature check, not one per file).
    """
    memory = checkpoint_memory()
    key = (memory.directory, _stamp(memory.directory), vkey, checkpoint.note)
    if key in _accepted:
        return None
    try:
        memory.advance(checkpoint, vkey, proof)
    except ForkDetectedError as e:
        return e
    if len(_accepted) > 64:
        _accepted.clear()
    # keyed on the folder as it is now: a checkpoint written since (by anyone) checks again
    _accepted.add((memory.directory, _stamp(memory.directory), vkey, checkpoint.note))
    return None


def _stamp(folder: Path) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1


def fork_evidence(fork: ForkDetectedError) -> str:
    """Both signed notes, as text anyone can check offline with the log's public key."""
    return (
        "previously seen checkpoint:\n"
        + fork.previous
        + "checkpoint the log shows now:\n"
        + fork.current
    )


def user_key(origin: str, explicit: str | None) -> PinnedKey | None:
    """The key this user checks the log ``origin`` with: ``explicit`` (a file or the key text,
    as ``--log-key`` takes it) if given, else the active home's pinned key for that origin."""
    from provenance.home.paths import home_from_env

    if explicit is not None:
        return read_vkey_arg(explicit)
    return pinned_key(home_from_env(), origin)


def audit_pinned(
    led: Ledger, explicit: str | None, tsa_anchors: Sequence[x509.Certificate] = ()
) -> AuditReport:
    """``led.audit`` with the user's pinned key (explicit, this home's, or a known log's), then
    the verifier's memory advanced to the newest checkpoint (a fork becomes a problem)."""
    from ledger.checkpoint import open_checkpoint

    pinned = user_key(led.origin, explicit)
    report = led.audit(verifier_key=pinned.vkey if pinned else None, tsa_anchors=tsa_anchors)
    latest = led.latest_checkpoint()
    if pinned is None or latest is None or not report.ok:
        return report
    fork = remember(open_checkpoint(latest.note, pinned.vkey), pinned.vkey, led.consistency_proof)
    if fork is not None:
        report.problems.append((latest.size, "fork", f"{fork} | {fork_evidence(fork)!r}"))
    return report


@dataclass
class ImportOutcome:
    """What importing another desk's checkpoints found: one line per note, and the forks."""

    lines: list[str]
    forks: int = 0


def import_checkpoints(text: str, home: Home) -> ImportOutcome:
    """Gossip: check each signed note against the pinned key and this user's memory; with the
    home's ledger at hand (same origin), prove consistency where sizes differ."""
    from ledger.verifier_memory import split_notes

    try:
        notes = split_notes(text)
    except LedgerError as e:
        raise InputError(f"checkpoints: {e.diagnostics()}") from e
    outcome = ImportOutcome([])
    ledger = _home_ledger(home)
    try:
        for note in notes:
            outcome.lines.append(_import_one(note, home, ledger, outcome))
    finally:
        if ledger is not None:
            ledger.close()
    return outcome


def _import_one(note: str, home: Home, ledger: Ledger | None, outcome: ImportOutcome) -> str:
    from ledger.checkpoint import open_checkpoint
    from ledger.verifier_memory import check_extends, check_same_history

    origin = note.split("\n", 1)[0]
    pinned = pinned_key(home, origin)
    if pinned is None or pinned.origin != origin:
        return f"skipped {origin}: no pinned key for this log"
    try:
        cp = open_checkpoint(note, pinned.vkey)
    except LedgerError as e:
        return f"rejected {origin}: {e.diagnostics()}"
    memory = checkpoint_memory()
    known = memory.last(pinned.vkey)
    proof = ledger.consistency_proof if ledger is not None and ledger.origin == origin else None
    try:
        if known is None:
            memory.advance(cp, pinned.vkey, lambda old, new: [])
            return f"remembered {origin} at size {cp.size}"
        if cp.size == known.size:
            check_same_history(known, cp)
            return f"agrees {origin} at size {cp.size}"
        if proof is None:
            return f"not checked {origin} at size {cp.size}: the log is not at hand to prove it"
        if cp.size < known.size:
            check_extends(cp, known, proof)
            return f"consistent {origin}: size {cp.size} is part of the {known.size} seen"
        memory.advance(cp, pinned.vkey, proof)
        return f"advanced {origin} to size {cp.size}"
    except ForkDetectedError as e:
        outcome.forks += 1
        return f"FORK {e}\n{fork_evidence(e)}"


def _home_ledger(home: Home) -> Ledger | None:
    from provenance.home.ledger import find_ledger, open_ledger

    source = find_ledger(home)
    return None if source is None else open_ledger(source, read_only=True, checkpoint_every=None)
