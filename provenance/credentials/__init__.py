"""C2PA content credentials: the only place that imports ``c2pa``.

Example::

    from provenance.credentials import ManifestSpec, make_context, make_signer, sign_bytes

    ctx = make_context(trust_anchors=identity.ca_pem.decode())
    signed = sign_bytes(ManifestSpec(title="out.png", actions=[...]), png_bytes, "image/png",
                        make_signer(identity), ctx)

Signing lives in :mod:`provenance.credentials.sign`; reading and validation in
:mod:`provenance.credentials.read`.
"""

from provenance.credentials.context import make_context
from provenance.credentials.sign import (
    LEDGER_ASSERTION,
    IngredientSpec,
    ManifestSpec,
    has_manifest,
    make_signer,
    sign_bytes,
)

__all__ = [
    "LEDGER_ASSERTION",
    "IngredientSpec",
    "ManifestSpec",
    "has_manifest",
    "make_context",
    "make_signer",
    "sign_bytes",
]
