"""Colours of the local engine: CSS names and #hex, modifiers, and the palettes a prompt names."""

from __future__ import annotations

import colorsys

from PIL import ImageColor

RGB = tuple[int, int, int]


def color(name: str, modifier: str | None = None) -> RGB | None:
    """A CSS colour name or #hex, optionally darkened or lightened; None if not a colour."""
    if modifier:
        combined = modifier + name
        if combined in ImageColor.colormap:
            return _rgb(combined)
    base = _rgb(name)
    if base is None or modifier is None:
        return base
    if modifier in ("dark", "deep"):
        return (base[0] * 55 // 100, base[1] * 55 // 100, base[2] * 55 // 100)
    if modifier in ("light", "pale"):
        return (
            (base[0] + 255) // 2,
            (base[1] + 255) // 2,
            (base[2] + 255) // 2,
        )
    return base  # "bright": the named colour is already the bright one


def hex_color(c: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def _rgb(name: str) -> RGB | None:
    if not name.startswith("#") and name not in ImageColor.colormap:
        return None
    try:
        r, g, b = ImageColor.getrgb(name)[:3]
    except ValueError:
        return None
    return (r, g, b)


def shade(c: RGB, palette: str | None) -> RGB:
    """A colour moved into the palette: pastel (towards white), dark, or vivid (saturated)."""
    if palette == "pastel":
        return (
            (c[0] * 45 + 255 * 55) // 100,
            (c[1] * 45 + 255 * 55) // 100,
            (c[2] * 45 + 255 * 55) // 100,
        )
    if palette == "dark":
        return (c[0] * 45 // 100, c[1] * 45 // 100, c[2] * 45 // 100)
    if palette == "vivid":
        h, s, v = colorsys.rgb_to_hsv(c[0] / 255, c[1] / 255, c[2] / 255)
        r, g, b = colorsys.hsv_to_rgb(h, min(1.0, s * 1.5 + 0.2) if s > 0.05 else s, max(v, 0.85))
        return (round(r * 255), round(g * 255), round(b * 255))
    return c
