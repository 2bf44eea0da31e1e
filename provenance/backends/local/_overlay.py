"""Operations that add or remove content: text, caption, redact, inpaint, place."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from provenance.backends.base import Action
from provenance.backends.local import _text
from provenance.backends.local._adjust import on_rgb
from provenance.backends.local._op import Context, Op, Size, fail, integer, limit_to_mask, number
from provenance.backends.local._prompt import RGB, color, hex_color

_POSITION_WORDS = {"top", "bottom", "left", "right", "center", "centre", "middle"}


def _color(op: str, args: list[str], raw: str) -> RGB:
    c = color(raw.lower())
    if c is None:
        raise fail(op, args, f"unknown colour {raw!r} (use a CSS colour name or #rrggbb)")
    return c


def _anchor(position: str, size: Size, box: Size, margin: int) -> tuple[int, int]:
    words = position.split()
    w, h = size
    x = (
        margin
        if "left" in words
        else w - box[0] - margin
        if "right" in words
        else (w - box[0]) // 2
    )
    y = (
        margin
        if "top" in words
        else h - box[1] - margin
        if "bottom" in words
        else (h - box[1]) // 2
    )
    return x, y


@dataclass(frozen=True)
class Text(Op):
    name = "text"
    usage = 'text "TEXT" [top|bottom|left|right|center ...] [size PX] [color NAME]'
    text: str = ""
    position: str = "bottom"
    size: int | None = None
    fill: RGB = (255, 255, 255)

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        if not args or not args[0]:
            raise fail(cls.name, args, f"expected {cls.usage}")
        position: list[str] = []
        size: int | None = None
        fill: RGB = (255, 255, 255)
        rest = iter(args[1:])
        for word in rest:
            low = word.lower()
            if low in _POSITION_WORDS:
                position.append("center" if low in ("centre", "middle") else low)
            elif low == "size":
                size = integer(cls.name, args, next(rest, ""), "size")
                if not 6 <= size <= 1000:
                    raise fail(
                        cls.name, args, f"text size must be between 6 and 1000 pixels, got {size}"
                    )
            elif low in ("color", "colour"):
                fill = _color(cls.name, args, next(rest, ""))
            else:
                raise fail(
                    cls.name,
                    args,
                    f"unexpected {word!r} (expected {cls.usage}; quote text with spaces)",
                )
        return cls(text=args[0], position=" ".join(position) or "bottom", size=size, fill=fill)

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        w, h = image.size
        margin = max(4, min(w, h) // 25)
        max_size = self.size or max(12, h // 14)
        block = _text.fit(
            self.text, w - 2 * margin, h - 2 * margin, max_size=max_size, min_size=min(max_size, 8)
        )
        out = image.copy()
        dark = (0, 0, 0) if sum(self.fill) > 380 else (255, 255, 255)
        stroke = (max(1, max_size // 14), dark)
        x, y = _anchor(self.position, (w, h), (block.width, block.height), margin)
        _text.draw_block(ImageDraw.Draw(out), block, (x, y), self.fill, stroke=stroke)
        return limit_to_mask(out, image, mask)

    def action(self, size: Size, ctx: Context) -> Action:
        params = {"text": self.text, "position": self.position}
        return Action(
            "c2pa.addedText", params, description=f"text overlay {self.text!r} at {self.position}"
        )


@dataclass(frozen=True)
class Caption(Op):
    name = "caption"
    usage = 'caption "TEXT" (white text on a dark band along the bottom)'
    text: str = ""

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        if len(args) != 1 or not args[0]:
            raise fail(cls.name, args, f"expected {cls.usage}; quote text with spaces")
        return cls(text=args[0])

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        w, h = image.size
        pad = max(4, h // 60)
        block = _text.fit(self.text, w - 4 * pad, h // 3, max_size=max(12, h // 22), min_size=8)
        band_h = block.height + 2 * pad
        overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        draw.rectangle((0, h - band_h, w, h), fill=(0, 0, 0, 170))
        _text.draw_block(
            draw, block, ((w - block.width) // 2, h - band_h + pad), (255, 255, 255, 255)
        )
        out = Image.alpha_composite(image.convert("RGBA"), overlay).convert(image.mode)
        return limit_to_mask(out, image, mask)

    def action(self, size: Size, ctx: Context) -> Action:
        return Action(
            "c2pa.addedText", {"caption": self.text}, description=f"caption {self.text!r} added"
        )


def _hard(mask: Image.Image) -> Image.Image:
    # A partly editable pixel is redacted fully: soft edges must not leak what was hidden.
    return mask.point(lambda v: 255 if v > 0 else 0)


@dataclass(frozen=True)
class Redact(Op):
    name = "redact"
    usage = "redact [fill [COLOR] | pixelate [BLOCK] | blur [RADIUS]] (needs --mask)"
    needs_mask = True
    method: str = "fill"
    fill: RGB = (0, 0, 0)
    amount: float = 0.0  # block size or radius; 0 = chosen from the image size

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        if len(args) > 2:
            raise fail(cls.name, args, f"expected {cls.usage}")
        method = args[0].lower() if args else "fill"
        if method not in ("fill", "pixelate", "blur"):
            raise fail(cls.name, args, f"method must be fill, pixelate or blur, got {args[0]!r}")
        if method == "fill":
            fill = _color(cls.name, args, args[1]) if len(args) == 2 else (0, 0, 0)
            return cls(method=method, fill=fill)
        amount = number(cls.name, args, args[1], "amount") if len(args) == 2 else 0.0
        if len(args) == 2 and not 1 <= amount <= 500:
            raise fail(cls.name, args, f"{method} amount must be between 1 and 500, got {args[1]}")
        return cls(method=method, amount=amount)

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        assert mask is not None
        w, h = image.size
        if self.method == "fill":
            edited = Image.new(
                image.mode, image.size, self.fill if image.mode == "RGB" else (*self.fill, 255)
            )
        elif self.method == "pixelate":
            block = int(self.amount) or max(8, min(w, h) // 32)
            small = image.resize((max(1, w // block), max(1, h // block)), Image.Resampling.BOX)
            edited = small.resize(image.size, Image.Resampling.NEAREST)
        else:
            from PIL import ImageFilter

            radius = self.amount or max(8.0, min(w, h) / 40)
            edited = on_rgb(image, lambda im: im.filter(ImageFilter.GaussianBlur(radius)))
        return Image.composite(edited, image, _hard(mask))

    def action(self, size: Size, ctx: Context) -> Action:
        params: dict[str, object] = {"method": self.method}
        if self.method == "fill":
            params["color"] = hex_color(self.fill)
        elif self.amount:
            params["amount"] = self.amount
        return Action(
            "c2pa.edited", params, description=f"redacted the masked region ({self.method})"
        )


@dataclass(frozen=True)
class Inpaint(Op):
    name = "inpaint"
    usage = "inpaint [telea|ns] [radius PX] (needs --mask; OpenCV cv2.inpaint)"
    needs_mask = True
    algorithm: str = "telea"
    radius: int = 5

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        algorithm, radius = "telea", 5
        rest = iter(args)
        for word in rest:
            low = word.lower()
            if low in ("telea", "ns"):
                algorithm = low
            elif low == "radius":
                radius = integer(cls.name, args, next(rest, ""), "radius")
                if not 1 <= radius <= 50:
                    raise fail(cls.name, args, f"radius must be between 1 and 50, got {radius}")
            else:
                raise fail(cls.name, args, f"unexpected {word!r} (expected {cls.usage})")
        return cls(algorithm=algorithm, radius=radius)

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        assert mask is not None
        flag = cv2.INPAINT_TELEA if self.algorithm == "telea" else cv2.INPAINT_NS
        region = np.asarray(_hard(mask), dtype=np.uint8)

        def fill(im: Image.Image) -> Image.Image:
            pixels = np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
            return Image.fromarray(cv2.inpaint(pixels, region, self.radius, flag), "RGB")

        return on_rgb(image, fill)

    def action(self, size: Size, ctx: Context) -> Action:
        name = {"telea": "Telea", "ns": "Navier-Stokes"}[self.algorithm]
        params = {"algorithm": f"opencv.inpaint.{self.algorithm}", "radius": self.radius}
        return Action(
            "c2pa.edited",
            params,
            description=f"masked region filled by classical inpainting (OpenCV {name})",
        )
