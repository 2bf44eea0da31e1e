"""Open-weights models on this machine through Hugging Face ``diffusers``; never a hub download.

``model`` is the path to a diffusers model folder (with ``model_index.json``) or to a single
``.safetensors`` checkpoint (its configs from option ``config=FOLDER``). ``generate`` is
text-to-image; ``edit`` is image-to-image (with ``strength``), or inpainting when a mask is given.
The weights digest, the seed and every parameter that determines the pixels are returned as facts,
and the digest with the file list as an ``org.provenance.model`` assertion, so that
``provenance reproduce`` can check the weights and make the image again.

torch and diffusers are imported only when a call runs (``pip install -e '.[diffusers]'``).

Example::

    from provenance import Recorder
    from provenance.backends.diffusers import DiffusersBackend

    with Recorder(backend=DiffusersBackend()) as rec:
        rec.generate("a lighthouse at dawn", "l.png", model="./sd-turbo", seed=7,
                     size="512x512", options={"steps": 4, "guidance": 0.0})
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from provenance.backends.base import (
    COMPOSITE_WITH_TRAINED,
    TRAINED_ALGORITHMIC_MEDIA,
    Action,
    BackendOutput,
    BackendResult,
    EditRequest,
    GenerateRequest,
)
from provenance.backends.diffusers import _load, _run
from provenance.backends.diffusers._load import Task
from provenance.backends.diffusers._options import (
    CallOptions,
    parse_options,
    parse_size,
    pick_seed,
)
from provenance.backends.diffusers._weights import WeightsDigest, weights_digest
from provenance.errors import InputError
from provenance.media.imaging import MIME_BY_FORMAT, encode

__all__ = ["MODEL_ASSERTION", "DiffusersBackend", "missing_dependencies"]

MODEL_ASSERTION = "org.provenance.model"
MAX_N = 10


def missing_dependencies() -> list[str]:
    """The packages of the ``diffusers`` extra that are not installed."""
    import importlib.util

    names = ("torch", "diffusers", "transformers", "safetensors")
    return [n for n in names if importlib.util.find_spec(n) is None]


@dataclass
class _Loaded:
    base: Any
    class_name: str
    scheduler: Any  # the model's own, as loaded from disk, never run (see _run.scheduler_template)
    variants: dict[str, Any] = field(default_factory=dict)
    schedulers: dict[str | None, Any] = field(default_factory=dict)  # option -> template


class DiffusersBackend:
    """Runs the user's own diffusers model; CPU unless ``device`` (or option ``device``) says."""

    name = "diffusers"

    def __init__(
        self,
        *,
        device: str = "cpu",
        dtype: str = "float32",
        cache_file: str | Path | None = None,
    ) -> None:
        missing = missing_dependencies()
        if missing:
            raise InputError(
                f"backend diffusers: {', '.join(missing)} not installed "
                "(pip install 'provenance[diffusers]')"
            )
        # Never a hub download: read by huggingface_hub when it is first imported (below us).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.device = device
        self.dtype = dtype
        self.cache_file = Path(cache_file) if cache_file else _default_cache()
        self._loaded: dict[tuple[str, str, str, str], _Loaded] = {}

    def generate(self, request: GenerateRequest) -> BackendResult:
        model, opts = self._check(request.model, request.n, request.options)
        size = parse_size(request.size)
        seed = pick_seed(request.seed)
        weights = weights_digest(model, self.cache_file)
        loaded = self._load(model, opts)
        pipe = self._variant(loaded, "text2image", opts)
        outputs = []
        for i in range(request.n):
            report = _run.progress_reporter(request.on_progress, request.n, i)
            image = _run.call_pipeline(
                pipe, "text2image", request.prompt, seed + i, opts, size, None, None, report
            )
            outputs.append(self._output(image, request.output_format, seed + i, ()))
        return self._result(model, loaded, pipe, "text2image", opts, weights, seed, outputs)

    def edit(self, request: EditRequest) -> BackendResult:
        model, opts = self._check(request.model, request.n, request.options)
        if not request.images:
            raise InputError("edit needs a parent image")
        if len(request.images) > 1:
            raise InputError("backend diffusers: reference images are not supported; give one")
        size = parse_size(request.size)
        seed = pick_seed(request.seed)
        parent = _open(request.images[0].data, request.images[0].name or "parent image")
        parent = parent.convert("RGB")
        mask = None
        if request.mask is not None:
            mask = _open(request.mask.data, request.mask.name or "mask").convert("L")
            if mask.size != parent.size:
                raise InputError(
                    f"mask is {mask.size[0]}x{mask.size[1]} but the image is "
                    f"{parent.size[0]}x{parent.size[1]}"
                )
        task: Task = "inpaint" if mask is not None else "image2image"
        if task == "image2image" and size not in (None, parent.size):
            raise InputError(f"size {request.size}: image-to-image keeps the parent's size")
        weights = weights_digest(model, self.cache_file)
        loaded = self._load(model, opts)
        pipe = self._variant(loaded, task, opts)
        if task == "inpaint" and size is None:
            size = (parent.width // 8 * 8, parent.height // 8 * 8)
        action = Action(
            "c2pa.edited",
            digital_source_type=COMPOSITE_WITH_TRAINED,
            description=f"{task} with {type(pipe).__name__} ({model.name})",
            parameters={
                "pipeline": type(pipe).__name__,
                "strength": opts.strength,
                "masked": mask is not None,
            },
        )
        outputs = []
        for i in range(request.n):
            report = _run.progress_reporter(request.on_progress, request.n, i)
            image = _run.call_pipeline(
                pipe, task, request.instruction, seed + i, opts, size, parent, mask, report
            )
            outputs.append(self._output(image, request.output_format, seed + i, (action,)))
        return self._result(model, loaded, pipe, task, opts, weights, seed, outputs)

    # -- internals ---------------------------------------------------------------------------

    def _check(
        self, model: str | None, n: int, options: dict[str, Any]
    ) -> tuple[Path, CallOptions]:
        if not model:
            raise InputError(
                "--model: the diffusers backend needs the path to a model folder or checkpoint"
            )
        if not 1 <= n <= MAX_N:
            raise InputError(f"n={n}: the diffusers backend makes between 1 and {MAX_N} images")
        path = Path(model).expanduser().resolve()
        if not path.exists():
            raise InputError(f"model {model}: no such folder or file")
        opts = parse_options(options, device=self.device, dtype=self.dtype)
        _load.torch_dtype(opts.dtype)
        _load.check_device(opts.device)
        return path, opts

    def _load(self, model: Path, opts: CallOptions) -> _Loaded:
        key = (str(model), opts.dtype, opts.device, str(opts.config))
        if key not in self._loaded:
            with _load.quiet():
                base, class_name = _load.load_base(model, opts.dtype, opts.config)
            if opts.device != "cpu":  # loaded on the CPU; .to("cpu") would only warn
                base = base.to(opts.device)
            self._loaded[key] = _Loaded(base, class_name, base.scheduler)
        return self._loaded[key]

    def _variant(self, loaded: _Loaded, task: Task, opts: CallOptions) -> Any:
        if task not in loaded.variants:
            cls = _load.task_class(loaded.class_name, task)
            with _load.quiet():
                pipe = loaded.base if isinstance(loaded.base, cls) else cls.from_pipe(loaded.base)
            pipe.set_progress_bar_config(disable=True)
            loaded.variants[task] = pipe
        pipe = loaded.variants[task]
        # From the model's own scheduler, never from the last call's (``base`` is the
        # text-to-image variant: its scheduler is whatever that call was given).
        if opts.scheduler not in loaded.schedulers:
            template = _run.scheduler_template(loaded.scheduler, opts.scheduler)
            loaded.schedulers[opts.scheduler] = template
        pipe.scheduler = _run.fresh_scheduler(loaded.schedulers[opts.scheduler])
        return pipe

    def _output(
        self, image: Image.Image, fmt: Any, seed: int, actions: tuple[Action, ...]
    ) -> BackendOutput:
        if fmt not in MIME_BY_FORMAT:
            raise InputError(f"output format {fmt!r}: unsupported (choose png, jpeg or webp)")
        if fmt == "png":  # lossless: encoded by the caller (the recorder: beside fingerprinting)
            return BackendOutput(
                b"", MIME_BY_FORMAT[fmt], actions, facts={"seed": seed}, pixels=image
            )
        return BackendOutput(encode(image, fmt), MIME_BY_FORMAT[fmt], actions, facts={"seed": seed})

    def _result(
        self,
        model: Path,
        loaded: _Loaded,
        pipe: Any,
        task: Task,
        opts: CallOptions,
        weights: WeightsDigest,
        seed: int,
        outputs: list[BackendOutput],
    ) -> BackendResult:
        versions = _run.versions()
        facts: dict[str, Any] = {
            "task": task,
            "model_path": str(model),
            "config_path": str(opts.config) if opts.config else None,
            "pipeline": loaded.class_name,
            "task_pipeline": type(pipe).__name__,
            "weights": weights.to_json(),
            # A single checkpoint's configs (and tokenizer) shape the pixels as much as its weights.
            "config_weights": (
                weights_digest(opts.config, self.cache_file).to_json() if opts.config else None
            ),
            "seed": seed,
            "steps": opts.steps,
            "guidance": opts.guidance,
            "strength": opts.strength if task != "text2image" else None,
            "scheduler": _run.scheduler_record(pipe.scheduler),
            "dtype": opts.dtype,
            "device": opts.device,
            "torch_threads": _run.threads(),
            "versions": versions,
        }
        assertion = {
            "pipeline": type(pipe).__name__,
            "model": model.name,
            "weights": weights.to_json(),
            "library": {"diffusers": versions["diffusers"], "torch": versions["torch"]},
        }
        dst = TRAINED_ALGORITHMIC_MEDIA if task == "text2image" else COMPOSITE_WITH_TRAINED
        return BackendResult(
            outputs=tuple(outputs),
            backend=self.name,
            model=model.name,
            digital_source_type=dst,
            software_agent=(
                f"diffusers {versions['diffusers']} {type(pipe).__name__} with {model.name} "
                f"(weights {weights.digest})"
            ),
            facts=facts,
            assertions=({"label": MODEL_ASSERTION, "kind": "Json", "data": assertion},),
        )


def _open(data: bytes, name: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as e:
        raise InputError(f"{name}: not a readable image ({e})") from e
    return image


def _default_cache() -> Path:
    from provenance.home.paths import home_from_env

    return home_from_env().root / "cache" / "weights-sha256.json"
