"""Build and sign C2PA manifests into image bytes.

A :class:`ManifestSpec` says what the manifest claims (actions v2, ingredients, extra assertions);
:func:`sign_bytes` signs it into a copy of the source bytes and returns the signed bytes. Nothing
here touches the file system or the ledger.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import c2pa

from provenance import __version__
from provenance.credentials.context import make_context
from provenance.errors import SigningError

if TYPE_CHECKING:  # an annotation only; the identity module loads cryptography's key code
    from provenance.home.identity import Identity

from provenance.vocab import ENV_TSA_URL as ENV_TSA_URL  # defined in vocab; re-exported
from provenance.vocab import LEDGER_ASSERTION as LEDGER_ASSERTION

# The C2PA specification version our claims are written to, declared in claim_generator_info
# (the conformance program reads it there; see docs/conformance.md for why 2.2).
C2PA_SPEC_VERSION = "2.2"
_THUMBNAIL_ID = "thumbnail.jpg"  # the resource name a given claim thumbnail travels under

_ALGS = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}


@dataclass(frozen=True)
class IngredientSpec:
    """An ingredient: the parent (``parentOf``) or an input such as a mask (``inputTo``)."""

    data: bytes
    mime: str
    title: str
    relationship: Literal["parentOf", "inputTo", "componentOf"]
    label: str  # referenced from actions' parameters.ingredientIds


@dataclass(frozen=True)
class ManifestSpec:
    title: str
    actions: list[dict[str, Any]]
    ingredients: list[IngredientSpec] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    # The claim thumbnail (JPEG bytes) when the caller has the pixels at hand; None: c2pa makes
    # one from the signed asset if the context asks for thumbnails (decoding it once more).
    thumbnail: bytes | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The c2pa Builder's manifest definition.

        ``created: true`` files the actions under the claim's created assertions (c2pa-rs files an
        assertion it is given as gathered otherwise, and the inception action must sit in the
        first created actions assertion); the actions listed are all that was done.
        """
        info = {"name": "provenance", "version": __version__, "specVersion": C2PA_SPEC_VERSION}
        actions = {"actions": self.actions, "allActionsIncluded": True}
        definition: dict[str, Any] = {
            "claim_generator_info": [info],
            "title": self.title,
            "assertions": [
                {"label": "c2pa.actions.v2", "created": True, "data": actions},
                *self.assertions,
            ],
        }
        if self.thumbnail is not None:
            definition["thumbnail"] = {"format": "image/jpeg", "identifier": _THUMBNAIL_ID}
        return definition


def make_signer(identity: Identity, *, tsa_url: str | None = None) -> c2pa.Signer:
    """A reusable c2pa Signer whose signatures are made by ``identity`` (in-process or callback)."""
    try:
        alg = _ALGS[identity.alg]
    except KeyError as e:
        raise SigningError(f"signing algorithm {identity.alg!r} is not supported by C2PA") from e
    try:
        return c2pa.Signer.from_callback(identity.sign, alg, identity.chain_pem.decode(), tsa_url)
    except c2pa.C2paError as e:
        raise SigningError(f"cannot create a C2PA signer from the identity: {e}") from e


def sign_bytes(
    spec: ManifestSpec, source: bytes, mime: str, signer: c2pa.Signer, context: c2pa.Context
) -> bytes:
    """Sign ``spec`` into ``source`` (encoded image bytes of type ``mime``); return the result."""
    out = io.BytesIO()
    try:
        builder = c2pa.Builder(spec.to_json(), context=context)
        try:
            if spec.thumbnail is not None:
                builder.add_resource(_THUMBNAIL_ID, io.BytesIO(spec.thumbnail))
            for ing in spec.ingredients:
                builder.add_ingredient(
                    {"title": ing.title, "relationship": ing.relationship, "label": ing.label},
                    ing.mime,
                    io.BytesIO(ing.data),
                )
            builder.sign(signer, mime, io.BytesIO(source), out)
        finally:
            builder.close()
    except c2pa.C2paError as e:
        raise SigningError(f"signing the {mime} output failed: {_explain(e)}") from e
    return out.getvalue()


# c2pa's words -> ours, first match wins; the raw reason always follows.
_C2PA_REASONS = (
    ("ingredientMismatch", "an action names an ingredient the manifest lacks or relates wrongly"),
    ("assertion.action", "an action in the manifest breaks the C2PA rules"),
    ("assertion", "an assertion in the manifest breaks the C2PA rules"),
    ("Unsupported", "c2pa cannot sign this format"),
)


def _explain(e: Exception, limit: int = 300) -> str:
    """One line: what went wrong in our words, then c2pa's reason, cut only between words."""
    text = " ".join(str(e).split())  # c2pa's validation errors span lines (fuzz finding)
    ours = next((why for key, why in _C2PA_REASONS if key in text), "c2pa refused the manifest")
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + " …"
    return f"{ours} (c2pa: {text})"


@functools.cache
def _offline_context() -> c2pa.Context:
    return make_context(thumbnail=False)


def has_manifest(data: bytes, mime: str) -> bool:
    """True when ``data`` carries an embedded C2PA manifest store (valid or not)."""
    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), context=_offline_context())
    except c2pa.C2paError:
        return True  # a store is there but broken: still "has one"; verify explains
    if reader is None:
        return False
    reader.close()
    return True
