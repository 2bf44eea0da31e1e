"""A self-contained HTML report of verification results, for people at a verification desk.

Example::

    from provenance.verify.policy import TrustPolicy
    from provenance.verify.html import render_html
    from provenance.verify.core import verify_path

    report = verify_path("photo.jpg", TrustPolicy.from_pem_files(["anchors.pem"]), thumbnails=True)
    open("report.html", "w").write(render_html([report]))

Every picture is inlined as a ``data:`` URI (C2PA claim and ingredient thumbnails, or the file
itself downscaled), so the page can be mailed or archived as one file and opens offline.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from html import escape
from pathlib import Path

from provenance.errors import InputError
from provenance.fileio import write_atomic
from provenance.verify.report import REGIONS_PICTURE, ChainNode, VerificationReport
from provenance.verify.words import (
    POSSIBLE_ALTERED,
    action_name,
    ai_line,
    product_words,
    region_words,
    stamp_words,
)
from provenance.vocab import Verdict

_COLOURS = {
    Verdict.TRUSTED: "#1b7f3b",
    Verdict.VALID_UNTRUSTED: "#a86b00",
    Verdict.INVALID: "#b3261e",
    Verdict.NO_CREDENTIALS: "#555",
    Verdict.RECOVERED: "#1f5fa8",
    Verdict.ERROR: "#6b1f7a",
}
_WORDS = {
    Verdict.TRUSTED: "Trusted",
    Verdict.VALID_UNTRUSTED: "Valid, signer not trusted",
    Verdict.INVALID: "Invalid: altered or broken",
    Verdict.NO_CREDENTIALS: "No content credentials",
    Verdict.RECOVERED: "Recovered from the ledger",
    Verdict.ERROR: "Could not be checked",
}

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:24px;color:#1a1a1a;background:#fafafa}
h1{font-size:22px;margin:0 0 12px}
table.summary{border-collapse:collapse;margin-bottom:20px}
table.summary td,table.summary th{border:1px solid #ccc;padding:4px 10px;text-align:left}
section.file{background:#fff;border:1px solid #ddd;border-radius:8px;padding:16px;margin:0 0 20px}
.verdict{display:inline-block;color:#fff;border-radius:4px;padding:3px 10px;font-weight:600}
.path{font-family:monospace;font-size:14px;margin-left:10px}
ul.reasons li{margin:2px 0}
.facts td{padding:2px 12px 2px 0;vertical-align:top}
.node{display:flex;gap:12px;align-items:flex-start;border-left:4px solid #1b7f3b;
      padding:8px 10px;margin:8px 0;background:#f6f8f6}
.node.broken{border-left-color:#b3261e;background:#fbf1f0}
.node img{width:120px;height:auto;border:1px solid #ccc;background:#fff}
.noimg{width:120px;height:80px;border:1px dashed #bbb;color:#888;font-size:12px;
       display:flex;align-items:center;justify-content:center}
.children{margin-left:36px}
.actions{font-family:monospace;font-size:13px;color:#333}
.regions img{width:480px;max-width:100%}
.bad{color:#b3261e;font-weight:600}.good{color:#1b7f3b;font-weight:600}
"""


def render_html(
    reports: Sequence[VerificationReport], *, title: str = "Verification report"
) -> str:
    """One HTML page for ``reports`` (verified with ``thumbnails=True`` to get pictures)."""
    counts = Counter(r.verdict for r in reports)
    rows = "".join(
        f"<tr><td>{escape(_WORDS[v])}</td><td>{counts[v]}</td></tr>" for v in Verdict if counts[v]
    )
    accepted = sum(1 for r in reports if r.accepted)
    body = "".join(_file(r) for r in reports)
    return (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p>{len(reports)} file(s); {accepted} accepted by the policy.</p>"
        f"<table class=summary><tr><th>verdict</th><th>files</th></tr>{rows}</table>"
        f"{body}</body></html>"
    )


def write_html(path: Path, reports: Sequence[VerificationReport]) -> None:
    """Write :func:`render_html` of ``reports`` to ``path`` whole or not at all."""
    page = render_html(reports)
    try:  # a fresh temp name, created no-follow: no half-written report, no planted link used
        write_atomic(path, page.encode("utf-8"), mode=0o644)
    except OSError as e:
        raise InputError(f"{path}: cannot write the HTML report ({e.strerror})") from e


def _file(r: VerificationReport) -> str:
    colour = _COLOURS.get(r.verdict, "#333")
    facts: list[tuple[str, str]] = []
    if r.signer:
        who = f"{r.signer.common_name or '?'} (issuer {r.signer.issuer or '?'})"
        if r.verdict == Verdict.INVALID:  # a forged signature names whoever the forger chose
            facts.append(("Claimed signer", f"{who}, which could not be verified"))
        else:
            facts.append(("Signed by", who))
        stamp = stamp_words(r.signer)
        facts.append(("Signed at", f"{r.signer.time} ({stamp})" if r.signer.time else stamp))
        if product_words(r.signer):
            facts.append(("Product", product_words(r.signer) or ""))
    if r.chain is not None:
        if r.chain.app:
            facts.append(("App or device used", r.chain.app))
        facts.append(("AI", ai_line(r)))
        facts.append(("Edits", ", ".join(action_name(a) for a in r.actions) or "none recorded"))
    for item in r.unverified:
        facts.append(("Unverified", item))
    if r.chain_ok is not None:
        facts.append(("Chain", "every ancestor validates" if r.chain_ok else "a BROKEN ancestor"))
    if r.ledger is not None and r.ledger.done:
        facts.append(("Ledger", _ledger_text(r)))
    for item in r.not_checked:
        facts.append(("Not checked", item))
    table = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in facts)
    reasons = "".join(f"<li>{escape(x)}</li>" for x in r.reasons)
    chain = (
        (f"<h3>Chain of edits</h3>{_node(r.chain, r)}" if r.chain is not None else _picture_only(r))
        + _altered(r)
        + _lineage(r)
    )
    return (
        f"<section class=file><div><span class=verdict style='background:{colour}'>"
        f"{escape(_WORDS.get(r.verdict, r.verdict))}</span>"
        f"<span class=path>{escape(r.path)}</span> "
        f"<b class={'good' if r.accepted else 'bad'}>"
        f"{'accepted' if r.accepted else 'not accepted'}</b></div>"
        f"<ul class=reasons>{reasons}</ul><table class=facts>{table}</table>{chain}</section>"
    )


def _ledger_text(r: VerificationReport) -> str:
    led = r.ledger
    if led is None or not led.done:
        return led.reason if led else "not checked"
    if led.entry is None or led.match == "manifest":  # no proof line for another file's entry
        return led.reason
    verified, why = (led.proof.verified, led.proof.reason) if led.proof else (None, "")
    status = {True: "proof VERIFIED", False: "proof FAILED", None: "no proof yet"}[verified]
    return f"{led.reason}; {status}: {why}"


def _img(key: str | None, r: VerificationReport, alt: str = "thumbnail") -> str:
    data = r.thumbnails.get(key) if key else None
    if not data:
        return "<div class=noimg>no picture</div>"
    mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return f"<img alt='{escape(alt)}' src='data:{mime};base64,{base64.b64encode(data).decode()}'>"


def _node(n: ChainNode, r: VerificationReport) -> str:
    signer = (
        f"{n.signer.common_name or '?'}" + (f", {n.signer.time}" if n.signer.time else "")
        if n.signer
        else ("no credentials of its own" if not n.has_manifest else "unknown")
    )
    ai = " · AI disclosed" if n.ai_disclosed else ""
    status = "validates" if n.ok else "FAILED: " + "; ".join(f.explanation for f in n.failures)
    acts = ", ".join(action_name(a) for a in n.actions) or "none recorded"
    if n.repeat:
        acts += " (this manifest is shown above)"
    kids = "".join(_node(c, r) for c in n.ingredients)
    return (
        f"<div class='node{'' if n.ok else ' broken'}'>{_img(n.thumbnail, r)}<div>"
        f"<b>{escape(n.title or '(untitled)')}</b> <i>{escape(n.relationship)}</i>"
        f"<br>Signer: {escape(signer)}{escape(ai)}"
        f"<br><span class=actions>Actions: {escape(acts)}</span>"
        f"<br>Status: <span class={'good' if n.ok else 'bad'}>{escape(status)}</span>"
        f"</div></div>" + (f"<div class=children>{kids}</div>" if kids else "")
    )


def _lineage(r: VerificationReport) -> str:
    if r.ledger is None or not r.ledger.lineage:
        return ""
    items = "".join(
        f"<li>entry {e.index} · {escape(str(e.kind))} · "
        f"{escape(', '.join(str(a) for a in e.actions or []) or '-')} · "
        f"{escape(str(e.output or e.output_sha256 or ''))} · {escape(str(e.time))}"
        f"</li>"
        for e in r.ledger.lineage
    )
    return f"<h3>Ledger lineage, back to the roots</h3><ol>{items}</ol>"


def _altered(r: VerificationReport) -> str:
    """An altered copy: its picture with the regions that differ from the recorded original."""
    px = r.ledger.pixels if r.ledger is not None else None
    if px is None or px.state != "altered":
        return ""
    boxes = "".join(f"<li>{escape(region_words(b))}</li>" for b in px.regions)
    size = f"{px.original_size[0]}x{px.original_size[1]}" if px.original_size else "?"
    return (
        f"<h3>{escape(POSSIBLE_ALTERED.capitalize())}: where this copy differs from the "
        f"recorded original</h3><div class='node broken regions'>"
        f"{_img(REGIONS_PICTURE, r, 'regions that differ, outlined')}<div>"
        f"Outlined: the regions whose pixels differ from the recorded original (ledger entry "
        f"{escape(str(px.index))}) beyond re-encoding noise. In the original's pixels "
        f"({escape(size)}):<ul>{boxes}</ul></div></div>"
    )


def _picture_only(r: VerificationReport) -> str:
    if "self:file" not in r.thumbnails:
        return ""
    return f"<div class=node>{_img('self:file', r)}<div>This file</div></div>"
