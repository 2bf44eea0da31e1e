"""Trust anchors: PEM certificates with where they came from, for reports to name.

Example::

    from provenance.verify.anchors import load_anchors

    anchors = load_anchors(Path("newsroom-anchors.pem"))
    anchors[0].source    # "newsroom-anchors.pem"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import PolicyError

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class Anchor:
    """One trust anchor: a PEM certificate and where it came from (for reports)."""

    pem: str
    source: str  # "local identity", a file name, ...
    subject: str
    local: bool = False


def load_anchors(path: Path, *, local: bool = False) -> list[Anchor]:
    """Every certificate in a PEM bundle, as anchors; a clear error if there is none."""
    certs = _certs(path)
    from cryptography.hazmat.primitives import serialization

    return [
        Anchor(
            c.public_bytes(serialization.Encoding.PEM).decode(),
            "local identity" if local else path.name,
            c.subject.rfc4514_string(),
            local,
        )
        for c in certs
    ]


def _certs(path: Path) -> list[x509.Certificate]:
    from cryptography import x509  # only with anchors to load: ~30 ms of verify's start-up

    try:
        data = path.read_bytes()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read certificates ({e.strerror})") from e
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise PolicyError(f"{path}: not a PEM certificate bundle") from e
