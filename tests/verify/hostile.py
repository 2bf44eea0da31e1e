"""Files made by a hostile or unknown sender, built here with throwaway CAs (nothing is mocked)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from provenance.credentials import (
    IngredientSpec,
    ManifestSpec,
    make_context,
    make_signer,
    sign_bytes,
)
from provenance.home.identity import Identity, create_ca, issue_signer, pem_cert

CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/composite"


def stranger(cn: str, org: str) -> tuple[Identity, bytes]:
    """A signer under a fresh CA nobody trusts; returns it and the CA's PEM."""
    ca_key, ca = create_ca(f"{org} Root CA", org=org)
    key, cert = issue_signer(ca_key, ca, cn, org=org)
    return Identity(pem_cert(cert) + pem_cert(ca), key, "es256", False, None), pem_cert(ca)


def png(color: str, size: tuple[int, int] = (64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def camera_original(dest: Path, identity: Identity, *, title: str = "camera.png") -> None:
    """A 'camera original': created by digital capture, its creator named, signed by ``identity``."""
    work = {"@context": "https://schema.org", "@type": "CreativeWork"}
    work["author"] = [{"@type": "Person", "name": "Jane Doe"}]
    spec = ManifestSpec(
        title=title,
        actions=[{"action": "c2pa.created", "digitalSourceType": CAPTURE}],
        assertions=[{"label": "stds.schema-org.CreativeWork", "kind": "Json", "data": work}],
    )
    ctx = make_context(thumbnail=False)
    dest.write_bytes(sign_bytes(spec, png("orange"), "image/png", make_signer(identity), ctx))


def diamond_chain(dest: Path, identity: Identity, levels: int, fan: int = 3) -> None:
    """Each manifest names its predecessor ``fan`` times: a DAG whose tree has fan**levels nodes."""
    ctx = make_context(thumbnail=False)
    signer = make_signer(identity)
    data = sign_bytes(
        ManifestSpec("l0.png", [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]),
        png("white", (16, 16)),
        "image/png",
        signer,
        ctx,
    )
    for level in range(1, levels + 1):
        ings = [
            IngredientSpec(data, "image/png", f"l{level - 1}.png", "componentOf", f"i{k}")
            for k in range(fan)
        ]
        act = {"action": "c2pa.created", "digitalSourceType": COMPOSITE}
        spec = ManifestSpec(f"l{level}.png", [act], ingredients=ings)
        data = sign_bytes(spec, png("white", (16, 16)), "image/png", signer, ctx)
    dest.write_bytes(data)


def same_serial_under(ca_name: str, serial: int) -> tuple[Identity, bytes]:
    """A signer under another (trusted) CA that carries ``serial``: pinning by serial is fooled."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    ca_key, ca = create_ca(ca_name, org=ca_name)
    key, cert = issue_signer(ca_key, ca, "Desk photographer", org=ca_name)
    clone = x509.CertificateBuilder(
        issuer_name=cert.issuer,
        subject_name=cert.subject,
        public_key=cert.public_key(),
        serial_number=serial,
        not_valid_before=cert.not_valid_before_utc,
        not_valid_after=cert.not_valid_after_utc,
        extensions=list(cert.extensions),
    ).sign(ca_key, hashes.SHA256())
    return Identity(pem_cert(clone) + pem_cert(ca), key, "es256", False, None), pem_cert(ca)


def sign_png(dest: Path, identity: Identity, spec: ManifestSpec, color: str = "orange") -> None:
    ctx = make_context(thumbnail=False)
    dest.write_bytes(sign_bytes(spec, png(color), "image/png", make_signer(identity), ctx))
