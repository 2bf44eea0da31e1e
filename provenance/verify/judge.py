"""Judge a file that carries a manifest store: its own validation, its chain, who signed it.

:func:`read_manifest` fills a :class:`VerificationReport` from c2pa's reading: verdict
``invalid`` for damage, else ``trusted`` or ``valid_untrusted`` with the chain judged beside it,
the signer's certificate pinned when the policy asks, and whether a time-stamp keeps it valid.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from provenance.credentials.context import make_context
from provenance.credentials.read import StoreReading
from provenance.verify import chain as _chain
from provenance.verify.anchors import Anchor
from provenance.verify.narrowing import NARROW_AFTER, narrowed
from provenance.verify.policy import TrustPolicy
from provenance.verify.products import listed_product
from provenance.verify.report import Signer, StatusCode, VerificationReport
from provenance.verify.signer_cert import find_signer_cert
from provenance.vocab import REQUEST_ASSERTION, Verdict, is_ai_source_type

TRUST_HINT = "add its CA to the trust anchors to trust it"

_contexts = threading.local()


def context(policy: TrustPolicy, data: bytes = b"", mime: str = "") -> Any:
    """A c2pa Context per trust setting, reused across the files of a batch (one per thread).

    Building one parses every anchor certificate again; a context holds no per-file state, so
    reading many files under one policy needs only one. From the third file under the same
    lists, the context is the one for the anchors ``data``'s certificates could chain to
    (verify/narrowing.py: c2pa weighs every anchor it holds for every file it reads).
    """
    state = _contexts.__dict__
    cache: OrderedDict[tuple[object, bool], Any] = state.setdefault("cache", OrderedDict())
    lists = policy.groups.lists
    seen: dict[object, int] = state.setdefault("seen", {})
    if seen.get(lists, 0) >= NARROW_AFTER:
        lists = narrowed(lists, data, mime) or lists
    elif len(seen) < 8:
        seen[lists] = seen.get(lists, 0) + 1
    key = (lists, policy.allow_network)
    ctx = cache.get(key)
    if ctx is None:
        if len(cache) >= 32:
            cache.popitem(last=False)
        ctx = cache[key] = make_context(
            trust_lists=lists, allow_network=policy.allow_network, thumbnail=False
        )
    else:
        cache.move_to_end(key)
    return ctx


def read_manifest(
    report: VerificationReport, reading: StoreReading, policy: TrustPolicy, data: bytes
) -> None:
    store = reading.store
    active = reading.active or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    codes = [_chain.status(c, "failure") for c in results.get("failure") or []]
    seen = {s.code for s in codes}
    codes += [
        _chain.status(c, "failure")
        for c in store.get("validation_status") or []
        if c.get("code") not in seen
    ]
    codes += [_chain.status(c, "informational") for c in results.get("informational") or []]
    codes += [_chain.status(c, "success") for c in results.get("success") or []]
    report.status_codes = codes
    damage = [c for c in codes if c.kind == "failure" and c.code not in _chain.UNTRUSTED_ONLY]
    trusted = reading.state == "Trusted"
    vouched_by = policy.groups.signer.get(trust_list(codes) or "") if trusted else None
    trusted = vouched_by is not None  # a TSA list's root never vouches for a content signer
    report.chain = _chain.build_chain(store, active, trusted, _tsa_only(policy))
    report.signer = report.chain.signer
    report.actions = report.chain.actions
    dsts = _chain.all_source_types(report.chain)
    # Only a trusted signer's word names the source type: an untrusted ancestor's is unverified.
    vouched = _chain.vouched_source_types(report.chain) if trusted else dsts
    report.digital_source_type = _chain.disclosed_from(vouched)
    report.ai_generated = any(is_ai_source_type(d) for d in dsts)
    report.unverified = _chain.unverified_claims(report.chain)
    cut = _chain.omitted(report.chain)
    if cut:
        report.not_checked.append(
            f"chain: {cut} more ingredient reference(s) not shown (limit {_chain.MAX_NODES})"
        )
    report.assertions = _chain.assertions(active)
    req = report.assertions.get(REQUEST_ASSERTION)
    report.model = req.get("model") if isinstance(req, dict) else None
    if report.model is None:
        agents = report.chain.software_agents
        report.model = agents[0] if agents and report.ai_generated else None
    if reading.remote_url:
        report.notes.append(f"the manifest was fetched from {reading.remote_url}")
    if reading.state == "Invalid" or damage:
        report.verdict = Verdict.INVALID
        report.chain.ok = False
        report.chain.failures = damage
        report.reasons.append(
            "the content credentials do not validate: "
            + (
                "; ".join(f"{c.explanation} ({c.code})" for c in damage)
                if damage
                else "c2pa reports the manifest invalid"
            )
        )
        return  # chain_ok stays None: the file's own credentials already fail
    _judge_chain(report, trusted)
    if report.signer is not None:
        report.signer.trusted = trusted
        report.signer.source = _source_words(vouched_by)
    _who(report, policy, trusted, data)


def _judge_chain(report: VerificationReport, trusted: bool) -> None:
    """chain_ok: False if any ancestor failed; True only when the file itself is trusted (an
    untrusted signer cannot vouch that its ancestors are sound); otherwise None."""
    assert report.chain is not None
    broken = _chain.broken_ancestors(report.chain)
    if not trusted:  # an untrusted file's unrecognized ancestors are no news: not judged
        broken = [
            n for n in broken if any(f.explanation != _chain.UNRECOGNIZED for f in n.failures)
        ]
    if broken:
        report.chain_ok = False
        for node in broken:
            why = "; ".join(f"{f.explanation} ({f.code})" for f in node.failures)
            report.reasons.append(
                f"ancestor {node.title or '(untitled)'} failed its own validation: {why}"
            )
    else:
        report.chain_ok = True if trusted else None


def _who(
    report: VerificationReport,
    policy: TrustPolicy,
    trusted: bool,
    data: bytes,
) -> None:
    signer: Signer | None = report.signer
    expired = signer is not None and _certificate_facts(report, signer, policy, trusted, data)
    who = (signer.common_name if signer else None) or "an unknown signer"
    if expired:
        report.verdict = Verdict.INVALID
        report.chain_ok = None
        report.reasons.insert(0, expired)
    elif trusted:
        report.verdict = Verdict.TRUSTED
        local = signer is not None and signer.local_identity
        report.reasons.insert(
            0,
            f"signed by {who}, which chains to {_vouched_by(signer)}"
            + (" (a local, self-issued identity made by `provenance init`)" if local else ""),
        )
        if signer is not None:
            signer.product = listed_product(signer.issuer, signer.common_name)
        if policy.pins_signer and not policy.pinned(signer):
            report.reasons.append(f"{who} is not among the policy's allowed signers")
    else:
        report.verdict = Verdict.VALID_UNTRUSTED
        report.reasons.insert(
            0, f"the credentials are intact but {who} is not a trusted signer ({TRUST_HINT})"
        )


def _certificate_facts(
    report: VerificationReport, signer: Signer, policy: TrustPolicy, trusted: bool, data: bytes
) -> str | None:
    """Local identity, the pinned certificate, the time-stamp, how long the signature holds.

    Returns why the signature no longer validates when the certificate has expired and no
    time-stamp that counts says it was made before (c2pa also accepts other TSAs' time-stamps).
    """
    _time_stamp(report, signer, policy)
    if not trusted:  # nothing to pin, no trust to outlive: the certificate is not even parsed
        return None
    found = find_signer_cert(data, report.mime or "", signer.serial)
    if found is None:
        return None
    signer.cert_sha256, signer.cert_issuer = found.sha256, found.issuer
    # Our identity's signer is issued directly by the home's CA: check that signature itself.
    signer.local_identity = (
        trusted
        and signer.source == LOCAL_SOURCE
        and any(found.issued_by(a.pem) for a in policy.anchors if a.local)
    )
    if signer.time_stamped:
        return None
    if found.not_after < datetime.now(UTC).isoformat():
        return (
            f"the signer certificate expired on {found.not_after[:10]} and no time-stamp that "
            "counts shows the file was signed before: the signature no longer validates"
        )
    report.notes.append(
        f"no trusted time-stamp: valid until {found.not_after[:10]} (when the signer "
        "certificate expires; after that every validator reads this file as invalid)"
    )
    return None


def _time_stamp(report: VerificationReport, signer: Signer, policy: TrustPolicy) -> None:
    """A time-stamp counts only when its TSA chains to a TSA source in force (c2pa also trusts
    one that chains to a signer anchor: that one is named here as not trusted)."""
    stamp = next((c for c in report.status_codes if c.code.startswith("timeStamp.")), None)
    tsa, listed = _tsa_of(report.status_codes)
    source = policy.groups.tsa.get(listed or "")
    signer.time_stamped = bool(signer.time) and source is not None
    signer.tsa = tsa
    if signer.time_stamped and source is not None:
        signer.tsa_source = (
            source.source
            if source.source.startswith("C2PA")
            else f"your TSA anchors from {source.source}"
        )
    elif signer.time and stamp is not None:
        report.notes.append(
            f"time-stamp not trusted: its TSA{f' ({tsa})' if tsa else ''} is on no TSA list in force"
        )


_STAMPED = ", trust list: "


def _tsa_only(policy: TrustPolicy) -> set[str]:
    """The names of the lists given to c2pa that hold TSA anchors only."""
    return set(policy.groups.tsa) - set(policy.groups.signer)


def trust_list(codes: list[StatusCode]) -> str | None:
    """The name of the list c2pa says vouched for the active manifest's signer."""
    for c in codes:
        if c.code == "signingCredential.trusted" and c.kind == "success" and c.detail:
            m = _chain.TRUSTED_BY.search(c.detail)
            return m.group(1) if m else None
    return None


def _tsa_of(codes: list[StatusCode]) -> tuple[str | None, str | None]:
    """(the TSA's name, the list c2pa says vouched for it) from ``timeStamp.*`` codes."""
    name = listed = None
    for c in codes:
        detail = c.detail or ""
        if c.code.startswith("timeStamp.") and ": " in detail:
            head, _, rest = detail.partition(": ")
            if c.code == "timeStamp.trusted" and _STAMPED in rest and "legacy" not in head:
                # the list's name is ours and last: a TSA's name cannot forge it
                name, listed = rest.rsplit(_STAMPED, 1)
            name = name or rest
    return name, listed


LOCAL_SOURCE = "this home's local identity"


def _source_words(anchor: Anchor | None) -> str | None:
    if anchor is None:
        return None
    if anchor.local:
        return LOCAL_SOURCE
    if anchor.source.startswith(("C2PA Trust List", "interim trust list")):
        return anchor.source
    return f"your anchors from {anchor.source}"


def _vouched_by(signer: Signer | None) -> str:
    """Which source vouches, as c2pa names the list that the signer chains to."""
    if signer is not None and signer.local_identity:  # checked by the CA's own signature
        return LOCAL_SOURCE
    source = signer.source if signer else None
    if source is None or source == LOCAL_SOURCE:  # a look-alike of the local CA is not it
        return "a configured trust anchor"
    if source.startswith(("C2PA Trust List", "interim trust list")):
        return f"a trust anchor of the {source}"
    return source
