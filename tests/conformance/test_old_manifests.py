"""Files signed before the conformance change (old action names, gathered actions, parameters
without a namespace, no source type on edits) verify as they did."""

from __future__ import annotations

import io
import json
from pathlib import Path

import c2pa

from provenance.credentials import make_context, make_signer
from provenance.home.identity import load_identity
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from provenance.verify import verify_path
from provenance.verify.policy import default_policy

# The manifest definition the recorder wrote for "grayscale" before the change.
OLD = {
    "claim_generator_info": [{"name": "provenance", "version": "0.1.0"}],
    "title": "old-gray.png",
    "assertions": [
        {
            "label": "c2pa.actions.v2",
            "data": {
                "actions": [
                    {
                        "action": "c2pa.opened",
                        "softwareAgent": {"name": "provenance local renderer 0.1"},
                        "parameters": {"ingredientIds": ["parent"]},
                    },
                    {
                        "action": "c2pa.color_adjustments",
                        "softwareAgent": {"name": "provenance local renderer 0.1"},
                        "parameters": {"grayscale": True},
                        "description": "converted to grayscale",
                    },
                ]
            },
        }
    ],
}


def test_old_shape_verifies_as_before(home: Home, workdir: Path) -> None:
    with Recorder(home) as rec:
        [card] = rec.generate("A red circle on a white background", workdir / "card.png")
    identity = load_identity(home)
    ctx = make_context(trust_anchors=identity.ca_pem.decode() if identity.ca_pem else None)
    parent = card.path.read_bytes()
    out = io.BytesIO()
    builder = c2pa.Builder(json.dumps(OLD), context=ctx)
    builder.add_ingredient(
        {"title": "card.png", "relationship": "parentOf", "label": "parent"},
        "image/png",
        io.BytesIO(parent),
    )
    builder.sign(make_signer(identity), "image/png", io.BytesIO(parent), out)
    builder.close()
    old = workdir / "old-gray.png"
    old.write_bytes(out.getvalue())
    report = verify_path(old, default_policy(home))
    assert report.verdict == "trusted"
    assert report.actions == ["c2pa.opened", "c2pa.color_adjustments"]
    assert report.digital_source_type == "algorithmicMedia"  # the origin's, as before
    assert report.ai_generated is False
