"""The signals rubric's statements (``asset-rubric-signals-local.yml``): how validators label."""

from __future__ import annotations

from tests.conformance.view import IPTC, Ctx, Json, Rule


def _created_with(c: Ctx, *dsts: str) -> bool:
    acts = (c.assertions.get("c2pa.actions.v2") or {}).get("actions") or []
    return any(
        a.get("action") in ("c2pa.created", "c2pa.opened") and a.get("digitalSourceType") in dsts
        for a in acts
    )


def _signal_actions(c: Ctx) -> list[Json]:
    return list((c.assertions.get("c2pa.actions.v2") or {}).get("actions") or [])


def _perceptible(c: Ctx) -> list[Json]:
    skip = c.v("inception_actions") + c.v("non_editorial_actions")
    return [a for a in _signal_actions(c) if a.get("action") and a["action"] not in skip]


def _ambiguous(c: Ctx) -> bool:
    acts = _signal_actions(c)
    v2 = c.assertions.get("c2pa.actions.v2") or {}
    gathered = c.claim.get("gathered_assertions") or []
    return (
        not acts
        or v2.get("allActionsIncluded") is not True
        or any(a.get("action") and not a["action"].startswith("c2pa.") for a in acts)
        or any(a.get("action") == "c2pa.unknown" for a in acts)
        or any("c2pa.actions" in g.get("url", "") for g in gathered)
    )


def _unknown_provenance(c: Ctx) -> bool:
    first = c.assertions.get("c2pa.ingredient.v3")
    return isinstance(first, dict) and first.get("activeManifest") is None


SIGNALS: dict[str, Rule] = {
    "inception:signal_blankCanvas": lambda c: _created_with(
        c, "http://c2pa.org/digitalsourcetype/empty"
    ),
    "inception:signal_capturedMedia": lambda c: _created_with(
        c, IPTC + "digitalCapture", IPTC + "computationalCapture"
    ),
    "inception:signal_capturedMediaStitched": lambda c: _created_with(c, IPTC + "compositeCapture"),
    "inception:signal_compositionMayContainGenAI": lambda c: _created_with(c, IPTC + "composite"),
    "inception:signal_fullyGenAIMedia": lambda c: _created_with(
        c, IPTC + "trainedAlgorithmicMedia"
    ),
    "inception:signal_mediaUnknownProvenance": _unknown_provenance,
    "inception:signal_nonGenAIDigitalCreation": lambda c: _created_with(
        c, IPTC + "digitalCreation"
    ),
    "inception:signal_partlyGenAICreation": lambda c: _created_with(
        c, IPTC + "compositeWithTrainedAlgorithmicMedia"
    ),
    "inception:signal_screenCaptureMayContainGenAI": lambda c: _created_with(
        c, IPTC + "screenCapture"
    ),
    "transformation:signal_ambiguousActions": _ambiguous,
    "transformation:signal_nonEditorial": lambda c: any(
        a.get("action") in c.v("non_editorial_actions") for a in _signal_actions(c)
    ),
    "transformation:signal_perceptibleGenAI": lambda c: any(
        a.get("digitalSourceType") in c.v("genai_dst_types") for a in _perceptible(c)
    ),
    "transformation:signal_perceptibleNonGenAI": lambda c: any(
        a.get("digitalSourceType") is not None
        and a["digitalSourceType"] not in c.v("genai_dst_types")
        for a in _perceptible(c)
    ),
    "transformation:signal_perceptiblePossiblyGenAI": lambda c: any(
        a.get("digitalSourceType") in c.v("possibly_genai_dst_types") for a in _perceptible(c)
    ),
}
