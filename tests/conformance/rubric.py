"""The C2PA Conformance Program's asset rubrics, checked on crJSON in our own code.

Each statement of ``tests/assets/c2pa-rubrics/*.yml`` is written here as a Python rule, read from
its json-formula ``expression``; the lists it names (``$allowed_actions``, ``$standard_parameters``,
...) come from the YAML file itself, so a rubric update changes the data without touching code.
A statement whose id has no rule here fails :func:`check` loudly (a new statement is never
skipped). The upstream evaluator and its expression engine stay out of the repository.

Example::

    rubric = Rubric.load("asset-rubric-conformance0.2-spec2.2.yml")
    results = rubric.check(crjson)        # {statement id: Result}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from tests.conformance.signal_rules import SIGNALS
from tests.conformance.view import IPTC, Ctx, Json, Result, Rule
from tests.conftest import asset

__all__ = ["IPTC", "Result", "Rubric"]


def _perceptible_without_dst(c: Ctx) -> list[Any]:
    exempt = (
        c.v("inception_actions")
        + c.v("non_editorial_actions")
        + c.v("dst_exempt_perceptible_actions")
    )
    return [
        a["action"]
        for a in c.actions()
        if str(a.get("action", "")).startswith("c2pa.")
        and a["action"] not in exempt
        and a.get("digitalSourceType") is None
    ]


def _spec_version(c: Ctx) -> list[Any]:
    info = c.claim.get("claim_generator_info")
    first = info[0] if isinstance(info, list) and info else info
    version = first.get("specVersion") if isinstance(first, dict) else None
    if version is None:
        return ["missing"] if c.spec_at_least(2, 4) else []
    if not isinstance(version, str):
        return [version]
    parts = version.split(".")
    ok = parts[:2] == [str(x) for x in c.expected_spec]
    return [] if ok else [version]


def _inception_position(c: Ctx) -> bool:
    urls = [
        a.get("url", "")
        for a in c.claim.get("created_assertions") or []
        if "c2pa.actions" in a.get("url", "")
    ]
    acts = c.actions()
    first_ok = bool(urls) and urls[0].endswith("c2pa.actions.v2")
    created = [a for a in acts if a.get("action") == "c2pa.created"]
    return first_ok and (not created or acts[0].get("action") in ("c2pa.created", "c2pa.opened"))


def _custom_parameters(c: Ctx) -> list[Any]:
    standard = c.v("standard_parameters")
    return [
        k
        for a in c.actions()
        if a.get("parameters") is not None
        for k in a["parameters"]
        if k not in standard and "." not in k
    ]


def _base(label: str) -> str:
    return label.split("__")[0]


def _assertion_dicts(c: Ctx) -> list[Json]:
    return [a for a in c.assertions.values() if isinstance(a, dict)]


def _opened_refs(c: Ctx) -> list[Any]:
    return [
        a
        for a in c.actions()
        if a.get("action") == "c2pa.opened"
        and (
            not isinstance(a.get("parameters"), dict)
            or a["parameters"].get("ingredients") is None
            or len(a["parameters"]["ingredients"]) != 1
        )
    ]


def _all_actions_opened(c: Ctx) -> list[Any]:
    acts = c.actions()
    v2 = c.assertions.get("c2pa.actions.v2") or {}
    opened = [a for a in acts if a.get("action") == "c2pa.opened"]
    return opened if len(acts) == 1 and v2.get("allActionsIncluded") is not True else []


def _box_hash_tiff(c: Ctx) -> list[Any]:
    fmt = (c.assertions.get("c2pa.asset-type.v2") or {}).get("dc:format")
    has_box = "c2pa.hash.boxes" in c.assertions
    return ["c2pa.hash.boxes"] if has_box and fmt in c.v("tiff_media_types") else []


def _url_in_hashes(c: Ctx) -> list[Any]:
    return [
        k for k in ("c2pa.hash.data", "c2pa.hash.bmff.v3") if (c.assertions.get(k) or {}).get("url")
    ]


def _external_refs(c: Ctx) -> list[Any]:
    fixed = ("c2pa.actions", "c2pa.actions.v2", "c2pa.cloud-data", "c2pa.external-reference")
    return [
        a["label"]
        for a in _assertion_dicts(c)
        if a.get("label") is not None
        and a.get("url") is not None
        and a.get("relationship") is None
        and (a["label"] in fixed or str(a["label"]).startswith(("c2pa.hash", "c2pa.ingredient")))
    ]


def _alt_content(c: Ctx) -> bool:
    def bad(a: Json) -> bool:
        params = a.get("parameters") if isinstance(a.get("parameters"), dict) else {}
        kind = a.get("type") == "exif.originalPreservationImage" or params.get("type") == (
            "exif.originalPreservationImage"
        )
        both = params.get("multiAssetPartIndex") is not None and (
            params.get("embeddedOriginalPreservationImage") is not None
        )
        neither = params.get("multiAssetPartIndex") is None and (
            params.get("embeddedOriginalPreservationImage") is None
        )
        return kind and (both or neither)

    return not any(bad(a) for a in _assertion_dicts(c))


# failIfMatched statements return the matches (pass when empty); the others a boolean.
CONFORMANCE: dict[str, Rule] = {
    "validation:mandatory_dst_for_perceptible_transformations": _perceptible_without_dst,
    "validation:mandatory_spec_version": _spec_version,
    "validation:mandatory_all_actions_included": lambda c: (
        not [
            a
            for a in _assertion_dicts(c)
            if a.get("actions") is not None and a.get("allActionsIncluded") is None
        ]
    ),
    "validation:no_dst_for_opened_action": lambda c: [
        a["digitalSourceType"]
        for a in c.actions()
        if c.spec_at_least(2, 4)
        and a.get("action") == "c2pa.opened"
        and a.get("digitalSourceType") is not None
    ],
    "validation:well_formed_data_present": lambda c: (
        c.manifest.get("validationResults") is not None
    ),
    "validation:well_formed_success": lambda c: [
        f for f in c.failures() if f in c.v("well_formed_error_codes")
    ],
    "validation:valid_data_present": lambda c: c.manifest.get("validationResults") is not None,
    "validation:valid_success": lambda c: [
        f for f in c.failures() if f in c.v("valid_error_codes")
    ],
    "validation:trusted_data_present": lambda c: c.manifest.get("validationResults") is not None,
    "validation:trusted_success": lambda c: [
        f for f in c.failures() if f in c.v("trust_error_codes")
    ],
    "validation:inception_action_position": _inception_position,
    "validation:no_deprecated_assertions": lambda c: [
        k for k in c.assertions if k.startswith("stds.") or k in c.v("deprecated_assertion_labels")
    ],
    "validation:no_unsupported_assertions": lambda c: [
        k
        for k in c.assertions
        if k.startswith("c2pa.")
        and _base(k) not in c.v("allowed_assertions")
        and _base(k) not in c.v("deprecated_assertion_labels")
    ],
    "validation:no_deprecated_actions": lambda c: [
        a["action"] for a in c.actions() if a.get("action") in c.v("deprecated_action_labels")
    ],
    "validation:no_unsupported_actions": lambda c: [
        a["action"]
        for a in c.actions()
        if str(a.get("action", "")).startswith("c2pa.")
        and a["action"] not in c.v("allowed_actions")
    ],
    "validation:no_unrecognized_custom_assertions": lambda c: [
        k for k in c.assertions if not k.startswith("c2pa.") and "." not in k
    ],
    "validation:no_unrecognized_custom_actions": lambda c: [
        a.get("action")
        for a in c.actions()
        if not str(a.get("action", "")).startswith("c2pa.") and "." not in str(a.get("action"))
    ],
    "validation:no_unrecognized_custom_action_parameters": _custom_parameters,
    "validation:discouraged_legacy_action_parameters": lambda c: [
        a.get("action", "unknown")
        for a in c.actions()
        if isinstance(a.get("parameters"), dict)
        and (
            a["parameters"].get("description") is not None
            or a["parameters"].get("ingredient") is not None
        )
    ],
    "validation:active_manifest_urn": lambda c: str(c.manifest.get("label") or "").startswith(
        "urn:c2pa:"
    ),
    "validation:review_ratings_datasource": lambda c: (
        not [
            a
            for a in _assertion_dicts(c)
            if a.get("reviewRatings") is not None
            and (a.get("dataSource") or {}).get("type") in c.v("human_entry_source_types")
        ]
    ),
    "validation:ingredient_v3_no_active_manifest": lambda c: (
        not [
            i
            for i in c.ingredients()
            if i.get("activeManifest") is None and i.get("validationResults") is not None
        ]
    ),
    "validation:ingredient_v3_mandatory_validation_results": lambda c: (
        not [
            i
            for i in c.ingredients()
            if i.get("activeManifest") is not None and i.get("validationResults") is None
        ]
    ),
    "validation:ingredient_relationship_values": lambda c: [
        i["relationship"]
        for i in c.ingredients()
        if i["relationship"] not in c.v("valid_relationship_values")
    ],
    "validation:mandatory_dst_for_created_action": lambda c: (
        not [
            a
            for a in c.actions()
            if a.get("action") == "c2pa.created" and a.get("digitalSourceType") is None
        ]
    ),
    # spec 2.4
    "validation:no_deprecated_claim_fields": lambda c: (
        ["specVersion in claim"] if c.claim.get("specVersion") is not None else []
    ),
    "validation:ingredient_v3_choice": lambda c: (
        not [
            i
            for i in c.ingredients()
            if i.get("activeManifest") is not None and i.get("digitalSourceType") is not None
        ]
    ),
    "validation:alternative_content_representation_choice": _alt_content,
    "validation:forbidden_labels_in_external_references": _external_refs,
    "validation:no_url_in_hashes": _url_in_hashes,
    "validation:all_actions_included_opened": _all_actions_opened,
    "validation:opened_action_ingredient_reference": _opened_refs,
    "validation:no_box_hash_for_tiff": _box_hash_tiff,
}


@dataclass(frozen=True)
class Statement:
    id: str
    fail_if_matched: bool
    warn: bool


@dataclass(frozen=True)
class Rubric:
    name: str
    statements: list[Statement]
    variables: dict[str, Any]
    expected_spec: tuple[int, int]

    @classmethod
    def load(cls, file: str) -> Rubric:
        info, *rest = list(yaml.safe_load_all(asset(f"c2pa-rubrics/{file}").read_text()))
        statements = [
            Statement(s["id"], bool(s.get("failIfMatched")), bool(s.get("warnIfMatched")))
            for doc in rest
            for s in doc or []
            if isinstance(s, dict) and "id" in s
        ]
        spec = file.rsplit("spec", 1)[-1].removesuffix(".yml") if "spec" in file else "2.2"
        major, minor = spec.split(".")
        return cls(
            info["rubric_metadata"]["name"],
            statements,
            info.get("variables") or {},
            (int(major), int(minor)),
        )

    def rule(self, statement: Statement) -> Rule:
        rule = CONFORMANCE.get(statement.id) or SIGNALS.get(statement.id)
        if rule is None:
            raise AssertionError(f"{self.name}: statement {statement.id} has no rule in rubric.py")
        return rule

    def check(self, report: Json, manifest: int = 0) -> dict[str, Result]:
        """Each statement on ``manifests[manifest]`` of a crJSON report."""
        c = Ctx(report["manifests"][manifest], report, self.variables, self.expected_spec)
        out: dict[str, Result] = {}
        for s in self.statements:
            value = self.rule(s)(c)
            if isinstance(value, list):
                out[s.id] = Result(not value, value)
            else:
                out[s.id] = Result(bool(value), [])
        return out

    def signals(self, report: Json, manifest: int = 0) -> list[str]:
        """The signal ids that fire for one manifest (the signals rubric)."""
        return [k for k, r in self.check(report, manifest).items() if r.passed]
