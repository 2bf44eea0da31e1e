"""The witness itself, without HTTP: one add-checkpoint request in, one response out.

Status codes follow C2SP tlog-witness v1.0: 400 malformed body or old > new, 404 unknown
origin, 403 no valid signature by a trusted log key (or a trusted key's signature fails),
409 ``old`` is not the latest cosigned size (body: that size, ``text/x.tlog.size``) or the same
size with another root, 422 a consistency proof that does not verify, 200 cosignature lines.

Example::

    >>> import tempfile, pathlib
    >>> from ledger.checkpoint import Checkpoint, Verifier, generate_log_key, verifier_key
    >>> from ledger.merkle import EMPTY_ROOT
    >>> from ledger.witness.state import WitnessState
    >>> from ledger.witness.wire import encode_request
    >>> log = generate_log_key()
    >>> vk = Verifier.parse(verifier_key(log, "example.org/log"))
    >>> st = WitnessState(pathlib.Path(tempfile.mkdtemp()) / "s.sqlite")
    >>> w = Witness(generate_log_key(), "witness.example/w1", {vk.name: [vk]}, st)
    >>> note = Checkpoint("example.org/log", 0, EMPTY_ROOT).sign(log)
    >>> w.add_checkpoint(encode_request(0, [], note)).status
    200
    >>> r = w.add_checkpoint(encode_request(5, [], note))
    >>> r.status, r.body, r.content_type
    (400, b'old size 5 is larger than the checkpoint size 0\\n', 'text/plain; charset=utf-8')
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.checkpoint import Checkpoint, Verifier, parse_checkpoint_body, parse_note
from ledger.errors import MalformedNoteError
from ledger.witness.cosignature import make_cosignature, witness_vkey
from ledger.witness.state import Tree, WitnessState
from ledger.witness.wire import SIZE_CONTENT_TYPE, AddCheckpointRequest, BadRequestError
from ledger.witness.wire import parse_request as parse_wire

log = logging.getLogger("ledger.witness")
_TEXT = "text/plain; charset=utf-8"
_DASH = "\u2014 "


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = _TEXT


def _err(status: int, message: str) -> Response:
    return Response(status, (message + "\n").encode())


def _conflict(size: int) -> Response:
    return Response(409, f"{size}\n".encode(), SIZE_CONTENT_TYPE)


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class Witness:
    """Cosigns checkpoints of the logs it knows, only ever forwards along consistent trees."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        name: str,
        logs: Mapping[str, Sequence[Verifier]],
        state: WitnessState,
    ) -> None:
        self.key, self.name, self.state = key, name, state
        self.logs = {origin: list(keys) for origin, keys in logs.items()}
        self.vkey = witness_vkey(key, name)

    def add_checkpoint(self, raw: bytes) -> Response:
        try:
            return self._add(raw)
        except _Refused as r:
            return r.response

    def _parse(self, raw: bytes) -> tuple[AddCheckpointRequest, str, Checkpoint, str]:
        """The request, the note body, the checkpoint and the log signature lines that verify."""
        try:
            req = parse_wire(raw)
            body, sigs = parse_note(req.note)
            cp = parse_checkpoint_body(body)
        except (BadRequestError, MalformedNoteError) as e:
            raise _Refused(_err(400, str(e))) from e
        trusted = self.logs.get(cp.origin)
        if trusted is None:
            raise _Refused(_err(404, f"unknown log origin {cp.origin!r}"))
        verified: list[str] = []
        for name, kid, sig in sigs:
            for v in trusted:
                if (name, kid) != (v.name, v.key_id):
                    continue
                try:
                    v.public.verify(sig, body.encode())
                except InvalidSignature as e:
                    raise _Refused(_err(403, f"signature by log key {name!r} fails")) from e
                verified.append(f"{_DASH}{name} {base64.b64encode(kid + sig).decode()}\n")
        if not verified:
            raise _Refused(_err(403, f"no signature by a trusted key for {cp.origin!r}"))
        if req.old_size > cp.size:
            raise _Refused(
                _err(400, f"old size {req.old_size} is larger than the checkpoint size {cp.size}")
            )
        return req, body, cp, "".join(verified)

    def _add(self, raw: bytes) -> Response:
        req, body, cp, log_sigs = self._parse(raw)
        if cp.size == 0 and cp.root != merkle.EMPTY_ROOT:
            return self._refuse(req, cp, _err(422, "a size-0 checkpoint must have the empty root"))
        if req.old_size == 0 and req.proof:
            return self._refuse(req, cp, _err(422, "old size 0 takes an empty proof"))
        stored = self.state.get(cp.origin)
        current = stored.size if stored is not None else 0
        if req.old_size != current:
            return _conflict(current)
        if stored is not None:
            self._check_consistent(req, cp, stored)
        new = Tree(cp.size, cp.root)
        cosig = make_cosignature(self.key, self.name, body)
        # Kept for monitors: the body, the log signatures checked, and this cosignature only.
        kept = f"{body}\n{log_sigs}{cosig.line()}"
        if not self.state.swap(cp.origin, stored, new, kept):
            # Another request moved this log first; this one is now stale.
            latest = self.state.get(cp.origin)
            return _conflict(latest.size if latest is not None else 0)
        log.info("cosigned %s at size %d", cp.origin, cp.size)
        return Response(200, cosig.line().encode())

    def _check_consistent(self, req: AddCheckpointRequest, cp: Checkpoint, stored: Tree) -> None:
        if cp.size == stored.size:
            if cp.root != stored.root:
                # v1.0: same size, another root is a conflict (a split view: kept as evidence).
                raise _Refused(self._refuse(req, cp, _conflict(stored.size)))
            if req.proof:
                raise _Refused(self._refuse(req, cp, _err(422, "same size takes an empty proof")))
            return
        if not merkle.verify_consistency(stored.size, cp.size, stored.root, cp.root, req.proof):
            msg = f"consistency proof from size {stored.size} to {cp.size} does not verify"
            raise _Refused(self._refuse(req, cp, _err(422, msg)))

    def _refuse(self, req: AddCheckpointRequest, cp: Checkpoint, resp: Response) -> Response:
        reason = resp.body.decode().strip()
        log.warning("refused %s at size %d (HTTP %d): %s", cp.origin, cp.size, resp.status, reason)
        self.state.refuse(cp.origin, req.old_size, req.note, resp.status, reason)
        return resp
