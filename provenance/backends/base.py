"""What a backend is: pixels in, pixels and facts out. No provenance logic lives in backends.

The recorder hashes inputs, calls :meth:`Backend.generate` or :meth:`Backend.edit`, and turns the
returned :class:`BackendResult` into signed files and ledger entries. A backend never writes files,
never signs and never touches the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:  # an annotation only: backends that never make pixels need no Pillow here
    from PIL import Image

Role = Literal["parent", "mask", "reference"]
OutputFormat = Literal["png", "jpeg", "webp", "gif", "svg"]  # gif, svg: remote models only

# Fact keys whose values echo the prompt (what was understood of it, words ignored, a revised
# prompt). The recorder keeps them beside the prompt text, outside the ledger's tree, so that
# erasing a prompt erases them too. Backends put any other prompt-derived text under these keys.
PRIVATE_FACTS = frozenset({"prompt", "revised_prompt", "understood", "ignored_words", "text"})

# IPTC digital source types, short names (c2pa expands them to the IPTC URI).
TRAINED_ALGORITHMIC_MEDIA = "trainedAlgorithmicMedia"
ALGORITHMIC_MEDIA = "algorithmicMedia"
COMPOSITE_WITH_TRAINED = "compositeWithTrainedAlgorithmicMedia"


@dataclass(frozen=True)
class ImageInput:
    """One input image as bytes, with the role it plays in the call."""

    data: bytes
    role: Role
    mime: str
    name: str = ""  # file name for messages and the ingredient title; never a full path in records


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    n: int = 1
    output_format: OutputFormat = "png"
    size: str | None = None  # "WxH" or "auto"; None lets the backend choose
    model: str | None = None
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # backend-specific, passed through
    on_progress: Callable[[str, float | None], None] | None = None  # (message, fraction or None)


@dataclass(frozen=True)
class EditRequest:
    """An edit: ``images[0]`` is the parent; the others are references; ``mask`` is optional.

    ``mask``, when given, has already been normalised by the recorder to an 8-bit "L" PNG of exactly
    the parent's size where 255 marks the editable area (see ``provenance.media.imaging.load_mask``).
    """

    instruction: str
    images: tuple[ImageInput, ...]
    mask: ImageInput | None = None
    n: int = 1
    output_format: OutputFormat = "png"
    size: str | None = None
    model: str | None = None
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    on_progress: Callable[[str, float | None], None] | None = None


@dataclass(frozen=True)
class Action:
    """One C2PA action (actions v2) the backend performed, e.g. ``c2pa.cropped``."""

    action: str
    parameters: dict[str, Any] = field(default_factory=dict)
    digital_source_type: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class BackendOutput:
    """One produced image, encoded (PNG/JPEG/WebP bytes), possibly already carrying C2PA data.

    A backend that renders pixels may leave ``data`` empty and give ``pixels`` (mime
    ``image/png``): its caller encodes them (:meth:`encoded`), the recorder beside its other work.
    """

    data: bytes
    mime: str
    actions: tuple[Action, ...] = ()  # for edits: what was done; generate: usually empty
    revised_prompt: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # per-output facts worth recording
    # The image that ``data`` is (or, when empty, will be) a PNG of, made here from these pixels,
    # so it carries no C2PA manifest: the recorder fingerprints them and makes the claim
    # thumbnail from them instead of decoding ``data``. None: ``data`` is all there is.
    pixels: Image.Image | None = field(default=None, compare=False, repr=False)

    def encoded(self) -> bytes:
        """``data``, or the PNG of ``pixels`` when the backend left the encoding to its caller."""
        if self.data or self.pixels is None:
            return self.data
        from provenance.media.imaging import encode_png_fast

        return encode_png_fast(self.pixels)


@dataclass(frozen=True)
class BackendResult:
    outputs: tuple[BackendOutput, ...]
    backend: str  # "local", "openai"
    model: str  # what actually ran, e.g. "local-procedural-1" or "gpt-image-1.5"
    digital_source_type: str  # for the c2pa.created / edit action
    software_agent: str  # human-readable name + version for the manifest's softwareAgent
    facts: dict[str, Any] = field(
        default_factory=dict
    )  # request-level: request id, usage, params sent, created
    # Extra manifest assertions ({"label", "kind", "data"}), e.g. the diffusers weights digest.
    assertions: tuple[dict[str, Any], ...] = ()


class Backend(Protocol):
    name: str

    def generate(self, request: GenerateRequest) -> BackendResult: ...

    def edit(self, request: EditRequest) -> BackendResult: ...
