"""Verification core: a file in, a :class:`VerificationReport` out. Never prints, never raises.

Example::

    from provenance.policy import default_policy
    from provenance.verify import verify_path

    report = verify_path("photo.jpg", default_policy(None, trust=["anchors.pem"]))
    print(report.verdict, report.reasons)      # trusted ['signed by ...']
    print(report.to_json())

Verdicts (DESIGN.md): ``trusted``, ``valid_untrusted``, ``invalid``, ``no_credentials``,
``recovered``, ``error``. ``chain_ok`` says whether every ingredient in the chain validated too
(C2PA does not fail a file for a broken ancestor). :func:`require_accepted` is the raising wrapper.
"""

from __future__ import annotations

import mimetypes
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledger import Entry, Ledger
from provenance import imaging
from provenance.credentials import LEDGER_ASSERTION, make_context
from provenance.credentials.read import StoreReading, read_store
from provenance.errors import VerificationError
from provenance.explain import explain_code
from provenance.hashing import sha256_bytes
from provenance.policy import TrustPolicy

MAX_FILE_BYTES = 512 * 1024 * 1024
_AI_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia",
             "compositeSynthetic", "algorithmicMedia")
# Codes that only say "we do not trust this signer": not damage.
_UNTRUSTED = {"signingCredential.untrusted"}


@dataclass
class StatusCode:
    code: str
    kind: str  # "failure", "success" or "informational"
    explanation: str  # plain language
    detail: str | None = None  # c2pa's own explanation
    url: str | None = None


@dataclass
class Signer:
    common_name: str | None
    issuer: str | None
    alg: str | None
    time: str | None
    trusted: bool
    local_identity: bool = False


@dataclass
class ChainNode:
    """One manifest in the ingredient tree (the file itself is the root node)."""

    title: str | None
    relationship: str  # "self", "parentOf", "inputTo", "componentOf"
    label: str | None
    signer: Signer | None
    actions: list[str]
    digital_source_types: list[str]
    ok: bool  # its own validation showed no failure (an ingredient without a manifest is ok)
    has_manifest: bool
    failures: list[StatusCode] = field(default_factory=list)
    software_agents: list[str] = field(default_factory=list)
    ingredients: list[ChainNode] = field(default_factory=list)


@dataclass
class LedgerCheck:
    done: bool
    reason: str
    match: str | None = None  # "exact", "manifest", "perceptual"
    entry: dict[str, Any] | None = None  # id, index, op, time, actor, backend, model
    lineage: list[dict[str, Any]] = field(default_factory=list)
    proof: dict[str, Any] | None = None  # checkpoint size, root, verified
    problems: list[str] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)


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

    @property
    def ledger_entry(self) -> str | None:
        return self.ledger.entry["id"] if self.ledger and self.ledger.entry else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ledger_entry"] = self.ledger_entry
        return data


def verify_path(path: str | Path, policy: TrustPolicy, ledger: Ledger | None = None) -> VerificationReport:
    """Verify one file on disk; unreadable input gives verdict ``error`` with the reason."""
    p = Path(path)
    try:
        if p.is_dir():
            return _error(str(p), "is a directory, not a file")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            return _error(str(p), f"file too large ({size} bytes; limit {MAX_FILE_BYTES})")
        data = p.read_bytes()
    except OSError as e:
        return _error(str(p), f"cannot read ({e.strerror or e})")
    return verify_bytes(data, policy, ledger, name=str(p))


def verify_bytes(data: bytes, policy: TrustPolicy, ledger: Ledger | None = None, *,
                 name: str = "<bytes>") -> VerificationReport:
    try:
        report = _verify(data, policy, ledger, name)
    except Exception as e:  # a verifier that crashes on hostile input must still answer
        report = _error(name, f"could not be verified ({type(e).__name__}: {e})")
    report.accepted = policy.accepts(report)
    if policy.unsafe:
        report.notes.append("UNSAFE policy: this report was not enforced")
    return report


def require_accepted(report: VerificationReport, policy: TrustPolicy) -> VerificationReport:
    """The raising wrapper: :class:`VerificationError` unless the policy accepts the report."""
    if not policy.accepts(report):
        raise VerificationError(f"{report.path}: {report.verdict}: {'; '.join(report.reasons)}")
    return report


def _error(name: str, reason: str) -> VerificationReport:
    return VerificationReport(path=name, verdict="error", reasons=[f"{Path(name).name}: {reason}"])


def _mime_for(data: bytes, name: str) -> str | None:
    sniffed = imaging.sniff_mime(data)
    if sniffed:
        return sniffed
    guessed, _ = mimetypes.guess_type(name)
    if data.startswith(b"%PDF"):
        return "application/pdf"
    return guessed


def _verify(data: bytes, policy: TrustPolicy, ledger: Ledger | None, name: str) -> VerificationReport:
    if not data:
        return _error(name, "empty file (0 bytes)")
    mime = _mime_for(data, name)
    if mime is None:
        return _error(name, "not an image or document format that can carry content credentials")
    ctx = make_context(trust_anchors=policy.anchors_pem, allow_network=policy.allow_network,
                       thumbnail=False)
    reading = read_store(data, mime, ctx)
    report = VerificationReport(path=name, verdict="error", sha256=sha256_bytes(data), mime=mime)
    if reading.error is not None and reading.state is None:
        if reading.unsupported:
            return _error(name, f"{mime}: {reading.error}")
        if reading.remote_url and not policy.allow_network:
            report.verdict = "no_credentials"
            report.reasons.append("the credentials are stored remotely and were not fetched "
                                  "(run with --allow-network to fetch them)")
            report.ledger = _ledger_check(report, data, None, ledger)
            return report
        report.verdict = "invalid"
        report.reasons.append(f"the content credentials are present but unreadable: {reading.error}")
        return report
    if reading.state is None:
        return _no_manifest(report, data, mime, ledger)
    _read_manifest(report, reading, policy)
    report.ledger = _ledger_check(report, data, reading, ledger)
    return report


def _no_manifest(report: VerificationReport, data: bytes, mime: str,
                 ledger: Ledger | None) -> VerificationReport:
    if mime.startswith("image/"):
        try:
            imaging.open_image(data, name=Path(report.path).name)
        except Exception as e:
            report.verdict = "error"
            report.reasons.append(str(e))
            return report
    report.ledger = _ledger_check(report, data, None, ledger)
    if report.ledger.match is not None:
        report.verdict = "recovered"
        report.reasons.insert(0, "no content credentials in the file, but it matches a ledger entry "
                                 f"({report.ledger.match} match)")
    else:
        report.verdict = "no_credentials"
        report.reasons.insert(0, "no content credentials in the file and no ledger match")
    return report


def _read_manifest(report: VerificationReport, reading: StoreReading, policy: TrustPolicy) -> None:
    store = reading.store
    active = reading.active or {}
    results = store.get("validation_results", {}).get("activeManifest", {})
    codes = [_status(c, "failure") for c in results.get("failure", [])]
    codes += [_status(c, "failure") for c in store.get("validation_status", []) or []
              if c.get("code") not in {s.code for s in codes}]
    codes += [_status(c, "informational") for c in results.get("informational", [])]
    codes += [_status(c, "success") for c in results.get("success", [])]
    report.status_codes = codes
    damage = [c for c in codes if c.kind == "failure" and c.code not in _UNTRUSTED]
    report.chain = _node(active, store, "self", set())
    report.signer = report.chain.signer
    report.actions = report.chain.actions
    dsts = _all_source_types(report.chain)
    report.digital_source_type = dsts[0] if dsts else None
    report.ai_generated = any(_short(d) in _AI_TYPES[:3] for d in dsts) if dsts else False
    req = _assertion(active, "org.provenance.request")
    report.model = req.get("model") if isinstance(req, dict) else None
    report.chain_ok = all(_subtree_ok(i) for i in report.chain.ingredients)
    if reading.state == "Invalid" or damage:
        report.verdict = "invalid"
        report.chain_ok = None
        report.reasons.append("the content credentials do not validate: "
                              + "; ".join(c.explanation for c in damage) if damage else
                              "the content credentials do not validate")
        return
    signer = report.signer
    if reading.state == "Trusted":
        report.verdict = "trusted"
        local = signer is not None and signer.local_identity
        who = signer.common_name if signer else "unknown signer"
        report.reasons.append(f"signed by {who}, which chains to a configured trust anchor"
                              + (" (a local, self-issued identity made by `provenance init`)"
                                 if local else ""))
    else:
        report.verdict = "valid_untrusted"
        who = signer.common_name if signer else "an unknown signer"
        report.reasons.append(f"the credentials are intact but {who} is not a trusted signer "
                              "(add its CA with --trust to trust it)")
    if report.chain_ok is False:
        report.reasons.append("an ancestor in the ingredient chain failed its own validation")
    if reading.remote_url:
        report.notes.append(f"remote manifest reference {reading.remote_url} was not fetched")
    if signer is not None:
        anchor = policy.anchor_for([signer.issuer or ""])
        signer.local_identity = bool(anchor and anchor.local) or signer.local_identity


def _status(c: dict[str, Any], kind: str) -> StatusCode:
    code = str(c.get("code", "unknown"))
    return StatusCode(code, kind, explain_code(code), c.get("explanation"), c.get("url"))


def _short(dst: str) -> str:
    return dst.rsplit("/", 1)[-1]


def _assertion(manifest: dict[str, Any], label: str) -> Any:
    for a in manifest.get("assertions", []) or []:
        if a.get("label") == label:
            return a.get("data")
    return None


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for a in manifest.get("assertions", []) or []:
        if str(a.get("label", "")).startswith("c2pa.actions"):
            out += (a.get("data") or {}).get("actions", []) or []
    return out


def _signer(manifest: dict[str, Any], trusted: bool) -> Signer | None:
    info = manifest.get("signature_info")
    if not isinstance(info, dict):
        return None
    issuer = info.get("issuer")
    return Signer(info.get("common_name"), issuer, info.get("alg"), info.get("time"), trusted,
                  local_identity=issuer == "Provenance local identity")


def _node(manifest: dict[str, Any], store: dict[str, Any], relationship: str,
          seen: set[str]) -> ChainNode:
    acts = _actions(manifest)
    failures: list[StatusCode] = []
    state_trusted = any(c.get("code") == "signingCredential.trusted" for c in
                        store.get("validation_results", {}).get("activeManifest", {}).get("success", []))
    node = ChainNode(
        title=manifest.get("title"), relationship=relationship, label=manifest.get("label"),
        signer=_signer(manifest, state_trusted if relationship == "self" else False),
        actions=[str(a.get("action")) for a in acts],
        digital_source_types=[_short(str(a["digitalSourceType"])) for a in acts
                              if a.get("digitalSourceType")],
        ok=True, has_manifest=bool(manifest), failures=failures,
        software_agents=sorted({_agent(a) for a in acts if a.get("softwareAgent")}),
    )
    manifests = store.get("manifests", {})
    for ing in manifest.get("ingredients", []) or []:
        label = ing.get("active_manifest")
        child_manifest = manifests.get(label, {}) if label and label not in seen else {}
        child = _node({**child_manifest, "title": ing.get("title")} if child_manifest else
                      {"title": ing.get("title")}, store, str(ing.get("relationship", "")),
                      seen | ({label} if label else set()))
        child.has_manifest = bool(child_manifest)
        own = (ing.get("validation_results") or {}).get("activeManifest", {}).get("failure", []) or []
        own += ing.get("validation_status") or []
        child.failures = [_status(c, "failure") for c in own if c.get("code") not in _UNTRUSTED]
        child.ok = not child.failures
        node.ingredients.append(child)
    return node


def _agent(action: dict[str, Any]) -> str:
    agent = action.get("softwareAgent")
    if isinstance(agent, dict):
        return " ".join(str(v) for k, v in agent.items() if k in ("name", "version"))
    return str(agent)


def _subtree_ok(node: ChainNode) -> bool:
    return node.ok and all(_subtree_ok(c) for c in node.ingredients)


def _all_source_types(node: ChainNode) -> list[str]:
    found = list(node.digital_source_types)
    for c in node.ingredients:
        found += _all_source_types(c)
    return found


def _entry_summary(entry: Entry) -> dict[str, Any]:
    body = entry.body
    return {
        "id": entry.id, "index": entry.index, "kind": entry.kind,
        "time": entry.time.isoformat(), "actor": body.get("actor"), "op": body.get("op"),
        "backend": body.get("backend"), "model": body.get("model"),
        "output": (body.get("output") or {}).get("sha256"),
        "parents": list(entry.parents),
    }


def _ledger_check(report: VerificationReport, data: bytes, reading: StoreReading | None,
                  ledger: Ledger | None) -> LedgerCheck:
    if ledger is None:
        return LedgerCheck(done=False, reason="no ledger available; ledger checks not done")
    digest = report.sha256 or sha256_bytes(data)
    check = LedgerCheck(done=True, reason="")
    claimed = _assertion(reading.active or {}, LEDGER_ASSERTION) if reading else None
    entry: Entry | None = None
    found = ledger.find_by_output(digest)
    if found:
        entry, check.match = found[-1], "exact"
    if isinstance(claimed, dict):
        if claimed.get("origin") not in (None, ledger.origin):
            check.problems.append(f"the manifest names another ledger ({claimed.get('origin')})")
        else:
            named = ledger.get(str(claimed.get("entry")))
            if named is None:
                check.problems.append(f"the manifest names ledger entry {claimed.get('entry')}, "
                                      "which this ledger does not have")
            elif entry is None:
                entry, check.match = named, "manifest"
                check.problems.append("the file's hash differs from the output recorded in its "
                                      "ledger entry")
            elif named.id != entry.id:
                check.problems.append(f"the manifest names entry {named.id} but the file's hash "
                                      f"is recorded in entry {entry.id}")
    if entry is None:
        check.reason = "no ledger entry for this file"
        return check
    check.entry = _entry_summary(entry)
    check.lineage = [_entry_summary(e) for e in ledger.lineage(entry.id)]
    check.proof = _proof(ledger, entry)
    check.reason = f"recorded as ledger entry {entry.index} ({entry.kind})"
    report.reasons.append(check.reason)
    report.reasons += check.problems
    return check


def _proof(ledger: Ledger, entry: Entry) -> dict[str, Any]:
    cp = ledger.latest_checkpoint()
    if cp is None or cp.size <= entry.index:
        return {"verified": None, "reason": "no signed checkpoint covers this entry yet"}
    from ledger.merkle import verify_inclusion

    path = ledger.inclusion_proof(entry.index, cp.size)
    ok = verify_inclusion(entry.leaf_hash, entry.index, cp.size, path, cp.root)
    return {"verified": ok, "checkpoint_size": cp.size, "root": cp.root.hex(),
            "reason": "included in the latest signed checkpoint" if ok
            else "inclusion proof FAILED against the latest signed checkpoint"}
