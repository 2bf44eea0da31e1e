"""The ledger: appends, lookups, lineage, secrets, fingerprints, checkpoints and proofs.

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

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, bindparam, delete, insert, or_, select
from sqlalchemy.exc import DatabaseError, DBAPIError, IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from ledger import merkle
from ledger._sqlite_writer import SqliteWriter
from ledger.checkpoint import Checkpoint, open_checkpoint, verifier_key
from ledger.entry import (
    AppendRequest,
    Entry,
    build_entry,
    check_request,
    entry_from_leaf,
    new_entry_id,
    signed64,
    to_micros,
)
from ledger.errors import (
    InvalidEntryError,
    LedgerError,
    LedgerExistsError,
    LedgerIntegrityError,
    NoLogKeyError,
    NotALedgerError,
    UnknownEntryError,
    WrongLogKeyError,
)
from ledger.models import ARTIFACT as A
from ledger.models import CHECKPOINT as C
from ledger.models import ENTRY as E
from ledger.models import FINGERPRINT as F
from ledger.models import HEAD as H
from ledger.models import META as M
from ledger.models import NODE as N
from ledger.models import PARENT as P
from ledger.models import SECRET as S
from ledger.schema import (
    check_sqlite_file,
    current_revision,
    db_error,
    make_engine,
    sqlite_path,
    upgrade,
)
from ledger.timestamp import ENV_TSA_URL

if TYPE_CHECKING:
    from cryptography import x509

    from ledger.audit import AuditReport
    from ledger.checkpoint_timestamps import Stamper


@dataclass(frozen=True)
class FingerprintMatch:
    entry_id: str
    output: str
    kind: str
    value: int
    distance: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def frontier_levels(size: int) -> list[int]:
    """Levels of the perfect subtrees covering ``[0, size)``, largest first."""
    return [b for b in range(size.bit_length() - 1, -1, -1) if size >> b & 1]


def _split_frontier(blob: bytes) -> list[bytes]:
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]


_SQL = {
    "head": "SELECT size, frontier, last_ts FROM ledger_head WHERE id = 1{lock}",
    "parents": "SELECT entry_id FROM ledger_entry WHERE entry_id IN ({marks})",
    "entry": "INSERT INTO ledger_entry (idx, entry_id, kind, ts, leaf) VALUES (?, ?, ?, ?, ?)",
    "node": "INSERT INTO ledger_node (pos, hash) VALUES (?, ?)",
    "artifact": "INSERT INTO ledger_artifact (entry_idx, role, sha256) VALUES (?, ?, ?)",
    "parent": "INSERT INTO ledger_parent (child_idx, parent_id) VALUES (?, ?)",
    "secret": "INSERT INTO ledger_secret (entry_id, salt, text) VALUES (?, ?, ?)",
    "fingerprint": "INSERT INTO ledger_fingerprint (entry_id, output, kind, value) VALUES (?, ?, ?, ?)",
    "set_head": "UPDATE ledger_head SET size = ?, frontier = ?, last_ts = ? WHERE id = 1",
    "mark": "?",
}
# SQLite's BEGIN IMMEDIATE already holds the write lock; elsewhere the head row is locked.
_SQL_SQLITE = {k: v.replace("{lock}", "") for k, v in _SQL.items()}
_SQL_OTHER = {k: v.replace("{lock}", " FOR UPDATE").replace("?", "%s") for k, v in _SQL.items()}


class _FingerprintCache:
    """All values of one kind as a numpy array, topped up with rows added since the last look."""

    def __init__(self) -> None:
        self.last_id = 0
        self.values: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
        self.refs: list[tuple[str, str]] = []


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
    ) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._writer = self.engine.execution_options(ledger_write=True)
        self._dbapi: Any = self.engine.dialect.dbapi  # its errors, raised by the raw append path
        # SQLite files get their own append connection: SQLAlchemy's transaction machinery cost
        # more than the durable commit itself (bench/bench_ledger.py). In-memory databases and
        # URLs with options keep the engine, whose connections are the only view of them.
        path = sqlite_path(url)
        plain = path is not None and not self.engine.url.query
        self._raw = SqliteWriter(path) if plain and path is not None else None
        self._key = log_key
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self._fp: dict[str, _FingerprintCache] = {}
        self._ts_ordered_from = 0  # entries from here on have non-decreasing times (schema 0004)
        self.origin = ""
        self._last_cp: tuple[int, float] = (0, time.time())
        # RFC 3161 timestamps on new checkpoints: None = PROVENANCE_TSA_URL, "" = none.
        self.tsa_url = os.environ.get(ENV_TSA_URL, "") if tsa_url is None else tsa_url
        self._stamper: Stamper | None = None
        if self.tsa_url:
            from ledger.checkpoint_timestamps import Stamper

            self._stamper = Stamper(self.tsa_url)
        self.timestamp_error: str | None = None  # why the last checkpoint got no timestamp

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        url: str,
        *,
        origin: str,
        log_key: Ed25519PrivateKey | None = None,
        tsa_url: str | None = None,
    ) -> Ledger:
        """A new ledger at ``url`` (schema by migration); refuses an existing ledger with data."""
        if not origin or any(c.isspace() for c in origin) or "+" in origin:
            raise LedgerError(f"origin {origin!r}: must be non-empty, without spaces or '+'")
        check_sqlite_file(url, must_exist=False)
        led = cls(
            url, log_key=log_key, checkpoint_every=None, checkpoint_interval=None, tsa_url=tsa_url
        )
        with _closed_on_error(led, url), led._writer.begin() as conn:
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
    ) -> Ledger:
        """An existing ledger; ``log_key=None`` opens it without the power to sign checkpoints.

        ``tsa_url``: an RFC 3161 TSA that timestamps each new checkpoint (default: the
        ``PROVENANCE_TSA_URL`` environment variable; ``""`` turns it off).
        """
        check_sqlite_file(url, must_exist=True)
        led = cls(
            url,
            log_key=log_key,
            checkpoint_every=checkpoint_every,
            checkpoint_interval=checkpoint_interval,
            tsa_url=tsa_url,
        )
        with _closed_on_error(led, url), led._writer.begin() as conn:
            rev = current_revision(conn, url)
            if rev is None:
                raise NotALedgerError(f"{url}: no ledger here; run `provenance init` first")
            upgrade(conn)  # a no-op at head; older ledgers are brought up to date
            meta = {str(k): str(v) for k, v in conn.execute(select(M.c.key, M.c.value))}
            if "origin" not in meta or conn.execute(select(H.c.size)).scalar() is None:
                raise NotALedgerError(f"{url}: ledger tables are incomplete")
            led.origin = meta["origin"]
            led._ts_ordered_from = int(meta.get("ts_ordered_from", "0"))
            if log_key is not None:
                vk = verifier_key(log_key, led.origin)
                stored = meta.get("verifier_key")
                if stored is None:
                    conn.execute(insert(M).values(key="verifier_key", value=vk))
                elif stored != vk:
                    raise WrongLogKeyError(
                        f"log key does not belong to ledger {led.origin!r} (its key is {stored.split('+')[1]})"
                    )
            last = conn.execute(select(C.c.size, C.c.ts).order_by(C.c.id.desc()).limit(1)).first()
            if last is not None:
                led._last_cp = (int(last[0]), last[1] / 1e6)
        return led

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------

    @property
    def size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(H.c.size).where(H.c.id == 1)).scalar_one())

    @property
    def verifier_key(self) -> str | None:
        """The log's public key in signed-note form, once known."""
        if self._key is not None:
            return verifier_key(self._key, self.origin)
        with self.engine.connect() as conn:
            return conn.execute(select(M.c.value).where(M.c.key == "verifier_key")).scalar()

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

    def append_many(self, items: Sequence[AppendRequest]) -> list[Entry]:
        """Append several entries in ONE transaction (all or nothing)."""
        for req in items:
            check_request(req)
        try:
            if self._raw is not None:
                entries = self._raw.run(lambda cur: self._append_rows(cur, _SQL_SQLITE, items))
            else:
                with self._writer.begin() as conn:
                    entries = self._append_tx(conn, items)
        except (IntegrityError, self._dbapi.IntegrityError) as e:
            raise InvalidEntryError(
                f"entry id already in the ledger ({getattr(e, 'orig', e)})"
            ) from e
        except DatabaseError as e:
            raise db_error(self.url, e) from e
        except self._dbapi.DatabaseError as e:  # from the raw writer: wrapped as the engine would
            raise db_error(self.url, DBAPIError.instance(None, None, e, self._dbapi.Error)) from e
        self._maybe_checkpoint(entries[-1].index + 1 if entries else 0)
        return entries

    def _append_tx(self, conn: Connection, items: Sequence[AppendRequest]) -> list[Entry]:
        # Raw DB-API statements inside the caller's transaction: the ORM/Core layer cost more per
        # append than the SQL itself (see bench/bench_ledger.py).
        sql = _SQL_SQLITE if self.engine.dialect.name == "sqlite" else _SQL_OTHER
        cur = conn.connection.cursor()
        try:
            return self._append_rows(cur, sql, items)
        finally:
            cur.close()

    def _append_rows(
        self, cur: Any, sql: dict[str, str], items: Sequence[AppendRequest]
    ) -> list[Entry]:
        # The head row lock serialises writers: no fork, no gap, whatever the process count.
        cur.execute(sql["head"])
        size, blob, last_ts = cur.fetchone()
        size, blob = int(size), bytes(blob)
        if len(blob) != 32 * size.bit_count():  # one hash per perfect subtree covering [0, size)
            raise LedgerIntegrityError(
                "head row's subtree hashes do not fit its size; run `provenance ledger audit`"
            )
        self._check_parents(cur, sql, items)
        entry_rows: list[tuple[Any, ...]] = []
        nodes: list[tuple[int, bytes]] = []
        artifacts: list[tuple[int, str, str]] = []
        links: list[tuple[int, str]] = []
        secrets: list[tuple[str, bytes, str]] = []
        fps: list[tuple[str, str, str, int]] = []
        entries: list[Entry] = []
        now = datetime.now(UTC)
        ts = to_micros(now)
        if (
            ts < last_ts
        ):  # the clock stepped back: keep times in index order (time ranges rely on it)
            ts = int(last_ts)
            now = _EPOCH + timedelta(microseconds=ts)
        sha = hashlib.sha256
        for req in items:
            eid = req.entry_id or new_entry_id()
            secret_hash = None
            if req.secret is not None:
                salt = os.urandom(16)
                # Salted so an erased prompt cannot be recovered by guessing against the leaf.
                secret_hash = sha(salt + req.secret.encode()).hexdigest()
                secrets.append((eid, salt, req.secret))
            entry = build_entry(
                size,
                eid,
                req.kind,
                now,
                req.body,
                outputs=req.outputs,
                inputs=req.inputs,
                parents=req.parents,
                fingerprints=req.fingerprints,
                secret_hash=secret_hash,
            )
            entry_rows.append((size, eid, req.kind, ts, entry.leaf))
            # Leaf `size` completes one perfect subtree per trailing 1 bit of `size`: it folds in
            # that many frontier hashes (smallest last), and every node it completes is keyed
            # size * 64 + level (ledger.merkle.node_key).
            acc, key = entry.leaf_hash, size * 64
            nodes.append((key, acc))
            for level in range(1, ((size ^ (size + 1)).bit_length())):
                acc = sha(b"\x01" + blob[-32:] + acc).digest()
                blob = blob[:-32]
                nodes.append((key + level, acc))
            blob += acc
            if req.outputs or req.inputs:
                artifacts += [(size, "output", o) for o in dict.fromkeys(req.outputs)]
                artifacts += [(size, "input", i) for i in dict.fromkeys(req.inputs)]
            if req.parents:
                links += [(size, p) for p in dict.fromkeys(req.parents)]
            if req.fingerprints:
                fps += [(eid, o, k, signed64(v)) for o, k, v in req.fingerprints]
            entries.append(entry)
            size += 1
        for name, data in (
            ("entry", entry_rows),
            ("node", nodes),
            ("artifact", artifacts),
            ("parent", links),
            ("secret", secrets),
            ("fingerprint", fps),
        ):
            if len(data) == 1:
                cur.execute(sql[name], data[0])
            elif data:
                cur.executemany(sql[name], data)
        cur.execute(sql["set_head"], (size, blob, ts))
        return entries

    @staticmethod
    def _check_parents(cur: Any, sql: dict[str, str], items: Sequence[AppendRequest]) -> None:
        if not any(req.parents for req in items):
            return
        batch_ids = {req.entry_id for req in items if req.entry_id is not None}
        wanted = sorted({p for req in items for p in req.parents} - batch_ids)
        if wanted:
            marks = ",".join([sql["mark"]] * len(wanted))
            cur.execute(sql["parents"].replace("{marks}", marks), wanted)
            missing = sorted(set(wanted) - {str(r[0]) for r in cur.fetchall()})
            if missing:
                raise UnknownEntryError(f"parent entry {missing[0]} is not in the ledger")

    # --- reading ---------------------------------------------------------------------------

    def _entries(self, stmt: Any) -> list[Entry]:
        with self.engine.connect() as conn:
            return [entry_from_leaf(bytes(leaf)) for leaf in conn.execute(stmt).scalars()]

    def _raw_read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        assert self._raw is not None
        try:
            return self._raw.read(sql, params)
        except self._dbapi.Error as e:
            raise db_error(self.url, e) from e

    def _raw_entries(self, sql: str, params: tuple[object, ...]) -> list[Entry]:
        return [entry_from_leaf(bytes(row[0])) for row in self._raw_read(sql, params)]

    def get(self, entry_id: str) -> Entry | None:
        if self._raw is not None:
            found = self._raw_entries(
                "SELECT leaf FROM ledger_entry WHERE entry_id = ?", (entry_id,)
            )
        else:
            found = self._entries(select(E.c.leaf).where(E.c.entry_id == entry_id))
        return found[0] if found and found[0].id == entry_id else None

    def at(self, index: int) -> Entry:
        found = (
            self._raw_entries("SELECT leaf FROM ledger_entry WHERE idx = ?", (index,))
            if self._raw is not None
            else self._entries(select(E.c.leaf).where(E.c.idx == index))
        )
        if not found:
            raise UnknownEntryError(f"no entry at index {index} (ledger size {self.size})")
        return found[0]

    def _by_artifact(self, sha256: str, role: str) -> list[Entry]:
        if self._raw is not None:
            return self._raw_entries(
                "SELECT e.leaf FROM ledger_entry e JOIN ledger_artifact a ON a.entry_idx = e.idx "
                "WHERE a.sha256 = ? AND a.role = ? ORDER BY e.idx",
                (sha256.lower(), role),
            )
        return self._entries(
            select(E.c.leaf)
            .join(A, A.c.entry_idx == E.c.idx)
            .where(A.c.sha256 == sha256.lower(), A.c.role == role)
            .order_by(E.c.idx)
        )

    def find_by_output(self, sha256_hex: str) -> list[Entry]:
        return self._by_artifact(sha256_hex, "output")

    def find_by_input(self, sha256_hex: str) -> list[Entry]:
        return self._by_artifact(sha256_hex, "input")

    def children(self, entry_id: str) -> list[Entry]:
        return self._entries(
            select(E.c.leaf)
            .join(P, P.c.child_idx == E.c.idx)
            .where(P.c.parent_id == entry_id)
            .order_by(E.c.idx)
        )

    def lineage(self, entry_id: str) -> list[Entry]:
        """The entry and all its ancestors through ``parents``, each once, nearest first."""
        start = self.get(entry_id)
        if start is None:
            raise UnknownEntryError(f"no entry {entry_id}")
        out, seen, queue = [start], {start.id}, list(start.parents)
        while queue:
            pid = queue.pop(0)
            if pid in seen:
                continue
            seen.add(pid)
            parent = self.get(pid)
            if parent is not None:
                out.append(parent)
                queue.extend(parent.parents)
        return out

    def recent(self, limit: int = 20) -> list[Entry]:
        return self._entries(select(E.c.leaf).order_by(E.c.idx.desc()).limit(limit))

    def iter_entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] | None = None,
    ) -> Iterator[Entry]:
        """Entries in index order, fetched in pages so a large ledger streams."""
        lo_ts = None if since is None else to_micros(since)
        hi_ts = None if until is None else to_micros(until)
        with self.engine.connect() as conn:
            size = int(conn.execute(select(H.c.size).where(H.c.id == 1)).scalar_one())
            ordered = min(self._ts_ordered_from, size)
            # Times are in index order from `ordered` on: the time range is an index range there.
            lo = ordered if lo_ts is None else self._first_at(conn, ordered, size, lo_ts)
            hi = size if hi_ts is None else self._first_at(conn, lo, size, hi_ts)
        in_range: ColumnElement[bool] = E.c.idx.between(lo, hi - 1)
        if ordered:  # older entries (clock steps allowed): a filtered scan of that prefix
            old: ColumnElement[bool] = E.c.idx < ordered
            if lo_ts is not None:
                old = old & (E.c.ts >= lo_ts)
            if hi_ts is not None:
                old = old & (E.c.ts < hi_ts)
            in_range = or_(old, in_range)
        last = -1
        while True:
            stmt = (
                select(E.c.leaf, E.c.idx)
                .where(E.c.idx > last, in_range)
                .order_by(E.c.idx)
                .limit(1000)
            )
            if kinds is not None:
                stmt = stmt.where(E.c.kind.in_(list(kinds)))
            with self.engine.connect() as conn:
                page = conn.execute(stmt).all()
            if not page:
                return
            for leaf, idx in page:
                yield entry_from_leaf(bytes(leaf))
                last = int(idx)

    @staticmethod
    def _first_at(conn: Connection, lo: int, hi: int, ts: int) -> int:
        """The first index in ``[lo, hi)`` whose time is >= ``ts`` (``hi`` if none), by bisection."""
        stmt = select(E.c.ts).where(E.c.idx == bindparam("i"))
        while lo < hi:
            mid = (lo + hi) // 2
            got = conn.execute(stmt, {"i": mid}).scalar()
            if got is None:
                raise LedgerIntegrityError(f"entry {mid} is missing; run `provenance ledger audit`")
            if int(got) < ts:
                lo = mid + 1
            else:
                hi = mid
        return lo

    # --- secrets ---------------------------------------------------------------------------

    def secret(self, entry_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(S.c.text).where(S.c.entry_id == entry_id)).scalar()

    def erase_secret(self, entry_id: str, *, reason: str, actor: str) -> Entry:
        """Delete an entry's secret text and log the erasure; the tree is untouched."""
        if self.get(entry_id) is None:
            raise UnknownEntryError(f"no entry {entry_id}")
        req = AppendRequest("erasure", {"erased": entry_id, "reason": reason, "actor": actor})
        check_request(req)
        with self._writer.begin() as conn:
            gone = conn.execute(delete(S).where(S.c.entry_id == entry_id)).rowcount
            if not gone:
                raise UnknownEntryError(f"entry {entry_id} has no secret text to erase")
            entry = self._append_tx(conn, [req])[0]
        self._maybe_checkpoint(entry.index + 1)
        return entry

    # --- fingerprints ----------------------------------------------------------------------

    def fingerprints_of(self, output_sha256: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(F.c.kind, F.c.value).where(F.c.output == output_sha256).order_by(F.c.id)
            ).all()
        return {str(k): int(v) for k, v in rows}

    def search_fingerprints(
        self, kind: str, value: int, max_distance: int, limit: int = 10
    ) -> list[FingerprintMatch]:
        """Nearest stored fingerprints of ``kind`` by Hamming distance, closest first."""
        cache = self._fp.setdefault(kind, _FingerprintCache())
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(F.c.id, F.c.entry_id, F.c.output, F.c.value)
                .where(F.c.kind == kind, F.c.id > cache.last_id)
                .order_by(F.c.id)
            ).all()
        if rows:
            new = np.array([int(r[3]) for r in rows], dtype=np.int64).view(np.uint64)
            cache.values = np.concatenate([cache.values, new])
            cache.refs += [(str(r[1]), str(r[2])) for r in rows]
            cache.last_id = int(rows[-1][0])
        if not cache.refs:
            return []
        target = np.array([signed64(value & (2**64 - 1))], dtype=np.int64).view(np.uint64)[0]
        dist = np.bitwise_count(cache.values ^ target)
        hits = np.nonzero(dist <= max_distance)[0]
        hits = hits[np.argsort(dist[hits], kind="stable")][:limit]
        return [
            FingerprintMatch(
                cache.refs[i][0], cache.refs[i][1], kind, int(cache.values[i]), int(dist[i])
            )
            for i in hits
        ]

    # --- proofs and checkpoints ------------------------------------------------------------

    def _perfect(self, conn: Connection, nodes: list[merkle.Node]) -> dict[merkle.Node, bytes]:
        keys = {merkle.node_key(lv, ix): (lv, ix) for lv, ix in nodes}
        if not keys:
            return {}
        got = conn.execute(select(N.c.pos, N.c.hash).where(N.c.pos.in_(list(keys)))).all()
        out = {keys[int(p)]: bytes(h) for p, h in got}
        if len(out) != len(keys):
            raise LedgerIntegrityError(
                "stored subtree hashes are missing; run `provenance ledger audit`"
            )
        return out

    def _hashes(self, conn: Connection, ranges: list[merkle.Range]) -> list[bytes]:
        pieces = [merkle.perfect_pieces(lo, hi) for lo, hi in ranges]
        found = self._perfect(conn, [p for ps in pieces for p in ps])
        return [merkle.fold_pieces([found[p] for p in ps]) for ps in pieces]

    def _check_size(self, conn: Connection, tree_size: int) -> None:
        size = int(conn.execute(select(H.c.size).where(H.c.id == 1)).scalar_one())
        if not 0 <= tree_size <= size:
            raise LedgerError(f"tree size {tree_size}: the ledger has {size} entries")

    def _raw_hashes(self, tree_size: int, ranges: list[merkle.Range]) -> list[bytes]:
        """:meth:`_hashes` and :meth:`_check_size` in one read, on the SQLite file's connection."""
        pieces = [merkle.perfect_pieces(lo, hi) for lo, hi in ranges]
        keys = {merkle.node_key(lv, ix): (lv, ix) for ps in pieces for lv, ix in ps}
        marks = ",".join("?" * len(keys))
        rows = self._raw_read(
            "SELECT -1, size FROM ledger_head WHERE id = 1 UNION ALL "
            f"SELECT pos, hash FROM ledger_node WHERE pos IN ({marks or 'NULL'})",
            tuple(keys),
        )
        size = next((int(v) for p, v in rows if p == -1), 0)
        if not 0 <= tree_size <= size:
            raise LedgerError(f"tree size {tree_size}: the ledger has {size} entries")
        found = {keys[int(p)]: bytes(h) for p, h in rows if p != -1}
        if len(found) != len(keys):
            raise LedgerIntegrityError(
                "stored subtree hashes are missing; run `provenance ledger audit`"
            )
        return [merkle.fold_pieces([found[p] for p in ps]) for ps in pieces]

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        if not 0 <= index < tree_size:
            raise LedgerError(f"index {index}: not in a tree of size {tree_size}")
        if self._raw is not None:
            return self._raw_hashes(tree_size, merkle.inclusion_ranges(index, tree_size))
        with self.engine.connect() as conn:
            self._check_size(conn, tree_size)
            return self._hashes(conn, merkle.inclusion_ranges(index, tree_size))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        if not 0 <= old <= new:
            raise LedgerError(f"no consistency proof from size {old} to {new}")
        if self._raw is not None:
            return self._raw_hashes(new, merkle.consistency_ranges(old, new))
        with self.engine.connect() as conn:
            self._check_size(conn, new)
            return self._hashes(conn, merkle.consistency_ranges(old, new))

    def root(self, tree_size: int | None = None) -> bytes:
        with self.engine.connect() as conn:
            if tree_size is None:
                blob = conn.execute(select(H.c.frontier).where(H.c.id == 1)).scalar_one()
                return merkle.fold_pieces(_split_frontier(bytes(blob)))
            self._check_size(conn, tree_size)
            return self._hashes(conn, [(0, tree_size)])[0] if tree_size else merkle.EMPTY_ROOT

    def latest_checkpoint(self) -> Checkpoint | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(C.c.size, C.c.root, C.c.note).order_by(C.c.id.desc()).limit(1)
            ).first()
        return None if row is None else Checkpoint(self.origin, int(row[0]), bytes(row[1]), row[2])

    def checkpoints(self) -> list[Checkpoint]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(C.c.size, C.c.root, C.c.note).order_by(C.c.id)).all()
        return [Checkpoint(self.origin, int(s), bytes(r), n) for s, r, n in rows]

    def checkpoint(self) -> Checkpoint:
        """Sign and store a checkpoint of the current tree, after proving it extends the last one."""
        if self._key is None:
            raise NoLogKeyError(
                "cannot sign a checkpoint: the ledger was opened without its log key"
            )
        vkey = verifier_key(self._key, self.origin)
        retry: int | None = None
        self.timestamp_error = None
        with self._writer.begin() as conn:
            head = conn.execute(
                select(H.c.size, H.c.frontier).where(H.c.id == 1).with_for_update()
            ).one()
            size, root = int(head[0]), merkle.fold_pieces(_split_frontier(bytes(head[1])))
            last = conn.execute(
                select(C.c.size, C.c.root, C.c.note, C.c.id).order_by(C.c.id.desc()).limit(1)
            ).first()
            if last is not None:
                prev = open_checkpoint(last[2], vkey)
                if (prev.size, prev.root) != (int(last[0]), bytes(last[1])):
                    raise LedgerIntegrityError("last checkpoint row disagrees with its signed note")
                if prev.size > size:
                    raise LedgerIntegrityError(
                        f"last checkpoint covers {prev.size} entries but the ledger has {size}"
                    )
                proof = self._hashes(conn, merkle.consistency_ranges(prev.size, size))
                if not merkle.verify_consistency(prev.size, size, prev.root, root, proof):
                    raise LedgerIntegrityError(
                        f"tree at size {size} is not consistent with the checkpoint at size "
                        f"{prev.size}; refusing to sign (run `provenance ledger audit`)"
                    )
                if prev.size == size:
                    self._last_cp = (size, time.time())
                    retry = int(last[3])
            if retry is None:
                note = Checkpoint(self.origin, size, root).sign(self._key)
                cid = conn.execute(
                    insert(C)
                    .values(size=size, root=root, note=note, ts=time.time_ns() // 1000)
                    .returning(C.c.id)
                ).scalar_one()
        if retry is not None:  # nothing new: give an untimestamped checkpoint another chance
            if self._stamper is not None and not self._stamper.has_token(self, retry):
                self.timestamp_error = self._stamper.stamp(self, retry, prev.note, retry=True)
            return prev
        self._last_cp = (size, time.time())
        if self._stamper is not None:  # after the commit: the TSA is never asked under the lock
            self.timestamp_error = self._stamper.stamp(self, int(cid), note)
        return Checkpoint(self.origin, size, root, note)

    def _maybe_checkpoint(self, size: int) -> None:
        if self._key is None:
            return
        last_size, last_time = self._last_cp
        due = self.checkpoint_every is not None and size - last_size >= self.checkpoint_every
        due = due or (
            self.checkpoint_interval is not None
            and size > last_size
            and time.time() - last_time >= self.checkpoint_interval
        )
        if due:
            self.checkpoint()

    # --- receipts, audit, export -----------------------------------------------------------

    def receipt(self, entry_id: str) -> str:
        from ledger.receipt import build_receipt

        entry = self.get(entry_id)
        if entry is None:
            raise UnknownEntryError(f"no entry {entry_id}")
        cp = self.latest_checkpoint()
        if cp is None or cp.size <= entry.index:
            if self._key is None:
                raise LedgerError(
                    f"no checkpoint covers entry {entry.index} yet; "
                    "run `provenance ledger checkpoint`"
                )
            cp = self.checkpoint()
        return build_receipt(entry, self.inclusion_proof(entry.index, cp.size), cp.note)

    def audit(self, *, tsa_anchors: Sequence[x509.Certificate] = ()) -> AuditReport:
        """Full audit; stored checkpoint timestamps are checked too (chained to ``tsa_anchors``
        when given)."""
        from ledger.audit import audit

        return audit(self, tsa_anchors=tsa_anchors)

    def export(self, out: TextIO) -> int:
        """Write every entry as one JSON line ``{"index", "leaf_hash", "leaf"}``; returns the count."""
        from ledger.export import export

        return export(self, out)


@contextlib.contextmanager
def _closed_on_error(led: Ledger, url: str) -> Iterator[None]:
    """Opening or creating: on any failure release the engine; database errors become ours."""
    try:
        yield
    except DatabaseError as e:
        led.engine.dispose()
        raise db_error(url, e) from e
    except BaseException:
        led.engine.dispose()
        raise
