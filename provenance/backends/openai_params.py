"""Checking what goes to the OpenAI Images API before anything goes over the wire.

Models, sizes, options and their values, the input files and the mask as OpenAI wants them: a
bad value is refused here with the parameter's name, never sent and never silently dropped.
"""

from __future__ import annotations

import os
from typing import Any

from provenance.backends.base import ImageInput
from provenance.backends.openai_models import check_size, family
from provenance.errors import InputError, UnsupportedParameterError
from provenance.media.imaging import load_mask, mask_to_openai_png, open_image, sniff_mime

MIME_BY_FORMAT = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}
INPUT_MIMES = ("image/png", "image/jpeg", "image/webp")
MAX_INPUT_IMAGES = 16
# Known options and the values they take (None = free text); each endpoint takes a subset.
_CHOICES: dict[str, tuple[str, ...] | None] = {
    "quality": ("auto", "low", "medium", "high", "xhigh", "max"),
    "background": ("auto", "opaque", "transparent"),
    "moderation": ("auto", "low"),
    "input_fidelity": ("high", "low"),
    "complexity": ("low", "medium", "high"),
    "user": None,
    "safety_identifier": None,
}
GENERATE_OPTIONS = {
    "quality",
    "background",
    "moderation",
    "complexity",
    "user",
    "safety_identifier",
    "output_compression",
    "stream",
    "partial_images",
    "frame_count",
    "frame_duration_ms",
    "svg",
}
EDIT_OPTIONS = (GENERATE_OPTIONS - {"moderation"}) | {"input_fidelity"}


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
        raise InputError(
            f"output format {output_format!r}: choose one of {', '.join(MIME_BY_FORMAT)}"
        )
    params: dict[str, Any] = {"model": model, "n": n, "output_format": output_format}
    if size is not None:
        check_size(model, size)
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
    _check_general(params, output_format)
    _check_family(model, params, output_format)
    return params


def _check_general(params: dict[str, Any], output_format: str) -> None:
    if params.get("background") == "transparent" and output_format not in ("png", "webp"):
        raise InputError(
            f"background 'transparent' needs output format png or webp, not {output_format}"
        )
    _check_int(params, "output_compression", 0, 100)
    if "output_compression" in params and output_format not in ("jpeg", "webp"):
        raise InputError(
            f"option output_compression: only for jpeg or webp output, not {output_format}"
        )
    if "stream" in params and not isinstance(params["stream"], bool):
        raise InputError(f"option stream {params['stream']!r}: must be true or false")
    _check_int(params, "partial_images", 0, 3)
    if params.get("partial_images") and not params.get("stream"):
        raise InputError("option partial_images: needs stream=True")
    _check_int(params, "frame_count", 2, 16)
    _check_int(params, "frame_duration_ms", 1, 655_350)
    for name in ("frame_count", "frame_duration_ms"):
        if name in params and output_format != "gif":
            raise InputError(f"option {name}: only for gif output, not {output_format}")
    if "svg" in params:
        if output_format != "svg":
            raise InputError(f"option svg: only for svg output, not {output_format}")
        svg = params["svg"]
        if not isinstance(svg, dict) or not isinstance(svg.get("model"), str):
            raise InputError("option svg: must be an object with the author model, {'model': ...}")
    if output_format in ("gif", "svg"):
        for name in ("stream", "partial_images"):
            if params.get(name):
                raise InputError(f"option {name}: not available with {output_format} output")
    if output_format == "svg" and params["n"] != 1:
        raise InputError(f"n {params['n']}: svg output makes one image per call (n=1)")


def _check_family(model: str, params: dict[str, Any], output_format: str) -> None:
    """What only some models take: refused for a known family that lacks it, never guessed."""
    fam = family(model)
    if not fam.known:
        return
    if params.get("quality") in ("xhigh", "max") and not fam.top_quality:
        raise InputError(
            f"option quality {params['quality']!r}: {model} takes auto, low, medium or high "
            "(xhigh and max need gpt-image-2.5 or later)"
        )
    if fam.new_formats:
        return
    if output_format in ("gif", "svg"):
        raise InputError(
            f"output format {output_format!r}: {model} makes png, jpeg or webp "
            "(gif and svg need gpt-image-2 or later)"
        )
    if "complexity" in params:
        raise InputError(f"option complexity: {model} does not take it (gpt-image-2 or later)")


def _check_int(params: dict[str, Any], name: str, low: int, high: int) -> None:
    value = params.get(name)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
    ):
        raise InputError(f"option {name} {value!r}: must be an integer from {low} to {high}")


def image_file(image: ImageInput, index: int) -> tuple[str, bytes, str]:
    name = os.path.basename(image.name) or f"image-{index + 1}"
    mime = sniff_mime(image.data) or image.mime
    if mime not in INPUT_MIMES:
        raise InputError(
            f"input image {name}: {mime} is not accepted by OpenAI edits (use png, jpeg or webp)"
        )
    return name, image.data, mime


def mask_file_for(mask: ImageInput, parent: ImageInput) -> tuple[str, bytes, str]:
    """The mask as OpenAI wants it: RGBA PNG, alpha 0 = editable, the parent's size."""
    name = os.path.basename(mask.name) or "mask"
    size = open_image(parent.data, name=os.path.basename(parent.name) or "image-1").size
    return "mask.png", mask_to_openai_png(load_mask(mask.data, size, name=name)), "image/png"
