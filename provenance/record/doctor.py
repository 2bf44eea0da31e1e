"""Find and repair what an interrupted recording left behind, and audit the ledger.

Example::

    from pathlib import Path
    from provenance.home.paths import home_from_env
    from provenance.record.doctor import run_doctor
    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env()) as ledger:
        report = run_doctor([Path(".")], ledger, fix=True)
    for item in report.leftovers:
        print(item.status, item.action, item.path)
    print("ok" if report.ok else "problems remain")

The recorder signs into ``.NAME.provenance-tmp-PID-RAND`` beside the destination, fsyncs it,
appends the ledger entry and only then moves the file into place. A process killed on the way
leaves one of these temp files. Each is classified by its SHA-256:

``restore``    its hash is a ledger output and the destination is missing: the append committed
               but the rename did not happen; the file is moved into place (roll forward).
``duplicate``  the destination already holds the same bytes: the temp copy is removed.
``garbage``    its hash is in no ledger entry (killed before the append committed): removed.
``conflict``   recorded, but a different file sits at the destination: kept and reported.
``in_use``     its writer still holds the file's lock, or (same host and boot) its process is
               running, or it is younger than ``min_age`` seconds: left alone.
``lost``       a marker left by a writer whose temp file was removed by someone else after its
               entry committed: reported (the entry has no file); removed with ``fix``.

A writer holds an exclusive ``flock`` on its temp file while it lives, so a writer in another PID
namespace sharing the volume is still seen as alive; the PID is consulted only when the name's
host and boot identity are this machine's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ledger import Ledger
from ledger.audit import AuditReport
from provenance.errors import ledger_failures
from provenance.media.hashing import sha256_file
from provenance.record.tempfiles import (
    LOST_SUFFIX,
    TEMP_PATTERN,
    boot_id,
    fsync_dir,
    host_id,
    lock_is_free,
)

Status = Literal["restore", "duplicate", "garbage", "conflict", "in_use", "lost"]
MIN_AGE = 60.0  # seconds: a temp file younger than this may be a writer between open and lock


@dataclass(frozen=True)
class Leftover:
    """One temp file found, what it is, and what was done with it."""

    path: Path
    dest: Path
    pid: int
    status: Status
    action: str  # "restored", "removed", "kept", or "none" on a dry run
    sha256: str | None = None
    entry_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"], d["dest"] = str(self.path), str(self.dest)
        return d


@dataclass
class DoctorReport:
    leftovers: list[Leftover] = field(default_factory=list)
    audit: AuditReport | None = None
    # Queued appends a batch refused whose writers are gone (PostgreSQL): the reasons. Nothing
    # was acknowledged for them; cleared with fixing on, so they need no person.
    abandoned: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing left that needs a person: no conflict, and the audit (if run) is clean."""
        unresolved = any(
            item.status in ("conflict", "lost") or item.action == "none"
            for item in self.leftovers
            if item.status != "in_use"
        )
        return not unresolved and (self.audit is None or self.audit.ok)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.leftovers:
            out[item.status] = out.get(item.status, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        audit = None
        if self.audit is not None:
            audit = {
                "ok": self.audit.ok,
                "size": self.audit.size,
                "checkpoints_checked": self.audit.checkpoints_checked,
                "problems": [
                    {"index": i, "kind": k, "detail": d} for i, k, d in self.audit.problems
                ],
            }
        return {
            "ok": self.ok,
            "counts": self.counts(),
            "leftovers": [item.to_json() for item in self.leftovers],
            "audit": audit,
            "abandoned_refusals": self.abandoned,
        }


def find_temp_files(roots: Iterable[Path]) -> list[Path]:
    """Every recorder temp file in ``roots`` (a directory is searched recursively)."""
    found: set[Path] = set()
    for root in roots:
        if root.is_file():
            candidates: Iterable[Path] = [root]
        else:
            candidates = root.rglob(".*.provenance-tmp-*")
        found.update(p for p in candidates if p.is_file() and TEMP_PATTERN.match(p.name))
    return sorted(found)


def find_lost_markers(roots: Iterable[Path]) -> list[Path]:
    """Markers of entries whose temp file vanished before it was moved into place."""
    found: set[Path] = set()
    for root in roots:
        if root.is_dir():
            found.update(p for p in root.rglob(f".*{LOST_SUFFIX}-*") if p.is_file())
    return sorted(found)


def lost_item(marker: Path) -> Leftover:
    """The entry a lost marker names, reported as ``lost``."""
    try:
        facts = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        facts = {}
    dest = marker.with_name(str(facts.get("dest") or marker.name))
    return Leftover(marker, dest, 0, "lost", "none", None, facts.get("entry"))


@ledger_failures()
def examine(path: Path, ledger: Ledger, *, min_age: float = 0.0) -> Leftover:
    """Classify one temp file without touching it."""
    m = TEMP_PATTERN.match(path.name)
    if m is None:
        raise ValueError(f"{path}: not a recorder temp file")
    dest = path.with_name(m["name"])
    pid = int(m["pid"])
    if _in_use(path, m["host"], m["boot"], pid, min_age):
        return Leftover(path, dest, pid, "in_use", "none")
    digest = sha256_file(path)
    entries = ledger.find_by_output(digest)
    if not entries:
        return Leftover(path, dest, pid, "garbage", "none", digest)
    entry_id = entries[-1].id
    if not dest.exists():
        return Leftover(path, dest, pid, "restore", "none", digest, entry_id)
    if dest.is_file() and sha256_file(dest) == digest:
        return Leftover(path, dest, pid, "duplicate", "none", digest, entry_id)
    return Leftover(path, dest, pid, "conflict", "none", digest, entry_id)


def repair(item: Leftover, *, fix_lost: bool = False) -> Leftover:
    """Do what :func:`examine` found to be safe: restore, or remove a copy or garbage."""
    if item.status == "restore":
        try:
            os.link(item.path, item.dest)  # never clobbers a file that appeared meanwhile
        except FileExistsError:
            return Leftover(
                item.path, item.dest, item.pid, "conflict", "kept", item.sha256, item.entry_id
            )
        item.path.unlink()
        fsync_dir(item.dest.parent)
        return _done(item, "restored")
    if item.status in ("duplicate", "garbage") or (item.status == "lost" and fix_lost):
        item.path.unlink(missing_ok=True)
        return _done(item, "removed")
    return _done(item, "kept")


@ledger_failures()
def run_doctor(
    roots: Sequence[Path],
    ledger: Ledger,
    *,
    fix: bool = True,
    audit: bool = True,
    min_age: float = MIN_AGE,
) -> DoctorReport:
    """Examine (and with ``fix`` repair) every temp file under ``roots``; audit the ledger.

    Files younger than ``min_age`` seconds, or whose writer holds their lock, are left alone.
    """
    report = DoctorReport()
    if fix:  # entries a killed writer left accepted but unintegrated (PostgreSQL) count as recorded
        ledger.appender.integrate_pending()
    report.abandoned = ledger.appender.abandoned_refusals(clear=fix)
    for path in find_temp_files(roots):
        item = examine(path, ledger, min_age=min_age)
        report.leftovers.append(repair(item) if fix else item)
    report.leftovers.extend(lost_item(marker) for marker in find_lost_markers(roots))
    if audit:  # checkpoints checked with the user's pinned key, never the database's
        from provenance.home.log_keys import audit_pinned

        report.audit = audit_pinned(ledger, None)
    return report


def _done(item: Leftover, action: str) -> Leftover:
    return Leftover(item.path, item.dest, item.pid, item.status, action, item.sha256, item.entry_id)


def _in_use(path: Path, host: str | None, boot: str | None, pid: int, min_age: float) -> bool:
    if not lock_is_free(path):
        return True
    try:
        if time.time() - path.stat().st_mtime < min_age:
            return True
    except FileNotFoundError:
        return True  # its writer just moved it into place
    if host is None or (host == host_id() and boot == boot_id()):
        return _alive(pid)  # a PID means something only on this host, in this boot
    return False


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftovers are never in flight while the doctor runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


__all__ = [
    "TEMP_PATTERN",
    "DoctorReport",
    "Leftover",
    "examine",
    "find_temp_files",
    "repair",
    "run_doctor",
]
