"""Benchmark: what recording adds to a diffusers call, and the cached weights digest.

Figures (medians; DESIGN.md JSON lines):
- ``diffusers.pipeline_512``: the bare pipeline call (tiny random-weights model, 512x512 with
  ``--full``, 256x256 by default; 2 steps).
- ``diffusers.recorder_added_512``: a recorded ``Recorder.generate`` minus the backend call inside
  it (hashing, fingerprints, signing, temp file + fsync, ledger append + checkpoint, rename), paired
  per call; baseline: a bare c2pa sign (one ``c2pa.created`` action) + ``Ledger.append`` of the
  same bytes. Target: ratio <= 1.1.
- ``diffusers.backend_added_512``: the backend call minus the bare pipeline call (cached weights
  digest, a fresh scheduler, PNG encode); baseline: the bare pipeline call.
- ``diffusers.digest_cached``: the weights digest of a folder with the size+mtime cache warm;
  baseline: the same digest hashing every byte. 64 MiB by default, 1 GiB with ``--full``.

    python bench/bench_diffusers.py [--n 3] [--full]

Needs the ``diffusers`` extra; without it, says so on stderr and prints no figure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provenance.backends.base import BackendResult, EditRequest, GenerateRequest

STEPS = 2


def emit(name: str, value: float, unit: str, baseline: float | None, n: int) -> None:
    ratio = round(value / baseline, 3) if baseline else None
    figure = {"bench": f"diffusers.{name}", "value": round(value, 2), "unit": unit}
    figure.update({"baseline": round(baseline, 2) if baseline else None, "ratio": ratio, "n": n})
    print(json.dumps(figure), flush=True)


class Timed:
    """The diffusers backend, with the time spent inside its last call kept (a measurement)."""

    name = "diffusers"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last = 0.0

    def generate(self, request: GenerateRequest) -> BackendResult:
        t = time.perf_counter()
        try:
            result: BackendResult = self.inner.generate(request)
            return result
        finally:
            self.last = time.perf_counter() - t

    def edit(self, request: EditRequest) -> BackendResult:
        raise NotImplementedError


def _bare_sign_append(data: bytes, signer: Any, ctx: Any, led: Any, i: int) -> None:
    import c2pa

    from provenance.credentials import ManifestSpec

    spec = ManifestSpec(
        title=f"bare-{i}.png",
        actions=[{"action": "c2pa.created", "digitalSourceType": "trainedAlgorithmicMedia"}],
        ingredients=[],
    )
    out = io.BytesIO()
    c2pa.Builder(spec.to_json(), context=ctx).sign(signer, "image/png", io.BytesIO(data), out)
    signed = out.getvalue()
    import hashlib

    digest = hashlib.sha256(signed).hexdigest()
    led.append("generate", {"op": "generate", "output": {"sha256": digest}}, outputs=[digest])


def bench_recording(root: Path, n: int, size: int) -> None:
    import c2pa

    from provenance.backends.diffusers import DiffusersBackend
    from provenance.credentials import make_context
    from provenance.home.identity import create_local_identity
    from provenance.home.ledger import create_ledger, open_ledger
    from provenance.home.paths import Home
    from provenance.media.imaging import encode
    from provenance.record.recorder import Recorder
    from tests.diffusers.tiny import build_tiny_model

    model = build_tiny_model(root / "tiny-sd")
    home = Home(root / "home")
    os.environ["PROVENANCE_HOME"] = str(home.root)
    ident = create_local_identity(home, actor="bench")
    create_ledger(home)
    backend = Timed(DiffusersBackend(cache_file=root / "cache.json"))
    bare_pipe = DiffusersBackend()._load(model.resolve(), _opts())  # the same loaded pipeline
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(b"es256", ident.chain_pem, home.signer_key.read_bytes(), None)
    )
    ctx = make_context(trust_anchors=home.ca_cert.read_text())
    rec = Recorder(home, backend=backend)  # type: ignore[arg-type]
    led = open_ledger(home)
    pipeline, added, backend_added, bare = [], [], [], []
    opts = {"steps": STEPS, "guidance": 5.0}
    for i in range(n + 1):  # one warm-up round
        image, p = _bare_pipeline(bare_pipe.base, size, i)
        t = time.perf_counter()
        rec.generate(
            "a red cat",
            root / f"rec-{i}.png",
            model=str(model),
            seed=i,
            size=f"{size}x{size}",
            options=opts,
        )
        r = time.perf_counter() - t
        data = encode(image, "png")
        t = time.perf_counter()
        _bare_sign_append(data, signer, ctx, led, i)
        b = time.perf_counter() - t
        if i:
            pipeline.append(p * 1000)
            added.append((r - backend.last) * 1000)
            backend_added.append((backend.last - p) * 1000)
            bare.append(b * 1000)
    rec.close()
    led.close()
    med_pipe = statistics.median(pipeline)
    emit(f"pipeline_{size}", med_pipe, "ms", None, n)
    emit(f"recorder_added_{size}", statistics.median(added), "ms", statistics.median(bare), n)
    emit(f"backend_added_{size}", statistics.median(backend_added), "ms", med_pipe, n)


def _bare_pipeline(pipe: Any, size: int, seed: int) -> tuple[Any, float]:
    import torch

    t = time.perf_counter()
    image = pipe(
        prompt="a red cat",
        num_inference_steps=STEPS,
        guidance_scale=5.0,
        height=size,
        width=size,
        generator=torch.Generator("cpu").manual_seed(seed),
    ).images[0]
    return image, time.perf_counter() - t


def _opts() -> Any:
    from provenance.backends.diffusers._options import parse_options

    return parse_options({}, device="cpu", dtype="float32")


def bench_digest(root: Path, total: int, n: int) -> None:
    from provenance.backends.diffusers._weights import weights_digest

    folder = root / "big-model"
    (folder / "unet").mkdir(parents=True)
    chunk = os.urandom(1 << 20)
    files = 8
    for k in range(files):
        with (folder / "unet" / f"part-{k}.safetensors").open("wb") as f:
            for _ in range(total // files // len(chunk)):
                f.write(chunk)
    (folder / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    cache = root / "digest-cache.json"
    weights_digest(folder, cache)  # warm the cache (and the page cache, for both figures)
    cached, uncached = [], []
    for _ in range(n):
        t = time.perf_counter()
        weights_digest(folder, cache)
        cached.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        weights_digest(folder, None)
        uncached.append((time.perf_counter() - t) * 1000)
    label = f"{total >> 20}mib"
    emit(f"digest_cached_{label}", statistics.median(cached), "ms", statistics.median(uncached), n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="512x512 images and a 1 GiB folder")
    args = ap.parse_args()
    from provenance.backends.diffusers import missing_dependencies

    missing = missing_dependencies()
    if missing:
        print(f"bench_diffusers: {', '.join(missing)} not installed; no figures", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_digest(root, (1 << 30) if args.full else (64 << 20), max(args.n, 3))
        bench_recording(root, args.n, 512 if args.full else 256)
    return 0


if __name__ == "__main__":
    sys.exit(main())
