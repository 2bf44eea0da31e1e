"""Loading a user's model from disk, never from a hub, and its task variants sharing weights.

The pipeline class comes from the model's own ``model_index.json``; text-to-image, img2img and
inpaint variants are made with ``from_pipe`` so the components are loaded once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from provenance.errors import InputError

Task = Literal["text2image", "image2image", "inpaint"]
DTYPES = ("float32", "float16", "bfloat16")
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
WEIGHT_SUFFIXES = frozenset({".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".gguf"})


def read_model_index(folder: Path) -> dict[str, Any]:
    path = folder / "model_index.json"
    if not path.is_file():
        raise InputError(f"model {folder}: not a diffusers model folder (no model_index.json)")
    try:
        index = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"model {path}: cannot be read as JSON ({e})") from e
    if not isinstance(index, dict) or not isinstance(index.get("_class_name"), str):
        raise InputError(f"model {path}: no _class_name naming the pipeline")
    return index


def check_components(folder: Path, index: dict[str, Any]) -> None:
    """Name the missing component folder before diffusers fails with a longer story."""
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list) or spec[0] is None:
            continue
        part = folder / name
        if not part.is_dir():
            raise InputError(f"model {folder}: component {name!r} is missing (no folder {name}/)")
        # A model component (it has config.json) needs its weights; name what is missing.
        if (part / "config.json").is_file() and not any(
            p.suffix in WEIGHT_SUFFIXES for p in part.iterdir()
        ):
            raise InputError(
                f"model {folder}: component {name!r} has no weights file in {name}/ "
                "(e.g. diffusion_pytorch_model.safetensors or model.safetensors)"
            )


def task_class(pipeline_class: str, task: Task) -> Any:
    """The pipeline class for ``task`` in ``pipeline_class``'s family; a clear error if none."""
    from diffusers.pipelines import auto_pipeline as auto

    mapping = {
        "text2image": auto.AUTO_TEXT2IMAGE_PIPELINES_MAPPING,
        "image2image": auto.AUTO_IMAGE2IMAGE_PIPELINES_MAPPING,
        "inpaint": auto.AUTO_INPAINT_PIPELINES_MAPPING,
    }[task]
    try:
        cls = auto._get_task_class(mapping, pipeline_class, False)
    except (KeyError, ValueError):
        cls = None
    if cls is None:
        raise InputError(
            f"pipeline {pipeline_class}: not supported for {task} (supported: the text-to-image "
            "families diffusers' AutoPipeline knows, e.g. StableDiffusionPipeline, "
            "StableDiffusionXLPipeline, StableDiffusion3Pipeline, FluxPipeline)"
        )
    return cls


def torch_dtype(name: str) -> Any:
    import torch

    if name not in DTYPES:
        raise InputError(f"dtype {name!r}: choose one of {', '.join(DTYPES)}")
    return getattr(torch, name)


def check_device(device: str) -> str:
    import torch

    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError(f"device {device}: CUDA is not available on this machine")
    elif device not in ("cpu", "mps"):
        raise InputError(f"device {device!r}: choose cpu, cuda, cuda:N or mps")
    return device


def load_base(model: Path, dtype: str, config: Path | None) -> tuple[Any, str]:
    """Load the model's own pipeline (local files only) and return it with its class name."""
    import diffusers

    if model.is_file():
        return _load_single_file(model, dtype, config)
    index = read_model_index(model)
    class_name = index["_class_name"]
    cls = getattr(diffusers, class_name, None)
    if cls is None:
        raise InputError(
            f"model {model}: pipeline {class_name} is not in diffusers {diffusers.__version__}"
        )
    task_class(class_name, "text2image")  # refuse unsupported families before loading anything
    check_components(model, index)
    kwargs: dict[str, Any] = {"local_files_only": True, "dtype": torch_dtype(dtype)}
    if "safety_checker" in index and index.get("safety_checker", [None])[0] is None:
        kwargs["safety_checker"] = None
    return _call_loader(model, lambda: cls.from_pretrained(str(model), **kwargs)), class_name


def _load_single_file(path: Path, dtype: str, config: Path | None) -> tuple[Any, str]:
    import diffusers

    if path.suffix not in SINGLE_FILE_SUFFIXES:
        raise InputError(
            f"model {path}: expected a diffusers model folder or a .safetensors checkpoint"
        )
    if config is None:  # diffusers would otherwise look for the configs on the hub
        raise InputError(
            f"model {path}: a single checkpoint needs its model's configs on disk: option "
            "config=FOLDER (a diffusers folder of the same model; its weights are not used)"
        )
    class_name = read_model_index(config)["_class_name"]
    kwargs: dict[str, Any] = {
        "local_files_only": True,
        "dtype": torch_dtype(dtype),
        "config": str(config),
    }
    cls = getattr(diffusers, class_name, None)
    if cls is None or not hasattr(cls, "from_single_file"):
        raise InputError(f"model {path}: {class_name} cannot load a single checkpoint file")
    return _call_loader(path, lambda: cls.from_single_file(str(path), **kwargs)), class_name


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No loading bars or library advice on stderr: progress is ours, and errors are raised."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    saved = [(m, m.is_progress_bar_enabled(), m.get_verbosity()) for m in (dlog, tlog)]
    for m, _, _ in saved:
        m.disable_progress_bar()
        m.set_verbosity_error()
    try:
        yield
    finally:
        for m, bars, level in saved:
            m.set_verbosity(level)
            if bars:
                m.enable_progress_bar()


def _call_loader(model: Path, load: Any) -> Any:
    try:
        pipe = load()
    except InputError:
        raise
    except Exception as e:  # diffusers raises OSError, ValueError, safetensors errors, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"model {model}: cannot load ({type(e).__name__}: {first})") from e
    pipe.set_progress_bar_config(disable=True)  # our own progress goes to the recorder
    return pipe
