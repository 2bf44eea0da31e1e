"""One pipeline call: a fresh scheduler, a seeded generator, progress per step, PIL out."""

from __future__ import annotations

import copy
import platform
from collections.abc import Callable
from typing import Any

from PIL import Image

from provenance.backends.diffusers._load import Task
from provenance.backends.diffusers._options import CallOptions
from provenance.errors import BackendError, InputError

Progress = Callable[[str, float | None], None] | None


def scheduler_template(own: Any, name: str | None) -> Any:
    """The scheduler a call starts from: the model's own as loaded, or ``name`` made from its
    config. Never given to a pipeline itself (schedulers keep state between calls): each call
    gets a :func:`fresh_scheduler` copy."""
    if name is None:
        return own
    import diffusers

    cls = getattr(diffusers, name, None)
    if cls is None or not hasattr(cls, "from_config") or not name_is_scheduler(cls):
        raise InputError(f"option scheduler={name}: not a scheduler class in diffusers")
    return cls.from_config(own.config)


def fresh_scheduler(template: Any) -> Any:
    """An unused copy of a template (a tenth of the time ``from_config`` takes)."""
    return copy.deepcopy(template)


def name_is_scheduler(cls: Any) -> bool:
    from diffusers import SchedulerMixin

    return isinstance(cls, type) and issubclass(cls, SchedulerMixin)


def call_pipeline(
    pipe: Any,
    task: Task,
    prompt: str,
    seed: int,
    opts: CallOptions,
    size: tuple[int, int] | None,
    image: Image.Image | None,
    mask: Image.Image | None,
    progress: Callable[[int, int], None],
) -> Image.Image:
    import torch

    def on_step(p: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        progress(step + 1, int(getattr(p, "num_timesteps", 0) or opts.steps))
        return kwargs

    args: dict[str, Any] = {
        "prompt": prompt,
        "num_inference_steps": opts.steps,
        "guidance_scale": opts.guidance,
        "generator": torch.Generator(device=opts.device).manual_seed(seed),
        "output_type": "pil",
        "callback_on_step_end": on_step,
    }
    if size is not None and task != "image2image":
        args["width"], args["height"] = size
    if image is not None:
        args["image"] = image
        args["strength"] = opts.strength
    if mask is not None:
        args["mask_image"] = mask
    try:
        with torch.inference_mode():
            out = pipe(**args)
    except (ValueError, TypeError) as e:  # diffusers' own argument checks
        raise InputError(f"{type(pipe).__name__}: {str(e).strip().splitlines()[0]}") from e
    except RuntimeError as e:  # out of memory, dtype unsupported on this device, ...
        raise BackendError(f"{type(pipe).__name__} on {opts.device}: {e}") from e
    result = out.images[0]
    if not isinstance(result, Image.Image):
        raise BackendError(f"{type(pipe).__name__}: returned no image")
    return result if result.mode == "RGB" else result.convert("RGB")


def versions() -> dict[str, str]:
    """Every library version that can change a pixel."""
    import diffusers
    import numpy
    import torch

    found = {
        "diffusers": diffusers.__version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    for name in ("transformers", "safetensors", "tokenizers"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        found[name] = str(getattr(module, "__version__", "?"))
    return found


def threads() -> int:
    import torch

    return int(torch.get_num_threads())


def scheduler_record(scheduler: Any) -> dict[str, Any]:
    config = {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")}
    return {"class": type(scheduler).__name__, "config": config}


def progress_reporter(callback: Progress, n: int, index: int) -> Callable[[int, int], None]:
    def report(step: int, total: int) -> None:
        if callback is not None:
            total = max(total, step, 1)
            callback(f"image {index + 1} of {n}: step {step}/{total}", (index + step / total) / n)

    return report
