"""Reading a prompt with the local renderer's small vocabulary into a :class:`Scene`.

Words outside the vocabulary are collected in ``ignored_words``; they never fail the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from provenance.backends.local._colors import RGB, color, hex_color, shade
from provenance.errors import InputError

__all__ = ["RGB", "Scene", "ShapeSpec", "color", "hex_color", "parse_prompt", "parse_size"]

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
TEXT_STYLES = {"bold": "bold", "heavy": "bold", "italic": "italic", "italics": "italic",
               "slanted": "italic", "oblique": "italic"}  # fmt: skip
PALETTES = {"pastel": "pastel", "pastels": "pastel", "soft": "pastel", "vivid": "vivid",
            "vibrant": "vivid", "saturated": "vivid", "neon": "vivid", "muted": "dark",
            "moody": "dark"}  # fmt: skip
# A modifier before one of these words sets the palette: "dark colours", "light tones".
PALETTE_NOUNS = {"palette", "colours", "colors", "tones", "theme", "scheme", "hues", "shades"}
_MODIFIER_PALETTE = {"dark": "dark", "deep": "dark", "light": "pastel", "pale": "pastel",
                     "bright": "vivid"}  # fmt: skip
TEXT_WORDS = {"text", "title", "letters", "lettering", "font", "headline", "caption"}
SUBTITLE_WORDS = {"subtitle", "caption", "tagline", "subheading", "byline"}
STOPWORDS = {
    "a", "an", "the", "on", "of", "with", "and", "in", "at", "to", "over", "onto", "into",
    "is", "are", "its", "it", "some", "colored", "coloured", "color", "colour", "shape",
    "shapes", "corner", "side", "saying", "says", "reads", "reading", "that", "which", "by",
    "plain", "solid", "filled", "image", "picture", "for", "x", "colors", "colours", "style",
    "font", "type", "typeface", "written", "lettered",
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
    bold: bool = False
    italic: bool = False
    palette: str | None = None  # "pastel", "dark", "vivid": every colour shaded so
    understood: list[str] = field(default_factory=list)
    ignored_words: list[str] = field(default_factory=list)


def parse_size(text: str) -> tuple[int, int]:
    """``"1200x630"``, an aspect ``"16:9"`` or a name (``"banner"``) -> (width, height).

    >>> parse_size("1200x630"), parse_size("16:9"), parse_size("banner")
    ((1200, 630), (1024, 576), (1500, 500))
    """
    value = text.strip().lower()
    if value in NAMED_SIZES:
        return NAMED_SIZES[value]
    aspect = _ASPECT_RE.fullmatch(value)
    if aspect:
        return _aspect_size(int(aspect.group(1)), int(aspect.group(2)))
    m = _SIZE_RE.fullmatch(value)
    if not m:
        raise InputError(
            f"size {text!r}: expected WIDTHxHEIGHT (1024x1024), an aspect W:H (16:9) or one of "
            f"{', '.join(NAMED_SIZES)}"
        )
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
        # Nothing drawable was understood: the prompt's own words become the card's text,
        # without the size, layout and style words that were read as instructions.
        words = _as_text(prompt)
        if words:
            scene.title = words
            scene.understood.append(f"text: the prompt's words {words!r} (nothing else to draw)")
    shade_scene(scene)
    return scene


_INSTRUCTION_WORDS = LAYOUTS | set(NAMED_SIZES) | set(TEXT_STYLES) | set(PALETTES) | {"gradient"}


def _as_text(prompt: str) -> str:
    """The prompt without size, aspect, layout and style words, and no stopwords at its ends."""
    text = _ASPECT_RE.sub(" ", _SIZE_RE.sub(" ", prompt))
    words = [w for w in text.split() if w.strip(",.;:!?").lower() not in _INSTRUCTION_WORDS]
    while words and words[0].strip(",.;:!?").lower() in STOPWORDS:
        words.pop(0)
    while words and words[-1].strip(",.;:!?").lower() in STOPWORDS:
        words.pop()
    return " ".join(words).strip(" ,.;:")


def shade_scene(scene: Scene) -> None:
    """Apply the scene's palette to every colour the prompt named (the renderer does the rest)."""
    if scene.palette is None:
        return
    p = scene.palette
    for name in ("background", "background_end", "accent"):
        value = getattr(scene, name)
        if value is not None:
            setattr(scene, name, shade(value, p))
    for spec in scene.shapes:
        if spec.color is not None:
            spec.color = shade(spec.color, p)


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
            self._dangling_modifier()
            self.modifier, self.count, self.scale = None, 1, 1.0
            self._flush_position()
        elif word in MODIFIERS:
            self._dangling_modifier()
            self.modifier = word
        elif word in PALETTE_NOUNS and self.modifier in _MODIFIER_PALETTE:
            self._palette(_MODIFIER_PALETTE[self.modifier], f"{self.modifier} {word}")
            self.modifier = None
        elif word in PALETTES:
            self._palette(PALETTES[word], word)
        elif word in TEXT_STYLES:
            self._text_style(TEXT_STYLES[word], word)
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
        self._dangling_modifier()
        self._flush_position()
        self._free_pending()
        _assign_free_colors(self.free_colors, self.scene)

    def _dangling_modifier(self) -> None:
        """``dark`` with no colour after it ("... in dark, ...") means a dark palette."""
        if self.modifier in _MODIFIER_PALETTE:
            self._palette(_MODIFIER_PALETTE[self.modifier], self.modifier)
        self.modifier = None

    def _palette(self, palette: str, said: str) -> None:
        if self.scene.palette is None:
            self.scene.palette = palette
            self.scene.understood.append(f"palette: {palette} ({said!r})")

    def _text_style(self, style: str, said: str) -> None:
        if not getattr(self.scene, style):
            setattr(self.scene, style, True)
            self.scene.understood.append(f"text: {style} ({said!r})")

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
        elif word in ("gradient", "gradients", "graded", "fade", "ombre"):
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
