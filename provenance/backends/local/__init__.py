"""The embedded default backend: offline, deterministic, no model weights.

``generate`` draws what it understands of a prompt (colours, shapes, quoted text, layouts, sizes);
``edit`` runs a small instruction language (``"grayscale; brightness 1.1"``). The full vocabulary is
in docs/local-backend.md. Renderings are labelled ``algorithmicMedia`` (made by an algorithm, not
a camera and not a trained model); each edit action ``humanEdits`` (docs/conformance.md).

Example::

    >>> from provenance.backends.base import EditRequest, GenerateRequest, ImageInput
    >>> from provenance.backends.local import LocalBackend
    >>> backend = LocalBackend()
    >>> made = backend.generate(GenerateRequest("A red circle on a white background", size="256x256", seed=7))
    >>> made.model, made.digital_source_type, made.outputs[0].mime
    ('local-procedural-1', 'algorithmicMedia', 'image/png')
    >>> parent = ImageInput(made.outputs[0].data, role="parent", mime="image/png", name="circle.png")
    >>> edited = backend.edit(EditRequest("crop 0 0 128 128; grayscale", images=(parent,)))
    >>> [a.action for a in edited.outputs[0].actions]
    ['c2pa.cropped', 'c2pa.adjustedColor']
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PIL import Image

from provenance.backends.base import (
    ALGORITHMIC_MEDIA,
    BackendOutput,
    BackendResult,
    EditRequest,
    GenerateRequest,
)
from provenance.backends.local import _instructions
from provenance.backends.local._geometry import Resize
from provenance.backends.local._op import Context
from provenance.backends.local._prompt import parse_prompt, parse_size
from provenance.backends.local._render import render
from provenance.errors import InputError
from provenance.media.imaging import MIME_BY_FORMAT, ImageFormat, encode, load_mask, open_image

__all__ = ["EDIT_MODEL", "GENERATE_MODEL", "SOFTWARE_AGENT", "LocalBackend"]

GENERATE_MODEL = "local-procedural-1"
EDIT_MODEL = "local-editor-1"
SOFTWARE_AGENT = "provenance local renderer 0.1"
MAX_N = 16


class LocalBackend:
    """Procedural generation and classical editing, entirely on this machine."""

    name = "local"

    def generate(self, request: GenerateRequest) -> BackendResult:
        """Render the prompt ``n`` times with seeds ``seed, seed+1, ...`` (default seed 0)."""
        fmt = _check_common(request.n, request.output_format)
        if not request.prompt.strip():
            raise InputError(
                "prompt is empty: describe what to draw, e.g. 'A red circle on a white background'"
            )
        quality = _quality(request.options)
        scene = parse_prompt(request.prompt)
        if request.size not in (None, "auto"):
            scene = dataclasses.replace(scene, size=parse_size(request.size))
        seed = 0 if request.seed is None else request.seed
        outputs = []
        for i in range(request.n):
            _progress(request.on_progress, f"rendering image {i + 1} of {request.n}", i / request.n)
            image = render(scene, seed + i)
            data = encode(image, fmt, quality=quality)
            outputs.append(BackendOutput(data, MIME_BY_FORMAT[fmt], facts={"seed": seed + i}))
        facts: dict[str, Any] = {
            "understood": list(scene.understood),
            "ignored_words": list(scene.ignored_words),
            "size": f"{scene.size[0]}x{scene.size[1]}",
            "seed": seed,
            "layout": scene.layout,
        }
        return _result(outputs, GENERATE_MODEL, facts)

    def edit(self, request: EditRequest) -> BackendResult:
        """Apply the instruction to ``images[0]``; ``images[1:]`` are references for ``place``."""
        fmt = _check_common(request.n, request.output_format)
        if not request.images:
            raise InputError("edit needs a parent image")
        quality = _quality(request.options)
        ops = _instructions.parse(request.instruction)
        if request.size not in (None, "auto"):
            w, h = parse_size(request.size)
            ops.append(Resize(dims=(w, h), raw=(request.size,)))
        parent_input = request.images[0]
        parent = _working_copy(
            open_image(parent_input.data, name=parent_input.name or "parent image")
        )
        refs = tuple(
            (ref, open_image(ref.data, name=ref.name or f"reference image {i}"))
            for i, ref in enumerate(request.images[1:], start=1)
        )
        mask = None
        if request.mask is not None:
            mask = load_mask(request.mask.data, parent.size, name=request.mask.name or "mask")
        ctx = Context(references=refs)
        steps = _instructions.plan(ops, parent.size, mask, ctx)
        _progress(request.on_progress, "editing", 0.0)
        image, actions = _instructions.run(parent, steps, ctx)
        data = encode(image, fmt, quality=quality)
        # The editor is deterministic: n > 1 yields n identical outputs, which the facts say.
        output = BackendOutput(data, MIME_BY_FORMAT[fmt], actions=tuple(actions))
        facts: dict[str, Any] = {
            "instruction": request.instruction,
            "operations": [s.op.name for s in steps],
            "size": f"{image.size[0]}x{image.size[1]}",
            "masked": mask is not None,
        }
        if request.n > 1:
            facts["identical_outputs"] = True
        return _result([output] * request.n, EDIT_MODEL, facts)


def _check_common(n: int, output_format: str) -> ImageFormat:
    if not 1 <= n <= MAX_N:
        raise InputError(f"n={n}: the local backend makes between 1 and {MAX_N} images per call")
    for fmt in MIME_BY_FORMAT:
        if fmt == output_format:
            return fmt
    raise InputError(f"output format {output_format!r}: unsupported (choose png, jpeg or webp)")


def _quality(options: dict[str, Any]) -> int | None:
    # "quality" is OpenAI's word (low..max); the local engine's JPEG/WebP quality has its own.
    if "quality" in options:
        raise InputError(
            f"option quality={options['quality']!r}: the local engine takes jpeg_quality "
            "(0-100; --jpeg-quality), not quality"
        )
    quality = options.get("jpeg_quality")
    if quality is None:
        return None
    if isinstance(quality, bool) or not isinstance(quality, int):
        raise InputError(f"option jpeg_quality={quality!r}: must be a whole number from 0 to 100")
    return quality


def _working_copy(image: Image.Image) -> Image.Image:
    """RGB or RGBA with 8 bits per channel; deeper images are scaled down, not clipped."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float64)
        # Floats are usually 0..1; integer modes here hold 16-bit samples.
        top = max(1.0, float(values.max())) if image.mode == "F" else 65535.0
        scaled = np.clip(np.round(values / top * 255), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _progress(callback: Any, message: str, fraction: float | None) -> None:
    if callback is not None:
        callback(message, fraction)


def _result(outputs: list[BackendOutput], model: str, facts: dict[str, Any]) -> BackendResult:
    return BackendResult(
        outputs=tuple(outputs),
        backend="local",
        model=model,
        digital_source_type=ALGORITHMIC_MEDIA,
        software_agent=SOFTWARE_AGENT,
        facts=facts,
    )
