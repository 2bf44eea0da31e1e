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

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.credentials.read import StoreReading, read_store
from provenance.errors import VerificationError, ledger_failures
from provenance.media.hashing import sha256_bytes
from provenance.media.sniff import mime_for
from provenance.verify import container as _container
from provenance.verify import ledger_check as _ledger_check
from provenance.verify.budgets import native_call
from provenance.verify.judge import TRUST_HINT as TRUST_HINT  # re-exported for the CLI
from provenance.verify.judge import context as _context
from provenance.verify.judge import read_manifest as _read_manifest
from provenance.verify.pictures import regions_picture, self_thumbnail
from provenance.verify.policy import TrustPolicy
from provenance.verify.report import (
    ChainNode,
    LedgerCheck,
    Signer,
    StatusCode,
    VerificationReport,
)
from provenance.verify.words import PIXELS_CONFIRMED
from provenance.vocab import LEDGER_ASSERTION, Verdict

if TYPE_CHECKING:
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
    got = _verify_path(path, policy, ledger, log_verifier, thumbnails, defer=False)
    assert isinstance(got, VerificationReport)
    return got


@dataclass
class Deferred:
    """A file verified up to its ledger check, which a batch makes for many files at once
    (:func:`verify_path_deferred`, then :func:`finish_deferred`)."""

    report: VerificationReport
    claimed: Any  # the manifest's ledger assertion


@ledger_failures()
def verify_path_deferred(
    path: str | Path,
    policy: TrustPolicy,
    ledger: Ledger,
    *,
    log_verifier: str | None = None,
    thumbnails: bool = False,
) -> VerificationReport | Deferred:
    """:func:`verify_path`, except that a file with readable credentials comes back
    :class:`Deferred` before its ledger check (the common case of a batch); any other file's
    report is finished here, as verify_path finishes it."""
    return _verify_path(path, policy, ledger, log_verifier, thumbnails, defer=True)


@ledger_failures()
def finish_deferred(
    pending: Deferred,
    policy: TrustPolicy,
    ledger: Ledger,
    *,
    log_verifier: str | None = None,
    producer: Any = _ledger_check.LOOK_UP,
) -> VerificationReport:
    """The rest of :func:`verify_path` for a :class:`Deferred` file: the ledger check
    (``producer``: the index's answer for the file's hash, if the batch asked already), then
    the report finished as verify_path finishes it."""
    report = pending.report
    try:
        report = _with_ledger(report, ledger, pending.claimed, log_verifier, producer)
    except MemoryError:
        raise
    except Exception as e:  # as _verify_bytes: a verifier that crashes must still answer
        report = _crashed(report.path, e)
    return _finish(report, policy)


def _verify_path(
    path: str | Path,
    policy: TrustPolicy,
    ledger: Ledger | None,
    log_verifier: str | None,
    thumbnails: bool,
    defer: bool,
) -> VerificationReport | Deferred:
    name = str(Path(path))
    try:
        data = _read_regular(name)
    except _NotAFile as e:
        return _finish(_error(name, str(e)), policy)
    except OSError as e:
        return _finish(_error(name, f"cannot read ({e.strerror or e})"), policy)
    return _verify_bytes(data, policy, ledger, name, log_verifier, thumbnails, defer)


class _NotAFile(Exception):
    """What is at a path cannot be verified as a file (a directory, a FIFO, too large)."""


def _read_regular(name: str) -> bytes:
    """The bytes of a regular file: its kind checked first (a FIFO or device is never opened),
    then read through one descriptor (cheaper than pathlib's read_bytes, once per file)."""
    st = os.stat(name)
    if stat.S_ISDIR(st.st_mode):
        raise _NotAFile("is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block, a socket cannot be read
        raise _NotAFile("not a regular file (device, FIFO or socket)")
    if st.st_size > MAX_FILE_BYTES:
        raise _NotAFile(f"file too large ({st.st_size} bytes; limit {MAX_FILE_BYTES})")
    # O_NONBLOCK: should a FIFO replace the file since, opening it must not hang the batch
    fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        first = os.read(fd, st.st_size + 1)  # + 1: a file that grew is read to its end
        if len(first) <= st.st_size:  # a regular file reads short only at its end
            return first
        chunks = [first]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


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
    got = _verify_bytes(data, policy, ledger, name, log_verifier, thumbnails, False)
    assert isinstance(got, VerificationReport)
    return got


def _verify_bytes(
    data: bytes,
    policy: TrustPolicy,
    ledger: Ledger | None,
    name: str,
    log_verifier: str | None,
    thumbnails: bool,
    defer: bool,
) -> VerificationReport | Deferred:
    try:
        report = _verify(data, policy, ledger, name, log_verifier, thumbnails, defer)
    except MemoryError:
        raise  # out of memory (or a batch's per-file budget): not a fact about the file
    except Exception as e:  # a verifier that crashes on hostile input must still answer
        report = _crashed(name, e)
    return report if isinstance(report, Deferred) else _finish(report, policy)


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


def _verify(
    data: bytes,
    policy: TrustPolicy,
    ledger: Ledger | None,
    name: str,
    log_verifier: str | None,
    thumbnails: bool,
    defer: bool = False,
) -> VerificationReport | Deferred:
    if not data:
        return _error(name, "empty file (0 bytes)")
    mime = mime_for(data, name)
    if mime is None:
        return _error(name, "not an image or document format that can carry content credentials")
    damaged = _container.problem(data, mime)
    if damaged:
        return _error(name, damaged)
    with native_call:  # never interrupted by a file's timer mid-call (verify/budgets.py)
        ctx = _context(policy, data, mime)
        reading = read_store(data, mime, ctx, thumbnails=thumbnails, network=policy.allow_network)
    report = VerificationReport(
        path=name, verdict=Verdict.ERROR, sha256=sha256_bytes(data), mime=mime
    )
    if reading.error is not None and reading.state is None:
        return _unreadable_store(report, reading, data, policy, ledger, log_verifier)
    if reading.state is None:
        return _no_manifest(report, data, mime, ledger, log_verifier, thumbnails)
    _read_manifest(report, reading, policy, data)
    if thumbnails:
        report.thumbnails.update(reading.resources)
        self_thumbnail(report, data)
    claimed = report.assertions.get(LEDGER_ASSERTION)
    if defer and ledger is not None:
        return Deferred(report, claimed)
    return _with_ledger(report, ledger, claimed, log_verifier)


def _with_ledger(
    report: VerificationReport,
    ledger: Ledger | None,
    claimed: Any,
    log_verifier: str | None,
    producer: Any = _ledger_check.LOOK_UP,
) -> VerificationReport:
    """``report`` with its ledger check (``claimed``: the manifest's ledger assertion) and
    the reasons it gives."""
    report.ledger = _ledger_check.check(
        ledger, report.sha256 or "", claimed, log_verifier=log_verifier, producer=producer
    )
    _ledger_reasons(report)
    return report


def _crashed(name: str, e: Exception) -> VerificationReport:
    """The report of a file the verifier itself failed on: it must still answer."""
    return _error(name, f"could not be verified ({type(e).__name__}: {e})")


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
        return _with_ledger(report, ledger, None, log_verifier)
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
    image: Image.Image | None = None
    if mime.startswith("image/"):
        try:
            from provenance.media import imaging

            image = imaging.open_image(data, name=Path(report.path).name)
        except Exception as e:
            report.verdict = Verdict.ERROR
            report.reasons.append(str(e))
            return report
    report.ledger = _ledger_check.check(
        ledger, report.sha256 or "", None, log_verifier=log_verifier, image=image
    )
    if thumbnails and image is not None:
        self_thumbnail(report, data, image)
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
            best = next((c for c in report.ledger.candidates if c.pixels == "confirmed"), best)
            report.reasons.append(
                f"pictures match: {best.label} ({best.reason}); the "
                "file's bytes differ from the recorded output"
            )
            if report.ledger.pixels is not None:
                report.reasons.append(f"{PIXELS_CONFIRMED}: {report.ledger.pixels.reason}")
    else:
        report.verdict = Verdict.NO_CREDENTIALS
        lead = _ledger_check.lead_words(report.ledger.pixels)
        report.reasons.append(
            f"no content credentials in the file; {lead}"
            if lead
            else "no content credentials in the file, and no ledger entry for this file"
            if report.ledger.done
            else "no content credentials in the file"
        )
        if thumbnails and image is not None and report.ledger.pixels is not None:
            regions_picture(report, image, report.ledger.pixels.copy_regions)
    _ledger_reasons(report)
    return report


def _ledger_reasons(report: VerificationReport) -> None:
    check = report.ledger
    if check is None:
        return
    if not check.done:
        report.not_checked.append(f"ledger: {check.reason}")
        return
    if check.entry is not None and check.match == "manifest":
        report.reasons += check.problems  # the mismatch first: the entry is not this file's
        report.reasons.append(check.reason)
        return
    if check.entry is not None:
        report.reasons.append(check.reason)
        if check.proof and check.proof.verified is False:
            report.reasons.append(f"ledger proof: {check.proof.reason}")
    report.reasons += check.problems
