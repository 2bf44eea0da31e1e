"""``place``: composite a reference image onto the edited one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import Image

from provenance.backends.base import Action
from provenance.backends.local._op import Context, Op, Size, fail, integer, limit_to_mask, number

_DIMS = re.compile(r"(\d+)x(\d+)", re.IGNORECASE)
_POSITION_WORDS = {"top", "bottom", "left", "right", "center", "centre", "middle"}


@dataclass(frozen=True)
class Place(Op):
    name = "place"
    usage = "place [N] [POSITION | at X Y] [scale PERCENT% | size WxH] [opacity 0-1] (N = reference image, from 1)"
    index: int = 1
    position: str = "center"
    at: tuple[int, int] | None = None
    scale: float | None = None
    dims: tuple[int, int] | None = None
    opacity: float = 1.0
    raw: tuple[str, ...] = ()

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        index = 1
        position: list[str] = []
        at: tuple[int, int] | None = None
        scale: float | None = None
        dims: tuple[int, int] | None = None
        opacity = 1.0
        rest = iter(args)
        for word in rest:
            low = word.lower()
            if word.isdigit() and not position and at is None:
                index = int(word)
            elif low in _POSITION_WORDS:
                position.append("center" if low in ("centre", "middle") else low)
            elif low == "at":
                at = (
                    integer(cls.name, args, next(rest, ""), "X"),
                    integer(cls.name, args, next(rest, ""), "Y"),
                )
            elif low == "scale":
                raw = next(rest, "")
                scale = number(cls.name, args, raw.rstrip("%"), "scale")
                if not 0 < scale <= 1000:
                    raise fail(
                        cls.name, args, f"scale must be above 0% and at most 1000%, got {raw}"
                    )
            elif low == "size":
                m = _DIMS.fullmatch(next(rest, ""))
                if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
                    raise fail(cls.name, args, "size must be WIDTHxHEIGHT in pixels, e.g. 200x100")
                dims = (int(m.group(1)), int(m.group(2)))
            elif low == "opacity":
                raw = next(rest, "")
                opacity = number(cls.name, args, raw, "opacity")
                if not 0 < opacity <= 1:
                    raise fail(cls.name, args, f"opacity must be above 0 and at most 1, got {raw}")
            else:
                raise fail(cls.name, args, f"unexpected {word!r} (expected {cls.usage})")
        return cls(index, " ".join(position) or "center", at, scale, dims, opacity, tuple(args))

    def _geometry(self, size: Size, ctx: Context) -> tuple[int, int, int, int]:
        if not ctx.references:
            raise fail(
                self.name,
                list(self.raw),
                "no reference image was given (pass one with the parent image)",
            )
        if not 1 <= self.index <= len(ctx.references):
            raise fail(
                self.name,
                list(self.raw),
                f"reference {self.index} does not exist ({len(ctx.references)} given)",
            )
        rw, rh = ctx.references[self.index - 1][1].size
        if self.dims is not None:
            w, h = self.dims
        elif self.scale is not None:
            w, h = max(1, round(rw * self.scale / 100)), max(1, round(rh * self.scale / 100))
        else:
            # Natural size, shrunk to fit inside the image.
            shrink = min(1.0, size[0] / rw, size[1] / rh)
            w, h = max(1, round(rw * shrink)), max(1, round(rh * shrink))
        if self.at is not None:
            x, y = self.at
        else:
            words = self.position.split()
            margin = min(size) // 25
            x = (
                margin
                if "left" in words
                else size[0] - w - margin
                if "right" in words
                else (size[0] - w) // 2
            )
            y = (
                margin
                if "top" in words
                else size[1] - h - margin
                if "bottom" in words
                else (size[1] - h) // 2
            )
        if x >= size[0] or y >= size[1] or x + w <= 0 or y + h <= 0:
            raise fail(
                self.name,
                list(self.raw),
                f"the {w}x{h} reference at ({x}, {y}) falls outside the {size[0]}x{size[1]} image",
            )
        return x, y, w, h

    def plan(self, size: Size, ctx: Context) -> Size:
        self._geometry(size, ctx)
        return size

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        x, y, w, h = self._geometry(image.size, ctx)
        ref = (
            ctx.references[self.index - 1][1]
            .convert("RGBA")
            .resize((w, h), Image.Resampling.LANCZOS)
        )
        if self.opacity < 1:
            alpha = ref.getchannel("A").point(lambda v: round(v * self.opacity))
            ref.putalpha(alpha)
        out = image.convert("RGBA")
        out.alpha_composite(ref, dest=(max(0, x), max(0, y)), source=(max(0, -x), max(0, -y)))
        return limit_to_mask(out.convert(image.mode), image, mask)

    def action(self, size: Size, ctx: Context) -> Action:
        params: dict[str, object] = {"reference": self.index, "opacity": self.opacity}
        description = f"placed reference image {self.index}"
        x, y, w, h = self._geometry(size, ctx)
        params.update({"x": x, "y": y, "width": w, "height": h})
        name = ctx.references[self.index - 1][0].name
        if name:
            params["name"] = name
            description += f" ({name})"
        return Action("c2pa.placed", params, description=description)
