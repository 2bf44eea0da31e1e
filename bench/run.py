"""Run every benchmark (bench/bench_*.py) and collect their JSON lines.

    python bench/run.py            # small sizes, a few minutes
    python bench/run.py --full     # the sizes the issues name
    python bench/run.py record     # only bench_record.py
    python bench/run.py startup    # only bench_startup.py (CLI start-up, ~1 min)

Each benchmark prints one JSON object per figure (DESIGN.md); this runner echoes them, adds a
`script` field, and writes them all to bench/out/results.jsonl. Benchmarks never decide pass/fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    full = "--full" in argv
    only = [a for a in argv if not a.startswith("-")]
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in only]
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    results = []
    failed = []
    for script in scripts:
        t0 = time.perf_counter()
        print(f"# {script.name}{' --full' if full else ''}", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, str(script), *(["--full"] if full else [])],
            capture_output=True,
            text=True,
        )
        for line in proc.stdout.splitlines():
            try:
                figure = json.loads(line)
            except ValueError:
                continue
            figure["script"] = script.name
            results.append(figure)
            print(json.dumps(figure), flush=True)
        if proc.returncode != 0:
            failed.append(script.name)
            print(proc.stderr[-2000:], file=sys.stderr)
        print(f"# {script.name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    (out_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
