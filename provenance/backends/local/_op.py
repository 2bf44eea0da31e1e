"""The shape of one edit operation and the argument readers every operation shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from PIL import Image

from provenance.backends.base import Action, ImageInput
from provenance.errors import InputError

Size = tuple[int, int]


@dataclass(frozen=True)
class Context:
    """What an operation may look at besides the image: the reference images, decoded."""

    references: tuple[tuple[ImageInput, Image.Image], ...] = ()


class Op:
    """One parsed operation. ``plan`` validates against a size before any pixel is produced."""

    name: ClassVar[str]
    usage: ClassVar[str]
    geometric: ClassVar[bool] = False  # changes geometry; the mask follows it, never limits it
    needs_mask: ClassVar[bool] = False  # regional by nature (redact, inpaint)

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        raise NotImplementedError

    def plan(self, size: Size, ctx: Context) -> Size:
        """The output size for an input of ``size``; InputError if the arguments do not fit."""
        return size

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        raise NotImplementedError

    def transform_mask(self, mask: Image.Image) -> Image.Image:
        """Geometric operations move the mask with the pixels."""
        return mask

    def action(self, size: Size, ctx: Context) -> Action:
        """The C2PA action for this operation applied to an image of ``size``."""
        raise NotImplementedError


def fail(op: str, args: list[str], problem: str) -> InputError:
    shown = " ".join([op, *args])
    return InputError(f"instruction {shown!r}: {problem}")


def number(op: str, args: list[str], raw: str, what: str) -> float:
    """A float; ``110%`` reads as 1.1."""
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError as e:
        raise fail(op, args, f"{what} must be a number, got {raw!r}") from e
    if value != value or value in (float("inf"), float("-inf")):
        raise fail(op, args, f"{what} must be a finite number, got {raw!r}")
    return value


def integer(op: str, args: list[str], raw: str, what: str) -> int:
    try:
        return int(raw)
    except ValueError as e:
        raise fail(op, args, f"{what} must be a whole number of pixels, got {raw!r}") from e


def arity(op: str, args: list[str], low: int, high: int, usage: str) -> None:
    if not low <= len(args) <= high:
        raise fail(op, args, f"expected {usage}")


# What every edit of this engine is, in IPTC's digital source type vocabulary: a person's
# instruction carried out by non-generative code (no trained model anywhere in the engine).
EDIT_SOURCE_TYPE = "humanEdits"
# C2PA exempts placing an ingredient: the placed image's own credentials say where it came from.
_NO_SOURCE_TYPE = frozenset({"c2pa.placed"})


def with_source_type(action: Action) -> Action:
    """The action with this engine's source type, which every perceptible edit must declare."""
    if action.digital_source_type or action.action in _NO_SOURCE_TYPE:
        return action
    return Action(action.action, action.parameters, EDIT_SOURCE_TYPE, action.description)


def with_region(action: Action, mask: Image.Image | None) -> Action:
    """The action, saying in its parameters when it was limited to the mask."""
    if mask is None:
        return action
    params: dict[str, Any] = dict(action.parameters)
    bbox = mask.getbbox()
    params["region"] = "mask"
    if bbox is not None:
        params["mask_bbox"] = {
            "x": bbox[0],
            "y": bbox[1],
            "width": bbox[2] - bbox[0],
            "height": bbox[3] - bbox[1],
        }
    description = (action.description or action.action) + " (limited to the masked area)"
    return Action(action.action, params, action.digital_source_type, description)


def limit_to_mask(
    edited: Image.Image, original: Image.Image, mask: Image.Image | None
) -> Image.Image:
    if mask is None:
        return edited
    if edited.mode != original.mode:
        edited = edited.convert(original.mode)
    return Image.composite(edited, original, mask)
