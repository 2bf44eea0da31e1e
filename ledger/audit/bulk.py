"""Bulk audit of a ledger: whole chunks of leaves and stored nodes checked in tight loops.

A clean ledger is the common case, so this pass only answers "is the tree intact?" at close to
the hashing floor (raw DB-API cursors, no ORM rows, stored subtree hashes compared level by level
as byte blocks). On structural damage it raises :class:`StructureDamaged` and the caller runs the
row-by-row audit, which names the first bad index. It also cross-checks the index tables
(artifacts, parents, fingerprints) against the leaves, which the row-by-row audit does not.

Example::

    >>> from ledger import Ledger
    >>> from ledger.audit.bulk import check
    >>> led = Ledger.create("sqlite://", origin="example.org/log")
    >>> check(led, chunk_bits=4).index_problems
    []
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ledger import merkle
from ledger.audit.reading import paused_gc, read_cursor
from ledger.errors import LedgerError
from ledger.schema import make_engine, sqlite_path

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from ledger.storage import LedgerView

# The top-level tail of a canonical leaf, found in a chunk of leaves joined by newlines (a
# canonical leaf holds no raw newline, so only a top-level tail can end in '}\n'). RFC 8785 sorts
# keys: "body" comes first and everything after it is hex, a UUID, a kind or a time. Groups:
# fingerprints, id, index, inputs, kind, outputs, parents. Plain classes like [^"]* keep the
# regex engine on its fast paths (measured 2.5x faster than [^"\n]*+ on 65,536 leaves).
_REST = (
    rb'\],"id":"([^"]*)","index":(\d+),"inputs":\[([^\]]*)\],"kind":"([^"]*)",'
    rb'"outputs":\[([^\]]*)\],"parents":\[([^\]]*)\],"secret":(?:null|"[0-9a-f]*"),'
    rb'"time":"[^"]*","v":\d+\}\n'
)
_TAILS_NO_FP = re.compile(rb'"fingerprints":\[()' + _REST)
_TAILS = re.compile(rb'"fingerprints":\[((?:\["[0-9a-f]{64}","[a-z0-9_.-]+","-?\d+"\],?)*)' + _REST)
_NO_FP = b'"fingerprints":[],"id":"'
_FP = re.compile(rb'\["([0-9a-f]{64})","([a-z0-9_.-]+)","(-?\d+)"\]')
_IN_BATCH = 500
PARALLEL_MIN = 1 << 17  # below this a helper process costs more than it saves


class StructureDamaged(Exception):
    """Rows, stored hashes or the head disagree: the row-by-row audit must name the damage."""


@dataclass
class BulkResult:
    head_size: int
    checkpoints: list[tuple[int, int, bytes, str]]
    roots: dict[int, bytes]
    index_problems: list[tuple[int, str, str]] = field(default_factory=list)


def node_layout(start: int, count: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Keys and levels of the nodes completed by leaves ``start..start+count-1``, in key order."""
    j = np.arange(start, start + count, dtype=np.int64)
    low = (j + 1) & -(j + 1)  # lowest set bit: leaf j completes levels 0..log2(low)
    per = np.log2(low.astype(np.float64)).astype(np.int64) + 1
    first = np.cumsum(per) - per
    levels = np.arange(int(per.sum()), dtype=np.int64) - np.repeat(first, per)
    return np.repeat(j, per) * 64 + levels, levels


class _Checker:
    def __init__(self, cur: Any, chunk_bits: int, sqlite: bool, *, defer_fp: bool = False) -> None:
        self.cur, self.bits, self.sqlite = cur, chunk_bits, sqlite
        # A helper process cannot know where its range's fingerprint rows start (they follow
        # entry order by id): it hands what the leaves want to the parent, which checks in order.
        self.defer_fp = defer_fp
        self.fp_pending: list[list[tuple[str, str, str, int]]] = []
        self.high: dict[tuple[int, int], bytes] = {}  # stored nodes at level >= chunk_bits
        self.counts = {"artifact": 0, "parent": 0, "fingerprint": 0}
        self.fp_last_id = -(2**62)
        self.problems: list[tuple[int, str, str]] = []
        self.bad_tables: set[str] = set()

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        self.cur.execute(
            sql if self.sqlite else sql.replace("%", "%%").replace("?", "%s"), tuple(args)
        )
        return list(self.cur.fetchall())

    def index_problem(self, index: int, table: str, detail: str) -> None:
        if table not in self.bad_tables:  # the first bad entry per table is enough to act on
            self.bad_tables.add(table)
            self.problems.append((index, "index", detail))

    def chunk(self, s: int, m: int) -> None:
        # Id, index and kind come back as bytes, so the leaf cross-check is list equality in C.
        text = "CAST({} AS BLOB)" if self.sqlite else "convert_to({}, 'UTF8')"
        cols = ", ".join(text.format(c) for c in ("entry_id", "CAST(idx AS VARCHAR(20))", "kind"))
        rows = self.rows(
            f"SELECT idx, {cols}, leaf FROM ledger_entry WHERE idx >= ? AND idx < ? ORDER BY idx",
            (s, s + m),
        )
        if len(rows) != m:
            raise StructureDamaged(f"entries {s}..{s + m - 1}: {len(rows)} rows")
        idxs, eids, idx_texts, kinds, leaves = zip(*rows, strict=True)
        if idxs != tuple(range(s, s + m)):
            raise StructureDamaged(f"entries {s}..{s + m - 1}: rows out of place")
        if not self.sqlite:
            leaves = tuple(bytes(x) for x in leaves)
        sha = hashlib.sha256
        leaf_hashes = b"".join([sha(b"\x00" + x).digest() for x in leaves])
        blob = b"\n".join(leaves) + b"\n"
        # Most chunks of a bench ledger hold no fingerprints: a literal-prefixed regex then.
        tails = (_TAILS_NO_FP if blob.count(_NO_FP) == m else _TAILS).findall(blob)
        if len(tails) != m or (
            list(map(itemgetter(1, 2, 4), tails)) != list(zip(eids, idx_texts, kinds, strict=True))
        ):
            raise StructureDamaged(f"entries {s}..{s + m - 1}: a leaf disagrees with its row")
        self.nodes(s, m, leaf_hashes)
        self.links(s, m, tails)
        want = [
            (eid.decode(), o.decode(), k.decode(), int(v))
            for eid, t in zip(eids, tails, strict=True)
            if t[0]
            for o, k, v in _FP.findall(t[0])
        ]
        if self.defer_fp:
            self.fp_pending.append(want)
        else:
            self.fingerprints(want)

    def nodes(self, s: int, m: int, leaf_hashes: bytes) -> None:
        keys, levels = node_layout(s, m)
        lo, hi = s * 64, (s + m) * 64
        # Unique keys, all in range and all valid (level <= trailing zeros of last leaf + 1) and
        # as many as expected: exactly the expected set, checked without a Python int per row.
        n, valid, width = self.rows(
            "SELECT count(*), sum(CASE WHEN ((pos / 64) + 1) % (CAST(1 AS BIGINT) << CAST(pos % 64 AS INTEGER)) = 0 "
            "THEN 1 ELSE 0 END), sum(length(hash)) FROM ledger_node WHERE pos >= ? AND pos < ?",
            (lo, hi),
        )[0]
        if (int(n), int(valid or 0), int(width or 0)) != (len(keys), len(keys), 32 * len(keys)):
            raise StructureDamaged(f"nodes of entries {s}..{s + m - 1}: wrong keys or sizes")
        hashes = self.rows(
            "SELECT hash FROM ledger_node WHERE pos >= ? AND pos < ? ORDER BY pos", (lo, hi)
        )
        blob = b"".join(
            map(itemgetter(0), hashes) if self.sqlite else [bytes(h[0]) for h in hashes]
        )
        by_level = np.frombuffer(blob, np.uint8).reshape(-1, 32)[np.argsort(levels, kind="stable")]
        counts = np.bincount(levels)
        ends = np.cumsum(counts)
        blocks = [by_level[e - c : e] for c, e in zip(counts, ends, strict=True)]
        if blocks[0].tobytes() != leaf_hashes:
            raise StructureDamaged(f"entries {s}..{s + m - 1}: a leaf hash is wrong")
        for level in range(1, min(len(blocks), self.bits + 1)):
            c = int(counts[level])
            got = merkle.node_hashes(blocks[level - 1][: 2 * c].tobytes())
            if got != blocks[level].tobytes():
                raise StructureDamaged(f"entries {s}..{s + m - 1}: a level-{level} hash is wrong")
        for level in range(self.bits, len(blocks)):
            for k, h in enumerate(blocks[level]):
                first = (s >> level) + k if level == self.bits else ((s + m) >> level) - 1
                self.high[(level, first)] = h.tobytes()

    def check_high(self) -> None:
        for (level, i), h in self.high.items():
            if level > self.bits and h != merkle.node_hash(
                self.high[(level - 1, 2 * i)], self.high[(level - 1, 2 * i + 1)]
            ):
                raise StructureDamaged(f"stored hash at level {level}, index {i} is wrong")

    def links(self, s: int, m: int, tails: list[tuple[bytes, ...]]) -> None:
        quoted = (
            "CAST('\"' || {} || '\"' AS BLOB)"
            if self.sqlite
            else "convert_to('\"' || {} || '\"', 'UTF8')"
        )
        for table, col, value, role, group in (
            ("artifact", "entry_idx", "sha256", "input", 3),
            ("artifact", "entry_idx", "sha256", "output", 5),
            ("parent", "child_idx", "parent_id", None, 6),
        ):
            where = f"{col} >= ? AND {col} < ?" + (f" AND role = '{role}'" if role else "")
            got = self.rows(
                f"SELECT {col}, {quoted.format(value)} FROM ledger_{table} "
                f"WHERE {where} ORDER BY {col}, {value}",
                (s, s + m),
            )
            # The usual case, one digest or none per entry in leaf order, compares as two lists;
            # a list with several items (deduplicated and sorted in the table) is expanded.
            want = [(j, g) for j, g in enumerate(map(itemgetter(group), tails), s) if g]
            self.counts[table] += len(got)
            if got != want:
                self.link_detail(table, got, want)

    def link_detail(self, table: str, got: list[Any], want: list[tuple[int, bytes]]) -> None:
        items = [(j, b'"' + h + b'"') for j, g in want for h in sorted(set(g[1:-1].split(b'","')))]
        rows = [(int(j), bytes(v)) for j, v in got]
        if sorted(rows) != items:
            first = min(j for j, _ in set(rows) ^ set(items))
            self.index_problem(first, table, f"{table} rows of entry {first} do not match its leaf")

    def fingerprints(self, want: list[tuple[str, str, str, int]]) -> None:
        if not want:
            return
        self.counts["fingerprint"] += len(want)
        rows = self.rows(
            "SELECT id, entry_id, output, kind, value FROM ledger_fingerprint "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (self.fp_last_id, len(want)),
        )
        if rows:
            self.fp_last_id = int(rows[-1][0])
        got = [(str(e), str(o), str(k), int(v)) for _, e, o, k, v in rows]
        if got != want:
            # Appends insert fingerprint rows in entry order under the head lock, so ids follow it.
            bad = next((w for g, w in zip(got, want, strict=False) if g != w), want[-1])
            index = self.index_of(bad[0])
            self.index_problem(
                index, "fingerprint", f"fingerprint rows of entry {index} do not match its leaf"
            )

    def index_of(self, entry_id: str) -> int:
        found = self.rows("SELECT idx FROM ledger_entry WHERE entry_id = ?", (entry_id,))
        return int(found[0][0]) if found else -1

    def totals(self, head_size: int) -> None:
        """Rows outside every entry's range (the chunks saw only rows inside them)."""
        for table in ("artifact", "parent", "fingerprint"):
            n = int(self.rows(f"SELECT count(*) FROM ledger_{table}")[0][0])
            if n != self.counts[table]:
                self.index_problem(
                    head_size,
                    table,
                    f"{table} table holds {n} rows, "
                    f"{n - self.counts[table]} more than the entries name",
                )

    def perfect(self, nodes: set[merkle.Node]) -> dict[merkle.Node, bytes]:
        keys = {merkle.node_key(lv, ix): (lv, ix) for lv, ix in nodes}
        todo, out = sorted(keys), {}
        for i in range(0, len(todo), _IN_BATCH):
            part = todo[i : i + _IN_BATCH]
            marks = ",".join("?" * len(part))
            for p, h in self.rows(
                f"SELECT pos, hash FROM ledger_node WHERE pos IN ({marks})", part
            ):
                out[keys[int(p)]] = bytes(h)
        if len(out) != len(keys):
            raise StructureDamaged("stored subtree hashes are missing")
        return out


def check(led: LedgerView, *, chunk_bits: int = 16, workers: int | None = None) -> BulkResult:
    """Check the whole tree and the index tables in one read-only snapshot; raises
    :class:`StructureDamaged` when the row-by-row audit has to name what is wrong.

    ``workers=2`` checks the upper half of the chunks in a forked helper process with its own
    read connection (entries below the head never change, so its later snapshot sees the same
    rows); ``None`` does so for ledgers of :data:`PARALLEL_MIN` entries or more when the
    machine has two cores and fork.
    """
    with paused_gc(), read_cursor(led.engine) as cur:
        return _check(led, _Checker(cur, chunk_bits, led.engine.dialect.name == "sqlite"), workers)


def _can_fork(led: LedgerView) -> bool:
    shared = led.engine.dialect.name != "sqlite" or sqlite_path(led.url) is not None
    return shared and "fork" in mp.get_all_start_methods()  # in-memory SQLite: one connection


def _check(led: LedgerView, ck: _Checker, workers: int | None) -> BulkResult:
    size, frontier = ck.rows("SELECT size, frontier FROM ledger_head WHERE id = 1")[0]
    size, frontier = int(size), bytes(frontier)
    cps = [
        (int(i), int(s), bytes(r), str(n))
        for i, s, r, n in ck.rows("SELECT id, size, root, note FROM ledger_checkpoint ORDER BY id")
    ]
    if int(ck.rows("SELECT count(*) FROM ledger_entry")[0][0]) != size:
        raise StructureDamaged("entry count differs from the head")
    step = 1 << ck.bits
    starts = list(range(0, size, step))
    if workers is None:
        workers = 2 if size >= PARALLEL_MIN and (os.cpu_count() or 1) >= 2 else 1
    split = len(starts) // 2 if workers > 1 and len(starts) > 1 and _can_fork(led) else len(starts)
    with _Helper(led, ck, starts[split:], size) as helper:
        for s in starts[:split]:
            ck.chunk(s, min(step, size - s))
        helper.merge_into(ck)
    ck.check_high()
    ck.totals(size)
    ck.problems.sort(key=itemgetter(0))  # the parts found them out of order; first index first
    sizes = sorted({s for _, s, _, _ in cps if 0 < s <= size} | {size})
    pieces = {s: merkle.perfect_pieces(0, s) for s in sizes}
    found = ck.perfect({p for ps in pieces.values() for p in ps})
    if b"".join(found[p] for p in pieces[size]) != frontier:
        raise StructureDamaged("head row's subtree hashes do not match the tree")
    roots = {s: merkle.fold_pieces([found[p] for p in ps]) for s, ps in pieces.items()}
    roots[0] = merkle.EMPTY_ROOT
    return BulkResult(size, cps, roots, ck.problems)


class _Helper:
    """The forked process that checks ``starts`` (or nothing, when the list is empty)."""

    def __init__(self, led: LedgerView, ck: _Checker, starts: list[int], size: int) -> None:
        self.proc: BaseProcess | None = None
        if not starts:
            return
        ctx = mp.get_context("fork")
        self.recv, send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=_helper_main, args=(led.url, ck.bits, ck.sqlite, starts, size, send), daemon=True
        )
        self.proc.start()
        send.close()  # so recv() sees EOF if the helper dies

    def __enter__(self) -> _Helper:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()  # the parent's part failed: its answer is not needed
            self.proc.join()
            self.recv.close()

    def merge_into(self, ck: _Checker) -> None:
        if self.proc is None:
            return
        try:
            status, got = self.recv.recv()
        except EOFError:
            status, got = "failed", "the helper process died"
        if status == "damaged":
            raise StructureDamaged(got)
        if status == "failed":
            raise LedgerError(f"audit helper: {got}")
        high, counts, problems, pending = got
        ck.high.update(high)
        for table, n in counts.items():
            ck.counts[table] += n
        for index, _kind, detail in problems:  # details open with their table's name
            ck.index_problem(index, detail.split(" ", 1)[0], detail)
        for want in pending:
            ck.fingerprints(want)


def _helper_main(
    url: str, bits: int, sqlite: bool, starts: list[int], size: int, send: Connection
) -> None:
    engine = make_engine(url)  # never the parent's pooled connections
    try:
        with read_cursor(engine) as cur:
            ck = _Checker(cur, bits, sqlite, defer_fp=True)
            for s in starts:
                ck.chunk(s, min(1 << bits, size - s))
        send.send(("ok", (ck.high, ck.counts, ck.problems, ck.fp_pending)))
    except StructureDamaged as e:
        send.send(("damaged", str(e)))
    except Exception as e:  # reported by the parent as one line
        send.send(("failed", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"))
    finally:
        engine.dispose()
