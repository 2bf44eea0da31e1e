"""Audit reports: every ledger entry in a time window, with the signed checkpoint that covers it.

Example::

    import sys
    from provenance.compliance.report import build_report, parse_when, write_report
    from provenance.home.paths import home_from_env
    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env()) as ledger:
        report = build_report(ledger, since=parse_when("2026-01-01"))
    write_report(report, "csv", sys.stdout)

Each row names the actor, operation, backend and model, the prompt (or only its salted hash once
erased), inputs and outputs by SHA-256, and the review status of the output. Each row also carries
its leaf hash and an inclusion proof against the report's checkpoint, so :func:`check_report` (or
anyone with the log's public key) can confirm the report matches the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from ledger import Entry, Ledger
from ledger.errors import LedgerError
from ledger.proofs import is_included, signed_checkpoint
from provenance.compliance.review import REVIEW_KIND, Review, status_from
from provenance.errors import InputError, ledger_failures
from provenance.vocab import ASSET_KINDS

FORMATS = ("csv", "json", "html")
CSV_COLUMNS = (
    "index",
    "id",
    "time",
    "kind",
    "op",
    "actor",
    "backend",
    "model",
    "prompt",
    "prompt_hash",
    "prompt_status",
    "inputs",
    "outputs",
    "output_files",
    "review_status",
    "reviewer",
    "review_entry",
    "detail",
    "leaf_hash",
    "proof",
    "checkpoint_size",
    "checkpoint_root",
)


@dataclass
class AuditRow:
    """One entry of the report; field order is the JSON's key order."""

    index: int
    id: str
    time: str
    kind: str
    op: Any
    actor: Any
    backend: Any
    model: Any
    prompt: str | None
    prompt_hash: Any
    prompt_status: str  # "none", "present", "withheld" or "erased"
    inputs: list[dict[str, Any]]  # {role, sha256}
    outputs: list[str]
    output_names: list[str] = field(default_factory=list)  # the recorded file names, in order
    review_status: str | None = None
    reviewer: str | None = None
    review_entry: str | None = None
    detail: str | None = None
    leaf_hash: str = ""
    proof: list[str] = field(default_factory=list)  # hex hashes, against the report's checkpoint
    leaf: str = ""
    checkpoint_size: int = 0
    checkpoint_root: str = ""


@dataclass
class AuditTrail:
    """The rows of one report and the checkpoint that vouches for them."""

    origin: str
    since: dt.datetime
    until: dt.datetime | None
    generated_at: str
    checkpoint: dict[str, Any]
    verifier_key: str | None
    rows: list[AuditRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "report": {
                "origin": self.origin,
                "since": self.since.isoformat(),
                "until": self.until.isoformat() if self.until else None,
                "generated_at": self.generated_at,
                "count": len(self.rows),
                "checkpoint": self.checkpoint,
                "verifier_key": self.verifier_key,
            },
            "entries": [asdict(r) for r in self.rows],
        }


def parse_when(text: str, *, end: bool = False) -> dt.datetime:
    """An ISO 8601 date or date-time; a bare date is its midnight (``end``: the next midnight).

    Times without a zone are UTC.
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return start + dt.timedelta(days=1) if end else start
        when = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise InputError(
            f"date {text!r}: not an ISO 8601 date or date-time "
            "(e.g. 2026-03-01 or 2026-03-01T09:30:00Z)"
        ) from e
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@ledger_failures()  # ledger errors join the ProvenanceError family
def build_report(
    ledger: Ledger,
    *,
    since: dt.datetime,
    until: dt.datetime | None = None,
    include_prompts: bool = True,
    reviewers: Mapping[str, str] | None = None,
) -> AuditTrail:
    """Every entry with ``since <= time < until``; signs a checkpoint if none covers them yet.

    ``reviewers`` (``enrolled_reviewers(home)``) are the certificates whose signed reviews count
    for ``review_status``; an unsigned review counts as none.
    """
    if until is not None and until <= since:
        raise InputError(f"until {until.isoformat()} is not after since {since.isoformat()}")
    entries = list(ledger.iter_entries(since=since, until=until))
    cp = ledger.latest_checkpoint()
    last = entries[-1].index if entries else -1
    if cp is None or cp.size <= last:
        try:
            cp = ledger.checkpoint()
        except LedgerError as e:
            raise InputError(
                f"no signed checkpoint covers entry {last} yet and none can be signed "
                f"here ({e.diagnostics()})"
            ) from e
    reviews = _reviews_by_output(ledger, reviewers or {})
    erasures = {str(e.body.get("erased")): e for e in ledger.iter_entries(kinds=["erasure"])}
    trail = AuditTrail(
        origin=ledger.origin,
        since=since,
        until=until,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        checkpoint={"size": cp.size, "root": cp.root.hex(), "note": cp.note},
        verifier_key=ledger.verifier_key,
    )
    for entry in entries:
        proof = ledger.inclusion_proof(entry.index, cp.size)
        row = _row(ledger, entry, reviews, erasures, include_prompts)
        row.leaf_hash = entry.leaf_hash.hex()
        row.proof = [h.hex() for h in proof]
        row.leaf = entry.leaf.decode("utf-8")
        row.checkpoint_size, row.checkpoint_root = cp.size, cp.root.hex()
        trail.rows.append(row)
    return trail


def _reviews_by_output(ledger: Ledger, enrolled: Mapping[str, str]) -> dict[str, list[Review]]:
    out: dict[str, list[Review]] = {}
    for e in ledger.iter_entries(kinds=[REVIEW_KIND]):
        r = Review.from_entry(e, enrolled)
        out.setdefault(r.sha256, []).append(r)
    return out


def _row(
    ledger: Ledger,
    e: Entry,
    reviews: dict[str, list[Review]],
    erasures: dict[str, Entry],
    include_prompts: bool,
) -> AuditRow:
    b = e.body
    prompt_hash = (b.get("prompt") or {}).get("hash") if isinstance(b.get("prompt"), dict) else None
    prompt, status = None, "none"
    if e.secret_hash is not None:
        secret = ledger.secret(e.id)
        if secret is None:
            status = "erased"
        else:
            status = "present" if include_prompts else "withheld"
            prompt = _prompt_text(secret) if include_prompts else None
    row = AuditRow(
        index=e.index,
        id=e.id,
        time=e.time.isoformat(),
        kind=e.kind,
        op=b.get("op", e.kind),
        actor=b.get("actor"),
        backend=b.get("backend"),
        model=b.get("model"),
        prompt=prompt,
        prompt_hash=prompt_hash,
        prompt_status=status,
        inputs=[
            {"role": i.get("role"), "sha256": i.get("sha256")}
            for i in b.get("inputs", [])
            if isinstance(i, dict)
        ]
        or [{"role": "input", "sha256": s} for s in e.inputs],
        outputs=list(e.outputs),
        output_names=_output_names(b, len(e.outputs)),
        detail=_detail(e),
    )
    if e.id in erasures:
        er = erasures[e.id]
        row.detail = (
            f"prompt erased by entry {er.index} ({er.body.get('actor')}): {er.body.get('reason')}"
        )
    if e.kind in ASSET_KINDS and e.outputs:
        st = status_from(reviews.get(e.outputs[0], []))
        row.review_status = st.state
        if st.deciding is not None:
            row.reviewer, row.review_entry = st.deciding.verified, st.deciding.entry_id
    return row


def _output_names(body: dict[str, Any], count: int) -> list[str]:
    out = body.get("output")
    name = out.get("name") if isinstance(out, dict) else None
    return [str(name)] * min(count, 1) if name else [""] * count


def _prompt_text(secret: str) -> str:
    try:
        doc = json.loads(secret)
    except ValueError:
        return secret
    return str(doc.get("prompt")) if isinstance(doc, dict) else secret


def _detail(e: Entry) -> str | None:
    b = e.body
    if e.kind == REVIEW_KIND:
        t = b.get("target") or {}
        note = f": {b['note']}" if b.get("note") else ""
        return f"{b.get('decision')} entry {t.get('index')} sha256 {t.get('sha256')}{note}"
    if e.kind == "erasure":
        return f"erased the prompt of entry {b.get('erased')}: {b.get('reason')}"
    if b.get("refused"):
        return f"refused: {b.get('reason')}"
    return None


# -- output ----------------------------------------------------------------------------------


def write_report(
    trail: AuditTrail, fmt: str, out: TextIO, thumbnails: Mapping[str, str] | None = None
) -> None:
    """Write ``trail`` as csv, json or html (``thumbnails``: see ``report_html.find_thumbnails``)."""
    if fmt == "json":
        out.write(json.dumps(trail.to_json(), indent=2, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        out.write(_csv_line(CSV_COLUMNS))
        for row in trail.rows:
            flat = _flat(row)
            out.write(_csv_line([_csv_cell(flat[c]) for c in CSV_COLUMNS]))
    elif fmt == "html":
        from provenance.compliance.report_html import render_html

        out.write(render_html(trail, thumbnails))
    else:
        raise InputError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """OWASP's CSV-injection defence: a text cell a spreadsheet would run as a formula gets a
    leading single quote, so it is shown as text (the JSON report keeps the exact value)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv_line(values: Sequence[Any]) -> str:
    """One CSV record, quoted as the csv module's minimal quoting but also around a lone CR
    (which the csv module leaves bare when lines end in LF, splitting the row for readers)."""
    cells = []
    for v in values:
        text = str(v)
        if any(c in text for c in ',"\r\n'):
            text = '"' + text.replace('"', '""') + '"'
        cells.append(text)
    return ",".join(cells) + "\n"


def _flat(row: AuditRow) -> dict[str, Any]:
    flat = asdict(row)
    flat["inputs"] = " ".join(f"{i['role']}:{i['sha256']}" for i in row.inputs)
    flat["outputs"] = " ".join(row.outputs)
    flat["output_files"] = " ".join(row.output_names)
    flat["proof"] = " ".join(row.proof)
    return {k: ("" if v is None else v) for k, v in flat.items()}


# -- checking a report against the log -------------------------------------------------------


def check_report(doc: dict[str, Any], verifier_key: str) -> list[str]:
    """Problems found when checking a JSON report offline with the log's public key (empty: ok).

    Checks the checkpoint signature, each row's inclusion proof, and that each row says what its
    leaf says (id, index, kind, actor, outputs).
    """
    problems: list[str] = []
    meta = doc.get("report", {})
    try:
        note = meta["checkpoint"]["note"]
        signed_checkpoint(note, verifier_key)
    except (LedgerError, KeyError, TypeError) as e:
        return [f"checkpoint: {e}"]
    for row in doc.get("entries", []):
        try:
            leaf = str(row["leaf"]).encode("utf-8")
            proof = [bytes.fromhex(h) for h in row["proof"]]
            fields = json.loads(leaf)
        except (KeyError, ValueError, TypeError) as e:
            problems.append(f"row {row.get('index')}: malformed ({e})")
            continue
        if not is_included(leaf, int(row["index"]), proof, note, verifier_key):
            problems.append(f"row {row['index']}: not included in the signed checkpoint")
        body = fields.get("body", {})
        claimed = {
            "id": fields.get("id"),
            "index": fields.get("index"),
            "kind": fields.get("kind"),
            "actor": body.get("actor"),
            "outputs": fields.get("outputs"),
            "prompt_hash": (body.get("prompt") or {}).get("hash"),
        }
        for key, value in claimed.items():
            if row.get(key) != value:
                problems.append(
                    f"row {row['index']}: {key} {row.get(key)!r} differs from the "
                    f"ledger's {value!r}"
                )
    return problems
