"""The edit instruction language: parse, check against the image, then apply.

``"grayscale; brightness 1.1"`` is two operations. Everything is checked (syntax, sizes, the
mask) in :func:`plan` before :func:`run` produces a single pixel.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from PIL import Image

from provenance.backends.base import Action
from provenance.backends.local._adjust import (
    Blur,
    Brightness,
    Contrast,
    Exposure,
    Grayscale,
    Saturation,
    Sharpen,
)
from provenance.backends.local._geometry import Crop, Flip, Resize, Rotate
from provenance.backends.local._op import Context, Op, Size, with_region, with_source_type
from provenance.backends.local._overlay import Caption, Inpaint, Redact, Text
from provenance.backends.local._place import Place
from provenance.errors import InputError, MaskRequiredError

OPERATIONS: dict[str, type[Op]] = {
    op.name: op
    for op in (
        Crop, Resize, Rotate, Flip, Brightness, Contrast, Saturation, Exposure, Grayscale,
        Blur, Sharpen, Text, Caption, Redact, Inpaint, Place,
    )
}  # fmt: skip
ALIASES = {"greyscale": "grayscale", "mirror": "flip", "scale": "resize", "overlay": "text"}


@dataclass(frozen=True)
class Step:
    """One planned operation: the input size it will see and the mask it is limited to."""

    op: Op
    size: Size
    mask: Image.Image | None


def parse(instruction: str) -> list[Op]:
    """Operations separated by ``;``; arguments split like a shell (quote text with spaces)."""
    lexer = shlex.shlex(instruction, posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as e:
        raise InputError(f"instruction {instruction!r}: {e} (unbalanced quotes)") from e
    groups: list[list[str]] = [[]]
    for token in tokens:
        if token and set(token) == {";"}:
            groups.append([])
        else:
            groups[-1].append(token)
    ops = [_parse_one(group) for group in groups if group]
    if not ops:
        raise InputError(f"instruction {instruction!r}: no operation given (known: {known()})")
    return ops


def known() -> str:
    return ", ".join(sorted(OPERATIONS))


def _parse_one(words: list[str]) -> Op:
    name = ALIASES.get(words[0].lower(), words[0].lower())
    op = OPERATIONS.get(name)
    if op is None:
        raise InputError(
            f"unknown operation {words[0]!r} in the instruction; known operations: {known()}"
        )
    return op.parse(words[1:])


def plan(ops: list[Op], size: Size, mask: Image.Image | None, ctx: Context) -> list[Step]:
    """Check every operation against the sizes it will meet; the mask follows geometry."""
    steps: list[Step] = []
    used_mask = False
    for op in ops:
        if op.needs_mask and mask is None:
            raise MaskRequiredError(op.name)
        limited = None if op.geometric else mask
        if limited is not None:
            used_mask = True
            if limited.getbbox() is None:
                raise InputError(
                    f"{op.name}: the mask's editable area was cropped away by an earlier operation"
                )
        steps.append(Step(op, size, limited))
        size = op.plan(size, ctx)
        if op.geometric and mask is not None:
            mask = op.transform_mask(mask)
    if mask is not None and not used_mask:
        names = ", ".join(op.name for op in ops)
        raise InputError(
            f"a mask was given but no operation can be limited to it ({names} change geometry)"
        )
    return steps


def run(image: Image.Image, steps: list[Step], ctx: Context) -> tuple[Image.Image, list[Action]]:
    actions: list[Action] = []
    for step in steps:
        action = with_region(step.op.action(step.size, ctx), step.mask)
        actions.append(with_source_type(action))
        image = step.op.apply(image, ctx, step.mask)
    return image, actions
