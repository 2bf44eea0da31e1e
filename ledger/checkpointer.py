"""Checkpoints of one open ledger: signing (after proving the tree extends the last one), when
to sign, RFC 3161 timestamps on new checkpoints, and receipts."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, insert, select

from ledger import merkle
from ledger.checkpoint import Checkpoint, open_checkpoint, verifier_key
from ledger.errors import (
    AUDIT_REMEDY,
    CHECKPOINT_REMEDY,
    LedgerError,
    LedgerIntegrityError,
    NoLogKeyError,
    SignerMemoryError,
    UnknownEntryError,
)
from ledger.models import CHECKPOINT as C
from ledger.models import HEAD as H
from ledger.proofs import Proofs, hashes_in, head_root
from ledger.reads import Reader
from ledger.signer_memory import SignerMemory, require_extends
from ledger.storage import Storage
from ledger.timestamp import ENV_TSA_URL
from ledger.witness.logside import Witnessing, with_cosignatures

if TYPE_CHECKING:
    from ledger.checkpoint_timestamps import Stamper
    from ledger.witness.client import WitnessEndpoint, WitnessingResult


class Checkpointer:
    def __init__(
        self,
        storage: Storage,
        proofs: Proofs,
        log_key: Ed25519PrivateKey | None,
        *,
        every: int | None,
        interval: float | None,
        tsa_url: str | None,
        memory: SignerMemory | None = None,
        witnesses: Sequence[WitnessEndpoint] = (),
    ) -> None:
        self.storage, self.proofs, self.key = storage, proofs, log_key
        # The last checkpoint this key signed, kept outside the database (ledger.signer_memory).
        self.memory = memory or SignerMemory(None)
        self.origin = ""
        self.every, self.interval = every, interval
        self.last: tuple[int, float] = (0, time.time())  # size and time of the last checkpoint
        # RFC 3161 timestamps on new checkpoints: None = PROVENANCE_TSA_URL, "" = none.
        self.tsa_url = os.environ.get(ENV_TSA_URL, "") if tsa_url is None else tsa_url
        self._stamper: Stamper | None = None
        if self.tsa_url:
            from ledger.checkpoint_timestamps import Stamper

            self._stamper = Stamper(self.tsa_url)
        self.timestamp_error: str | None = None  # why the last checkpoint got no timestamp
        # The witnesses new checkpoints are submitted to (ledger.witness.logside), and what the
        # last submission got: None when nothing was submitted.
        self.witnessing = Witnessing(storage, proofs, witnesses) if witnesses else None
        self.witness_result: WitnessingResult | None = None

    def close(self) -> None:
        if self.witnessing is not None:
            self.witnessing.close()

    def latest(self) -> Checkpoint | None:
        """The newest stored checkpoint; its note carries the witnesses' stored cosignatures."""
        with self.storage.engine.connect() as conn:
            row = conn.execute(
                select(C.c.size, C.c.root, C.c.note, C.c.id).order_by(C.c.id.desc()).limit(1)
            ).first()
            if row is None:
                return None
            note = with_cosignatures(conn, int(row[3]), row[2])
        return Checkpoint(self.origin, int(row[0]), bytes(row[1]), note)

    def witnessed_note(self, size: int | None = None) -> str | None:
        """The newest checkpoint note (of tree ``size``, if given) with its cosignatures."""
        q = select(C.c.note, C.c.id).order_by(C.c.id.desc()).limit(1)
        with self.storage.engine.connect() as conn:
            row = conn.execute(q if size is None else q.where(C.c.size == size)).first()
            return None if row is None else with_cosignatures(conn, int(row[1]), row[0])

    def all(self) -> list[Checkpoint]:
        with self.storage.engine.connect() as conn:
            rows = conn.execute(select(C.c.size, C.c.root, C.c.note).order_by(C.c.id)).all()
        return [Checkpoint(self.origin, int(s), bytes(r), n) for s, r, n in rows]

    def sign(self) -> Checkpoint:
        """Sign and store a checkpoint of the current tree, after proving it extends the last one."""
        if self.key is None:
            raise NoLogKeyError(
                "cannot sign a checkpoint: the ledger was opened without its log key"
            )
        self.timestamp_error = None
        with self.storage.writer.begin() as conn:
            head = conn.execute(
                select(H.c.size, H.c.frontier).where(H.c.id == 1).with_for_update()
            ).one()
            size, root = int(head[0]), head_root(bytes(head[1]))
            prev = self._previous(conn, size, root)
            self._check_memory(conn, size, root, prev[0] if prev is not None else None)
            if prev is not None and prev[0].size == size:
                self.last = (size, time.time())
                self._remember_newer(prev[0])
            else:
                note = Checkpoint(self.origin, size, root).sign(self.key)
                self.memory.remember(note)  # durable before the checkpoint is stored
                cid = conn.execute(
                    insert(C)
                    .values(size=size, root=root, note=note, ts=time.time_ns() // 1000)
                    .returning(C.c.id)
                ).scalar_one()
                prev = None
        if prev is not None:  # nothing new: give an untimestamped checkpoint another chance
            cp, retry = prev
            if self._stamper is not None and not self._stamper.has_token(self.storage, retry):
                self.timestamp_error = self._stamper.stamp(self.storage, retry, cp.note, retry=True)
            return Checkpoint(cp.origin, cp.size, cp.root, self._witness(retry, cp.note, True))
        self.last = (size, time.time())
        if self._stamper is not None:  # after the commit: the TSA is never asked under the lock
            self.timestamp_error = self._stamper.stamp(self.storage, int(cid), note)
        return Checkpoint(self.origin, size, root, self._witness(int(cid), note, False))

    def _witness(self, cid: int, note: str, retry: bool) -> str:
        """After the commit: submit checkpoint ``cid`` to the witnesses (on a retry only to
        those that have not cosigned it) and return its note with all stored cosignatures."""
        self.witness_result = None
        w = self.witnessing
        if w is not None:
            only = w.missing(cid) if retry else w.names
            if only:
                self.witness_result = w.submit(cid, note, only)
        with self.storage.engine.connect() as conn:
            return with_cosignatures(conn, cid, note)

    def _previous(self, conn: Connection, size: int, root: bytes) -> tuple[Checkpoint, int] | None:
        """The last stored checkpoint and its row id, once proven to be extended by this tree."""
        assert self.key is not None
        last = conn.execute(
            select(C.c.size, C.c.root, C.c.note, C.c.id).order_by(C.c.id.desc()).limit(1)
        ).first()
        if last is None:
            return None
        prev = open_checkpoint(last[2], verifier_key(self.key, self.origin))
        if (prev.size, prev.root) != (int(last[0]), bytes(last[1])):
            raise LedgerIntegrityError("last checkpoint row disagrees with its signed note")
        if prev.size > size:
            raise LedgerIntegrityError(
                f"last checkpoint covers {prev.size} entries but the ledger has {size}"
            )
        proof = hashes_in(conn, merkle.consistency_ranges(prev.size, size))
        if not merkle.verify_consistency(prev.size, size, prev.root, root, proof):
            raise LedgerIntegrityError(
                f"tree at size {size} is not consistent with the checkpoint at size "
                f"{prev.size}; refusing to sign ({AUDIT_REMEDY})"
            )
        return prev, int(last[3])

    def _check_memory(
        self, conn: Connection, size: int, root: bytes, stored: Checkpoint | None
    ) -> None:
        """Refuse unless this tree extends the last checkpoint this key remembers signing.

        A database writer without the key can rewrite the tree and delete the checkpoint rows;
        only the memory outside the database then stands between it and a signed forgery.
        """
        assert self.key is not None
        known = self.memory.last(verifier_key(self.key, self.origin))
        if known is None:
            if self.memory.path is None:
                return  # process-local memory: it starts from the database's own checkpoints
            if stored is not None or size > 0:
                raise SignerMemoryError(
                    f"{self.memory.path}: the signer's memory of its last checkpoint is missing, "
                    f"but the ledger holds {size} entries"
                    + (f" and checkpoints up to size {stored.size}" if stored else "")
                    + "; refusing to sign. If the file was lost, adopt the newest checkpoint "
                    "explicitly (Ledger.adopt_checkpoint) after checking it"
                )
            return
        where = f"the last checkpoint this key signed ({self.memory.path or 'this process'})"
        require_extends(
            known,
            size,
            root,
            lambda old, new: hashes_in(conn, merkle.consistency_ranges(old, new)),
            what=where,
        )

    def _remember_newer(self, cp: Checkpoint) -> None:
        """Another holder of the key (another process or machine) signed ``cp``: it extends our
        memory (checked), so remember it as the newest."""
        assert self.key is not None
        known = self.memory.last(verifier_key(self.key, self.origin))
        if known is None or cp.size > known.size:
            self.memory.remember(cp.note)

    def adopt(self, *, reason: str, actor: str) -> Checkpoint:
        """After the memory file was lost: take the newest stored checkpoint signed by this key
        as the memory (logged beside it). The operator must have checked that checkpoint."""
        if self.key is None:
            raise NoLogKeyError("cannot adopt a checkpoint: the ledger was opened without its key")
        if not reason.strip():
            raise LedgerError("adopt_checkpoint: reason must say why the memory was lost")
        with self.storage.engine.connect() as conn:
            row = conn.execute(select(C.c.note).order_by(C.c.id.desc()).limit(1)).first()
        if row is None:
            raise LedgerError("no stored checkpoint to adopt")
        cp = open_checkpoint(row[0], verifier_key(self.key, self.origin))
        self.memory.adopt(cp.note, reason=reason, actor=actor)
        return cp

    def maybe(self, size: int) -> None:
        """Sign when ``checkpoint_every`` entries or ``checkpoint_interval`` seconds are due."""
        if self.key is None:
            return
        last_size, last_time = self.last
        due = self.every is not None and size - last_size >= self.every
        due = due or (
            self.interval is not None
            and size > last_size
            and time.time() - last_time >= self.interval
        )
        if due:
            self.sign()

    def receipt(self, reader: Reader, entry_id: str) -> str:
        """A C2SP tlog-proof of ``entry_id`` against the latest checkpoint (signed if need be)."""
        from ledger.receipt import build_receipt

        entry = reader.get(entry_id)
        if entry is None:
            raise UnknownEntryError(f"no entry {entry_id}")
        cp = self.latest()
        if cp is None or cp.size <= entry.index:
            if self.key is None:
                raise LedgerError(
                    f"no checkpoint covers entry {entry.index} yet; {CHECKPOINT_REMEDY}"
                )
            cp = self.sign()
        return build_receipt(entry, self.proofs.inclusion(entry.index, cp.size), cp.note)


def last_checkpoint(conn: Connection) -> tuple[int, float] | None:
    """Size and time (seconds) of the last stored checkpoint."""
    last: Any = conn.execute(select(C.c.size, C.c.ts).order_by(C.c.id.desc()).limit(1)).first()
    return None if last is None else (int(last[0]), last[1] / 1e6)
