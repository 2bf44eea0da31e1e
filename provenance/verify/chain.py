"""Walk a C2PA manifest store's ingredient graph into :class:`ChainNode` objects.

C2PA does not fail a file for a broken ingredient: each ingredient carries its own validation
(claim v1 in ``validation_status``, claim v2 in ``validation_results.activeManifest``), which is
read here so the chain can be judged beside the verdict. c2pa re-validates each ingredient under
the verifier's own trust anchors and reports only what changed (``ingredientDeltas``), so an
ancestor's trust is the recorded one corrected by those deltas: an ancestor whose signer the
verifier does not trust is not ok ("unrecognized signer"), whatever the editor recorded.

The ingredients form a graph, not a tree (a manifest may name the same predecessor many times):
each manifest is walked once across the whole walk, and at most :data:`MAX_NODES` are reported.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from provenance.verify.explain import explain_code
from provenance.verify.report import ChainNode, Signer, StatusCode
from provenance.vocab import is_ai_source_type, short_source_type

# Codes that only say "we do not trust this signer": not damage.
UNTRUSTED_ONLY = frozenset({"signingCredential.untrusted"})
UNRECOGNIZED = "unrecognized signer: not on your trust list, so what it claims is unverified"
_MAX_DEPTH = 64  # a hostile store could nest ingredients without end
MAX_NODES = 200  # a hostile store could name thousands of ingredients
_SUCCESS_ONLY = (".validated", ".match", ".trusted", ".insideValidity")
_LABEL = re.compile(r"/c2pa/([^/]+)")


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


def _app(manifest: dict[str, Any], agents: list[str]) -> str | None:
    """The app or device used: a software agent of its actions, else the claim generator."""
    if agents:
        return agents[0]
    info = manifest.get("claim_generator_info")
    first = info[0] if isinstance(info, list) and info else info
    if isinstance(first, dict) and first.get("name"):
        return " ".join(str(first[k]) for k in ("name", "version") if first.get(k))
    gen = manifest.get("claim_generator")
    return str(gen).split(" ")[0].replace("_", " ") if gen else None


def _creators(manifest: dict[str, Any]) -> list[str]:
    """The authors a schema.org CreativeWork assertion names (a claim, true only if signed)."""
    work = assertions(manifest).get("stds.schema-org.CreativeWork")
    authors = work.get("author") if isinstance(work, dict) else None
    items = authors if isinstance(authors, list) else [authors] if authors else []
    return [str(a.get("name")) for a in items if isinstance(a, dict) and a.get("name")]


def _signer(manifest: dict[str, Any], trusted: bool | None) -> Signer | None:
    info = manifest.get("signature_info")
    if not isinstance(info, dict):
        return None
    serial = info.get("cert_serial_number")
    return Signer(
        info.get("common_name"),
        info.get("issuer"),
        info.get("alg"),
        info.get("time"),
        trusted,
        serial=str(serial) if serial is not None else None,
    )


def _thumb_id(holder: dict[str, Any]) -> str | None:
    thumb = holder.get("thumbnail")
    ident = thumb.get("identifier") if isinstance(thumb, dict) else None
    return ident if isinstance(ident, str) else None


@dataclass
class _Walk:
    """State shared by the whole walk: manifests already reported, the node budget, the deltas."""

    manifests: dict[str, Any]
    deltas: dict[str, list[dict[str, Any]]]  # ingredient manifest label -> delta status codes
    tsa_only: Collection[str] = ()  # our lists whose word never trusts a signer
    visited: set[str] = field(default_factory=set)
    nodes: int = 1


def _deltas(store: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """c2pa's re-validation of each ingredient under our anchors, by the ingredient's label."""
    out: dict[str, list[dict[str, Any]]] = {}
    raw = (store.get("validation_results") or {}).get("ingredientDeltas") or []
    for d in raw if isinstance(raw, list) else []:
        deltas = d.get("validationDeltas") if isinstance(d, dict) else None
        if not isinstance(deltas, dict):
            continue
        for kind in ("success", "failure"):
            for c in deltas.get(kind) or []:
                m = _LABEL.search(str(c.get("url", ""))) if isinstance(c, dict) else None
                if m:
                    out.setdefault(m.group(1), []).append({**c, "_kind": kind})
    return out


def build_chain(
    store: dict[str, Any],
    active: dict[str, Any],
    active_trusted: bool,
    tsa_only: Collection[str] = (),
) -> ChainNode:
    """The graph rooted at the active manifest, every ancestor with its own validation.

    ``tsa_only`` names the trust lists given to c2pa that hold only TSA anchors: c2pa pools every
    list it is given, so an ancestor it calls trusted through one of them is not trusted. (A
    recorded result that c2pa's re-validation left unchanged names the editor's lists, not ours.)
    """
    manifests = store.get("manifests")
    walk = _Walk(manifests if isinstance(manifests, dict) else {}, _deltas(store), tsa_only)
    label = store.get("active_manifest")
    if isinstance(label, str):
        walk.visited.add(label)
    path = frozenset({label} if isinstance(label, str) else ())
    return _node(active, "self", active_trusted, path, 0, _thumb_id(active), walk)


def _node(
    manifest: dict[str, Any],
    relationship: str,
    trusted: bool | None,
    path: frozenset[str],
    depth: int,
    thumb: str | None,
    walk: _Walk,
    expand: bool = True,
) -> ChainNode:
    acts = _actions(manifest)
    dsts = [
        short_source_type(str(a["digitalSourceType"])) for a in acts if a.get("digitalSourceType")
    ]
    agents = sorted({_agent(a) for a in acts if a.get("softwareAgent")})
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
        software_agents=agents,
        thumbnail=thumb,
        app=_app(manifest, agents),
        creators=_creators(manifest),
    )
    if depth >= _MAX_DEPTH or not expand:
        return node
    ings = [i for i in manifest.get("ingredients", []) or [] if isinstance(i, dict)]
    for n, ing in enumerate(ings):
        if walk.nodes >= MAX_NODES:
            node.omitted = len(ings) - n
            break
        walk.nodes += 1
        node.ingredients.append(_ingredient(ing, path, depth, walk))
    return node


def _trust(
    results: dict[str, Any],
    recorded: list[Any],
    delta: list[dict[str, Any]],
    tsa_only: Collection[str],
) -> bool | None:
    """The ingredient's signer trust under the verifier's anchors (None: nothing says)."""
    now = {str(c.get("code")): c for c in delta}
    if now.get("signingCredential.untrusted", {}).get("_kind") == "failure":
        return False
    vouch = now.get("signingCredential.trusted")
    if vouch is not None and vouch["_kind"] == "success":
        return _not_tsa_only(vouch, tsa_only)
    for c in results.get("success") or []:
        if isinstance(c, dict) and c.get("code") == "signingCredential.trusted":
            return _not_tsa_only(c, tsa_only)
    codes = [*(results.get("failure") or []), *recorded]
    if any(isinstance(c, dict) and c.get("code") in UNTRUSTED_ONLY for c in codes):
        return False
    return None


# c2pa names the list that vouched for a signer: "... found in [NAME] trust anchors".
TRUSTED_BY = re.compile(r"found in \[(.*)\] trust anchors")


def _not_tsa_only(code: dict[str, Any], tsa_only: Collection[str]) -> bool:
    """False when the list c2pa names in a ``signingCredential.trusted`` code is a TSA-only one."""
    found = TRUSTED_BY.search(str(code.get("explanation") or ""))
    return found is None or found.group(1) not in tsa_only


def _ingredient(ing: dict[str, Any], path: frozenset[str], depth: int, walk: _Walk) -> ChainNode:
    label = ing.get("active_manifest")
    label = label if isinstance(label, str) else None
    loop = label is not None and label in path
    repeat = label is not None and not loop and label in walk.visited
    child = walk.manifests.get(label) if label is not None and not loop else None
    child = child if isinstance(child, dict) else {}
    results = (ing.get("validation_results") or {}).get("activeManifest") or {}
    recorded = ing.get("validation_status") or []
    delta = walk.deltas.get(label or "", [])
    raw = [*(results.get("failure") or []), *recorded]
    raw += [c for c in delta if c["_kind"] == "failure"]
    failures = [
        status(c, "failure")
        for c in raw
        if isinstance(c, dict) and c.get("code") not in UNTRUSTED_ONLY
    ]
    # Claim v1 ingredients repeat success codes in validation_status: keep only failures.
    failures = list(
        {(f.code, f.url): f for f in failures if not f.code.endswith(_SUCCESS_ONLY)}.values()
    )
    trusted = _trust(results, recorded, delta, walk.tsa_only)
    if label is not None:
        walk.visited.add(label)
    node = _node(
        {**child, "title": ing.get("title") or child.get("title")},
        str(ing.get("relationship") or "unknown"),
        trusted,
        path | ({label} if label is not None else set()),
        depth + 1,
        _thumb_id(ing) or _thumb_id(child),
        walk,
        expand=not repeat,
    )
    node.has_manifest = bool(child)
    node.repeat = repeat
    node.failures = failures
    if node.has_manifest and trusted is False:
        node.failures.append(StatusCode("signingCredential.untrusted", "failure", UNRECOGNIZED))
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
    return disclosed_from(all_source_types(node))


def disclosed_from(found: list[str]) -> str | None:
    """Of the source types of a chain (root first): an AI one if any, else the origin's."""
    ai = [d for d in found if is_ai_source_type(d)]
    return ai[0] if ai else (found[-1] if found else None)


def vouched_source_types(node: ChainNode, root: bool = True) -> list[str]:
    """Source types claimed by manifests whose signer is trusted (the root by the verdict)."""
    mine = node.digital_source_types if root or (node.signer and node.signer.trusted) else []
    found = list(mine)
    for c in node.ingredients:
        found += vouched_source_types(c, False)
    return found


def unverified_claims(node: ChainNode) -> list[str]:
    """What ancestors signed by someone the verifier does not trust claim: shown, not believed."""
    out: list[str] = []
    for c in node.ingredients:
        trusted = c.signer.trusted if c.signer else None
        if c.has_manifest and not c.repeat and trusted is not True:
            who = (c.signer.common_name if c.signer else None) or "an unknown signer"
            facts = [f"signer {who}"]
            facts += [f"creator {a}" for a in c.creators]
            facts += [f"source type {d}" for d in c.digital_source_types]
            facts += [f"app or device {a}" for a in c.software_agents]
            out.append(f"{c.title or '(untitled)'}: claimed {', '.join(facts)} (unverified)")
        out += unverified_claims(c)
    return out


def omitted(node: ChainNode) -> int:
    return node.omitted + sum(omitted(c) for c in node.ingredients)


def broken_ancestors(node: ChainNode) -> list[ChainNode]:
    out = [c for c in node.ingredients if not c.ok]
    for c in node.ingredients:
        out += broken_ancestors(c)
    return out
