"""Drawing a :class:`Scene` into pixels, deterministically for a given seed."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from PIL import Image, ImageDraw

from provenance.backends.local import _text
from provenance.backends.local._colors import shade
from provenance.backends.local._prompt import RGB, Scene, ShapeSpec

# Colours for shapes the prompt gave no colour; picked by seed.
_PALETTE: tuple[RGB, ...] = (
    (230, 57, 70), (29, 53, 87), (69, 123, 157), (42, 157, 143),
    (233, 196, 106), (244, 162, 97), (131, 56, 236), (58, 134, 255),
)  # fmt: skip
_DEFAULT_BACKGROUND: dict[str, RGB] = {"dark": (22, 24, 33), "pastel": (252, 247, 240)}
_SUPERSAMPLE_MAX_PIXELS = 4_000_000  # above this, draw at 1x to bound memory
Box = tuple[int, int, int, int]
_Drawer = Callable[[ImageDraw.ImageDraw, float, float, float, tuple[int, ...]], None]


def render(scene: Scene, seed: int) -> Image.Image:
    """The scene as an RGB image of ``scene.size``; same scene and seed give the same pixels."""
    rng = random.Random(seed)
    width, height = scene.size
    background = scene.background or _DEFAULT_BACKGROUND.get(scene.palette or "", (255, 255, 255))
    ss = 2 if width * height <= _SUPERSAMPLE_MAX_PIXELS else 1
    canvas = _background(scene, background, (width * ss, height * ss))
    shape_box, text_box = _regions(scene, width, height)
    if scene.shapes:
        draw = ImageDraw.Draw(canvas)
        scaled = (shape_box[0] * ss, shape_box[1] * ss, shape_box[2] * ss, shape_box[3] * ss)
        # A shape with a position ("top right") is placed in the whole picture, not its region.
        _draw_shapes(draw, scene, background, (scaled, (0, 0, width * ss, height * ss)), rng)
    image = (
        canvas.reduce(ss) if ss > 1 else canvas
    )  # box-average: antialiasing, ~10x cheaper than Lanczos
    if scene.title is not None or scene.subtitles:
        _draw_text(image, scene, background, text_box)
    return image


def _background(scene: Scene, start: RGB, size: tuple[int, int]) -> Image.Image:
    if not scene.gradient:
        return Image.new("RGB", size, start)
    end = scene.background_end or tuple(c * 45 // 100 for c in start)
    # A vertical linear gradient: one column of interpolated colours, stretched across.
    column = Image.new("RGB", (1, size[1]))
    steps = max(1, size[1] - 1)
    column.putdata(
        [
            tuple(round(a + (b - a) * y / steps) for a, b in zip(start, end, strict=True))
            for y in range(size[1])
        ]
    )
    return column.resize(size, Image.Resampling.NEAREST)


def _regions(scene: Scene, width: int, height: int) -> tuple[Box, Box]:
    margin = round(min(width, height) * 0.06)
    full = (margin, margin, width - margin, height - margin)
    has_text = scene.title is not None or bool(scene.subtitles)
    if not has_text:
        return full, full
    if not scene.shapes:
        return full, full
    if scene.layout == "banner" or width >= 2 * height:
        split = margin + round((width - 2 * margin) * 0.35)
        return (margin, margin, split, height - margin), (
            split + margin,
            margin,
            width - margin,
            height - margin,
        )
    if scene.layout == "poster":
        split = margin + round((height - 2 * margin) * 0.32)
        return (margin, split + margin, width - margin, height - margin), (
            margin,
            margin,
            width - margin,
            split,
        )
    split = margin + round((height - 2 * margin) * 0.70)
    return (margin, margin, width - margin, split), (
        margin,
        split + margin // 2,
        width - margin,
        height - margin,
    )


def _draw_shapes(
    draw: ImageDraw.ImageDraw,
    scene: Scene,
    background: RGB,
    boxes: tuple[Box, Box],
    rng: random.Random,
) -> None:
    box, whole = boxes
    placed = [s for s in scene.shapes if s.position]
    flowing = [(s, i) for s in scene.shapes if not s.position for i in range(s.count)]
    x0, y0, x1, y1 = box
    for spec in placed:
        cx, cy, cell = _anchor(spec.position or "center", whole)
        for i in range(spec.count):
            offset = (i - (spec.count - 1) / 2) * cell * 0.5
            _draw_one(
                draw,
                spec,
                cx + offset,
                cy,
                cell * 0.4 / max(1, spec.count) ** 0.5,
                scene,
                background,
                rng,
            )
    if not flowing:
        return
    n = len(flowing)
    if scene.layout == "column":
        cols = 1
    elif scene.layout == "grid" or n > 5:
        cols = math.ceil(math.sqrt(n))
    else:
        cols = n
    rows = math.ceil(n / cols)
    cw, ch = (x1 - x0) / cols, (y1 - y0) / rows
    for k, (spec, _) in enumerate(flowing):
        r, c = divmod(k, cols)
        in_row = min(cols, n - r * cols)
        row_offset = (cols - in_row) * cw / 2
        cx = x0 + row_offset + cw * (c + 0.5)
        cy = y0 + ch * (r + 0.5)
        _draw_one(draw, spec, cx, cy, min(cw, ch) * 0.4, scene, background, rng)


def _anchor(position: str, box: Box) -> tuple[float, float, float]:
    x0, y0, x1, y1 = box
    words = position.split()
    fx = 0.5 + (-1 / 3 if "left" in words else 1 / 3 if "right" in words else 0)
    fy = 0.5 + (-1 / 3 if "top" in words else 1 / 3 if "bottom" in words else 0)
    cell = min(x1 - x0, y1 - y0) / 3
    return x0 + (x1 - x0) * fx, y0 + (y1 - y0) * fy, cell


def _draw_one(
    draw: ImageDraw.ImageDraw,
    spec: ShapeSpec,
    cx: float,
    cy: float,
    radius: float,
    scene: Scene,
    background: RGB,
    rng: random.Random,
) -> None:
    # The seed moves shapes and shifts colours only slightly, so the prompt stays true.
    jitter = radius * 0.08
    cx += rng.uniform(-jitter, jitter)
    cy += rng.uniform(-jitter, jitter)
    r = radius * min(spec.scale, 1.2)
    default = shade(rng.choice(_PALETTE), scene.palette)
    base = spec.color or scene.accent or _contrasting(default, background)
    fill = tuple(max(0, min(255, c + rng.randint(-6, 6))) for c in base)
    _SHAPE_DRAWERS[spec.kind](draw, cx, cy, r, fill)


def _contrasting(c: RGB, background: RGB) -> RGB:
    if sum(abs(a - b) for a, b in zip(c, background, strict=True)) < 120:
        return (20, 20, 20) if _luma(background) > 128 else (240, 240, 240)
    return c


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _circle(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    d.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _ellipse(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    d.ellipse((x - r, y - r * 0.62, x + r, y + r * 0.62), fill=fill)


def _square(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    d.rectangle((x - r * 0.85, y - r * 0.85, x + r * 0.85, y + r * 0.85), fill=fill)


def _rectangle(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    d.rectangle((x - r, y - r * 0.6, x + r, y + r * 0.6), fill=fill)


def _polygon(sides: int, rotation: float) -> _Drawer:
    def draw(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
        d.regular_polygon((x, y, r), sides, rotation=rotation, fill=fill)

    return draw


def _star(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.42
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((x + radius * math.cos(angle), y + radius * math.sin(angle)))
    d.polygon(points, fill=fill)


def _ring(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    d.ellipse((x - r, y - r, x + r, y + r), outline=fill, width=max(2, round(r * 0.22)))


def _line(d: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    d.line((x - r, y, x + r, y), fill=fill, width=max(2, round(r * 0.16)))


_SHAPE_DRAWERS = {
    "circle": _circle,
    "ellipse": _ellipse,
    "square": _square,
    "rectangle": _rectangle,
    "triangle": _polygon(3, 0),
    "diamond": _polygon(4, 45),
    "hexagon": _polygon(6, 0),
    "star": _star,
    "ring": _ring,
    "line": _line,
}


def _draw_text(image: Image.Image, scene: Scene, background: RGB, box: Box) -> None:
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    color = scene.text_color or ((20, 20, 20) if _luma(background) > 140 else (250, 250, 250))
    draw = ImageDraw.Draw(image)
    blocks: list[_text.TextBlock] = []
    sub_share = 0.35 if scene.subtitles and scene.title is not None else 1.0
    if scene.title is not None:
        title_h = round(height * (1 - sub_share) if scene.subtitles else height)
        blocks.append(
            _text.fit(scene.title, width, title_h, max_size=max(12, min(height // 2, width // 5)))
        )
    if scene.subtitles:
        sub_h = round(height * sub_share)
        cap = max(
            10,
            (blocks[0].font.size // 2)
            if blocks and hasattr(blocks[0].font, "size")
            else height // 6,
        )
        blocks.append(_text.fit("\n".join(scene.subtitles), width, sub_h, max_size=int(cap)))
    gap = round(min(width, height) * 0.04)
    total = sum(b.height for b in blocks) + gap * (len(blocks) - 1)
    y = y0 + max(0, (height - total) // 2)
    for i, block in enumerate(blocks):
        origin = (x0 + (width - block.width) // 2, y)
        # Bold and italic apply to the title; subtitles stay regular.
        styled = i == 0 and scene.title is not None
        bold = styled and scene.bold
        if styled and scene.italic:
            _text.draw_italic(image, block, origin, color, bold=bold)
        else:
            _text.draw_block(
                draw, block, origin, color, stroke=_text.bold_stroke(block, color) if bold else None
            )
        y += block.height + gap
