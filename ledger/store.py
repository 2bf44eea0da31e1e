"""The ledger facade: opening, and one-line delegations to the parts that do the work.

:mod:`ledger.storage` (where rows live), :mod:`ledger.append`, :mod:`ledger.reads`,
:mod:`ledger.proofs`, :mod:`ledger.checkpointer`, :mod:`ledger.fingerprint_index` and
:mod:`ledger.audit`. Callers may use the parts directly (``led.reader``, ``led.proofs``, ...).

Example::

    >>> from ledger import Ledger
    >>> from ledger.checkpoint import generate_log_key
    >>> key = generate_log_key()
    >>> Ledger.create("sqlite://", origin="example.org/log").close()  # in-memory: gone again
    >>> import tempfile, os
    >>> url = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "l.db")
    >>> Ledger.create(url, origin="example.org/log").close()
    >>> with Ledger.open(url, log_key=key) as led:
    ...     e = led.append("generate", {"model": "m"})
    ...     (e.index, led.size)
    (0, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, delete, insert, select

from ledger.append import Appender
from ledger.checkpoint import Checkpoint, verifier_key
from ledger.checkpointer import Checkpointer, last_checkpoint
from ledger.entry import AppendRequest, Entry, new_entry_id
from ledger.errors import (
    LedgerError,
    LedgerExistsError,
    NotALedgerError,
    UnknownEntryError,
    WrongLogKeyError,
)
from ledger.models import HEAD as H
from ledger.models import META as M
from ledger.proofs import Proofs
from ledger.reads import Reader
from ledger.schema import check_sqlite_file, current_revision, head_revision, upgrade
from ledger.signer_memory import SignerMemory
from ledger.storage import closed_on_error, open_storage

if TYPE_CHECKING:
    from cryptography import x509

    from ledger.audit import AuditReport
    from ledger.fingerprint_index import Hit
    from ledger.witness.client import WitnessEndpoint, WitnessingResult


class Ledger:
    """A transparency log in an SQL database. Open with :meth:`create` or :meth:`open`."""

    def __init__(
        self,
        url: str,
        *,
        log_key: Ed25519PrivateKey | None,
        checkpoint_every: int | None,
        checkpoint_interval: float | None,
        tsa_url: str | None = None,
        signer_memory: Path | None = None,
        witnesses: Sequence[WitnessEndpoint] = (),
    ) -> None:
        self.url = url
        self.storage = open_storage(url)  # chosen once: the SQLite-file fast path or the engine
        self.appender = Appender(self.storage)
        self.reader = Reader(self.storage)
        self.proofs = Proofs(self.storage)
        self.checkpointer = Checkpointer(
            self.storage,
            self.proofs,
            log_key,
            every=checkpoint_every,
            interval=checkpoint_interval,
            tsa_url=tsa_url,
            memory=SignerMemory(signer_memory),
            witnesses=witnesses,
        )

    @classmethod
    def create(
        cls,
        url: str,
        *,
        origin: str,
        log_key: Ed25519PrivateKey | None = None,
        tsa_url: str | None = None,
        signer_memory: Path | None = None,
    ) -> Ledger:
        """A new ledger at ``url`` (schema by migration); refuses an existing ledger with data.

        With ``log_key`` and ``signer_memory`` (a file beside the key), the empty tree is signed
        at once, so the signer remembers this log from its first entry on.
        """
        if not origin or any(c.isspace() for c in origin) or "+" in origin:
            raise LedgerError(f"origin {origin!r}: must be non-empty, without spaces or '+'")
        check_sqlite_file(url, must_exist=False)
        led = cls(
            url,
            log_key=log_key,
            checkpoint_every=None,
            checkpoint_interval=None,
            tsa_url=tsa_url,
            signer_memory=signer_memory,
        )
        with closed_on_error(led.storage, url), led.storage.writer.begin() as conn:
            rev = current_revision(conn, url)
            if rev is not None:
                n = conn.execute(select(H.c.size).where(H.c.id == 1)).scalar()
                if n:
                    raise LedgerExistsError(f"a ledger with {n} entries already exists there")
                conn.execute(delete(M))
                conn.execute(delete(H))
            upgrade(conn)
            conn.execute(insert(M), [{"key": "origin", "value": origin}])
            if log_key is not None:
                conn.execute(
                    insert(M), [{"key": "verifier_key", "value": verifier_key(log_key, origin)}]
                )
            conn.execute(insert(H).values(id=1, size=0, frontier=b"", last_ts=0))
        led.origin = origin
        if log_key is not None and signer_memory is not None:
            with closed_on_error(led.storage, url):
                led.checkpointer.sign()
        return led

    @classmethod
    def open(
        cls,
        url: str,
        *,
        log_key: Ed25519PrivateKey | None = None,
        checkpoint_every: int | None = 1000,
        checkpoint_interval: float | None = 300.0,
        tsa_url: str | None = None,
        signer_memory: Path | None = None,
        witnesses: Sequence[WitnessEndpoint] = (),
    ) -> Ledger:
        """An existing ledger; ``log_key=None`` opens it without the power to sign checkpoints.

        ``signer_memory``: the file beside the log key that remembers the last checkpoint this
        key signed (:mod:`ledger.signer_memory`); without it the memory lasts for this process.

        ``tsa_url``: an RFC 3161 TSA that timestamps each new checkpoint (default: the
        ``PROVENANCE_TSA_URL`` environment variable; ``""`` turns it off). ``witnesses``: each new
        checkpoint is submitted to them after it is stored (:mod:`ledger.witness.logside`).
        """
        check_sqlite_file(url, must_exist=True)
        led = cls(
            url,
            log_key=log_key,
            checkpoint_every=checkpoint_every,
            checkpoint_interval=checkpoint_interval,
            tsa_url=tsa_url,
            signer_memory=signer_memory,
            witnesses=witnesses,
        )
        with closed_on_error(led.storage, url), led.storage.writer.begin() as conn:
            rev = current_revision(conn, url)
            if rev is None:
                raise NotALedgerError(f"{url}: no ledger here; run `provenance init` first")
            if rev != head_revision():  # older ledgers are brought up to date
                upgrade(conn)
            meta = {str(k): str(v) for k, v in conn.execute(select(M.c.key, M.c.value))}
            if "origin" not in meta or conn.execute(select(H.c.size)).scalar() is None:
                raise NotALedgerError(f"{url}: ledger tables are incomplete")
            led.origin = meta["origin"]
            led.reader.ts_ordered_from = int(meta.get("ts_ordered_from", "0"))
            if log_key is not None:
                vk = verifier_key(log_key, led.origin)
                stored = meta.get("verifier_key")
                if stored is None:
                    conn.execute(insert(M).values(key="verifier_key", value=vk))
                elif stored != vk:
                    raise WrongLogKeyError(
                        f"log key does not belong to ledger {led.origin!r} (its key is {stored.split('+')[1]})"
                    )
            last = last_checkpoint(conn)
            if last is not None:
                led.checkpointer.last = last
        return led

    def close(self) -> None:
        self.checkpointer.close()
        self.storage.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- state -----------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        return self.storage.engine

    @property
    def origin(self) -> str:
        return self.checkpointer.origin

    @origin.setter
    def origin(self, value: str) -> None:
        self.checkpointer.origin = value

    @property
    def tsa_url(self) -> str:
        return self.checkpointer.tsa_url

    @property
    def timestamp_error(self) -> str | None:
        """Why the last checkpoint got no RFC 3161 timestamp (None: it got one, or no TSA)."""
        return self.checkpointer.timestamp_error

    @property
    def size(self) -> int:
        return self.reader.size

    @property
    def verifier_key(self) -> str | None:
        """The log's public key in signed-note form, from the log key this ledger was opened
        with; ``None`` without it. Never read from the database: a verifier pins the key on its
        own side (whoever can write the database could put their own key there)."""
        if self.checkpointer.key is not None:
            return verifier_key(self.checkpointer.key, self.origin)
        return None

    @property
    def stored_verifier_key(self) -> str | None:
        """The verifier key the database *claims*: a hint to compare with, never to check with."""
        with self.engine.connect() as conn:
            return conn.execute(select(M.c.value).where(M.c.key == "verifier_key")).scalar()

    # --- writing ---------------------------------------------------------------------------

    @staticmethod
    def new_entry_id() -> str:
        return new_entry_id()

    def append(
        self,
        kind: str,
        body: Mapping[str, Any],
        *,
        entry_id: str | None = None,
        outputs: Sequence[str] = (),
        inputs: Sequence[str] = (),
        parents: Sequence[str] = (),
        fingerprints: Sequence[tuple[str, str, int]] = (),
        secret: str | None = None,
    ) -> Entry:
        """Append one entry in one transaction."""
        req = AppendRequest(kind, body, entry_id, outputs, inputs, parents, fingerprints, secret)
        return self.append_many([req])[0]

    def append_many(
        self,
        items: Sequence[AppendRequest],
        *,
        checkpoint: bool = True,
        before_commit: Callable[[], None] | None = None,
    ) -> list[Entry]:
        """All or nothing, in ONE transaction (``before_commit`` runs before it is durable; raising,
        none is); ``checkpoint=False``: the caller checkpoints after its work (nothing stranded)."""
        entries = self.appender.append_many(items, before_commit)
        if checkpoint:
            self.maybe_checkpoint(entries)
        return entries

    def maybe_checkpoint(self, entries: Sequence[Entry]) -> None:
        """Sign a checkpoint if one is due, ``entries`` just appended (their indices: the size)."""
        self.checkpointer.maybe(entries[-1].index + 1 if entries else 0)

    def erase_secret(self, entry_id: str, *, reason: str, actor: str) -> Entry:
        """Delete an entry's secret text and log the erasure; the tree is untouched."""
        if self.get(entry_id) is None:
            raise UnknownEntryError(f"no entry {entry_id}")
        req = AppendRequest("erasure", {"erased": entry_id, "reason": reason, "actor": actor})
        entry = self.appender.erase_secret(entry_id, req)
        self.checkpointer.maybe(entry.index + 1)
        return entry

    # --- reading ---------------------------------------------------------------------------

    def get(self, entry_id: str) -> Entry | None:
        return self.reader.get(entry_id)

    def at(self, index: int) -> Entry:
        return self.reader.at(index)

    def find_by_output(self, sha256_hex: str) -> list[Entry]:
        return self.reader.by_artifact(sha256_hex, "output")

    def find_by_outputs(self, sha256_hexes: Sequence[str]) -> dict[str, list[Entry]]:
        return self.reader.by_artifacts(sha256_hexes, "output")

    def find_by_input(self, sha256_hex: str) -> list[Entry]:
        return self.reader.by_artifact(sha256_hex, "input")

    def children(self, entry_id: str) -> list[Entry]:
        return self.reader.children(entry_id)

    def lineage(self, entry_id: str) -> list[Entry]:
        """The entry and all its ancestors through ``parents``, each once, nearest first."""
        return self.reader.lineage(entry_id)

    def recent(self, limit: int = 20) -> list[Entry]:
        return self.reader.recent(limit)

    def iter_entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] | None = None,
    ) -> Iterator[Entry]:
        """Entries in index order (``since <= time < until``), streamed in pages."""
        return self.reader.iter_entries(since=since, until=until, kinds=kinds)

    def secret(self, entry_id: str) -> str | None:
        return self.reader.secret(entry_id)

    def fingerprints_of(self, output_sha256: str) -> dict[str, int]:
        return self.reader.fingerprints_of(output_sha256)

    def search_fingerprints(
        self, kind: str, value: int, max_distance: int, limit: int = 10
    ) -> list[Hit]:
        """Nearest stored fingerprints of ``kind`` by Hamming distance, closest first."""
        from ledger.fingerprint_index import index_for  # numpy: only for searches

        return index_for(self, kind).search(value, max_distance, limit)

    # --- proofs and checkpoints ------------------------------------------------------------

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        return self.proofs.inclusion(index, tree_size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return self.proofs.consistency(old, new)

    def root(self, tree_size: int | None = None) -> bytes:
        return self.proofs.root(tree_size)

    def latest_checkpoint(self) -> Checkpoint | None:
        return self.checkpointer.latest()

    def witnessed_note(self, size: int | None = None) -> str | None:
        """The newest checkpoint note (of tree ``size``) with the witnesses' cosignatures."""
        return self.checkpointer.witnessed_note(size)

    @property
    def witness_result(self) -> WitnessingResult | None:
        """What the last checkpoint's submission to the witnesses got (None: none was made)."""
        return self.checkpointer.witness_result

    def checkpoints(self) -> list[Checkpoint]:
        return self.checkpointer.all()

    def checkpoint(self) -> Checkpoint:
        """Sign and store a checkpoint of the current tree, after proving it extends the last one."""
        return self.checkpointer.sign()

    def adopt_checkpoint(self, *, reason: str, actor: str) -> Checkpoint:
        """Re-create a lost signer memory from the newest stored checkpoint (logged)."""
        return self.checkpointer.adopt(reason=reason, actor=actor)

    def receipt(self, entry_id: str) -> str:
        return self.checkpointer.receipt(self.reader, entry_id)

    # --- audit and export ------------------------------------------------------------------

    def audit(
        self, *, verifier_key: str | None = None, tsa_anchors: Sequence[x509.Certificate] = ()
    ) -> AuditReport:
        """Full audit. Checkpoint signatures are checked with ``verifier_key`` (the caller's
        pinned key; default: this ledger's own log key, if opened with it); stored checkpoint
        timestamps too (chained to ``tsa_anchors`` when given)."""
        from ledger.audit import audit

        return audit(self, verifier_key=verifier_key or self.verifier_key, tsa_anchors=tsa_anchors)

    def export(self, out: TextIO) -> int:
        """Write every entry as one JSON line ``{"index", "leaf_hash", "leaf"}``; returns the count."""
        from ledger.audit.export import export

        return export(self, out)
