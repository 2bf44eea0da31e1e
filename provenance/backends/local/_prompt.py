"""Reading a prompt with the local renderer's small vocabulary into a :class:`Scene`.

Words outside the vocabulary are collected in ``ignored_words``; they never fail the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from PIL import ImageColor

from provenance.errors import InputError

RGB = tuple[int, int, int]

DEFAULT_SIZE = (1024, 1024)
MIN_SIDE, MAX_SIDE = 16, 8192

SHAPES: dict[str, str] = {
    "circle": "circle", "circles": "circle", "dot": "circle", "dots": "circle",
    "disc": "circle", "disk": "circle", "ball": "circle", "balls": "circle",
    "ellipse": "ellipse", "ellipses": "ellipse", "oval": "ellipse", "ovals": "ellipse",
    "square": "square", "squares": "square", "box": "square", "boxes": "square",
    "rectangle": "rectangle", "rectangles": "rectangle", "bar": "rectangle", "bars": "rectangle",
    "triangle": "triangle", "triangles": "triangle",
    "diamond": "diamond", "diamonds": "diamond",
    "star": "star", "stars": "star",
    "hexagon": "hexagon", "hexagons": "hexagon",
    "ring": "ring", "rings": "ring",
    "line": "line", "lines": "line", "stripe": "line", "stripes": "line",
}  # fmt: skip
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "dozen": 12}  # fmt: skip
SCALES = {"tiny": 0.4, "small": 0.65, "medium": 1.0, "large": 1.3, "big": 1.3, "huge": 1.6}
MODIFIERS = {"dark", "light", "pale", "bright", "deep"}
POSITIONS = {"top", "bottom", "left", "right", "center", "centre", "middle"}
LAYOUTS = {"poster", "card", "banner", "grid", "row", "column", "stack"}
NAMED_SIZES: dict[str, tuple[int, int]] = {
    "square": (1024, 1024),
    "portrait": (1024, 1536),
    "landscape": (1536, 1024),
    "banner": (1500, 500),
    "wide": (1024, 576),
    "widescreen": (1024, 576),
    "tall": (576, 1024),
    "story": (576, 1024),
}
BACKGROUND_WORDS = {"background", "backdrop", "backgrounds"}
TEXT_WORDS = {"text", "title", "letters", "lettering", "font", "headline", "caption"}
SUBTITLE_WORDS = {"subtitle", "caption", "tagline", "subheading", "byline"}
STOPWORDS = {
    "a", "an", "the", "on", "of", "with", "and", "in", "at", "to", "over", "onto", "into",
    "is", "are", "its", "it", "some", "colored", "coloured", "color", "colour", "shape",
    "shapes", "corner", "side", "saying", "says", "reads", "reading", "that", "which", "by",
    "plain", "solid", "filled", "image", "picture", "for", "x",
}  # fmt: skip

_QUOTE_RE = re.compile(r"""(?<!\w)(?:"([^"]*)"|'([^']*)'|“([^”]*)”|‘([^’]*)’)(?!\w)""", re.UNICODE)
_SIZE_RE = re.compile(r"(?<!\w)(\d{1,6})\s*[x×]\s*(\d{1,6})(?!\w)", re.IGNORECASE)
_ASPECT_RE = re.compile(r"(?<![\w:])(\d{1,2}):(\d{1,2})(?![\w:])")
_TOKEN_RE = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b|\x00\d+|[^\W_]+(?:'[^\W_]+)?|[,.;!?]")


@dataclass
class ShapeSpec:
    kind: str
    color: RGB | None = None
    count: int = 1
    scale: float = 1.0
    position: str | None = None  # e.g. "top left", "center"


@dataclass
class Scene:
    """What the renderer will draw, and how the prompt was read."""

    size: tuple[int, int] = DEFAULT_SIZE
    background: RGB | None = None
    background_end: RGB | None = None  # set for a gradient
    gradient: bool = False
    shapes: list[ShapeSpec] = field(default_factory=list)
    title: str | None = None
    subtitles: list[str] = field(default_factory=list)
    text_color: RGB | None = None
    accent: RGB | None = None
    layout: str = "card"
    understood: list[str] = field(default_factory=list)
    ignored_words: list[str] = field(default_factory=list)


def parse_size(text: str) -> tuple[int, int]:
    """``"1200x630"`` -> (1200, 630), checked against the renderer's limits."""
    m = _SIZE_RE.fullmatch(text.strip())
    if not m:
        raise InputError(f"size {text!r}: expected WIDTHxHEIGHT, e.g. 1024x1024")
    return _checked_size(int(m.group(1)), int(m.group(2)))


def _checked_size(width: int, height: int) -> tuple[int, int]:
    from provenance.media.imaging import max_pixels

    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise InputError(
            f"size {width}x{height}: each side must be between {MIN_SIDE} and {MAX_SIDE} pixels"
        )
    if width * height > max_pixels():
        raise InputError(f"size {width}x{height}: above the pixel limit of {max_pixels()}")
    return width, height


def _aspect_size(a: int, b: int) -> tuple[int, int]:
    if a == 0 or b == 0:
        raise InputError(f"aspect ratio {a}:{b}: both sides must be positive")
    long_edge = 1024
    if a >= b:
        return long_edge, max(MIN_SIDE, round(long_edge * b / a / 2) * 2)
    return max(MIN_SIDE, round(long_edge * a / b / 2) * 2), long_edge


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


def parse_prompt(prompt: str) -> Scene:
    """Read ``prompt`` into a :class:`Scene`. Never fails on words it does not know."""
    scene = Scene()
    quotes: list[str] = []

    def _stash(m: re.Match[str]) -> str:
        quotes.append(next(g for g in m.groups() if g is not None))
        return f" \x00{len(quotes) - 1} "

    rest = _QUOTE_RE.sub(_stash, prompt)
    rest = _read_sizes(rest, scene)
    _read_words(_TOKEN_RE.findall(rest), quotes, scene)
    if scene.title is None and not scene.shapes and scene.ignored_words:
        # Nothing drawable was understood: the prompt itself becomes the card's text.
        scene.title = prompt.strip()
        scene.understood.append("text: the prompt itself (nothing else to draw)")
    return scene


def _read_sizes(text: str, scene: Scene) -> str:
    m = _SIZE_RE.search(text)
    if m:
        scene.size = _checked_size(int(m.group(1)), int(m.group(2)))
        scene.understood.append(f"size: {scene.size[0]}x{scene.size[1]}")
        return text[: m.start()] + " " + text[m.end() :]
    m = _ASPECT_RE.search(text)
    if m:
        scene.size = _aspect_size(int(m.group(1)), int(m.group(2)))
        scene.understood.append(
            f"aspect {m.group(1)}:{m.group(2)}: {scene.size[0]}x{scene.size[1]}"
        )
        return text[: m.start()] + " " + text[m.end() :]
    return text


def _read_words(tokens: list[str], quotes: list[str], scene: Scene) -> None:
    reader = _WordReader(scene, quotes)
    for raw in tokens:
        reader.read(raw)
    reader.finish()


@dataclass
class _WordReader:
    """Reads words left to right; a colour waits for the shape or the word it describes."""

    scene: Scene
    quotes: list[str]
    size_named: bool = False
    free_colors: list[tuple[RGB, str]] = field(default_factory=list)
    pending_color: RGB | None = None
    pending_desc: str = ""
    modifier: str | None = None
    count: int = 1
    scale: float = 1.0
    position: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.size_named = any(u.startswith(("size", "aspect")) for u in self.scene.understood)

    def read(self, raw: str) -> None:
        word = raw.lower()
        if word.startswith("\x00"):
            self._quote(self.quotes[int(word[1:])])
        elif word in ",.;!?":
            # A phrase boundary: a colour left unattached ("dark blue,") is a free colour.
            self._free_pending()
            self.modifier, self.count, self.scale = None, 1, 1.0
            self._flush_position()
        elif word in MODIFIERS:
            self.modifier = word
        elif (c := color(word, self.modifier)) is not None:
            self._free_pending()
            self.pending_color = c
            self.pending_desc = f"{self.modifier + ' ' if self.modifier else ''}{word}"
            self.modifier = None
        elif word in NUMBERS or (word.isdigit() and 0 < int(word) <= 50):
            self.count = NUMBERS.get(word) or int(word)
        elif word in SCALES:
            self.scale = SCALES[word]
        elif word in SHAPES:
            self._shape(SHAPES[word])
        elif word in BACKGROUND_WORDS:
            self._background()
        elif word in TEXT_WORDS and self.pending_color is not None:
            self.scene.text_color = self.pending_color
            self.scene.understood.append(f"text colour: {self.pending_desc}")
            self.pending_color = None
        elif not self._layout(word) and not _filler(word):
            self.scene.ignored_words.append(raw)

    def finish(self) -> None:
        self._flush_position()
        self._free_pending()
        _assign_free_colors(self.free_colors, self.scene)

    def _quote(self, text: str) -> None:
        if self.scene.title is None:
            self.scene.title = text
            self.scene.understood.append(f"title: {text!r}")
        else:
            self.scene.subtitles.append(text)
            self.scene.understood.append(f"subtitle: {text!r}")

    def _free_pending(self) -> None:
        if self.pending_color is not None:
            self.free_colors.append((self.pending_color, self.pending_desc))
        self.pending_color = None

    def _flush_position(self) -> None:
        scene = self.scene
        if self.position:
            where = " ".join(dict.fromkeys(self.position))
            if scene.shapes and scene.shapes[-1].position is None:
                scene.shapes[-1].position = where
                scene.understood.append(f"position: {scene.shapes[-1].kind} at {where}")
            self.position.clear()

    def _shape(self, kind: str) -> None:
        self._flush_position()
        color_, desc = self.pending_color, self.pending_desc
        self.scene.shapes.append(ShapeSpec(kind, color_, self.count, self.scale))
        self.scene.understood.append(
            f"shape: {self.count} x {(desc + ' ') if color_ else ''}{kind}"
        )
        self.pending_color, self.count, self.scale = None, 1, 1.0

    def _background(self) -> None:
        if self.pending_color is None and self.free_colors:
            self.pending_color, self.pending_desc = self.free_colors.pop()
        if self.pending_color is not None:
            self.scene.background = self.pending_color
            self.scene.understood.append(f"background: {self.pending_desc}")
        self.pending_color = None

    def _layout(self, word: str) -> bool:
        """Position, gradient, named size and layout words; False when ``word`` is none of them."""
        scene = self.scene
        if word in POSITIONS:
            self.position.append("center" if word in ("centre", "middle") else word)
        elif word == "gradient":
            scene.gradient = True
            scene.understood.append("background: gradient")
        elif word in NAMED_SIZES and not self.size_named:
            scene.size = NAMED_SIZES[word]
            self.size_named = True
            scene.understood.append(f"size: {word} {scene.size[0]}x{scene.size[1]}")
            if word == "banner":
                scene.layout = "banner"
        elif word in LAYOUTS:
            scene.layout = "column" if word == "stack" else word
            scene.understood.append(f"layout: {word}")
            if word == "poster" and not self.size_named:
                scene.size = NAMED_SIZES["portrait"]
        else:
            return False
        return True


def _filler(word: str) -> bool:
    return word in STOPWORDS or word in TEXT_WORDS or word in SUBTITLE_WORDS or word == "from"


def _assign_free_colors(free: list[tuple[RGB, str]], scene: Scene) -> None:
    for c, desc in free:
        if scene.background is None:
            scene.background = c
            scene.understood.append(f"background: {desc}")
        elif scene.gradient and scene.background_end is None:
            scene.background_end = c
            scene.understood.append(f"gradient to: {desc}")
        elif scene.accent is None:
            scene.accent = c
            scene.understood.append(f"accent: {desc}")
