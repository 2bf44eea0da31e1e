"""Benchmark: how long the CLI takes to start, each figure beside its bare baseline.

startup.version_ms          `provenance --version` vs `python -c pass` (the interpreter alone).
startup.help_ms             `provenance --help` vs `python -c pass`.
startup.verify_no_ledger_ms `provenance verify FILE --no-ledger` vs a bare script that imports
                            c2pa and reads the same file's manifest store.

Each is the wall time of a fresh process (what a person or a script waits for), and as
`<name>_cpu_ms` its CPU time (user + system), which other work on the machine disturbs less;
medians of n runs, the runs of a figure and its baseline interleaved so that load hits both.
Bytecode is cached (in a temp dir) as for an installed package, whatever PYTHONDONTWRITEBYTECODE says.

    python bench/bench_startup.py           # n = 15
    python bench/bench_startup.py --full    # n = 50
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "tests" / "assets" / "c2pa" / "public-testfiles" / "adobe-20220124-C.jpg"

BARE_READ = """
import sys, c2pa
with open(sys.argv[1], "rb") as f:
    c2pa.Reader("image/jpeg", f).json()
"""


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms: user + system of the child) of one fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = code
    if code not in (0, 1):  # 1: verify ran and did not accept (untrusted signer)
        raise SystemExit(f"{' '.join(argv)} exited {code}: {err[-500:]}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def _line(bench: str, value: float, baseline: float, n: int) -> dict[str, object]:
    return {
        "bench": bench,
        "value": round(value, 1),
        "unit": "ms",
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 2),
        "n": n,
    }


def figures(
    bench: str, ours: list[str], bare: list[str], n: int, env: dict[str, str]
) -> list[dict[str, object]]:
    """Wall time, and CPU time (steadier when other work shares the machine), both medians."""
    _run(ours, env), _run(bare, env)  # warm the file cache for both
    runs_ours, runs_bare = [], []
    for _ in range(n):
        runs_ours.append(_run(ours, env))
        runs_bare.append(_run(bare, env))
    out = []
    for i, suffix in enumerate(("", "_cpu")):
        value = statistics.median(r[i] for r in runs_ours)
        baseline = statistics.median(r[i] for r in runs_bare)
        out.append(_line(bench.replace("_ms", f"{suffix}_ms"), value, baseline, n))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="50 runs per figure instead of 15")
    args = parser.parse_args()
    n = 50 if args.full else 15
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        # This tree's code, and an empty home: no identity, no ledger, nothing of the user's.
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PROVENANCE_HOME": str(Path(tmp) / "home")}
        env.pop("PROVENANCE_LEDGER_URL", None)
        # Compiled bytecode, as an installed package has: without it (PYTHONDONTWRITEBYTECODE)
        # every run would compile our sources again. Kept in the temp dir, out of the tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        cli = [py, "-m", "provenance"]
        for bench, ours, bare in [
            ("startup.version_ms", [*cli, "--version"], [py, "-c", "pass"]),
            ("startup.help_ms", [*cli, "--help"], [py, "-c", "pass"]),
            (
                "startup.verify_no_ledger_ms",
                [*cli, "verify", str(FILE), "--no-ledger"],
                [py, "-c", BARE_READ, str(FILE)],
            ),
        ]:
            for line in figures(bench, ours, bare, n, env):
                print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
