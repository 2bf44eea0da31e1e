"""Benchmark: what recording adds to a diffusers call, and the cached weights digest.

Tiny random-weights Stable Diffusion model (tests/diffusers/tiny.py), 2 steps, CPU, 512x512 by
default. Figures (medians over ``--n`` rounds, after one warm-up round; DESIGN.md JSON lines):

- ``diffusers.pipeline_512``: the bare pipeline call (``pipe(prompt, ...)``, PIL image out).
- ``diffusers.recorder_added_512``: what recording adds per image: a recorded
  ``Recorder.generate`` minus the pipeline call inside it (the pipeline's own ``__call__``, timed
  in the same call, so the pipeline's second-scale noise does not swamp the milliseconds
  measured). It is everything beyond the pipeline: weights digest (cached), a fresh scheduler,
  PNG encode, fingerprints, claim thumbnail, manifest, signing, temp file + fsyncs, ledger append
  + checkpoint, rename. Baseline: a bare c2pa sign of the same PNG bytes (the same manifest
  definition, c2pa making the claim thumbnail as its settings say) + one ``Ledger.append`` of an
  entry with the same body (which signs a checkpoint, as the recorder's append does).
  Target: ratio <= 1.1.
- ``diffusers.backend_added_512``: the part of it spent in the backend call, outside the pipeline
  (weights digest, scheduler copy, facts); the recorder's own share is the rest.
- ``diffusers.png_encode_512``: the part of it spent encoding the PNG (OpenCV, Paeth filter, RLE
  deflate; rows that do not deflate stored; one IDAT chunk: provenance.media.png), which the bare
  sign + append is given for free (it signs the same bytes); baseline: Pillow's default PNG encode
  of the same pixels (what ``image.save("out.png")`` costs a caller without the recorder).
- ``diffusers.first_call_added_512``: the same for the first recorded call of a process (loading
  the model from disk, first-call imports); no baseline.
- ``diffusers.digest_cached_1024mib``: the weights digest of a 1 GiB model folder (9 files) with
  the size+mtime (+ inode, change time) cache warm; baseline: the same digest hashing every byte.

    python bench/bench_diffusers.py [--n 3] [--size 512] [--digest-mib 1024] [--quick]

``--quick``: 256x256 and a 64 MiB folder. ``--full`` is accepted (the default sizes are the
full ones). Needs the ``diffusers`` extra; without it, says so on stderr and prints no figure.
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
PROMPT = "a red cat"


def emit(name: str, value: float, unit: str, baseline: float | None, n: int) -> None:
    ratio = round(value / baseline, 3) if baseline else None
    figure = {"bench": f"diffusers.{name}", "value": round(value, 2), "unit": unit}
    figure.update({"baseline": round(baseline, 2) if baseline else None, "ratio": ratio, "n": n})
    print(json.dumps(figure), flush=True)


class PipelineClock:
    """Times the pipeline class's own ``__call__`` (the bare and the recorded calls alike)."""

    def __init__(self, cls: type) -> None:
        self.last = 0.0
        inner = cls.__call__
        clock = self

        def timed(pipe: Any, *args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return inner(pipe, *args, **kwargs)
            finally:
                clock.last = time.perf_counter() - t

        cls.__call__ = timed  # type: ignore[method-assign]


class Kept:
    """The diffusers backend, with its last result kept (for the bare sign of the same bytes)."""

    name = "diffusers"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last: BackendResult | None = None
        self.seconds = 0.0

    def generate(self, request: GenerateRequest) -> BackendResult:
        t = time.perf_counter()
        self.last = self.inner.generate(request)
        self.seconds = time.perf_counter() - t
        return self.last

    def edit(self, request: EditRequest) -> BackendResult:
        raise NotImplementedError


class Bare:
    """A bare c2pa sign + ledger append of what one recorded call signed and appended."""

    def __init__(self, home: Any, ident: Any, ledger: Any) -> None:
        import c2pa

        from provenance.credentials import make_context

        self.c2pa = c2pa
        key = home.signer_key.read_bytes()
        self.signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(b"es256", ident.chain_pem, key, None)
        )
        self.context = make_context(trust_anchors=home.ca_cert.read_text())
        self.ledger = ledger

    def prepare(self, result: BackendResult, entry: Any, i: int) -> tuple[dict[str, Any], Any]:
        """The same manifest definition the recorder signed (without its own thumbnail)."""
        from provenance.record.body import PromptRecord
        from provenance.record.manifest import ManifestFacts, build_manifest

        output = result.outputs[0]
        prompt = PromptRecord(entry.body["prompt"]["hash"], False)
        facts = ManifestFacts(
            "generate", f"bare-{i}.png", self.ledger.origin, self.ledger.new_entry_id(),
            entry.body["signed_at"], PROMPT, prompt, False, False,
        )  # fmt: skip
        spec = build_manifest(facts, result, output, [])
        return spec.to_json(), entry.body

    def run(self, definition: dict[str, Any], body: dict[str, Any], data: bytes) -> float:
        import hashlib

        t = time.perf_counter()
        out = io.BytesIO()
        builder = self.c2pa.Builder(definition, context=self.context)
        builder.sign(self.signer, "image/png", io.BytesIO(data), out)
        builder.close()
        digest = hashlib.sha256(out.getvalue()).hexdigest()
        body = {**body, "output": {**body["output"], "sha256": digest}}
        self.ledger.append("generate", body, outputs=[digest])
        return time.perf_counter() - t


def bench_recording(root: Path, n: int, size: int) -> None:
    import torch

    from provenance.backends.diffusers import DiffusersBackend
    from provenance.home.identity import create_local_identity
    from provenance.home.ledger import create_ledger
    from provenance.home.paths import Home
    from provenance.media.imaging import encode
    from provenance.record.recorder import Recorder
    from tests.diffusers.tiny import build_tiny_model

    model = build_tiny_model(root / "tiny-sd")
    home = Home(root / "home")
    os.environ["PROVENANCE_HOME"] = str(home.root)
    ident = create_local_identity(home, actor="bench")
    create_ledger(home)
    backend = Kept(DiffusersBackend(cache_file=root / "cache.json"))
    rec = Recorder(home, backend=backend)
    bare = Bare(home, ident, rec.ledger)
    from diffusers import StableDiffusionPipeline

    clock = PipelineClock(StableDiffusionPipeline)
    bare_pipe = DiffusersBackend()._load(model.resolve(), _opts()).base  # its own copy
    pipeline, added, bare_times, backend_added, encodes, pillows = [], [], [], [], [], []
    first = 0.0
    for i in range(n + 1):  # round 0: the first call of the process, and the warm-up
        t = time.perf_counter()
        [made] = rec.generate(
            PROMPT,
            root / f"rec-{i}.png",
            model=str(model),
            seed=i,
            size=f"{size}x{size}",
            options={"steps": STEPS, "guidance": 5.0},
        )
        inside = clock.last
        recorded_added = time.perf_counter() - t - inside
        assert backend.last is not None
        definition, body = bare.prepare(backend.last, rec.ledger.get(made.entry_id), i)
        t = time.perf_counter()
        data = backend.last.outputs[0].encoded()  # the PNG the recorder signed (deterministic)
        encoding = time.perf_counter() - t
        t = time.perf_counter()
        pixels = backend.last.outputs[0].pixels
        assert pixels is not None
        encode(pixels, "png")  # Pillow's default, as image.save() does
        pillow = time.perf_counter() - t
        bare_pipe(  # the same pixels; the bare sign follows it as the recording follows its own
            prompt=PROMPT,
            num_inference_steps=STEPS,
            guidance_scale=5.0,
            height=size,
            width=size,
            generator=torch.Generator("cpu").manual_seed(i),
        )
        b = bare.run(definition, body, data)
        if i == 0:
            first = recorded_added
            continue
        pipeline.append(clock.last * 1000)  # the bare call's
        added.append(recorded_added * 1000)
        backend_added.append((backend.seconds - inside) * 1000)
        encodes.append(encoding * 1000)
        pillows.append(pillow * 1000)
        bare_times.append(b * 1000)
    rec.close()
    emit(f"pipeline_{size}", statistics.median(pipeline), "ms", None, n)
    emit(f"recorder_added_{size}", statistics.median(added), "ms", statistics.median(bare_times), n)
    emit(f"backend_added_{size}", statistics.median(backend_added), "ms", None, n)
    emit(f"png_encode_{size}", statistics.median(encodes), "ms", statistics.median(pillows), n)
    emit(f"first_call_added_{size}", first * 1000, "ms", None, 1)


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
    ap.add_argument("--n", type=int, default=3, help="measured rounds (after a warm-up)")
    ap.add_argument("--size", type=int, default=512, help="image width and height")
    ap.add_argument("--digest-mib", type=int, default=1024, help="model folder size for the digest")
    ap.add_argument("--quick", action="store_true", help="256x256 and a 64 MiB folder")
    ap.add_argument("--full", action="store_true", help="the default sizes (for bench/run.py)")
    args = ap.parse_args()
    from provenance.backends.diffusers import missing_dependencies

    missing = missing_dependencies()
    if missing:
        print(f"bench_diffusers: {', '.join(missing)} not installed; no figures", file=sys.stderr)
        return 0
    size, mib = (256, 64) if args.quick else (args.size, args.digest_mib)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_digest(root, mib << 20, max(args.n, 3))
        bench_recording(root, args.n, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
