"""Walk a C2PA manifest store's ingredient tree into :class:`ChainNode` objects.

C2PA does not fail a file for a broken ingredient: each ingredient carries its own validation
(claim v1 in ``validation_status``, claim v2 in ``validation_results.activeManifest``), which is
read here so the chain can be judged beside the verdict.
"""

from __future__ import annotations

from typing import Any

from provenance.verify.explain import explain_code
from provenance.verify.report import ChainNode, Signer, StatusCode
from provenance.vocab import is_ai_source_type, short_source_type

# Codes that only say "we do not trust this signer": not damage.
UNTRUSTED_ONLY = frozenset({"signingCredential.untrusted"})
_MAX_DEPTH = 64  # a hostile store could nest ingredients without end


def status(c: dict[str, Any], kind: str) -> StatusCode:
    code = str(c.get("code", "unknown"))
    return StatusCode(code, kind, explain_code(code), c.get("explanation"), c.get("url"))


def assertions(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest's assertion data by label (the first of a repeated label wins)."""
    found: dict[str, Any] = {}
    for a in manifest.get("assertions", []) or []:
        if isinstance(a, dict) and isinstance(a.get("label"), str):
            found.setdefault(a["label"], a.get("data"))
    return found


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for a in manifest.get("assertions", []) or []:
        if isinstance(a, dict) and str(a.get("label", "")).startswith("c2pa.actions"):
            data = a.get("data")
            acts = data.get("actions", []) if isinstance(data, dict) else []
            out += [x for x in acts or [] if isinstance(x, dict)]
    return out


def _agent(action: dict[str, Any]) -> str:
    agent = action.get("softwareAgent")
    if isinstance(agent, dict):
        return " ".join(str(v) for k, v in agent.items() if k in ("name", "version"))
    return str(agent)


def _signer(manifest: dict[str, Any], trusted: bool | None) -> Signer | None:
    info = manifest.get("signature_info")
    if not isinstance(info, dict):
        return None
    issuer = info.get("issuer")
    serial = info.get("cert_serial_number")
    return Signer(
        info.get("common_name"),
        issuer,
        info.get("alg"),
        info.get("time"),
        trusted,
        local_identity=issuer == "Provenance local identity",
        serial=str(serial) if serial is not None else None,
    )


def _thumb_id(holder: dict[str, Any]) -> str | None:
    thumb = holder.get("thumbnail")
    ident = thumb.get("identifier") if isinstance(thumb, dict) else None
    return ident if isinstance(ident, str) else None


def build_chain(store: dict[str, Any], active: dict[str, Any], active_trusted: bool) -> ChainNode:
    """The tree rooted at the active manifest, every ancestor with its own validation."""
    label = store.get("active_manifest")
    return _node(
        active,
        store,
        "self",
        active_trusted,
        {label} if isinstance(label, str) else set(),
        0,
        _thumb_id(active),
    )


def _node(
    manifest: dict[str, Any],
    store: dict[str, Any],
    relationship: str,
    trusted: bool | None,
    seen: set[str],
    depth: int,
    thumb: str | None,
) -> ChainNode:
    acts = _actions(manifest)
    dsts = [
        short_source_type(str(a["digitalSourceType"])) for a in acts if a.get("digitalSourceType")
    ]
    node = ChainNode(
        title=manifest.get("title"),
        relationship=relationship,
        label=manifest.get("label"),
        signer=_signer(manifest, trusted),
        actions=[str(a.get("action")) for a in acts],
        digital_source_types=dsts,
        ai_disclosed=any(is_ai_source_type(d) for d in dsts),
        ok=True,
        has_manifest=bool(manifest.get("signature_info") or acts),
        software_agents=sorted({_agent(a) for a in acts if a.get("softwareAgent")}),
        thumbnail=thumb,
    )
    if depth >= _MAX_DEPTH:
        return node
    manifests = store.get("manifests") or {}
    for ing in manifest.get("ingredients", []) or []:
        if isinstance(ing, dict):
            node.ingredients.append(_ingredient(ing, manifests, store, seen, depth))
    return node


def _ingredient(
    ing: dict[str, Any],
    manifests: dict[str, Any],
    store: dict[str, Any],
    seen: set[str],
    depth: int,
) -> ChainNode:
    label = ing.get("active_manifest")
    loop = isinstance(label, str) and label in seen
    child = manifests.get(label) if isinstance(label, str) and not loop else None
    child = child if isinstance(child, dict) else {}
    results = (ing.get("validation_results") or {}).get("activeManifest") or {}
    failures = [
        status(c, "failure")
        for c in [*(results.get("failure") or []), *(ing.get("validation_status") or [])]
        if isinstance(c, dict) and c.get("code") not in UNTRUSTED_ONLY
    ]
    # Claim v1 ingredients repeat success codes in validation_status: keep only failures.
    failures = [
        f
        for f in failures
        if not f.code.endswith((".validated", ".match", ".trusted", ".insideValidity"))
    ]
    success = {str(c.get("code")) for c in results.get("success") or [] if isinstance(c, dict)}
    trusted = (
        True
        if "signingCredential.trusted" in success
        else (
            False
            if any(
                str(c.get("code")) in UNTRUSTED_ONLY
                for c in results.get("failure") or []
                if isinstance(c, dict)
            )
            else None
        )
    )
    node = _node(
        {**child, "title": ing.get("title") or child.get("title")},
        store,
        str(ing.get("relationship") or "unknown"),
        trusted,
        seen | ({label} if isinstance(label, str) else set()),
        depth + 1,
        _thumb_id(ing) or _thumb_id(child),
    )
    node.has_manifest = bool(child)
    node.failures = failures
    if loop:
        node.failures.append(
            StatusCode(
                "provenance.ingredient.loop", "failure", explain_code("provenance.ingredient.loop")
            )
        )
    node.ok = not node.failures
    return node


def subtree_ok(node: ChainNode) -> bool:
    return node.ok and all(subtree_ok(c) for c in node.ingredients)


def all_source_types(node: ChainNode) -> list[str]:
    found = list(node.digital_source_types)
    for c in node.ingredients:
        found += all_source_types(c)
    return found


def disclosed_source_type(node: ChainNode) -> str | None:
    """The source type a file discloses: an AI one anywhere in its chain, else the origin's.

    Edits declare their own source type (e.g. ``humanEdits``, C2PA conformance); the origin's,
    deepest in the chain, says what the content is, as before edits declared one.
    """
    found = all_source_types(node)
    ai = [d for d in found if is_ai_source_type(d)]
    return ai[0] if ai else (found[-1] if found else None)


def broken_ancestors(node: ChainNode) -> list[ChainNode]:
    out = [c for c in node.ingredients if not c.ok]
    for c in node.ingredients:
        out += broken_ancestors(c)
    return out
