"""What ``Recorder.step`` callers pass is written the way the conformance rubrics require."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from provenance.backends.base import Action
from provenance.credentials import make_context
from provenance.credentials.read import read_crjson
from provenance.errors import InputError
from provenance.home.identity import load_identity
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from tests.conformance.rubric import IPTC, Rubric
from tests.conftest import files_in

SPEC_22 = Rubric.load("asset-rubric-conformance0.2-spec2.2.yml")


def _step(home: Home, workdir: Path, *actions: Action) -> dict[str, object]:
    src = workdir / "in.png"
    Image.new("RGB", (32, 32), "purple").save(src)
    out = workdir / "out.png"
    with Recorder(home) as rec, rec.step([src], out, actions=actions, software_agent="tool 1") as s:
        s.image = Image.open(src).rotate(90)
    ca = load_identity(home).ca_pem
    ctx = make_context(trust_anchors=ca.decode() if ca else None, thumbnail=False)
    return read_crjson(out.read_bytes(), "image/png", ctx)


def _actions(crjson: dict[str, object]) -> list[dict[str, object]]:
    return crjson["manifests"][0]["assertions"]["c2pa.actions.v2"]["actions"]  # type: ignore[index,no-any-return]


def test_deprecated_name_is_written_as_its_successor(home: Home, workdir: Path) -> None:
    crjson = _step(home, workdir, Action("c2pa.color_adjustments", {"hue": 10}))
    _, adjusted = _actions(crjson)
    assert adjusted["action"] == "c2pa.adjustedColor"
    assert adjusted["parameters"] == {"org.provenance.hue": 10}
    assert all(r.passed for r in SPEC_22.check(crjson).values())
    with open_ledger(home, read_only=True) as ledger:
        [entry] = ledger.recent(1)
    assert entry.body["actions"] == ["c2pa.opened", "c2pa.adjustedColor"]


def test_a_declared_source_type_is_kept(home: Home, workdir: Path) -> None:
    ai = Action("com.example.upscale", digital_source_type="trainedAlgorithmicMedia")
    manual = Action("c2pa.cropped", digital_source_type="humanEdits")
    crjson = _step(home, workdir, ai, manual)
    _, up, crop = _actions(crjson)
    assert up["digitalSourceType"] == IPTC + "trainedAlgorithmicMedia"
    assert crop["digitalSourceType"] == IPTC + "humanEdits"
    assert all(r.passed for r in SPEC_22.check(crjson).values())


@pytest.mark.parametrize(
    ("action", "problem"),
    [("denoise", "namespace of yours"), ("c2pa.saved", "deprecated by C2PA 2.2")],
)
def test_unrecognisable_action_names_are_refused(
    home: Home, workdir: Path, action: str, problem: str
) -> None:
    before = files_in(workdir)
    with pytest.raises(InputError, match=problem):
        _step(home, workdir, Action(action))
    assert files_in(workdir) == [*before, "in.png"]  # nothing written but the test's input
    with open_ledger(home, read_only=True) as ledger:
        assert ledger.recent(5) == []


def test_a_step_that_creates_says_how(home: Home, workdir: Path) -> None:
    """A step without inputs that names its own c2pa.created gets no second, default one."""
    out = workdir / "made.png"
    created = Action("c2pa.created", digital_source_type="trainedAlgorithmicMedia")
    with Recorder(home) as rec, rec.step([], out, actions=[created], software_agent="gen 2") as s:
        s.image = Image.new("RGB", (32, 32), "olive")
    ca = load_identity(home).ca_pem
    ctx = make_context(trust_anchors=ca.decode() if ca else None, thumbnail=False)
    crjson = read_crjson(out.read_bytes(), "image/png", ctx)
    [only] = _actions(crjson)
    assert (only["action"], only["digitalSourceType"]) == (
        "c2pa.created",
        IPTC + "trainedAlgorithmicMedia",
    )
    assert all(r.passed for r in SPEC_22.check(crjson).values())
