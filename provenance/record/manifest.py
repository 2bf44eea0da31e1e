"""Building the C2PA manifest of one recorded output: actions, ingredients, our assertions.

Our own assertions (a contract, see ``docs/architecture.md``): ``org.provenance.ledger``
``{origin, entry}`` and ``org.provenance.request`` ``{backend, model, operation, time, id,
provider, prompt_hash[, prompt]}``.

Whatever a backend returns, the actions written here follow the C2PA conformance program's rules
(docs/conformance.md): current action names, a digital source type on every perceptible
transformation, and action parameters that are standard or under our ``org.provenance.``
namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from provenance.backends.base import Action, BackendOutput, BackendResult
from provenance.credentials import LEDGER_ASSERTION, IngredientSpec, ManifestSpec
from provenance.errors import InputError, ProvenanceError
from provenance.record.body import PromptRecord
from provenance.record.inputs import RecordInput
from provenance.vocab import REQUEST_ASSERTION as REQUEST_ASSERTION

# Action parameters C2PA defines that we use as C2PA means them; c2pa turns ``ingredientIds``
# into the standard ``ingredients`` list of hashed links.
_STANDARD_PARAMETERS = frozenset({"ingredientIds", "ingredients"})
PARAMETER_NAMESPACE = "org.provenance."
_INCEPTION = frozenset({"c2pa.created", "c2pa.opened"})
# Not perceptible (C2PA's non-editorial actions), or exempt (a placed ingredient has its own).
_NO_SOURCE_TYPE = frozenset(
    {
        "c2pa.converted", "c2pa.published", "c2pa.repackaged", "c2pa.transcoded",
        "c2pa.resized.proportional", "c2pa.enhanced", "c2pa.edited.metadata", "c2pa.watermarked",
        "c2pa.watermarked.bound", "c2pa.watermarked.unbound", "c2pa.redacted", "c2pa.placed",
    }
)  # fmt: skip
# Deprecated action names (spec 2.2 §18.14.11) and what replaced them; the others have no successor.
_CURRENT_NAMES = {"c2pa.color_adjustments": "c2pa.adjustedColor"}
_DEPRECATED = frozenset(
    {
        "c2pa.copied", "c2pa.formatted", "c2pa.version_updated", "c2pa.printed",
        "c2pa.managed", "c2pa.produced", "c2pa.saved",
    }
)  # fmt: skip
# A perceptible transformation whose backend did not say how it was made: IPTC's "composite"
# ("any of which may or may not be generative AI"), which validators show as possibly AI.
UNKNOWN_EDIT_SOURCE_TYPE = "composite"
_RELATIONSHIPS: dict[str, Literal["parentOf", "inputTo", "componentOf"]] = {
    "parent": "parentOf",
    "reference": "componentOf",  # placed into (or composed into) the picture
    "mask": "inputTo",
}


@dataclass(frozen=True)
class ManifestFacts:
    """What one output's manifest says besides the backend's result and the inputs."""

    op: str
    title: str
    origin: str  # the ledger's checkpoint origin
    entry_id: str
    time: str
    prompt: str | None
    prompt_record: PromptRecord | None
    embed_prompt: bool
    provider_signed: bool


def build_manifest(
    facts: ManifestFacts,
    result: BackendResult,
    output: BackendOutput,
    inputs: list[RecordInput],
) -> ManifestSpec:
    """The manifest for ``output``: a provider-signed file becomes our parent, never stripped."""
    agent = {"name": result.software_agent}
    ingredients: list[IngredientSpec] = []
    actions = _source_actions(facts, result, output, agent, ingredients)
    for inp in inputs:
        label = f"{inp.role}{len(ingredients)}" if inp.role != "parent" else "parent"
        relationship = _RELATIONSHIPS[inp.role]
        if facts.provider_signed and inp.role == "parent":
            relationship = "inputTo"  # the provider's signed output is the parent
        ingredients.append(IngredientSpec(inp.data, inp.mime, inp.name, relationship, label))
        if relationship == "parentOf":
            actions.insert(0, _action("c2pa.opened", agent, [label], None, None))
    references = [i.label for i in ingredients if i.label.startswith("reference")]
    for a in output.actions:
        ids = _placed_ids(a, references) if a.action == "c2pa.placed" else []
        name = _current_name(a.action)
        dst = a.digital_source_type
        if not dst and name.startswith("c2pa.") and name not in _NO_SOURCE_TYPE | _INCEPTION:
            dst = UNKNOWN_EDIT_SOURCE_TYPE
        actions.append(_action(name, agent, ids, dst, a.description, a.parameters))
    if not actions:
        raise ProvenanceError(f"{facts.title}: nothing to record (no action)")
    return ManifestSpec(
        title=facts.title,
        actions=actions,
        ingredients=ingredients,
        assertions=[
            {
                "label": LEDGER_ASSERTION,
                "kind": "Json",
                "created": True,  # ours, not gathered from elsewhere
                "data": {"origin": facts.origin, "entry": facts.entry_id},
            },
            {
                "label": REQUEST_ASSERTION,
                "kind": "Json",
                "created": True,
                "data": _request(facts, result),
            },
            *result.assertions,  # the backend's own (e.g. the diffusers weights digest)
        ],
    )


def _source_actions(
    facts: ManifestFacts,
    result: BackendResult,
    output: BackendOutput,
    agent: dict[str, str],
    ingredients: list[IngredientSpec],
) -> list[dict[str, Any]]:
    """Where the pixels came from: the provider's signed file, or created by the model."""
    dst = result.digital_source_type or None
    if facts.provider_signed:
        ingredients.append(
            IngredientSpec(
                output.data, output.mime, f"{result.backend} output", "parentOf", "provider"
            )
        )
        why = f"{facts.op} by {result.model}; the provider's signed file is the parent"
        # No source type on c2pa.opened (conformance 0.2): the provider's manifest declares it.
        return [_action("c2pa.opened", agent, ["provider"], None, why)]
    own_inception = bool(output.actions) and output.actions[0].action in _INCEPTION
    if facts.op == "generate" and not own_inception:  # a step may say how it created the image
        created = f"generated by {result.model}"
        return [_action("c2pa.created", agent, [], dst or "algorithmicMedia", created)]
    return []


def _request(facts: ManifestFacts, result: BackendResult) -> dict[str, Any]:
    """The latent disclosure (SB 942): provider, system, time and a unique id."""
    request: dict[str, Any] = {
        "backend": result.backend,
        "model": result.model,
        "operation": facts.op,
        "time": facts.time,
        "id": facts.entry_id,
        "provider": _provider(result.backend),
    }
    if facts.prompt_record is not None:
        request["prompt_hash"] = facts.prompt_record.hash
        if facts.embed_prompt and facts.prompt is not None:
            request["prompt"] = facts.prompt
    return request


def _action(
    name: str,
    agent: dict[str, str],
    ingredient_ids: list[str],
    dst: str | None,
    description: str | None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    action: dict[str, Any] = {"action": name, "softwareAgent": agent}
    params = {_parameter_name(k): v for k, v in (parameters or {}).items()}
    if ingredient_ids:
        params["ingredientIds"] = ingredient_ids
    if params:
        action["parameters"] = params
    if dst:
        action["digitalSourceType"] = dst
    if description:
        action["description"] = description
    return action


def _parameter_name(key: str) -> str:
    """Standard C2PA parameter names stay; a name of ours goes under our namespace."""
    return key if key in _STANDARD_PARAMETERS or "." in key else PARAMETER_NAMESPACE + key


def _current_name(name: str) -> str:
    """The current C2PA name of an action; a name C2PA would not recognise is bad input."""
    if name in _DEPRECATED:
        raise InputError(f"action {name!r}: deprecated by C2PA 2.2 with no successor; use another")
    if not name.startswith("c2pa.") and "." not in name:
        raise InputError(
            f"action {name!r}: a custom action needs a namespace of yours, e.g. 'com.example.{name}'"
        )
    return _CURRENT_NAMES.get(name, name)


def _placed_ids(action: Action, references: list[str]) -> list[str]:
    """The ingredient a ``c2pa.placed`` action placed: ``parameters.reference`` counts from 1."""
    k = action.parameters.get("reference")
    if isinstance(k, int) and 1 <= k <= len(references):
        return [references[k - 1]]
    return references


def _provider(backend: str) -> str:
    return {"openai": "OpenAI", "local": "provenance (local renderer)"}.get(backend, backend)
