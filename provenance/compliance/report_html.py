"""The audit report as a page a person reads: one card per entry, review status first, thumbnails.

Thumbnails come from the recorded files themselves when the caller says where they are
(``thumbnail_dirs``): a file is shown only if its name is the one recorded *and* its SHA-256 is
the recorded output's, so a picture never misrepresents a row. Everything is inlined (no network).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.media.hashing import sha256_file

if TYPE_CHECKING:
    from provenance.compliance.report import AuditRow, AuditTrail

THUMB_PX = 120
_CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;"
    "padding:0 1em}h1{font-size:1.4em}.meta{color:#555}"
    ".row{display:flex;gap:1em;border:1px solid #ccc;border-radius:6px;padding:.7em;margin:.6em 0;"
    "overflow-wrap:anywhere}.row img{width:120px;height:auto;border:1px solid #ddd;flex:none}"
    ".noimg{width:120px;flex:none;color:#999;font-size:12px}.main{min-width:0;flex:1}"
    ".head{display:flex;flex-wrap:wrap;gap:.5em;align-items:baseline}"
    ".badge{border-radius:4px;padding:1px 6px;font-weight:600;font-size:12px;color:#fff}"
    ".approved{background:#2e7d32}.rejected{background:#c62828}.pending{background:#f9a825;"
    "color:#222}.kind{font-weight:600}.file{font-family:monospace}dl{display:grid;margin:.4em 0 0;"
    "grid-template-columns:max-content 1fr;gap:2px 1em}dt{color:#666}dd{margin:0}"
    "pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em;border-radius:4px}"
)


def find_thumbnails(rows: Sequence[AuditRow], dirs: Sequence[Path]) -> dict[str, str]:
    """Output SHA-256 -> data URI of a small PNG, for recorded files found by name in ``dirs``."""
    out: dict[str, str] = {}
    for row in rows:
        for digest, name in zip(row.outputs, row.output_names, strict=False):
            if digest in out or not name:
                continue
            for d in dirs:
                uri = _thumb(d / Path(name).name, digest)
                if uri:
                    out[digest] = uri
                    break
    return out


def _thumb(path: Path, digest: str) -> str | None:
    from provenance.media import imaging

    try:
        if not path.is_file() or sha256_file(path) != digest:
            return None
        image = imaging.open_image(path.read_bytes(), name=str(path))
    except Exception:  # a thumbnail is a courtesy: an unreadable file just shows none
        return None
    image.thumbnail((THUMB_PX, THUMB_PX))
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def render_html(trail: AuditTrail, thumbnails: Mapping[str, str] | None = None) -> str:
    """The whole page; ``thumbnails`` as made by :func:`find_thumbnails`."""
    e = html.escape
    until = trail.until.isoformat() if trail.until else "now"
    cards = "\n".join(_card(r, thumbnails or {}) for r in trail.rows)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Provenance audit report {e(trail.origin)}</title><style>{_CSS}</style>"
        "</head><body>\n"
        f"<h1>Audit report: {e(trail.origin)}</h1>\n"
        f"<p class=meta>Window {e(trail.since.isoformat())} to {e(until)}; "
        f"{len(trail.rows)} entries; generated {e(trail.generated_at)}.</p>\n"
        f"{cards}\n"
        "<h2>Signed checkpoint covering this window</h2>\n"
        f"<pre>{e(trail.checkpoint['note'])}</pre>\n"
        f"<p>Log verifier key: <code>{e(trail.verifier_key or '')}</code></p>\n"
        "</body></html>\n"
    )


def _card(r: AuditRow, thumbnails: Mapping[str, str]) -> str:
    e = html.escape
    uri = next((thumbnails[o] for o in r.outputs if o in thumbnails), None)
    pic = f"<img alt='thumbnail' src='{uri}'>" if uri else "<div class=noimg>no picture</div>"
    badge = (
        f"<span class='badge {e(r.review_status)}'>{e(r.review_status)}</span>"
        + (f" by {e(r.reviewer)}" if r.reviewer else "")
        if r.review_status
        else ""
    )
    files = ", ".join(e(n) for n in r.output_names if n)
    facts = [
        ("actor", r.actor),
        ("backend", " ".join(str(x) for x in (r.backend, r.model) if x) or None),
        ("prompt", r.prompt if r.prompt is not None else f"({r.prompt_status})"),
        ("outputs", " ".join(r.outputs) or None),
        ("inputs", " ".join(f"{i['role']}:{i['sha256']}" for i in r.inputs) or None),
        ("detail", r.detail),
        ("entry", f"{r.id} (leaf {r.leaf_hash})"),
    ]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(str(v))}</dd>" for k, v in facts if v)
    return (
        f"<div class=row>{pic}<div class=main><div class=head>"
        f"<span class=kind>#{r.index} {e(str(r.op))}</span>"
        f"<span class=file>{files}</span>{badge}<span class=meta>{e(r.time)}</span></div>"
        f"<dl>{dl}</dl></div></div>"
    )
