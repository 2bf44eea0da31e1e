"""Trust policy: which signers are trusted, which verdicts are accepted, how strict the chain is.

Example::

    from provenance.verify.policy import TrustPolicy

    policy = TrustPolicy.from_pem_files(["newsroom-anchors.pem"], strict_chain=True)
    policy.accepts(report)   # True only for `trusted` (and with strict_chain, chain_ok)

A policy with no trust anchors can never say ``trusted``. A policy that would accept what anyone
can make is refused unless it is :meth:`TrustPolicy.unsafe_accept_all`, which says so in every
report: accepting ``invalid`` or ``error`` (tampered or unreadable files), or accepting both
``no_credentials`` and ``valid_untrusted`` (anyone can strip a file or sign it themselves).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import PolicyError
from provenance.home.paths import Home
from provenance.verify.anchors import (
    TSA,
    Anchor,
    TrustGroups,
    _certs,
    check_anchors,
    load_anchors,
    trust_groups,
)
from provenance.vocab import VERDICTS, Verdict

__all__ = ["Anchor", "TrustPolicy", "default_policy", "load_anchors"]

if TYPE_CHECKING:
    from provenance.verify.report import Signer, VerificationReport

_DANGEROUS = frozenset({Verdict.INVALID, Verdict.ERROR})  # tampered or unreadable
_ANYONE = frozenset({Verdict.NO_CREDENTIALS, Verdict.VALID_UNTRUSTED})  # strip or self-sign


@dataclass(frozen=True)
class TrustPolicy:
    anchors: tuple[Anchor, ...] = ()
    accept: frozenset[str] = frozenset({Verdict.TRUSTED})
    strict_chain: bool = False
    allowed_signers: frozenset[str] = frozenset()  # signer cert common names; empty: any trusted
    # Pinned signer certificates: by SHA-256 of the DER certificate, or (explicitly, weaker: it
    # relies on the CA never reusing a serial) by (issuer RFC 4514 name, decimal serial).
    allowed_certs: frozenset[str] = frozenset()
    allowed_issuer_serials: frozenset[tuple[str, str]] = frozenset()
    allow_network: bool = False
    unsafe: bool = False
    # Time-stamping authorities whose time-stamps count (the TSA list, the user's TSA anchors).
    tsa_anchors: tuple[Anchor, ...] = ()
    _checked: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.accept) - set(VERDICTS)
        if unknown:
            raise PolicyError(
                f"policy: unknown verdict(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(VERDICTS)})"
            )
        if not self.accept:
            raise PolicyError("policy: accepts no verdict at all; name at least one (e.g. trusted)")
        if self.unsafe:
            return
        if set(self.accept) & _DANGEROUS:
            raise PolicyError(
                "policy: accepting invalid or error would accept tampered and "
                "unreadable files; use TrustPolicy.unsafe_accept_all() if that is "
                "really meant"
            )
        if set(self.accept) >= _ANYONE:
            raise PolicyError(
                "policy: accepting both no_credentials and valid_untrusted accepts "
                "any file (anyone can strip or self-sign one); use "
                "TrustPolicy.unsafe_accept_all() if that is really meant"
            )

    @classmethod
    def unsafe_accept_all(cls) -> TrustPolicy:
        """Accepts everything. Only for collecting reports; every report says it checked nothing."""
        warnings.warn(
            "UnsafeAcceptAll policy: verification results will not be enforced", stacklevel=2
        )
        return cls(accept=frozenset(VERDICTS), unsafe=True)

    @classmethod
    def from_pem_files(cls, paths: Iterable[str | Path], **kwargs: object) -> TrustPolicy:
        anchors = tuple(a for p in paths for a in load_anchors(Path(p)))
        return cls(anchors=anchors, **kwargs)  # type: ignore[arg-type]

    @property
    def anchors_pem(self) -> str | None:
        return "\n".join(a.pem.strip() for a in self.anchors) + "\n" if self.anchors else None

    @functools.cached_property
    def groups(self) -> TrustGroups:
        """The named lists c2pa is given (signer and TSA anchors), and what each name means."""
        return trust_groups(self.anchors, self.tsa_anchors)

    def anchor_for(self, issuer_names: Iterable[str]) -> Anchor | None:
        """The anchor whose subject is one of ``issuer_names`` (for saying who vouches)."""
        names = set(issuer_names)
        return next((a for a in self.anchors if a.subject in names), None)

    def accepts(self, report: VerificationReport) -> bool:
        if report.verdict not in self.accept:
            return False
        proof = report.ledger.proof if report.ledger is not None else None
        if proof is not None and proof.fork is not None:
            return False  # the log rewrote its history: nothing it vouches for is accepted
        if self.strict_chain and report.chain_ok is False:
            return False
        if self.pins_signer and report.verdict == Verdict.TRUSTED:
            return self.pinned(report.signer)
        return True

    def pinned(self, signer: Signer | None) -> bool:
        """Whether ``signer`` is one the policy names (by name, certificate hash, issuer+serial)."""
        if signer is None:
            return False
        return (
            signer.common_name in self.allowed_signers
            or (signer.cert_sha256 is not None and signer.cert_sha256 in self.allowed_certs)
            or (signer.cert_issuer, signer.serial) in self.allowed_issuer_serials
        )

    @property
    def pins_signer(self) -> bool:
        return bool(self.allowed_signers or self.allowed_certs or self.allowed_issuer_serials)


def load_signer_hashes(path: Path) -> frozenset[str]:
    """SHA-256 (hex, of the DER form) of the signer certificates in a PEM file."""
    from cryptography.hazmat.primitives import hashes

    return frozenset(c.fingerprint(hashes.SHA256()).hex() for c in _certs(path))


def load_issuer_serials(path: Path) -> frozenset[tuple[str, str]]:
    """(issuer, serial) of the signer certificates in a PEM file (the explicit, weaker pin)."""
    return frozenset((c.issuer.rfc4514_string(), str(c.serial_number)) for c in _certs(path))


def default_policy(
    home: Home | None,
    *,
    trust: Iterable[str | Path] = (),
    strict_chain: bool = False,
    accept: Iterable[str] = (Verdict.TRUSTED,),
    allow_network: bool = False,
    allowed_signers: Iterable[str] = (),
    signer_certs: Iterable[str | Path] = (),
    signer_issuer_serials: Iterable[str | Path] = (),
    default_trust: bool = True,
    tsa_trust: Iterable[str | Path] = (),
) -> TrustPolicy:
    """The CLI's policy: ``--trust`` bundles, the home's trust folder and its local CA if made.

    The local CA is trusted only because the user made it (``provenance init``) in this home; a
    desk that only verifies has no home and trusts only what it names. Time-stamps count when
    their TSA chains to ``tsa_trust``, the home's ``trust-tsa`` folder or the C2PA TSA Trust List.
    """
    anchors: list[Anchor] = []
    for p in [*trust, *tsa_trust]:  # named here: every certificate must parse (the home's
        check_anchors(Path(p))  # folders were checked when `provenance trust add` copied them)
    tsas = [a for p in tsa_trust for a in load_anchors(Path(p), kind=TSA)]
    for p in trust:
        anchors += load_anchors(Path(p))
    if home is not None:
        if home.trust_dir.is_dir():
            for p in sorted(home.trust_dir.glob("*.pem")):
                anchors += load_anchors(p)
        if home.ca_cert.exists():
            anchors += load_anchors(home.ca_cert, local=True)
        if home.tsa_trust_dir.is_dir():
            for p in sorted(home.tsa_trust_dir.glob("*.pem")):
                tsas += load_anchors(p, kind=TSA)
    if default_trust:  # the lists the ecosystem trusts; after the user's, whose names win
        from provenance.verify.trust_lists import default_anchors, default_tsa_anchors

        anchors += default_anchors(home)
        tsas += default_tsa_anchors()
    pinned = frozenset(h for p in signer_certs for h in load_signer_hashes(Path(p)))
    pairs = frozenset(x for p in signer_issuer_serials for x in load_issuer_serials(Path(p)))
    return TrustPolicy(
        _unique(anchors),
        frozenset(accept),
        strict_chain,
        allowed_signers=frozenset(allowed_signers),
        allowed_certs=pinned,
        allowed_issuer_serials=pairs,
        allow_network=allow_network,
        tsa_anchors=_unique(tsas),
    )


def _unique(anchors: list[Anchor]) -> tuple[Anchor, ...]:
    unique: dict[str, Anchor] = {}
    for a in anchors:
        unique.setdefault(a.pem, a)  # the first source named wins (the user's, then bundled)
    return tuple(unique.values())
