"""Trust anchors: PEM certificates with where they came from, and how c2pa is handed them.

Example::

    from provenance.verify.anchors import load_anchors

    anchors = load_anchors(Path("newsroom-anchors.pem"))
    anchors[0].source    # "newsroom-anchors.pem"

A bundle is split into certificates as text (no parsing: c2pa parses them once, when a context
is made); the subject is read only when something asks for it. :func:`trust_groups` gives c2pa
one named list per set of sources a certificate belongs to. c2pa-rs pools every list for both
uses (a root only on a TSA list can vouch for a signer, a signer root for a time-stamp) and
reports the name of the list that vouched, so the verifier counts a signer only when that list
holds a signer source and a time-stamp only when it holds a TSA source.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import PolicyError

if TYPE_CHECKING:
    from cryptography import x509

SIGNER = "signer"
TSA = "tsa"
_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----")


@dataclass(frozen=True)
class Anchor:
    """One trust anchor: a PEM certificate and where it came from (for reports)."""

    pem: str
    source: str  # "local identity", a file name, "C2PA Trust List, issued ...", ...
    local: bool = False
    kind: str = SIGNER  # SIGNER: vouches for content signers; TSA: for time-stamping authorities

    @functools.cached_property
    def subject(self) -> str:
        """The certificate's subject (RFC 4514); parsed on first use only."""
        from cryptography import x509

        return x509.load_pem_x509_certificate(self.pem.encode()).subject.rfc4514_string()


def pem_blocks(data: bytes) -> list[str]:
    """The certificates of a PEM bundle as normalised PEM text (one form per certificate)."""
    out = []
    for m in _BLOCK.finditer(data):
        body = b"".join(m.group(1).split()).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        out.append(f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n")
    return out


def load_anchors(
    path: Path, *, local: bool = False, kind: str = SIGNER, source: str | None = None
) -> list[Anchor]:
    """Every certificate in a PEM bundle, as anchors; a clear error if there is none."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read certificates ({e.strerror})") from e
    blocks = pem_blocks(data)
    if not blocks:
        raise PolicyError(f"{path}: not a PEM certificate bundle")
    name = source or ("local identity" if local else path.name)
    return [Anchor(b, name, local, kind) for b in blocks]


def check_anchors(path: Path) -> int:
    """Parse every certificate of ``path`` (before a file is added); returns how many."""
    return len(_certs(path))


def _certs(path: Path) -> list[x509.Certificate]:
    from cryptography import x509 as _x509  # only where a file must be checked: ~30 ms

    try:
        data = path.read_bytes()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read certificates ({e.strerror})") from e
    try:
        return _x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise PolicyError(f"{path}: not a PEM certificate bundle") from e


@dataclass(frozen=True)
class TrustGroups:
    """The named lists c2pa is given, and what each name stands for."""

    lists: tuple[tuple[str, str, str], ...]  # (c2pa trust kind, name, PEM text)
    signer: dict[str, Anchor]  # list name -> the signer source whose anchor it holds
    tsa: dict[str, Anchor]  # list name -> the TSA source whose anchor it holds


def trust_groups(signers: Iterable[Anchor], tsas: Iterable[Anchor]) -> TrustGroups:
    """One c2pa list per (signer source, TSA source) pair that some certificate belongs to."""
    member: dict[str, list[Anchor | None]] = {}
    for a in signers:
        member.setdefault(a.pem, [None, None])
        member[a.pem][0] = member[a.pem][0] or a  # the first source named wins
    for a in tsas:
        member.setdefault(a.pem, [None, None])
        member[a.pem][1] = member[a.pem][1] or a
    by_key: dict[tuple[str, str], list[str]] = {}
    holders: dict[tuple[str, str], tuple[Anchor | None, Anchor | None]] = {}
    for pem, (s, t) in member.items():
        key = (_tag(s), _tag(t))
        by_key.setdefault(key, []).append(pem)
        holders[key] = (s, t)
    lists, signer, tsa = [], {}, {}
    for key, pems in by_key.items():
        s, t = holders[key]
        name = " | ".join(x for x in (key[0], key[1]) if x)
        lists.append(("manifest" if s else "tsa", name, "".join(pems)))
        if s:
            signer[name] = s
        if t:
            tsa[name] = t
    return TrustGroups(tuple(lists), signer, tsa)


def _tag(a: Anchor | None) -> str:
    if a is None:
        return ""
    return f"{'TSA' if a.kind == TSA else 'signer'}{' local' if a.local else ''}: {a.source}"
