"""C2PA content credentials: the only place that imports ``c2pa``.

Example::

    from provenance.credentials import ManifestSpec, make_context, make_signer, sign_bytes

    ctx = make_context(trust_anchors=identity.ca_pem.decode())
    signed = sign_bytes(ManifestSpec(title="out.png", actions=[...]), png_bytes, "image/png",
                        make_signer(identity), ctx)

Signing lives in :mod:`provenance.credentials.sign`; reading and validation in
:mod:`provenance.credentials.read`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:  # lazy, so verifying (read.py) does not load the signing half
    if name == "make_context":
        from provenance.credentials import context

        return context.make_context
    if name in __all__:
        from provenance.credentials import sign

        return getattr(sign, name)
    raise AttributeError(name)
