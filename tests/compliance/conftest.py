"""A recorded marketing world shared by the compliance tests: real files, real signing, real ledger."""

from __future__ import annotations

import io
import json
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from provenance.compliance.signing import ReviewSigner, enroll_reviewer, key_signer
from provenance.credentials import ManifestSpec, make_context, make_signer, sign_bytes
from provenance.home.identity import create_local_identity, load_identity
from provenance.home.ledger import create_ledger
from provenance.home.paths import ENV_HOME, Home
from provenance.record.recorder import Recorder

MAKER = "maker@example.org"


@dataclass(frozen=True)
class World:
    home: Home
    dir: Path
    generated: Path  # local generation, recorded
    edited: Path  # local edit of generated, recorded
    broken_chain: Path  # recorded edit whose parent was tampered with after signing
    foreign: Path  # signed by our identity outside the recorder: AI disclosure, no latent fields
    stripped: Path  # generated's pixels re-saved without credentials
    camera: Path  # an imported plain photo (no generative step)


def add_text_chunk(png: bytes) -> bytes:
    """Insert a tEXt chunk before IEND: pixels intact, but the C2PA hard binding no longer matches."""
    data = b"Comment\x00edited after signing"
    chunk = (
        len(data).to_bytes(4, "big")
        + b"tEXt"
        + data
        + zlib.crc32(b"tEXt" + data).to_bytes(4, "big")
    )
    at = png.rindex(b"IEND") - 4
    return png[:at] + chunk + png[at:]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("compliance")
    home = Home(root / "home")
    create_local_identity(home, actor=MAKER)
    create_ledger(home)
    d = root / "work"
    d.mkdir()
    with Recorder(home, actor=MAKER) as rec:
        [gen] = rec.generate("A red circle on a white background", d / "hero.png", seed=1)
        [ed] = rec.edit([gen.path], "grayscale", d / "hero-gray.png")
        tampered = d / "tampered.png"
        tampered.write_bytes(add_text_chunk(gen.path.read_bytes()))
        [broken] = rec.edit([tampered], "brightness 1.2", d / "broken.png")
        cam = d / "camera.png"
        Image.new("RGB", (64, 48), "navy").save(cam)
        rec.import_asset(cam)
    ident = load_identity(home)
    spec = ManifestSpec(
        title="foreign.png",
        actions=[
            {
                "action": "c2pa.created",
                "digitalSourceType": "trainedAlgorithmicMedia",
                "softwareAgent": {"name": "another tool"},
            }
        ],
    )
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buf, "PNG")
    foreign = d / "foreign.png"
    signer = make_signer(ident)
    try:
        foreign.write_bytes(
            sign_bytes(
                spec,
                buf.getvalue(),
                "image/png",
                signer,
                make_context(
                    trust_anchors=ident.ca_pem.decode() if ident.ca_pem else None, thumbnail=False
                ),
            )
        )
    finally:
        signer.close()
    stripped = d / "hero-stripped.png"
    with Image.open(gen.path) as im:
        im.convert("RGB").save(stripped)
    return World(home, d, gen.path, ed.path, broken.path, foreign, stripped, cam)


@pytest.fixture
def in_world(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv(ENV_HOME, str(world.home.root))
    yield world


def json_lines(out: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


@dataclass(frozen=True)
class Reviewer:
    """A reviewer with their own key and certificate, enrolled in a home."""

    identity: str
    cert: Path
    key: Path
    signer: ReviewSigner

    def cli(self) -> list[str]:
        return ["--cert", str(self.cert), "--key", str(self.key)]


def make_reviewer(
    home: Home | None, identity: str, folder: Path, *, as_email: bool = True
) -> Reviewer:
    """A fresh EC key and self-signed certificate for ``identity`` (e-mail SAN, else CN only),
    enrolled in ``home`` unless it is None."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    if as_email:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(identity)]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    folder.mkdir(parents=True, exist_ok=True)
    stem = uuid.uuid4().hex[:8]
    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    if home is not None:
        enroll_reviewer(home, cert_path.read_bytes())
    signer = key_signer(cert_path.read_bytes(), key_path.read_bytes())
    return Reviewer(identity, cert_path, key_path, signer)
