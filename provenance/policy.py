"""Trust policy: which signers are trusted, which verdicts are accepted, how strict the chain is.

Example::

    from provenance.policy import TrustPolicy

    policy = TrustPolicy.from_pem_files(["newsroom-anchors.pem"], strict_chain=True)
    policy.accepts(report)   # True only for `trusted` (and with strict_chain, chain_ok)

A policy with no trust anchors can never say ``trusted``; a policy that accepts every verdict is
refused unless it is :meth:`TrustPolicy.unsafe_accept_all`, which says so in every report.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from provenance.config import Home
from provenance.errors import PolicyError

if TYPE_CHECKING:
    from provenance.verify import VerificationReport

VERDICTS = ("trusted", "valid_untrusted", "invalid", "no_credentials", "recovered", "error")


@dataclass(frozen=True)
class Anchor:
    """One trust anchor: a PEM certificate and where it came from (for reports)."""

    pem: str
    source: str  # "local identity", a file name, ...
    subject: str
    local: bool = False


@dataclass(frozen=True)
class TrustPolicy:
    anchors: tuple[Anchor, ...] = ()
    accept: frozenset[str] = frozenset({"trusted"})
    strict_chain: bool = False
    allowed_signers: frozenset[str] = frozenset()  # signer cert common names; empty: any trusted
    allow_network: bool = False
    unsafe: bool = False
    _checked: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.accept) - set(VERDICTS)
        if unknown:
            raise PolicyError(f"policy: unknown verdict(s) {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(VERDICTS)})")
        if not self.accept:
            raise PolicyError("policy: accepts no verdict at all; name at least one (e.g. trusted)")
        if set(self.accept) >= {"invalid", "no_credentials", "error"} and not self.unsafe:
            raise PolicyError("policy: this would accept every file, even invalid and unreadable ones; "
                              "use TrustPolicy.unsafe_accept_all() if that is really meant")

    @classmethod
    def unsafe_accept_all(cls) -> TrustPolicy:
        """Accepts everything. Only for collecting reports; every report says it checked nothing."""
        warnings.warn("UnsafeAcceptAll policy: verification results will not be enforced",
                      stacklevel=2)
        return cls(accept=frozenset(VERDICTS), unsafe=True)

    @classmethod
    def from_pem_files(cls, paths: Iterable[str | Path], **kwargs: object) -> TrustPolicy:
        anchors = tuple(a for p in paths for a in load_anchors(Path(p)))
        return cls(anchors=anchors, **kwargs)  # type: ignore[arg-type]

    def with_anchors(self, anchors: Iterable[Anchor]) -> TrustPolicy:
        merged = {a.pem: a for a in (*self.anchors, *anchors)}
        return TrustPolicy(tuple(merged.values()), self.accept, self.strict_chain,
                           self.allowed_signers, self.allow_network, self.unsafe)

    @property
    def anchors_pem(self) -> str | None:
        return "\n".join(a.pem.strip() for a in self.anchors) + "\n" if self.anchors else None

    def anchor_for(self, issuer_names: Iterable[str]) -> Anchor | None:
        """The anchor whose subject is one of ``issuer_names`` (for saying who vouches)."""
        names = set(issuer_names)
        return next((a for a in self.anchors if a.subject in names), None)

    def accepts(self, report: VerificationReport) -> bool:
        if report.verdict not in self.accept:
            return False
        if self.strict_chain and report.chain_ok is False:
            return False
        if self.allowed_signers and report.verdict == "trusted":
            cn = report.signer.common_name if report.signer else None
            return cn in self.allowed_signers
        return True


def load_anchors(path: Path, *, local: bool = False) -> list[Anchor]:
    """Every certificate in a PEM bundle, as anchors; a clear error if there is none."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read trust anchors ({e.strerror})") from e
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise PolicyError(f"{path}: not a PEM certificate bundle") from e
    from cryptography.hazmat.primitives import serialization

    return [
        Anchor(c.public_bytes(serialization.Encoding.PEM).decode(),
               "local identity" if local else path.name, c.subject.rfc4514_string(), local)
        for c in certs
    ]


def default_policy(home: Home | None, *, trust: Iterable[str | Path] = (), strict_chain: bool = False,
                   accept: Iterable[str] = ("trusted",), allow_network: bool = False) -> TrustPolicy:
    """The CLI's policy: ``--trust`` bundles, the home's trust folder and its local CA if made."""
    anchors: list[Anchor] = []
    for p in trust:
        anchors += load_anchors(Path(p))
    if home is not None:
        if home.trust_dir.is_dir():
            for p in sorted(home.trust_dir.glob("*.pem")):
                anchors += load_anchors(p)
        if home.ca_cert.exists():
            anchors += load_anchors(home.ca_cert, local=True)
    return TrustPolicy(tuple({a.pem: a for a in anchors}.values()), frozenset(accept), strict_chain,
                       allow_network=allow_network)
