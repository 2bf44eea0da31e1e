"""Fuzz verify, import and edit with mutated real files (PNG, JPEG, WebP; signed and unsigned).

Seeds are recorded with the local backend (so they carry real C2PA manifests) plus unsigned
encodings of the same pixels. Each mutated input goes to a worker subprocess (address-space
limit, per-input timeout) that runs ``verify_bytes``, and for a share of inputs
``Recorder.import_asset`` and ``Recorder.edit``. A pass is: a report or a ProvenanceError /
LedgerError. A failure is any other exception, a dead worker, a timeout, or a ``trusted``
verdict on a file whose pixels differ from its seed's. Failing inputs are saved under
``tests/hardening/regressions/`` as ``<kind>-<sha8>.<ext>`` for the regression test.

    python bench/fuzz_verify.py                 # CI budget: 150 inputs
    python bench/fuzz_verify.py --full          # 5,000 inputs
    python bench/fuzz_verify.py --inputs 20000 --seed 9

Prints one JSON object with the figures; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import select
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REGRESSIONS = Path(__file__).resolve().parents[1] / "tests" / "hardening" / "regressions"
TIMEOUT_S = 30.0
MEMORY_LIMIT = 4 << 30  # address space of a worker; decoding bombs must fail well below it
EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass
class FuzzStats:
    inputs: int = 0
    verified: int = 0
    imported: int = 0
    edited: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    clean_errors: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


# -- seeds and mutations ------------------------------------------------------------------------


def make_seeds(home_root: Path) -> list[tuple[bytes, str]]:
    """Signed PNG/JPEG/WebP from the recorder, an edit of each, and unsigned copies."""
    from PIL import Image

    from provenance.home.identity import create_local_identity
    from provenance.home.ledger import create_ledger
    from provenance.home.paths import Home
    from provenance.record.recorder import Recorder

    home = Home(home_root)
    create_local_identity(home, actor="fuzz@example.org")
    create_ledger(home)
    out = home_root / "seeds"
    out.mkdir()
    seeds: list[tuple[bytes, str]] = []
    with Recorder(home) as rec:
        for ext in ("png", "jpg", "webp"):
            [g] = rec.generate("A red circle and a blue square", out / f"g.{ext}", size="96x64")
            [e] = rec.edit([g.path], "grayscale; crop 0 0 64 64", out / f"e.{ext}")
            for o in (g, e):
                data = o.path.read_bytes()
                seeds.append((data, o.mime))
                buf = io.BytesIO()
                Image.open(io.BytesIO(data)).save(
                    buf, {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[ext]
                )
                seeds.append((buf.getvalue(), o.mime))
    return seeds


def _png_huge(data: bytes, rng: random.Random) -> bytes:
    """Claim enormous dimensions in the PNG header (with a correct CRC): a decompression bomb."""
    if not data.startswith(b"\x89PNG") or data[12:16] != b"IHDR":
        return data
    w, h = rng.choice([(1 << 20, 1 << 20), (70000, 70000), (1, 1 << 30)])
    ihdr = b"IHDR" + struct.pack(">II", w, h) + data[24:29]
    return data[:8] + data[8:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]


def mutate(data: bytes, others: list[bytes], rng: random.Random) -> bytes:
    """One to three random mutations; some aimed at the manifest store (JUMBF)."""
    b = bytearray(data)
    gentle = rng.random() < 0.6  # length-preserving changes get past the container checks
    for _ in range(1 if gentle else rng.randint(2, 3)):
        if not b:
            break
        kind = rng.choice((0, 1, 8)) if gentle else rng.randrange(10)
        at = rng.randrange(len(b))
        jumbf = [i for i in (b.find(b"jumb"), b.find(b"c2pa"), b.find(b"caBX")) if i >= 0]
        if jumbf and rng.random() < 0.5:
            at = min(len(b) - 1, rng.choice(jumbf) + rng.randrange(0, 4096))
        if kind == 0:
            b[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            b[at : at + 4] = struct.pack(
                ">I", rng.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, 0x10000, rng.randrange(1 << 32)])
            )
        elif kind == 2:
            b[at:at] = os.urandom(rng.randint(1, 64))
        elif kind == 3:
            del b[at : at + rng.randint(1, 256)]
        elif kind == 4:
            del b[at:]
        elif kind == 5:
            n = rng.randint(1, 512)
            b[at:at] = b[at : at + n] * rng.randint(1, 8)
        elif kind == 6:
            other = rng.choice(others)
            b = b[:at] + bytearray(other[rng.randrange(len(other)) :])
        elif kind == 7:
            b = bytearray(_png_huge(bytes(b), rng))
        elif kind == 8:
            for _ in range(rng.randint(2, 32)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        else:
            b[at : at + 8] = b"\x00" * 8
    return bytes(b)


# -- the worker -----------------------------------------------------------------------------------


def _pixels(data: bytes) -> bytes | None:
    """Decoded pixels. Ancillary-chunk CRCs are not checked: C2PA leaves some bytes of its own
    manifest chunk unsigned (COSE padding), and a flip there changes neither pixels nor claims."""
    from PIL import Image, ImageFile

    # Lets Pillow skip CRCs of ancillary chunks only. A process-wide switch, so it is restored:
    # left on, it made every later decode in the same process accept truncated images.
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.convert("RGBA").tobytes()
    except Exception:
        return None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved


def worker(home_root: Path) -> None:
    """Read ``len(4) op(1) seed(2) data`` frames from stdin; answer one JSON line each."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    from ledger.errors import LedgerError
    from provenance.errors import ProvenanceError
    from provenance.home.ledger import open_ledger
    from provenance.home.paths import Home
    from provenance.record.recorder import Recorder
    from provenance.verify.core import verify_bytes
    from provenance.verify.policy import default_policy

    home = Home(home_root)
    policy = default_policy(home)
    seed_pixels: dict[int, bytes | None] = {}
    seed_dir = home_root / "seeds-raw"
    work = home_root / "work"
    work.mkdir(exist_ok=True)
    stdin, stdout = sys.stdin.buffer, sys.stdout
    with open_ledger(home) as ledger, Recorder(home, ledger=ledger) as rec:
        while header := stdin.read(7):
            size, op, seed = struct.unpack(">IBH", header)
            data = stdin.read(size)
            result: dict[str, Any] = {"ok": True}
            try:
                report = verify_bytes(data, policy, ledger, name="fuzz")
                result["verdict"] = report.verdict
                if report.verdict in ("trusted", "valid_untrusted"):
                    if seed not in seed_pixels:
                        seed_pixels[seed] = _pixels((seed_dir / str(seed)).read_bytes())
                    if _pixels(data) != seed_pixels[seed]:
                        result = {
                            "ok": False,
                            "kind": "false-claim",
                            "detail": f"{report.verdict} but the pixels differ from the seed",
                        }
                if op & 1 and result["ok"]:
                    path = work / f"in.{EXT.get(report.mime or '', 'bin')}"
                    path.write_bytes(data)
                    for step in ("import", "edit"):
                        try:
                            if step == "import":
                                rec.import_asset(path)
                            else:
                                dest = work / "out.png"
                                dest.unlink(missing_ok=True)
                                rec.edit([path], "grayscale", dest)
                            result[step] = "ok"
                        except (ProvenanceError, LedgerError) as e:
                            result[step] = "error"
                            line = e.diagnostics()
                            if "\n" in line or not line:
                                result = {
                                    "ok": False,
                                    "kind": "unclear-error",
                                    "detail": repr(line),
                                }
                                break
            except (ProvenanceError, LedgerError) as e:
                result = {"ok": True, "verdict": "raised", "detail": e.diagnostics()}
            except MemoryError:
                result = {"ok": False, "kind": "memory", "detail": "MemoryError"}
            except Exception as e:
                result = {"ok": False, "kind": "crash", "detail": f"{type(e).__name__}: {e}"[:300]}
            stdout.write(json.dumps(result) + "\n")
            stdout.flush()


class _Worker:
    def __init__(self, home_root: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(home_root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def ask(self, data: bytes, op: int, seed: int, timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(struct.pack(">IBH", len(data), op, seed) + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"ok": False, "kind": "crash", "detail": "worker died"}
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return {"ok": False, "kind": "hang", "detail": f"no answer within {timeout:.0f} s"}
        line = self.proc.stdout.readline()
        if not line:
            return {
                "ok": False,
                "kind": "crash",
                "detail": f"worker died (exit {self.proc.wait()})",
            }
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def run(
    root: Path,
    *,
    inputs: int,
    seed: int = 1,
    edit_share: float = 0.3,
    timeout: float = TIMEOUT_S,
    save: bool = True,
) -> FuzzStats:
    start = time.monotonic()
    rng = random.Random(seed)
    seeds = make_seeds(root)
    raw = root / "seeds-raw"
    raw.mkdir()
    for i, (data, _) in enumerate(seeds):
        (raw / str(i)).write_bytes(data)
    stats = FuzzStats()
    w = _Worker(root)
    try:
        for _ in range(inputs):
            s = rng.randrange(len(seeds))
            data, mime = seeds[s]
            fuzzed = mutate(data, [d for d, _ in seeds], rng)
            op = 1 if rng.random() < edit_share else 0
            answer = w.ask(fuzzed, op, s, timeout)
            stats.inputs += 1
            stats.verified += 1
            stats.imported += op
            stats.edited += op
            verdict = str(answer.get("verdict", "failed"))
            stats.verdicts[verdict] = stats.verdicts.get(verdict, 0) + 1
            stats.clean_errors += sum(1 for k in ("import", "edit") if answer.get(k) == "error")
            if not answer["ok"]:
                name = f"{answer['kind']}-{zlib.crc32(fuzzed):08x}.{EXT.get(mime, 'bin')}"
                stats.failures.append(f"{name}: {answer['detail']}")
                if save:
                    REGRESSIONS.mkdir(parents=True, exist_ok=True)
                    (REGRESSIONS / name).write_bytes(fuzzed)
                if answer["kind"] in ("crash", "hang", "memory"):
                    w.stop()
                    w = _Worker(root)
    finally:
        w.stop()
    stats.seconds = round(time.monotonic() - start, 1)
    return stats


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="fuzz verify/import/edit with mutated real files")
    p.add_argument("--full", action="store_true", help="5,000 inputs")
    p.add_argument("--inputs", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=TIMEOUT_S, help="per input, seconds")
    p.add_argument("--no-save", action="store_true", help="do not write regression files")
    p.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        worker(a.worker)
        return 0
    with tempfile.TemporaryDirectory(prefix="fuzz-") as d:
        os.environ["PROVENANCE_HOME"] = d
        stats = run(
            Path(d),
            inputs=a.inputs or (5000 if a.full else 150),
            seed=a.seed,
            timeout=a.timeout,
            save=not a.no_save,
        )
    print(json.dumps(asdict(stats)))
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
