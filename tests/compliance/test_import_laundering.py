"""Issue 13: an AI output stripped of its metadata keeps its lineage and AI disclosure.

The AI original (OpenAI, through the local test server) is recorded; an insider re-saves its
pixels without credentials and brings the copy back through ``import`` or ``Recorder.step``.
Before the fix the copy became a lineage root and ``check`` said "not an AI output"; now the
input is matched through the ledger's fingerprint index, linked (marked ``perceptual``) to the
AI original, and ``check`` follows the link.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from ledger.store import Ledger
from provenance.backends.base import Action
from provenance.backends.openai import OpenAIBackend
from provenance.compliance.check import check_path
from provenance.compliance.policy_file import parse_policy
from provenance.home.ledger import open_ledger
from provenance.home.originals import reader_for
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from provenance.recovery.match import recover
from tests.openai_server import OpenAIServer

KEY = "sk-test-laundering-0123456789"
POLICY = parse_policy('[rules.ai_disclosure]\nscope = "ai"\n', source="test")


def png_resave(src: Path, dst: Path) -> None:
    with Image.open(src) as im:
        im.convert("RGB").save(dst, "PNG")


def jpeg_reencode(src: Path, dst: Path) -> None:
    buf = io.BytesIO()
    with Image.open(src) as im:
        im.convert("RGB").save(buf, "JPEG", quality=90)
    Image.open(buf).save(dst, "PNG")


def via_import(home: Home, copy: Path, work: Path) -> str:
    with Recorder(home) as rec:
        return rec.import_asset(copy).entry_id


def via_step(home: Home, copy: Path, work: Path) -> str:
    with (
        Recorder(home) as rec,
        rec.step(
            [copy], work / "stepped.png", actions=[Action("c2pa.filtered")], software_agent="blur 1"
        ) as step,
        Image.open(copy) as im,
    ):
        step.image = im.convert("RGB")
    return _last(home)


def _last(home: Home) -> str:
    with open_ledger(home, read_only=True) as led:
        return led.recent(1)[0].id


STRIPS = [png_resave, jpeg_reencode]
PATHS = [via_import, via_step]


def _why_not_linked(home: Home, led: Ledger, copy: Path) -> str:
    """What the search and the pixel confirmation say of ``copy`` now (a failure's message)."""
    with Image.open(copy) as im:
        im.load()
        found = recover(led, im, reader_for(home).get)
    kept = reader_for(home).get(found.candidates[0].output) if found.candidates else None
    return (
        f"not linked: {found.reason!r}; candidates {found.candidates!r}; pixels {found.pixels!r}; "
        f"original kept: {kept is not None}"
    )


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY) as s:
        yield s


@pytest.mark.parametrize("strip", STRIPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("path", PATHS, ids=lambda f: f.__name__)
def test_a_stripped_ai_output_keeps_its_lineage_and_disclosure(
    home: Home,
    workdir: Path,
    server: OpenAIServer,
    strip: Callable[[Path, Path], None],
    path: Callable[[Home, Path, Path], str],
) -> None:
    backend = OpenAIBackend(api_key=KEY, base_url=server.base_url, max_retries=0)
    with Recorder(home, backend=backend) as rec:
        [ai] = rec.generate("A lighthouse at dusk", workdir / "ai.png", size="1024x1024")
    copy = workdir / "copy.png"
    strip(ai.path, copy)
    entry_id = path(home, copy, workdir)
    with open_ledger(home) as led:
        entry = led.get(entry_id)
        assert entry is not None
        assert ai.entry_id in entry.parents, _why_not_linked(home, led, copy)
        record = entry.body["output"] if entry.kind == "import" else entry.body["inputs"][0]
        assert record["link"] == "perceptual" and record["entry"] == ai.entry_id
        target = copy if entry.kind == "import" else workdir / "stepped.png"
        [rule] = check_path(target, POLICY, home=home, ledger=led).results
    assert "not an AI output" not in rule.reason
    # the gate names the AI generation the ledger recorded (the step may disclose "composite")
    assert (
        not rule.passed
        and "ledger records" in rule.reason
        and "trainedAlgorithmicMedia" in rule.reason
    )
