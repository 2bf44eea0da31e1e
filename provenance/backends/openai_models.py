"""GPT Image models as of 2026-12-01: the default, the retired ones, and what each family takes.

Sources: OpenAI's deprecation notices and the model list and parameter docs of the openai SDK
3.57 (see docs/openai.md). Names we do not know are passed through with only the checks that hold
for every model: models come out faster than this table changes.

>>> family("gpt-image-2.5-flare-2026-09-08").custom_sizes, family("gpt-image-1.5").custom_sizes
(True, False)
>>> retirement_notice("gpt-image-1", today="2026-12-02")  # doctest: +ELLIPSIS
"model 'gpt-image-1': OpenAI shut it down on 2026-10-23; ... gpt-image-2.5-sunburst, ..."
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from provenance.errors import InputError
from provenance.vocab import ENV_OPENAI_MODEL

# One constant: the model used when neither --model/model= nor $PROVENANCE_OPENAI_MODEL names one.
DEFAULT_MODEL = "gpt-image-2"
REPLACEMENTS = ("gpt-image-2.5-sunburst", "gpt-image-2.5-flare", "gpt-image-2")
# model -> shutdown date. DALL-E is refused (its API shape is gone); the others only warn.
REFUSED = {"dall-e-2": "2026-05-12", "dall-e-3": "2026-05-12"}
RETIRED = {
    "gpt-image-1": "2026-10-23",
    "gpt-image-1.5": "2026-12-01",
    "gpt-image-1-mini": "2026-12-01",
    "chatgpt-image-latest": "2026-12-01",
}
_VERSION = re.compile(r"^gpt-image-(\d+)(?:\.(\d+))?(?:-|$)")


@dataclass(frozen=True)
class Family:
    """What a family of models takes; ``known`` is False for names we pass through unchecked."""

    name: str
    known: bool
    custom_sizes: bool  # any WxH within the gpt-image-2 rules, not only the three standard sizes
    top_quality: bool  # quality xhigh / max
    new_formats: bool  # gif and svg output, complexity, frame_count


LEGACY = Family("gpt-image-1", True, False, False, False)
GPT_IMAGE_2 = Family("gpt-image-2", True, True, False, True)
GPT_IMAGE_25 = Family("gpt-image-2.5+", True, True, True, True)
UNKNOWN = Family("unknown", False, True, True, True)
STANDARD_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")


def family(model: str) -> Family:
    if model == "chatgpt-image-latest":
        return LEGACY
    m = _VERSION.match(model)
    if not m:
        return UNKNOWN
    major, minor = int(m.group(1)), int(m.group(2) or 0)
    if major < 2:
        return LEGACY
    return GPT_IMAGE_25 if (major, minor) >= (2, 5) else GPT_IMAGE_2


def default_model() -> str:
    """``$PROVENANCE_OPENAI_MODEL`` when set, else :data:`DEFAULT_MODEL`."""
    return os.environ.get(ENV_OPENAI_MODEL, "").strip() or DEFAULT_MODEL


def check_model(model: str) -> None:
    if not model or not model.strip():
        raise InputError("model: empty model name")
    if model in REFUSED:
        raise InputError(
            f"model {model!r}: retired by OpenAI on {REFUSED[model]}; use a GPT "
            f"Image model such as {DEFAULT_MODEL}"
        )


def retirement_notice(model: str, *, today: str | None = None) -> str | None:
    """A warning for a model OpenAI has shut down (or announced a date for), else None."""
    date = RETIRED.get(model)
    if date is None:
        return None
    today = today or dt.datetime.now(dt.UTC).date().isoformat()
    when = "shut it down on" if date <= today else "shuts it down on"
    return (
        f"model {model!r}: OpenAI {when} {date}; replacements named by OpenAI: "
        f"{', '.join(REPLACEMENTS)} (sending the request anyway)"
    )


def check_size(model: str, size: str) -> None:
    """The size rules of the model's family; the message says which rule failed."""
    if size == "auto":
        return
    m = re.fullmatch(r"([1-9]\d{0,4})x([1-9]\d{0,4})", size)
    if not m:
        raise InputError(f"size {size!r}: use WIDTHxHEIGHT (e.g. 1024x1024) or auto")
    fam = family(model)
    if not fam.custom_sizes:
        if size not in STANDARD_SIZES:
            raise InputError(
                f"size {size!r}: {model} takes only {', '.join(STANDARD_SIZES)} "
                f"(any WxH needs gpt-image-2 or later)"
            )
        return
    if not fam.known:
        return
    w, h = int(m.group(1)), int(m.group(2))
    if w % 16 or h % 16:
        raise InputError(f"size {size!r}: both sides must be multiples of 16 for {model}")
    if max(w, h) > 3 * min(w, h):
        raise InputError(f"size {size!r}: the aspect ratio must be within 1:3 to 3:1 for {model}")
    if max(w, h) > 3840 or min(w, h) > 2160:
        raise InputError(f"size {size!r}: at most 3840x2160 (either orientation) for {model}")
