"""Geometric operations: crop, resize, rotate, flip. The mask follows them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import Image

from provenance.backends.base import Action
from provenance.backends.local._op import Context, Op, Size, arity, fail, integer, number
from provenance.backends.local._prompt import MAX_SIDE
from provenance.media.imaging import max_pixels

_ASPECT = re.compile(r"(\d+):(\d+)")
_DIMS = re.compile(r"(\d+)x(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Crop(Op):
    name = "crop"
    usage = "crop X Y WIDTH HEIGHT | crop W:H (centred)"
    geometric = True
    box: tuple[int, int, int, int] | None = None  # x, y, width, height
    aspect: tuple[int, int] | None = None
    raw: tuple[str, ...] = ()

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        if len(args) == 1 and (m := _ASPECT.fullmatch(args[0])):
            a, b = int(m.group(1)), int(m.group(2))
            if a <= 0 or b <= 0:
                raise fail(cls.name, args, "aspect ratio sides must be positive")
            return cls(aspect=(a, b), raw=tuple(args))
        arity(cls.name, args, 4, 4, cls.usage)
        x, y, w, h = (
            integer(cls.name, args, v, k)
            for v, k in zip(args, ("X", "Y", "WIDTH", "HEIGHT"), strict=True)
        )
        return cls(box=(x, y, w, h), raw=tuple(args))

    def _box(self, size: Size) -> tuple[int, int, int, int]:
        if self.aspect is not None:
            a, b = self.aspect
            w = min(size[0], size[1] * a // b)
            h = min(size[1], w * b // a)
            return (size[0] - w) // 2, (size[1] - h) // 2, w, h
        assert self.box is not None
        return self.box

    def plan(self, size: Size, ctx: Context) -> Size:
        x, y, w, h = self._box(size)
        if w <= 0 or h <= 0:
            raise fail(self.name, list(self.raw), "WIDTH and HEIGHT must be positive")
        if x < 0 or y < 0 or x + w > size[0] or y + h > size[1]:
            raise fail(
                self.name,
                list(self.raw),
                f"box x={x}..{x + w}, y={y}..{y + h} extends outside the {size[0]}x{size[1]} image",
            )
        return w, h

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        return self.transform_mask(image)

    def transform_mask(self, mask: Image.Image) -> Image.Image:
        x, y, w, h = self._box(mask.size)
        return mask.crop((x, y, x + w, y + h))

    def action(self, size: Size, ctx: Context) -> Action:
        x, y, w, h = self._box(size)
        params = {"x": x, "y": y, "width": w, "height": h}
        return Action("c2pa.cropped", params, description=f"cropped to {w}x{h} at ({x}, {y})")


@dataclass(frozen=True)
class Resize(Op):
    name = "resize"
    usage = "resize PERCENT% | resize WIDTHxHEIGHT | resize WIDTH (keeps the aspect ratio)"
    geometric = True
    percent: float | None = None
    dims: tuple[int, int] | None = None
    width: int | None = None
    raw: tuple[str, ...] = ()

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        arity(cls.name, args, 1, 1, cls.usage)
        arg = args[0]
        if arg.endswith("%"):
            pct = number(cls.name, args, arg[:-1], "PERCENT")
            if pct <= 0:
                raise fail(cls.name, args, f"percentage must be above 0, got {arg}")
            return cls(percent=pct, raw=tuple(args))
        if m := _DIMS.fullmatch(arg):
            return cls(dims=(int(m.group(1)), int(m.group(2))), raw=tuple(args))
        return cls(width=integer(cls.name, args, arg, "WIDTH"), raw=tuple(args))

    def _target(self, size: Size) -> Size:
        if self.percent is not None:
            return round(size[0] * self.percent / 100), round(size[1] * self.percent / 100)
        if self.dims is not None:
            return self.dims
        assert self.width is not None
        return self.width, round(size[1] * self.width / size[0])

    def plan(self, size: Size, ctx: Context) -> Size:
        w, h = self._target(size)
        if w < 1 or h < 1:
            raise fail(
                self.name, list(self.raw), f"the result would be {w}x{h}, smaller than one pixel"
            )
        if w > MAX_SIDE or h > MAX_SIDE or w * h > max_pixels():
            raise fail(self.name, list(self.raw), f"the result {w}x{h} is above the size limit")
        return w, h

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        return image.resize(self._target(image.size), Image.Resampling.LANCZOS)

    def transform_mask(self, mask: Image.Image) -> Image.Image:
        return mask.resize(self._target(mask.size), Image.Resampling.NEAREST)

    def action(self, size: Size, ctx: Context) -> Action:
        w, h = self._target(size)
        params: dict[str, object] = {
            "width": w,
            "height": h,
            "from_width": size[0],
            "from_height": size[1],
        }
        if self.percent is not None:
            params["percent"] = self.percent
        return Action(
            "c2pa.resized", params, description=f"resized from {size[0]}x{size[1]} to {w}x{h}"
        )


@dataclass(frozen=True)
class Rotate(Op):
    name = "rotate"
    usage = "rotate 90|180|270|-90 (degrees clockwise)"
    geometric = True
    degrees: int = 90

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        arity(cls.name, args, 1, 1, cls.usage)
        value = number(cls.name, args, args[0], "DEGREES")
        if value != int(value) or int(value) % 90 != 0:
            raise fail(cls.name, args, f"only multiples of 90 degrees are supported, got {args[0]}")
        return cls(degrees=int(value) % 360)

    def plan(self, size: Size, ctx: Context) -> Size:
        return (size[1], size[0]) if self.degrees in (90, 270) else size

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        return self.transform_mask(image)

    def transform_mask(self, mask: Image.Image) -> Image.Image:
        # Pillow's ROTATE_* are counter-clockwise; our degrees are clockwise like photo editors.
        transpose = {
            90: Image.Transpose.ROTATE_270,
            180: Image.Transpose.ROTATE_180,
            270: Image.Transpose.ROTATE_90,
        }.get(self.degrees)
        return mask.copy() if transpose is None else mask.transpose(transpose)

    def action(self, size: Size, ctx: Context) -> Action:
        return Action(
            "c2pa.orientation",
            {"rotate": self.degrees, "direction": "clockwise"},
            description=f"rotated {self.degrees} degrees clockwise",
        )


@dataclass(frozen=True)
class Flip(Op):
    name = "flip"
    usage = "flip horizontal|vertical"
    geometric = True
    axis: str = "horizontal"

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        arity(cls.name, args, 0, 1, cls.usage)
        word = args[0].lower() if args else "horizontal"
        axis = {"h": "horizontal", "horizontal": "horizontal", "horizontally": "horizontal",
                "v": "vertical", "vertical": "vertical", "vertically": "vertical"}.get(word)  # fmt: skip
        if axis is None:
            raise fail(cls.name, args, f"axis must be horizontal or vertical, got {args[0]!r}")
        return cls(axis=axis)

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        return self.transform_mask(image)

    def transform_mask(self, mask: Image.Image) -> Image.Image:
        if self.axis == "horizontal":
            return mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return mask.transpose(Image.Transpose.FLIP_TOP_BOTTOM)

    def action(self, size: Size, ctx: Context) -> Action:
        return Action("c2pa.orientation", {"flip": self.axis}, description=f"flipped {self.axis}ly")
