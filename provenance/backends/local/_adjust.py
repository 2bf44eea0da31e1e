"""Whole-image pixel operations: colour adjustments and filters (limitable to a mask)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from provenance.backends.base import Action
from provenance.backends.local._op import Context, Op, Size, arity, fail, limit_to_mask, number


def on_rgb(image: Image.Image, fn: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """Apply ``fn`` to the colour channels only, so alpha is never dimmed or blurred."""
    if image.mode != "RGBA":
        return fn(image)
    out = fn(image.convert("RGB"))
    out.putalpha(image.getchannel("A"))
    return out


@dataclass(frozen=True)
class _Enhance(Op):
    """brightness / contrast / saturation FACTOR (1 = unchanged)."""

    factor: float = 1.0
    _enhancers: ClassVar[dict[str, Callable[[Image.Image], ImageEnhance._Enhance]]] = {
        "brightness": ImageEnhance.Brightness,
        "contrast": ImageEnhance.Contrast,
        "saturation": ImageEnhance.Color,
    }

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        arity(cls.name, args, 1, 1, cls.usage)
        factor = number(cls.name, args, args[0], "FACTOR")
        if not 0 <= factor <= 10:
            raise fail(
                cls.name, args, f"factor must be between 0 and 10 (1 = unchanged), got {args[0]}"
            )
        return cls(factor=factor)

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        enhancer = self._enhancers[self.name]
        edited = on_rgb(image, lambda im: enhancer(im).enhance(self.factor))
        return limit_to_mask(edited, image, mask)

    def action(self, size: Size, ctx: Context) -> Action:
        return Action(
            "c2pa.adjustedColor",
            {self.name: self.factor},
            description=f"{self.name} x{self.factor:g}",
        )


class Brightness(_Enhance):
    name = "brightness"
    usage = "brightness FACTOR (e.g. 1.1 or 110%)"


class Contrast(_Enhance):
    name = "contrast"
    usage = "contrast FACTOR (e.g. 1.2)"


class Saturation(_Enhance):
    name = "saturation"
    usage = "saturation FACTOR (0 = gray, 1 = unchanged)"


@dataclass(frozen=True)
class Exposure(Op):
    name = "exposure"
    usage = "exposure EV (stops, -5 to 5)"
    ev: float = 0.0

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        arity(cls.name, args, 1, 1, cls.usage)
        ev = number(cls.name, args, args[0], "EV")
        if not -5 <= ev <= 5:
            raise fail(cls.name, args, f"EV must be between -5 and 5 stops, got {args[0]}")
        return cls(ev=ev)

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        def expose(im: Image.Image) -> Image.Image:
            # Exposure scales light, so work in linear light rather than on sRGB values.
            srgb = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
            linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
            linear = np.clip(linear * 2.0**self.ev, 0.0, 1.0)
            out = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
            return Image.fromarray(np.round(out * 255).astype(np.uint8), "RGB")

        return limit_to_mask(on_rgb(image, expose), image, mask)

    def action(self, size: Size, ctx: Context) -> Action:
        return Action(
            "c2pa.adjustedColor",
            {"exposure_ev": self.ev},
            description=f"exposure {self.ev:+g} EV",
        )


@dataclass(frozen=True)
class Grayscale(Op):
    name = "grayscale"
    usage = "grayscale"

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        arity(cls.name, args, 0, 0, cls.usage)
        return cls()

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        edited = on_rgb(image, lambda im: im.convert("L").convert("RGB"))
        return limit_to_mask(edited, image, mask)

    def action(self, size: Size, ctx: Context) -> Action:
        return Action(
            "c2pa.adjustedColor", {"grayscale": True}, description="converted to grayscale"
        )


@dataclass(frozen=True)
class Blur(Op):
    name = "blur"
    usage = "blur [RADIUS] (Gaussian, pixels, default 4)"
    radius: float = 4.0

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        arity(cls.name, args, 0, 1, cls.usage)
        radius = number(cls.name, args, args[0], "RADIUS") if args else 4.0
        if not 0 < radius <= 250:
            raise fail(cls.name, args, f"radius must be above 0 and at most 250, got {args[0]}")
        return cls(radius=radius)

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        edited = on_rgb(image, lambda im: im.filter(ImageFilter.GaussianBlur(self.radius)))
        return limit_to_mask(edited, image, mask)

    def action(self, size: Size, ctx: Context) -> Action:
        return Action(
            "c2pa.filtered",
            {"filter": "gaussian_blur", "radius": self.radius},
            description=f"Gaussian blur, radius {self.radius:g}",
        )


@dataclass(frozen=True)
class Sharpen(Op):
    name = "sharpen"
    usage = "sharpen [AMOUNT] (unsharp mask strength in percent, default 150)"
    amount: int = 150

    @classmethod
    def parse(cls, args: list[str]) -> Op:
        arity(cls.name, args, 0, 1, cls.usage)
        amount = number(cls.name, args, args[0].rstrip("%"), "AMOUNT") if args else 150.0
        if not 1 <= amount <= 500:
            raise fail(cls.name, args, f"amount must be between 1 and 500, got {args[0]}")
        return cls(amount=round(amount))

    def apply(self, image: Image.Image, ctx: Context, mask: Image.Image | None) -> Image.Image:
        unsharp = ImageFilter.UnsharpMask(radius=2, percent=self.amount, threshold=3)
        edited = on_rgb(image, lambda im: im.filter(unsharp))
        return limit_to_mask(edited, image, mask)

    def action(self, size: Size, ctx: Context) -> Action:
        return Action(
            "c2pa.filtered",
            {"filter": "unsharp_mask", "amount": self.amount},
            description=f"sharpened (unsharp mask {self.amount}%)",
        )
