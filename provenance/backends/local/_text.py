"""Text layout: wrap exact text into a box with Pillow's scalable default font."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class TextBlock:
    lines: tuple[str, ...]
    font: Font
    line_height: int
    width: int
    height: int


def font(size: int) -> Font:
    """Pillow's embedded scalable font (FreeType builds), so output does not depend on the host."""
    return ImageFont.load_default(size=max(6, size))


def _wrap(text: str, fnt: Font, max_width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = word if not current else f"{current} {word}"
            if fnt.getlength(candidate) <= max_width or not current:
                current = candidate
            else:
                lines.append(current)
                current = word
            # A single word wider than the box is broken by characters, never respelled.
            while fnt.getlength(current) > max_width and len(current) > 1:
                cut = len(current) - 1
                while cut > 1 and fnt.getlength(current[:cut]) > max_width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
        lines.append(current)
    return lines


def fit(text: str, max_width: int, max_height: int, max_size: int, min_size: int = 10) -> TextBlock:
    """The largest font size (<= ``max_size``) at which ``text`` wraps into the box."""
    size = max(min_size, max_size)
    while True:
        fnt = font(size)
        lines = _wrap(text, fnt, max_width)
        line_height = int(size * 1.25)
        width = max((int(fnt.getlength(line)) for line in lines), default=0)
        height = line_height * len(lines)
        if (height <= max_height and width <= max_width) or size <= min_size:
            return TextBlock(tuple(lines), fnt, line_height, width, height)
        size = max(min_size, int(size * 0.9))


def draw_block(
    draw: ImageDraw.ImageDraw,
    block: TextBlock,
    origin: tuple[int, int],
    fill: tuple[int, ...],
    align: str = "center",
    stroke: tuple[int, tuple[int, ...]] | None = None,
) -> None:
    """Draw ``block`` with its top-left at ``origin``; lines aligned within the block width."""
    x0, y0 = origin
    for i, line in enumerate(block.lines):
        line_width = int(block.font.getlength(line))
        if align == "center":
            x = x0 + (block.width - line_width) // 2
        elif align == "right":
            x = x0 + block.width - line_width
        else:
            x = x0
        if stroke is None:
            draw.text((x, y0 + i * block.line_height), line, font=block.font, fill=fill)
        else:
            draw.text(
                (x, y0 + i * block.line_height),
                line,
                font=block.font,
                fill=fill,
                stroke_width=stroke[0],
                stroke_fill=stroke[1],
            )


def bold_stroke(block: TextBlock, fill: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """Bold from the one embedded font: an outline in the text's own colour."""
    return max(1, block.line_height // 20), fill


def draw_italic(
    image: Image.Image,
    block: TextBlock,
    origin: tuple[int, int],
    fill: tuple[int, ...],
    *,
    bold: bool = False,
) -> None:
    """Italic from the upright font: the block drawn on its own layer and sheared right."""
    slant = 0.2
    pad = max(2, block.line_height // 10)
    extra = int(block.height * slant) + 2 * pad
    layer = Image.new("RGBA", (block.width + extra, block.height + 2 * pad), (0, 0, 0, 0))
    stroke = bold_stroke(block, (*fill[:3], 255)) if bold else None
    draw_block(
        ImageDraw.Draw(layer), block, (pad + extra // 2, pad), (*fill[:3], 255), stroke=stroke
    )
    h = layer.height
    # x_src = x + slant * (y - h/2): the top leans right, the baseline left.
    sheared = layer.transform(
        layer.size, Image.Transform.AFFINE, (1, slant, -slant * h / 2, 0, 1, 0),
        resample=Image.Resampling.BICUBIC,
    )  # fmt: skip
    image.paste(sheared, (origin[0] - pad - extra // 2, origin[1] - pad), sheared)
