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
from typing import TYPE_CHECKING, Any, Literal

from provenance.vocab import Verdict

if TYPE_CHECKING:
    from ledger import Entry
    from provenance.recovery.match import Candidate

__all__ = [
    "ChainNode",
    "EntrySummary",
    "LedgerCheck",
    "PixelCheck",
    "Proof",
    "Signer",
    "StatusCode",
    "Verdict",
    "VerificationReport",
]


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
    cert_sha256: str | None = None  # the signer certificate's SHA-256, when found unambiguously
    cert_issuer: str | None = None  # its issuer (RFC 4514), from the certificate itself
    time_stamped: bool | None = None  # a trusted time-stamp vouches for the signing time
    tsa: str | None = None  # the time-stamping authority's name (its certificate's CN)
    tsa_source: str | None = None  # the TSA list that vouched for it ("C2PA TSA Trust List, ...")
    source: str | None = None  # the trust source that vouched for the signer
    product: str | None = None  # its product on the C2PA Conforming Products List


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
    repeat: bool = False  # this manifest is shown in full elsewhere in the chain (a DAG)
    omitted: int = 0  # ingredients not reported: the chain's node limit was reached
    app: str | None = None  # app or device used (a software agent, else the claim generator)
    creators: list[str] = field(default_factory=list)  # CreativeWork authors it names


@dataclass(frozen=True)
class EntrySummary:
    """One ledger entry as reports show it (verify's ledger section, ``lineage``, ``log``).

    ``output`` is the recorded file's name, ``output_sha256`` its hash.
    """

    id: str
    index: int
    kind: str
    time: str
    actor: Any
    op: Any
    backend: Any
    model: Any
    actions: list[Any]
    output: str | None
    output_sha256: str | None
    parents: list[str]

    @classmethod
    def of(cls, entry: Entry) -> EntrySummary:
        body = entry.body
        raw = body.get("output")
        out: dict[str, Any] = raw if isinstance(raw, dict) else {}
        return cls(
            id=entry.id,
            index=entry.index,
            kind=entry.kind,
            time=entry.time.isoformat(),
            actor=body.get("actor"),
            op=body.get("op"),
            backend=body.get("backend"),
            model=body.get("model"),
            actions=list(body.get("actions", [])),
            output=out.get("name"),
            output_sha256=out.get("sha256"),
            parents=list(entry.parents),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fork:
    """The log's history no longer extends a checkpoint this user verified before: both signed
    notes are evidence anyone can check offline with the log's public key."""

    reason: str
    previous: str
    current: str


@dataclass(frozen=True)
class Proof:
    """The entry's inclusion in the latest signed checkpoint; ``verified`` None: not checkable."""

    verified: bool | None
    signature: bool | None
    reason: str
    checkpoint_size: int | None = None
    root: str | None = None  # hex
    key_source: str | None = None  # whose key checked the checkpoint's signature
    fork: Fork | None = None  # a fork alarm: the ledger evidence counts as failed
    # Under a witness policy: {"quorum", "required", "cosigned": [names], "size", "satisfied"}.
    witnesses: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        # Absent facts are left out rather than null: the JSON contract of docs/verify.md.
        return {k: v for k, v in asdict(self).items() if v is not None or k in _PROOF_ALWAYS}


_PROOF_ALWAYS = ("verified", "signature", "reason")


@dataclass
class PixelCheck:
    """A stripped copy compared pixel by pixel with a recorded original (docs/recovery.md).

    ``state``: ``confirmed`` (these are the recorded pixels, re-encoded, resized or cropped),
    ``altered`` (``regions`` differ: boxes ``{x, y, width, height}`` in the original's pixels;
    ``copy_regions`` the same in the copy's), ``unaligned`` or ``unavailable`` (no copy of the
    original in this home's store)."""

    state: str
    reason: str
    entry: str  # the lead's entry id
    output: str  # the recorded output's SHA-256
    index: int | None = None  # the lead's entry index
    fingerprints: str = ""  # the lead's fingerprint label ("strong match", "possible match")
    regions: list[dict[str, int]] = field(default_factory=list)
    copy_regions: list[dict[str, int]] = field(default_factory=list)
    coverage: float | None = None  # fraction of the original the copy shows
    original_size: list[int] | None = None  # [width, height]


# The thumbnail key of an altered copy's picture, its differing regions outlined (HTML report).
REGIONS_PICTURE = "diff:regions"


# How the entry was found: the file's hash, the manifest's ledger claim, or its pictures.
Match = Literal["exact", "manifest", "perceptual"]


@dataclass
class LedgerCheck:
    """The cross-check against the ledger; ``done`` is False when there was no ledger to ask."""

    done: bool
    reason: str
    match: Match | None = None
    entry: EntrySummary | None = None
    lineage: list[EntrySummary] = field(default_factory=list)
    proof: Proof | None = None
    problems: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)  # perceptual search results
    pixels: PixelCheck | None = None  # the deciding lead's pixels against its original

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["proof"] = self.proof.to_json() if self.proof else None
        return data


@dataclass
class VerificationReport:
    path: str
    verdict: Verdict
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
    # What ancestors signed by someone the policy does not trust claim (shown, not believed).
    unverified: list[str] = field(default_factory=list)
    thumbnails: dict[str, bytes] = field(default_factory=dict, repr=False)
    # The active manifest's assertion data by label (for the publish gate, which then need not
    # read the file again); kept out of the JSON like the thumbnails.
    assertions: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ledger_entry(self) -> str | None:
        return self.ledger.entry.id if self.ledger and self.ledger.entry else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("thumbnails")
        data.pop("assertions")
        data["ledger"] = self.ledger.to_json() if self.ledger else None
        data["ledger_entry"] = self.ledger_entry
        return data
