"""The crash and concurrency harnesses at CI budgets (bench/crash_harness.py; --full for more).

They run as subprocesses: the harness forks workers, which must not inherit this process's
threads or database connections.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "bench" / "crash_harness.py"


def _harness(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, str(HARNESS), *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    stats: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, (stats, proc.stderr[-2000:])
    return stats


def test_sigkill_at_random_points_loses_and_corrupts_nothing() -> None:
    stats = _harness("--ops", "60", "--kills", "20", "--max-delay", "0.5", "--seed", "7")
    assert stats["violations"] == []
    assert isinstance(stats["operations"], int) and stats["operations"] >= 60
    assert isinstance(stats["kills"], int) and stats["kills"] >= 20
    assert stats["verified"] == 10


def test_concurrent_writers_sqlite() -> None:
    stats = _harness("--concurrent", "3", "--ops", "6")
    assert stats["violations"] == [] and stats["operations"] == 18


@pytest.mark.postgres
def test_concurrent_writers_postgresql(pg_url: str) -> None:
    stats = _harness("--concurrent", "3", "--ops", "6", "--ledger-url", pg_url)
    assert stats["violations"] == [] and stats["operations"] == 18


@pytest.mark.postgres
def test_sigkill_with_postgresql(pg_url: str) -> None:
    stats = _harness(
        "--ops", "25", "--kills", "5", "--max-delay", "0.6", "--seed", "3", "--ledger-url", pg_url
    )
    assert stats["violations"] == [] and isinstance(stats["kills"], int) and stats["kills"] >= 5
