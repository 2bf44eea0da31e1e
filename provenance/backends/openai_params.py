"""Checking what goes to the OpenAI Images API before anything goes over the wire.

Models, sizes, options and their values, the input files and the mask as OpenAI wants them: a
bad value is refused here with the parameter's name, never sent and never silently dropped.
"""

from __future__ import annotations

import os
import re
from typing import Any

from provenance.backends.base import ImageInput
from provenance.errors import InputError, UnsupportedParameterError
from provenance.media.imaging import load_mask, mask_to_openai_png, open_image, sniff_mime

DEFAULT_MODEL = "gpt-image-1.5"
_RETIRED = {"dall-e-2": "2026-05-12", "dall-e-3": "2026-05-12"}
MIME_BY_FORMAT = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_SIZE = re.compile(r"^(auto|[1-9]\d{1,4}x[1-9]\d{1,4})$")
# Known options and the values they take (None = free text); each endpoint takes a subset.
_CHOICES: dict[str, tuple[str, ...] | None] = {
    "quality": ("auto", "low", "medium", "high", "xhigh", "max"),
    "background": ("auto", "opaque", "transparent"),
    "moderation": ("auto", "low"),
    "input_fidelity": ("high", "low"),
    "user": None,
    "safety_identifier": None,
}
GENERATE_OPTIONS = {
    "quality",
    "background",
    "moderation",
    "user",
    "safety_identifier",
    "output_compression",
    "stream",
    "partial_images",
}
EDIT_OPTIONS = (GENERATE_OPTIONS - {"moderation"}) | {"input_fidelity"}


def check_model(model: str) -> None:
    if not model or not model.strip():
        raise InputError("model: empty model name")
    if model in _RETIRED:
        raise InputError(
            f"model {model!r}: retired by OpenAI on {_RETIRED[model]}; use a GPT "
            f"Image model such as {DEFAULT_MODEL}"
        )


def check_seed(seed: int | None) -> None:
    if seed is not None:
        why = "the OpenAI Images API takes no seed (its output is not reproducible)"
        raise UnsupportedParameterError("seed", "openai", why)


def api_params(
    model: str,
    n: int,
    size: str | None,
    output_format: str,
    options: dict[str, Any],
    allowed: set[str],
) -> dict[str, Any]:
    """The parameters to send, checked before anything goes over the wire."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InputError(
            f"option {unknown[0]!r}: not taken by the OpenAI backend here "
            f"(known: {', '.join(sorted(allowed))})"
        )
    if not isinstance(n, int) or not 1 <= n <= 10:
        raise InputError(f"n {n!r}: the OpenAI Images API makes 1 to 10 images per call")
    if output_format not in MIME_BY_FORMAT:
        raise InputError(f"output format {output_format!r}: choose png, jpeg or webp")
    params: dict[str, Any] = {"model": model, "n": n, "output_format": output_format}
    if size is not None:
        if not _SIZE.match(size):
            raise InputError(f"size {size!r}: use WIDTHxHEIGHT (e.g. 1024x1024) or auto")
        params["size"] = size
    for name, value in options.items():
        if value is None:
            continue
        choices = _CHOICES.get(name, ())
        if name in _CHOICES and not isinstance(value, str):
            raise InputError(f"option {name} {value!r}: must be a string")
        if choices and value not in choices:
            raise InputError(f"option {name} {value!r}: choose one of {', '.join(choices)}")
        params[name] = value
    if params.get("background") == "transparent" and output_format == "jpeg":
        raise InputError("background 'transparent' needs output format png or webp, not jpeg")
    _check_int(params, "output_compression", 0, 100)
    if "output_compression" in params and output_format == "png":
        raise InputError("option output_compression: only for jpeg or webp output, not png")
    if "stream" in params and not isinstance(params["stream"], bool):
        raise InputError(f"option stream {params['stream']!r}: must be true or false")
    _check_int(params, "partial_images", 0, 3)
    if params.get("partial_images") and not params.get("stream"):
        raise InputError("option partial_images: needs stream=True")
    return params


def _check_int(params: dict[str, Any], name: str, low: int, high: int) -> None:
    value = params.get(name)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
    ):
        raise InputError(f"option {name} {value!r}: must be an integer from {low} to {high}")


def image_file(image: ImageInput, index: int) -> tuple[str, bytes, str]:
    name = os.path.basename(image.name) or f"image-{index + 1}"
    mime = sniff_mime(image.data) or image.mime
    if mime not in MIME_BY_FORMAT.values():
        raise InputError(
            f"input image {name}: {mime} is not accepted by OpenAI edits (use png, jpeg or webp)"
        )
    return name, image.data, mime


def mask_file_for(mask: ImageInput, parent: ImageInput) -> tuple[str, bytes, str]:
    """The mask as OpenAI wants it: RGBA PNG, alpha 0 = editable, the parent's size."""
    name = os.path.basename(mask.name) or "mask"
    size = open_image(parent.data, name=os.path.basename(parent.name) or "image-1").size
    return "mask.png", mask_to_openai_png(load_mask(mask.data, size, name=name)), "image/png"
