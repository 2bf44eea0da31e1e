"""What verification found about one file: :class:`VerificationReport` and its parts.

Example::

    from provenance.verify.policy import TrustPolicy
    from provenance.verify.core import verify_path

    report = verify_path("photo.jpg", TrustPolicy.from_pem_files(["anchors.pem"]))
    report.verdict, report.chain_ok          # ('trusted', True)
    report.to_json()["chain"]["ingredients"]  # each ancestor with its own status

The JSON form (``to_json``) is a contract: ``path``, ``verdict``, ``accepted``, ``chain_ok``,
``reasons``, ``signer``, ``ai_generated``, ``ledger_entry``, ``chain`` and the rest are documented
field by field in docs/verify.md. Thumbnails are kept out of the JSON (they feed the HTML report).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StatusCode:
    """One C2PA validation status code, with a plain-language reading."""

    code: str
    kind: str  # "failure", "success" or "informational"
    explanation: str  # plain language, for a desk editor
    detail: str | None = None  # c2pa's own explanation
    url: str | None = None


@dataclass
class Signer:
    common_name: str | None
    issuer: str | None
    alg: str | None
    time: str | None
    trusted: bool | None  # None: not known (an ingredient whose record does not say)
    local_identity: bool = False
    serial: str | None = None  # certificate serial number (decimal), as c2pa reports it


@dataclass
class ChainNode:
    """One manifest in the ingredient tree; the file itself is the root (relationship ``self``)."""

    title: str | None
    relationship: str  # "self", "parentOf", "inputTo", "componentOf"
    label: str | None
    signer: Signer | None
    actions: list[str]
    digital_source_types: list[str]
    ai_disclosed: bool  # its own actions declare AI-generated or AI-edited content
    ok: bool  # its own validation showed no failure (an ingredient without a manifest is ok)
    has_manifest: bool
    failures: list[StatusCode] = field(default_factory=list)
    software_agents: list[str] = field(default_factory=list)
    thumbnail: str | None = None  # key into VerificationReport.thumbnails
    ingredients: list[ChainNode] = field(default_factory=list)


@dataclass
class LedgerCheck:
    """The cross-check against the ledger; ``done`` is False when there was no ledger to ask."""

    done: bool
    reason: str
    match: str | None = None  # "exact", "manifest" or "perceptual"
    entry: dict[str, Any] | None = None  # id, index, kind, time, actor, op, backend, model, ...
    lineage: list[dict[str, Any]] = field(default_factory=list)
    proof: dict[str, Any] | None = None  # verified, checkpoint_size, root, signature, reason
    problems: list[str] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)  # perceptual search results


@dataclass
class VerificationReport:
    path: str
    verdict: str
    accepted: bool = False
    chain_ok: bool | None = None
    reasons: list[str] = field(default_factory=list)
    sha256: str | None = None
    mime: str | None = None
    signer: Signer | None = None
    ai_generated: bool | None = None
    digital_source_type: str | None = None
    model: str | None = None
    actions: list[str] = field(default_factory=list)
    status_codes: list[StatusCode] = field(default_factory=list)
    chain: ChainNode | None = None
    ledger: LedgerCheck | None = None
    notes: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)  # what could not be checked, and why
    thumbnails: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def ledger_entry(self) -> str | None:
        return self.ledger.entry["id"] if self.ledger and self.ledger.entry else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("thumbnails")
        data["ledger_entry"] = self.ledger_entry
        return data
