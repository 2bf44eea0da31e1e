"""The ledger entry body (schema 1), typed: what the recorder puts in each leaf.

The dataclasses are the contract documented in ``docs/architecture.md`` ("Ledger entry body");
:meth:`to_json` gives exactly the dict the ledger canonicalises (RFC 8785) into the leaf, so the
leaves stay byte-identical to what earlier versions wrote. Free-form parts (backend facts,
request parameters, fingerprints) stay plain JSON dicts.

Example::

    body = ImportBody(actor="desk", output=OutputRecord(...))
    ledger.append("import", body.to_json(), outputs=[body.output.sha256])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENTRY_SCHEMA = 1

Json = dict[str, Any]


@dataclass(frozen=True)
class InputRecord:
    """One input of a recorded call (``role``: parent, reference or mask)."""

    role: str
    sha256: str
    mime: str
    name: str
    entry: str | None  # the ledger entry that produced it, when known
    width: int
    height: int
    fingerprints: Json  # without the detail grid: inputs are never searched for
    # "perceptual": ``entry`` was found by fingerprints (the bytes differ from what it recorded,
    # e.g. a stripped or re-encoded copy); absent for an exact hash match or no match
    link: str | None = None
    # "untrusted" or "invalid": the input carried credentials the recorder could not trust.
    credentials: str | None = None
    # A look-alike of a recorded output whose pixels were not confirmed (so not linked):
    # {"entry": id, "pixels": "altered" | "unaligned" | "unavailable"}.
    lookalike: Json | None = None

    def to_json(self) -> Json:
        out: Json = {
            "role": self.role,
            "sha256": self.sha256,
            "mime": self.mime,
            "name": self.name,
            "entry": self.entry,
            "width": self.width,
            "height": self.height,
            "fingerprints": self.fingerprints,
        }
        if self.link is not None:
            out["link"] = self.link
        if self.credentials is not None:  # absent otherwise: earlier leaves stay byte-identical
            out["credentials"] = self.credentials
        if self.lookalike is not None:
            out["lookalike"] = self.lookalike
        return out


@dataclass(frozen=True)
class OutputRecord:
    """The signed file one entry vouches for."""

    sha256: str
    mime: str
    name: str
    width: int
    height: int
    fingerprints: Json
    facts: Json
    provider_signed: bool

    def to_json(self) -> Json:
        return {
            "sha256": self.sha256,
            "mime": self.mime,
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "fingerprints": self.fingerprints,
            "facts": self.facts,
            "provider_signed": self.provider_signed,
        }


@dataclass(frozen=True)
class RequestRecord:
    """Which call an output came from: ``group`` is shared by the ``count`` outputs of one call."""

    group: str
    index: int
    count: int
    params: Json
    facts: Json

    def to_json(self) -> Json:
        return {
            "group": self.group,
            "index": self.index,
            "count": self.count,
            "params": self.params,
            "facts": self.facts,
        }


@dataclass(frozen=True)
class PromptRecord:
    """The salted hash of the prompt (the prompt and salt live in the erasable secret)."""

    hash: str
    embedded: bool

    def to_json(self) -> Json:
        return {"hash": self.hash, "embedded": self.embedded}


@dataclass(frozen=True)
class SignerRecord:
    subject: str
    cert_sha256: str
    local_identity: bool

    def to_json(self) -> Json:
        return {
            "subject": self.subject,
            "cert_sha256": self.cert_sha256,
            "local_identity": self.local_identity,
        }


@dataclass(frozen=True)
class RecordBody:
    """The body of a ``generate`` or ``edit`` entry: one signed output of a recorded call."""

    op: str
    actor: str
    backend: str
    model: str
    software_agent: str
    digital_source_type: str | None
    actions: list[str]
    request: RequestRecord
    output: OutputRecord
    inputs: list[InputRecord]
    prompt: PromptRecord | None
    signer: SignerRecord
    signed_at: str

    def to_json(self) -> Json:
        return {
            "schema": ENTRY_SCHEMA,
            "op": self.op,
            "actor": self.actor,
            "backend": self.backend,
            "model": self.model,
            "software_agent": self.software_agent,
            "digital_source_type": self.digital_source_type,
            "actions": list(self.actions),
            "request": self.request.to_json(),
            "output": self.output.to_json(),
            "inputs": [i.to_json() for i in self.inputs],
            "prompt": self.prompt.to_json() if self.prompt is not None else None,
            "signer": self.signer.to_json(),
            "signed_at": self.signed_at,
        }


@dataclass(frozen=True)
class ImportBody:
    """The body of an ``import`` entry: an existing file registered as a lineage root."""

    actor: str
    output: InputRecord  # role "output"
    has_manifest: bool

    def to_json(self) -> Json:
        return {
            "schema": ENTRY_SCHEMA,
            "op": "import",
            "actor": self.actor,
            "output": {**self.output.to_json(), "has_manifest": self.has_manifest},
            "inputs": [],
        }


def refusal_reason(backend: str, code: str | None) -> str:
    """The leaf's reason for a refusal: who refused and the provider's code, never its message
    (which may echo the prompt); the message is kept with the prompt, erasable."""
    return f"{backend} refused the request" + (f" ({code})" if code else "")


@dataclass(frozen=True)
class RefusalBody:
    """The body of a ``refusal`` entry: the backend refused; nothing was written.

    ``reason`` is :func:`refusal_reason`; the provider's own message is in the entry's secret
    (``{"prompt", "salt", "refusal"}``) so that an erasure removes whatever it echoed.
    """

    op: str
    actor: str
    backend: str
    model: str | None
    prompt: PromptRecord
    reason: str
    code: str | None
    request_id: str | None
    inputs: list[InputRecord] = field(default_factory=list)

    def to_json(self) -> Json:
        return {
            "schema": ENTRY_SCHEMA,
            "op": self.op,
            "refused": True,
            "actor": self.actor,
            "backend": self.backend,
            "model": self.model,
            "prompt": self.prompt.to_json(),
            "reason": self.reason,
            "code": self.code,
            "request_id": self.request_id,
            "inputs": [i.to_json() for i in self.inputs],
        }
