"""Hostile files: the fuzz harness at CI budget, a hypothesis run in-process, and every saved
crasher replayed (bench/fuzz_verify.py --full for the long run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.errors import ProvenanceError
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from provenance.verify.core import verify_bytes, verify_path
from provenance.verify.policy import default_policy

HARNESS = Path(__file__).resolve().parents[2] / "bench" / "fuzz_verify.py"
REGRESSIONS = Path(__file__).with_name("regressions")
VERDICTS = {"trusted", "valid_untrusted", "invalid", "no_credentials", "recovered", "error"}


def test_fuzz_harness_ci_budget() -> None:
    proc = subprocess.run(
        [sys.executable, str(HARNESS), "--inputs", "150", "--seed", "5", "--no-save"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0 and stats["failures"] == [], stats
    assert stats["inputs"] == 150 and stats["edited"] > 10
    assert set(stats["verdicts"]) <= VERDICTS | {"raised"}


@pytest.fixture(scope="module")
def signed_png(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, bytes]:
    from provenance.home.identity import create_local_identity
    from provenance.home.ledger import create_ledger

    root = tmp_path_factory.mktemp("fuzz-home")
    home = Home(root / "home")
    create_local_identity(home, actor="fuzz@example.org")
    create_ledger(home)
    with Recorder(home) as rec:
        [out] = rec.generate("A red circle", root / "seed.png", size="64x64")
    return home, out.path.read_bytes()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_verify_never_raises_and_never_trusts_changed_bytes(
    signed_png: tuple[Home, bytes], data: st.DataObject
) -> None:
    home, seed = signed_png
    at = data.draw(st.integers(0, len(seed) - 1))
    new = data.draw(st.integers(0, 255))
    mutated = seed[:at] + bytes([new]) + seed[at + 1 :]
    report = verify_bytes(mutated, default_policy(home))
    assert report.verdict in VERDICTS
    if report.verdict == "trusted" and mutated != seed:
        from bench.fuzz_verify import _pixels

        assert _pixels(seed) == _pixels(mutated), (
            f"trusted with changed pixels (byte {at} -> {new})"
        )


@pytest.mark.parametrize(
    "path", sorted(REGRESSIONS.glob("*.*")) if REGRESSIONS.is_dir() else [], ids=lambda p: p.name
)
def test_regression_file(path: Path, home: Home, workdir: Path) -> None:
    report = verify_path(path, default_policy(home))
    assert report.verdict in VERDICTS
    with Recorder(home) as rec:
        for call in (
            lambda: rec.import_asset(path),
            lambda: rec.edit([path], "grayscale", workdir / "out.png"),
        ):
            try:
                call()
            except ProvenanceError as e:
                assert e.diagnostics() and "\n" not in e.diagnostics()


def test_pixel_oracle_leaves_truncated_image_detection_on() -> None:
    """Regression: the oracle switched Pillow's truncated-image tolerance on for the process."""
    from PIL import ImageFile

    from bench.fuzz_verify import _pixels

    _pixels(b"\x89PNG\r\n\x1a\n")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
