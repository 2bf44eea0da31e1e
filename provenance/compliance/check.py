"""The publish gate: does a file meet a :class:`PublishPolicy`? One pass/fail line per rule.

Example::

    from provenance.compliance.check import check_path
    from provenance.compliance.policy_file import default_publish_policy
    from provenance.home.paths import home_from_env
    from provenance.home.ledger import open_ledger

    home = home_from_env()
    with open_ledger(home, read_only=True) as ledger:
        result = check_path("banner.png", default_publish_policy(), home=home, ledger=ledger)
    print(result.passed)
    for r in result.results:
        print(r.rule, "PASS" if r.passed else "FAIL", r.reason)

Never raises for a file's contents (an unreadable file fails every rule with the reason); a bad
policy raises :class:`~provenance.errors.PolicyError` before any file is looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledger import Entry, Ledger
from provenance.compliance.policy_file import PublishPolicy, RuleConfig
from provenance.compliance.review import REVIEW_KIND, review_status
from provenance.compliance.signing import enrolled_reviewers
from provenance.errors import ledger_failures
from provenance.home.paths import Home
from provenance.verify.core import verify_path
from provenance.verify.lookup import latest_producer
from provenance.verify.policy import TrustPolicy, default_policy
from provenance.verify.report import ChainNode, VerificationReport
from provenance.vocab import (
    AI_SOURCE_TYPES,
    ASSET_KINDS,
    LEDGER_ASSERTION,
    REQUEST_ASSERTION,
    Verdict,
    is_ai_source_type,
    short_source_type,
)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    reason: str


@dataclass
class CheckResult:
    """The gate's answer for one file."""

    path: str
    passed: bool
    results: list[RuleResult]
    policy: str
    sha256: str | None = None
    verdict: str | None = None
    entry: str | None = None  # the ledger entry that records this exact file

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Facts:
    """What the rules look at, gathered once per file."""

    report: VerificationReport  # the file is read once, by verification
    ledger: Ledger | None
    enrolled: dict[str, str] = field(default_factory=dict)  # reviewer certificates of the home
    entry: Entry | None = None  # exact hash match among recorded assets
    lineage: list[Entry] = field(default_factory=list)

    def generative_types(self) -> list[str]:
        """Digital source types the ledger records for this file's generative steps."""
        return [
            short_source_type(str(e.body["digital_source_type"]))
            for e in self.lineage
            if e.body.get("digital_source_type") and e.body.get("op") in ("generate", "edit")
        ]

    def known_not_generated(self) -> bool:
        """The ledger knows this file and no step in its lineage generated or changed pixels by algorithm."""
        return bool(self.lineage) and not self.generative_types()


@ledger_failures()  # ledger errors join the ProvenanceError family
def check_path(
    path: str | Path, policy: PublishPolicy, *, home: Home | None, ledger: Ledger | None
) -> CheckResult:
    """Check one file against ``policy``; ``ledger`` None makes ledger-backed rules fail."""
    trust = trust_policy_for(policy, home)
    report = verify_path(path, trust, ledger)
    facts = _Facts(report, ledger, enrolled_reviewers(home))
    if ledger is not None and report.sha256:
        facts.entry = latest_producer(ledger, report.sha256, ASSET_KINDS)
        anchor = facts.entry.id if facts.entry else report.ledger_entry
        if anchor:
            facts.lineage = ledger.lineage(anchor)
    results = [_RULES[r.name](facts, r) for r in policy.rules]
    return CheckResult(
        str(path),
        all(r.passed for r in results),
        results,
        policy.source,
        report.sha256,
        report.verdict,
        facts.entry.id if facts.entry else None,
    )


def trust_policy_for(policy: PublishPolicy, home: Home | None) -> TrustPolicy:
    """The verification policy behind the ``credentials`` rule (accept and trust anchors)."""
    rule = policy.rule("credentials")
    accept = rule.options["accept"] if rule else [Verdict.TRUSTED]
    base = policy.base_dir or Path.cwd()
    trust = [base / t for t in rule.options["trust"]] if rule else []
    return default_policy(home, trust=trust, accept=accept)


# -- rules ---------------------------------------------------------------------------------------


def _credentials(f: _Facts, rule: RuleConfig) -> RuleResult:
    r = f.report
    if not r.accepted:
        why = r.reasons[0] if r.reasons else "no reason given"
        return RuleResult(
            rule.name,
            False,
            f"verdict {r.verdict} is not accepted "
            f"(accepted: {', '.join(rule.options['accept'])}): {why}",
        )
    cn = r.signer.common_name if r.signer else None
    signers = rule.options["signers"]
    if signers and cn not in signers:
        return RuleResult(
            rule.name,
            False,
            f"signed by {cn or 'an unknown signer'}, which is not "
            f"an allowed signer (allowed: {', '.join(signers)})",
        )
    return RuleResult(rule.name, True, f"{r.verdict}: signed by {cn or 'nobody (no credentials)'}")


def _disclosed(f: _Facts) -> str | None:
    r = f.report
    if r.verdict in (Verdict.INVALID, Verdict.ERROR) or not r.digital_source_type:
        return None
    return r.digital_source_type


def _ai_disclosure(f: _Facts, rule: RuleConfig) -> RuleResult:
    disclosed = _disclosed(f)
    recorded = f.generative_types()
    if disclosed:
        ai_recorded = [t for t in recorded if is_ai_source_type(t)]
        if ai_recorded and not f.report.ai_generated:
            return RuleResult(
                rule.name,
                False,
                f"the file discloses {disclosed} but the ledger "
                f"records AI generation ({ai_recorded[0]}): the disclosure understates it",
            )
        return RuleResult(
            rule.name,
            True,
            f"discloses digitalSourceType {disclosed} in its C2PA "
            "actions (machine-readable marking)",
        )
    if f.report.verdict == Verdict.INVALID and f.report.digital_source_type:
        return RuleResult(
            rule.name, False, "the disclosure sits in content credentials that do not validate"
        )
    if rule.options["scope"] == "ai" and f.known_not_generated():
        return RuleResult(
            rule.name,
            True,
            "not an AI output: its ledger lineage has no generative step (no disclosure needed)",
        )
    if recorded:
        return RuleResult(
            rule.name,
            False,
            f"the ledger records it as generated ({recorded[0]}) "
            "but the file carries no machine-readable disclosure (no digitalSourceType)",
        )
    return RuleResult(
        rule.name,
        False,
        "no digitalSourceType in the file's content credentials"
        + (
            ""
            if rule.options["scope"] == "all"
            else ", and no ledger record shows it is not AI-generated"
        ),
    )


def _latent_disclosure(f: _Facts, rule: RuleConfig) -> RuleResult:
    if rule.options["scope"] == "ai" and f.known_not_generated() and not _disclosed(f):
        return RuleResult(
            rule.name,
            True,
            "not an AI output: its ledger lineage has no "
            "generative step (no latent disclosure needed)",
        )
    if f.report.verdict not in (Verdict.TRUSTED, Verdict.VALID_UNTRUSTED):
        return RuleResult(
            rule.name,
            False,
            f"no valid content credentials (verdict "
            f"{f.report.verdict}), so no latent disclosure can be read",
        )
    request = f.report.assertions.get(REQUEST_ASSERTION)
    if not isinstance(request, dict):
        return RuleResult(
            rule.name,
            False,
            f"the manifest has no {REQUEST_ASSERTION} assertion "
            "(provider, system, time, unique id)",
        )
    missing = [k for k in rule.options["fields"] if not request.get(k)]
    if missing:
        return RuleResult(rule.name, False, f"{REQUEST_ASSERTION} lacks {', '.join(missing)}")
    ledger_ref = f.report.assertions.get(LEDGER_ASSERTION)
    named = ledger_ref.get("entry") if isinstance(ledger_ref, dict) else None
    if "id" in rule.options["fields"] and named and request.get("id") != named:
        return RuleResult(
            rule.name,
            False,
            f"unique id {request.get('id')} differs from the "
            f"ledger entry {named} the manifest names",
        )
    shown = ", ".join(f"{k} {request[k]}" for k in rule.options["fields"])
    return RuleResult(rule.name, True, f"latent disclosure present: {shown}")


def _approval(f: _Facts, rule: RuleConfig) -> RuleResult:
    sha = f.report.sha256
    if f.ledger is None or sha is None:
        return RuleResult(rule.name, False, "no ledger available to look up reviews")
    allowed = rule.options["reviewers"]
    status = review_status(f.ledger, sha, allowed, f.enrolled)
    if status.state == "approved" and status.deciding is not None:
        d = status.deciding
        creator = f.entry.body.get("actor") if f.entry else None
        maker_cert = (f.entry.body.get("signer") or {}).get("cert_sha256") if f.entry else None
        if rule.options["four_eyes"] and (creator == d.verified or maker_cert == d.cert_sha256):
            return RuleResult(
                rule.name,
                False,
                f"approved by {d.verified}, who also made it "
                "(four_eyes needs a different reviewer)",
            )
        return RuleResult(
            rule.name,
            True,
            f"approved by {d.verified} at {d.time} (review entry {d.index}) for this exact file",
        )
    if status.state == "rejected" and status.deciding is not None:
        d = status.deciding
        note = f": {d.note}" if d.note else ""
        return RuleResult(
            rule.name, False, f"rejected by {d.verified} at {d.time} (review entry {d.index}){note}"
        )
    if status.ignored:
        names = ", ".join(sorted({str(r.verified) for r in status.ignored}))
        return RuleResult(
            rule.name,
            False,
            f"approved only by {names}, not an allowed reviewer (allowed: {', '.join(allowed)})",
        )
    if status.unsigned:
        return RuleResult(
            rule.name,
            False,
            f"no signed approval of this exact file: {len(status.unsigned)} review(s) not "
            "signed by an enrolled reviewer count as none",
        )
    hint = _approved_ancestor(f)
    return RuleResult(
        rule.name,
        False,
        f"no approval of this exact file (sha256 {sha[:16]}...)" + (f"; {hint}" if hint else ""),
    )


def _approved_ancestor(f: _Facts) -> str | None:
    assert f.ledger is not None
    for e in f.lineage[1:] if f.entry else f.lineage:
        for out in e.outputs:
            if any(x.kind == REVIEW_KIND for x in f.ledger.find_by_input(out)):
                return (
                    f"ancestor entry {e.index} was reviewed, but every change needs its own "
                    "approval"
                )
    return None


def _chain(f: _Facts, rule: RuleConfig) -> RuleResult:
    ok = f.report.chain_ok
    if ok:
        n = _count(f.report.chain) - 1 if f.report.chain else 0
        return RuleResult(
            rule.name,
            True,
            f"every ancestor in the ingredient chain validates "
            f"({n} ingredient{'s' if n != 1 else ''})",
        )
    if ok is None:
        return RuleResult(
            rule.name, False, f"no valid content credentials to walk (verdict {f.report.verdict})"
        )
    broken = _first_broken(f.report.chain)
    what = (
        f"{broken.title or 'an ingredient'} ({', '.join(c.code for c in broken.failures)})"
        if broken
        else "an ingredient"
    )
    return RuleResult(rule.name, False, f"broken ancestor: {what} failed its own validation")


def _recorded(f: _Facts, rule: RuleConfig) -> RuleResult:
    if f.ledger is None:
        return RuleResult(rule.name, False, "no ledger available")
    if f.entry is None:
        return RuleResult(
            rule.name,
            False,
            "this exact file is not recorded in the ledger "
            f"(sha256 {(f.report.sha256 or '?')[:16]}...)",
        )
    check = f.report.ledger
    problems = check.problems if check else []
    if problems:
        return RuleResult(rule.name, False, problems[0])
    proof = check.proof if check and check.entry and check.entry.id == f.entry.id else None
    if not proof or proof.verified is not True:
        why = proof.reason if proof else "no inclusion proof"
        return RuleResult(rule.name, False, f"recorded as ledger entry {f.entry.index}, but {why}")
    return RuleResult(
        rule.name,
        True,
        f"recorded as ledger entry {f.entry.index} ({f.entry.kind}), "
        f"included in the signed checkpoint of size {proof.checkpoint_size}",
    )


_RULES: dict[str, Callable[[_Facts, RuleConfig], RuleResult]] = {
    "credentials": _credentials,
    "ai_disclosure": _ai_disclosure,
    "latent_disclosure": _latent_disclosure,
    "approval": _approval,
    "chain": _chain,
    "recorded": _recorded,
}


def _count(node: ChainNode) -> int:
    return 1 + sum(_count(c) for c in node.ingredients)


def _first_broken(node: ChainNode | None) -> ChainNode | None:
    if node is None:
        return None
    for c in node.ingredients:
        if not c.ok:
            return c
        found = _first_broken(c)
        if found:
            return found
    return None


__all__ = ["AI_SOURCE_TYPES", "CheckResult", "RuleResult", "check_path", "trust_policy_for"]
