"""The log's side of C2SP tlog-witness: submit a signed checkpoint to witnesses, collect
verified cosignatures, and never fail because a witness is down.

HTTP goes through ``httpx2`` (the OpenAI SDK's client, so already installed): one keep-alive
connection pool shared by all witnesses, every request bounded by ``timeout``.

Example (with witnesses running; see docs/witness.md)::

    result = submit_checkpoint(note, ledger.consistency_proof, witnesses, known_sizes=sizes)
    stored_note = result.cosigned_note()      # the log's note plus each witness's cosignature
    sizes.update(result.known_sizes())        # each witness's latest size, for next time
    result.failed                             # {witness name: why}, e.g. connection refused
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx2

from ledger.checkpoint import Checkpoint, parse_checkpoint_body, parse_note
from ledger.errors import LedgerError
from ledger.witness.cosignature import Cosignature, CosignerKey
from ledger.witness.wire import (
    SIZE_CONTENT_TYPE,
    BadRequestError,
    encode_request,
    parse_size_body,
)

ProofFn = Callable[[int, int], Sequence[bytes]]


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness to ask: its vkey (cosignature/v1) and its submission prefix URL."""

    vkey: str
    url: str

    @property
    def key(self) -> CosignerKey:
        return CosignerKey.parse(self.vkey)

    @property
    def name(self) -> str:
        return self.key.name


@dataclass(frozen=True)
class WitnessOutcome:
    name: str
    cosignature: Cosignature | None = None
    size: int | None = None  # the witness's latest size as far as we learnt it
    error: str | None = None
    status: int | None = None  # the last HTTP status, None when no answer came

    @property
    def down(self) -> bool:
        """No HTTP answer at all (refused connection, timeout, bad URL), as opposed to a refusal."""
        return self.error is not None and self.status is None


@dataclass
class WitnessingResult:
    note: str
    checkpoint: Checkpoint
    outcomes: dict[str, WitnessOutcome] = field(default_factory=dict)

    @property
    def cosigned(self) -> dict[str, Cosignature]:
        return {n: o.cosignature for n, o in self.outcomes.items() if o.cosignature is not None}

    @property
    def failed(self) -> dict[str, str]:
        return {n: o.error or "no cosignature" for n, o in self.outcomes.items() if o.error}

    def known_sizes(self) -> dict[str, int]:
        return {n: o.size for n, o in self.outcomes.items() if o.size is not None}

    def cosigned_note(self) -> str:
        """The note with every verified cosignature appended (witness order as given)."""
        fresh = list(self.cosigned.values())
        body, sigs = parse_note(self.note)
        # A witness's older cosignature in a resubmitted note gives way to its new one.
        stale = {(c.name, c.key_id) for c in fresh}
        kept = [
            f"\u2014 {name} {base64.b64encode(kid + sig).decode()}\n"
            for name, kid, sig in sigs
            if (name, kid) not in stale
        ]
        return body + "\n" + "".join(kept) + "".join(c.line() for c in fresh)


class _Failure(Exception):
    def __init__(self, message: str, status: int | None = None, size: int | None = None) -> None:
        super().__init__(message)
        self.status, self.size = status, size


def _post(
    client: httpx2.Client, w: WitnessEndpoint, body: bytes, timeout: float
) -> httpx2.Response:
    try:
        return client.post(
            w.url.rstrip("/") + "/add-checkpoint",
            content=body,
            headers={"Content-Type": "text/plain"},
            timeout=timeout,
        )
    except (httpx2.HTTPError, httpx2.InvalidURL) as e:
        raise _Failure(f"{type(e).__name__}: {e}".rstrip(": ")) from e


def _proof(proof: ProofFn, old: int, new: int) -> list[bytes]:
    if old == 0 or old == new:
        return []
    try:
        return list(proof(old, new))
    except (LedgerError, ValueError) as e:
        raise _Failure(f"no consistency proof from {old} to {new}: {e}", size=old) from e


def _conflict_size(resp: httpx2.Response, cp: Checkpoint) -> int:
    if resp.headers.get("content-type", "").split(";")[0].strip() != SIZE_CONTENT_TYPE:
        raise _Failure("409 without a text/x.tlog.size body", 409)
    try:
        size = parse_size_body(resp.content)
    except BadRequestError as e:
        raise _Failure(str(e), 409) from e
    if size > cp.size:
        raise _Failure(f"witness has size {size}, ahead of this checkpoint ({cp.size})", 409, size)
    return size


def _accept(resp: httpx2.Response, note: str, key: CosignerKey, cp: Checkpoint) -> Cosignature:
    try:
        found = key.find(note + resp.content.decode("utf-8"))
    except (LedgerError, UnicodeDecodeError) as e:
        raise _Failure(f"bad cosignature in the response: {e}", 200) from e
    good = [c for c in found if c.timestamp > 0]
    if not good:
        raise _Failure("response has no cosignature by the witness's key", 200)
    return max(good, key=lambda c: c.timestamp)


@dataclass(frozen=True)
class _Job:
    client: httpx2.Client
    note: str
    checkpoint: Checkpoint
    proof: ProofFn
    timeout: float


def _submit_one(job: _Job, w: WitnessEndpoint, key: CosignerKey, old: int) -> WitnessOutcome:
    note, cp = job.note, job.checkpoint
    try:
        for attempt in range(2):
            body = encode_request(old, _proof(job.proof, old, cp.size), note)
            resp = _post(job.client, w, body, job.timeout)
            if resp.status_code == 200:
                return WitnessOutcome(key.name, _accept(resp, note, key, cp), cp.size, status=200)
            if resp.status_code == 409 and attempt == 0:
                old = _conflict_size(resp, cp)
                continue
            first = resp.content.decode("utf-8", "replace").strip().split("\n")[0][:200]
            size = old if resp.status_code != 409 else None
            raise _Failure(f"HTTP {resp.status_code}: {first}", resp.status_code, size)
    except _Failure as f:
        return WitnessOutcome(key.name, None, f.size, str(f), f.status)
    raise AssertionError("unreachable")


def submit_checkpoint(
    note: str,
    proof: ProofFn,
    witnesses: Sequence[WitnessEndpoint],
    *,
    known_sizes: Mapping[str, int] | None = None,
    timeout: float = 5.0,
    client: httpx2.Client | None = None,
) -> WitnessingResult:
    """Ask every witness (in parallel) to cosign ``note``; ``proof(old, new)`` gives the
    consistency proof from a witness's last size. A 409 is retried once from the size the
    witness reports. Witnesses that are down or refuse are reported in ``failed``.

    Pass a kept ``client`` when submitting repeatedly: a new one costs a TLS context and a
    connection per call (~100 ms), a kept one reuses keep-alive connections."""
    cp = parse_checkpoint_body(parse_note(note)[0])
    keys = [w.key for w in witnesses]  # a bad vkey is the caller's error: raise before sending
    sizes = dict(known_sizes or {})
    result = WitnessingResult(note, cp)
    if not witnesses:
        return result
    own = client is None
    http = client or httpx2.Client(timeout=timeout)
    job = _Job(http, note, cp, proof, timeout)
    args = [(w, k, sizes.get(k.name, 0)) for w, k in zip(witnesses, keys, strict=True)]
    try:
        if len(args) == 1:  # no thread to start for the common one-witness case
            outs = [_submit_one(job, *args[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(16, len(args))) as pool:
                outs = list(pool.map(lambda a: _submit_one(job, *a), args))
        for out in outs:
            result.outcomes[out.name] = out
    finally:
        if own:
            http.close()
    return result
