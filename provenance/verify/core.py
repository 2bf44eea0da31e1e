"""Verification core: a file in, a :class:`VerificationReport` out. Never prints, never raises.

Example::

    from provenance.verify.policy import default_policy
    from provenance.verify.core import verify_path

    report = verify_path("photo.jpg", default_policy(None, trust=["anchors.pem"]))
    print(report.verdict, report.reasons)      # trusted ['signed by ...']
    print(report.to_json())

Verdicts (DESIGN.md): ``trusted``, ``valid_untrusted``, ``invalid``, ``no_credentials``,
``recovered``, ``error``. ``chain_ok`` says whether every ingredient in the chain validated too
(C2PA does not fail a file for a broken ancestor). :func:`require_accepted` is the raising wrapper.
Offline by default: a remote manifest is fetched only when the policy allows the network.
"""

from __future__ import annotations

import io
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.credentials.context import make_context
from provenance.credentials.read import StoreReading, read_store
from provenance.errors import VerificationError, ledger_failures
from provenance.media.hashing import sha256_bytes
from provenance.media.sniff import mime_for
from provenance.verify import chain as _chain
from provenance.verify import container as _container
from provenance.verify import ledger_check as _ledger_check
from provenance.verify.policy import TrustPolicy
from provenance.verify.report import ChainNode, LedgerCheck, Signer, StatusCode, VerificationReport
from provenance.vocab import LEDGER_ASSERTION, REQUEST_ASSERTION, Verdict, is_ai_source_type

if TYPE_CHECKING:  # Pillow loads only for files that need decoding (~15 ms of start-up)
    from PIL import Image

    from ledger import Ledger

__all__ = [
    "ChainNode",
    "LedgerCheck",
    "Signer",
    "StatusCode",
    "VerificationReport",
    "require_accepted",
    "verify_bytes",
    "verify_path",
]

MAX_FILE_BYTES = 512 * 1024 * 1024
# Hints that name the parameter to change; the CLI words them as its flags (cli/verify_cmds.py).
STRICT_CHAIN_REASON = "strict_chain policy: a broken ancestor fails this file"
NETWORK_HINT = "verify with allow_network to fetch them"
TRUST_HINT = "add its CA to the trust anchors to trust it"
_THUMB_EDGE = 320


@ledger_failures()  # ledger errors join the ProvenanceError family
def verify_path(
    path: str | Path,
    policy: TrustPolicy,
    ledger: Ledger | None = None,
    *,
    log_verifier: str | None = None,
    thumbnails: bool = False,
) -> VerificationReport:
    """Verify one file on disk; unreadable input gives verdict ``error`` with the reason.

    ``log_verifier`` is the ledger's public key (signed-note verifier form, e.g. the text of
    ``Home.log_pub``) used to check the checkpoint signature; without it the ledger's stored key is
    used. ``thumbnails`` keeps pictures of each ancestor for the HTML report.
    """
    p = Path(path)
    try:
        st = p.stat()
        if stat.S_ISDIR(st.st_mode):
            return _finish(_error(str(p), "is a directory, not a file"), policy)
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block, a socket cannot be read
            return _finish(_error(str(p), "not a regular file (device, FIFO or socket)"), policy)
        size = st.st_size
        if size > MAX_FILE_BYTES:
            return _finish(
                _error(str(p), f"file too large ({size} bytes; limit {MAX_FILE_BYTES})"), policy
            )
        data = p.read_bytes()
    except OSError as e:
        return _finish(_error(str(p), f"cannot read ({e.strerror or e})"), policy)
    return verify_bytes(
        data, policy, ledger, name=str(p), log_verifier=log_verifier, thumbnails=thumbnails
    )


@ledger_failures()  # ledger errors join the ProvenanceError family
def verify_bytes(
    data: bytes,
    policy: TrustPolicy,
    ledger: Ledger | None = None,
    *,
    name: str = "<bytes>",
    log_verifier: str | None = None,
    thumbnails: bool = False,
) -> VerificationReport:
    """Verify a file held in memory (``name`` is used in reasons)."""
    try:
        report = _verify(data, policy, ledger, name, log_verifier, thumbnails)
    except Exception as e:  # a verifier that crashes on hostile input must still answer
        report = _error(name, f"could not be verified ({type(e).__name__}: {e})")
    return _finish(report, policy)


def require_accepted(report: VerificationReport, policy: TrustPolicy) -> VerificationReport:
    """The raising wrapper: :class:`VerificationError` unless the policy accepts the report."""
    if not policy.accepts(report):
        raise VerificationError(f"{report.path}: {report.verdict}: {'; '.join(report.reasons)}")
    return report


def _finish(report: VerificationReport, policy: TrustPolicy) -> VerificationReport:
    report.accepted = policy.accepts(report)
    if policy.strict_chain and report.chain_ok is False:
        report.reasons.append(STRICT_CHAIN_REASON)
    if policy.unsafe:
        report.notes.append("UNSAFE policy: this report was not enforced")
    return report


def _error(name: str, reason: str) -> VerificationReport:
    return VerificationReport(
        path=name, verdict=Verdict.ERROR, reasons=[f"{Path(name).name}: {reason}"]
    )


_contexts = threading.local()


def _context(anchors: str | None, allow_network: bool) -> Any:
    """A c2pa Context per trust setting, reused across the files of a batch (one per thread).

    Building one parses every anchor certificate again (~0.4 ms); a context holds no per-file
    state, so reading many files under one policy needs only one.
    """
    cache: dict[tuple[str | None, bool], Any] = _contexts.__dict__.setdefault("cache", {})
    key = (anchors, allow_network)
    if key not in cache:
        if len(cache) >= 8:
            cache.clear()
        cache[key] = make_context(
            trust_anchors=anchors, allow_network=allow_network, thumbnail=False
        )
    return cache[key]


def _verify(
    data: bytes,
    policy: TrustPolicy,
    ledger: Ledger | None,
    name: str,
    log_verifier: str | None,
    thumbnails: bool,
) -> VerificationReport:
    if not data:
        return _error(name, "empty file (0 bytes)")
    mime = mime_for(data, name)
    if mime is None:
        return _error(name, "not an image or document format that can carry content credentials")
    damaged = _container.problem(data, mime)
    if damaged:
        return _error(name, damaged)
    ctx = _context(policy.anchors_pem, policy.allow_network)
    reading = read_store(data, mime, ctx, thumbnails=thumbnails)
    report = VerificationReport(
        path=name, verdict=Verdict.ERROR, sha256=sha256_bytes(data), mime=mime
    )
    if reading.error is not None and reading.state is None:
        return _unreadable_store(report, reading, data, policy, ledger, log_verifier)
    if reading.state is None:
        return _no_manifest(report, data, mime, ledger, log_verifier, thumbnails)
    _read_manifest(report, reading, policy)
    if thumbnails:
        report.thumbnails.update(reading.resources)
        _self_thumbnail(report, data)
    report.ledger = _ledger_check.check(
        ledger,
        report.sha256 or "",
        report.assertions.get(LEDGER_ASSERTION),
        log_verifier=log_verifier,
    )
    _ledger_reasons(report)
    return report


def _unreadable_store(
    report: VerificationReport,
    reading: StoreReading,
    data: bytes,
    policy: TrustPolicy,
    ledger: Ledger | None,
    log_verifier: str | None,
) -> VerificationReport:
    if reading.unsupported:
        return _error(report.path, f"{report.mime}: {reading.error}")
    if reading.remote_url and policy.allow_network:
        return _error(
            report.path,
            f"the remote manifest at {reading.remote_url} could not be fetched ({reading.error})",
        )
    if reading.remote_url:
        report.verdict = Verdict.NO_CREDENTIALS
        report.reasons.append(
            f"the credentials are stored remotely at {reading.remote_url} and "
            f"were not fetched ({NETWORK_HINT})"
        )
        report.not_checked.append(
            f"remote manifest at {reading.remote_url}: not fetched, the network is off"
        )
        report.ledger = _ledger_check.check(
            ledger, report.sha256 or "", None, log_verifier=log_verifier
        )
        _ledger_reasons(report)
        return report
    return _error(
        report.path, f"the content credentials are corrupt and cannot be read ({reading.error})"
    )


def _no_manifest(
    report: VerificationReport,
    data: bytes,
    mime: str,
    ledger: Ledger | None,
    log_verifier: str | None,
    thumbnails: bool,
) -> VerificationReport:
    from provenance.media import imaging

    image: Image.Image | None = None
    if mime.startswith("image/"):
        try:
            image = imaging.open_image(data, name=Path(report.path).name)
        except Exception as e:
            report.verdict = Verdict.ERROR
            report.reasons.append(str(e))
            return report
    report.ledger = _ledger_check.check(
        ledger, report.sha256 or "", None, log_verifier=log_verifier, image=image
    )
    if thumbnails and image is not None:
        _self_thumbnail(report, data, image)
    unproven = _ledger_check.unproven_match(report.ledger)
    if unproven:  # "recovered" needs a verified inclusion proof under a pinned key
        report.verdict = Verdict.NO_CREDENTIALS
        report.reasons.append(unproven)
    elif report.ledger.match is not None:
        report.verdict = Verdict.RECOVERED
        report.reasons.append(
            "no content credentials in the file, but it matches a ledger entry "
            f"({report.ledger.match} match)"
        )
        if report.ledger.match == "perceptual":
            best = report.ledger.candidates[0]
            report.reasons.append(
                f"pictures match: {best.label} ({best.reason}); the "
                "file's bytes differ from the recorded output"
            )
    else:
        report.verdict = Verdict.NO_CREDENTIALS
        report.reasons.append(
            "no content credentials in the file and no ledger match"
            if report.ledger.done
            else "no content credentials in the file"
        )
    _ledger_reasons(report)
    return report


def _self_thumbnail(
    report: VerificationReport, data: bytes, image: Image.Image | None = None
) -> None:
    """The file itself, downscaled, as the root picture of the HTML report."""
    from provenance.media import imaging

    try:
        img = image if image is not None else imaging.open_image(data, name=report.path)
        small = img.convert("RGB")
        small.thumbnail((_THUMB_EDGE, _THUMB_EDGE))
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=80)
    except Exception:
        return  # a report without a picture is still a report
    report.thumbnails["self:file"] = buf.getvalue()
    if report.chain is not None and report.chain.thumbnail is None:
        report.chain.thumbnail = "self:file"


def _read_manifest(report: VerificationReport, reading: StoreReading, policy: TrustPolicy) -> None:
    store = reading.store
    active = reading.active or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    codes = [_chain.status(c, "failure") for c in results.get("failure") or []]
    seen = {s.code for s in codes}
    codes += [
        _chain.status(c, "failure")
        for c in store.get("validation_status") or []
        if c.get("code") not in seen
    ]
    codes += [_chain.status(c, "informational") for c in results.get("informational") or []]
    codes += [_chain.status(c, "success") for c in results.get("success") or []]
    report.status_codes = codes
    damage = [c for c in codes if c.kind == "failure" and c.code not in _chain.UNTRUSTED_ONLY]
    trusted = reading.state == "Trusted"
    report.chain = _chain.build_chain(store, active, trusted)
    report.signer = report.chain.signer
    report.actions = report.chain.actions
    dsts = _chain.all_source_types(report.chain)
    report.digital_source_type = _chain.disclosed_source_type(report.chain)
    report.ai_generated = any(is_ai_source_type(d) for d in dsts)
    report.assertions = _chain.assertions(active)
    req = report.assertions.get(REQUEST_ASSERTION)
    report.model = req.get("model") if isinstance(req, dict) else None
    if report.model is None:
        agents = report.chain.software_agents
        report.model = agents[0] if agents and report.ai_generated else None
    if reading.remote_url:
        report.notes.append(f"the manifest was fetched from {reading.remote_url}")
    if reading.state == "Invalid" or damage:
        report.verdict = Verdict.INVALID
        report.chain.ok = False
        report.chain.failures = damage
        report.reasons.append(
            "the content credentials do not validate: "
            + (
                "; ".join(f"{c.explanation} ({c.code})" for c in damage)
                if damage
                else "c2pa reports the manifest invalid"
            )
        )
        return  # chain_ok stays None: the file's own credentials already fail
    _judge_chain(report, trusted)
    _who(report, policy, trusted)


def _judge_chain(report: VerificationReport, trusted: bool) -> None:
    """chain_ok: False if any ancestor failed; True only when the file itself is trusted (an
    untrusted signer cannot vouch that its ancestors are sound); otherwise None."""
    assert report.chain is not None
    broken = _chain.broken_ancestors(report.chain)
    if broken:
        report.chain_ok = False
        for node in broken:
            why = "; ".join(f"{f.explanation} ({f.code})" for f in node.failures)
            report.reasons.append(
                f"ancestor {node.title or '(untitled)'} failed its own validation: {why}"
            )
    else:
        report.chain_ok = True if trusted else None


def _who(report: VerificationReport, policy: TrustPolicy, trusted: bool) -> None:
    signer: Signer | None = report.signer
    if signer is not None:
        anchor = policy.anchor_for([signer.issuer or ""])
        signer.local_identity = bool(anchor and anchor.local) or signer.local_identity
    who = (signer.common_name if signer else None) or "an unknown signer"
    if trusted:
        report.verdict = Verdict.TRUSTED
        local = signer is not None and signer.local_identity
        report.reasons.insert(
            0,
            f"signed by {who}, which chains to a configured trust anchor"
            + (" (a local, self-issued identity made by `provenance init`)" if local else ""),
        )
        if policy.allowed_signers and (
            signer is None or signer.common_name not in policy.allowed_signers
        ):
            report.reasons.append(f"{who} is not among the policy's allowed signers")
    else:
        report.verdict = Verdict.VALID_UNTRUSTED
        report.reasons.insert(
            0, f"the credentials are intact but {who} is not a trusted signer ({TRUST_HINT})"
        )


def _ledger_reasons(report: VerificationReport) -> None:
    check = report.ledger
    if check is None:
        return
    if not check.done:
        report.not_checked.append(f"ledger: {check.reason}")
        return
    if check.entry is not None:
        report.reasons.append(check.reason)
        if check.proof and check.proof.verified is False:
            report.reasons.append(f"ledger proof: {check.proof.reason}")
    report.reasons += check.problems
