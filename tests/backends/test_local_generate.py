"""The local backend's generate: what the prompt vocabulary draws, checked on real pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from provenance.backends.base import ALGORITHMIC_MEDIA, BackendResult, GenerateRequest
from provenance.backends.local import LocalBackend
from provenance.errors import InputError
from provenance.media.imaging import sniff_mime


def _generate(prompt: str, **kwargs: object) -> BackendResult:
    return LocalBackend().generate(GenerateRequest(prompt, **kwargs))  # type: ignore[arg-type]


def _pixels(result: BackendResult, index: int = 0) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(result.outputs[index].data)).convert("RGB")).astype(int)


def test_red_circle_on_white() -> None:
    result = _generate("A red circle on a white background")
    px = _pixels(result)
    assert px.shape == (1024, 1024, 3)
    r, g, b = px[512, 512]
    assert r > 200 and g < 40 and b < 40
    assert tuple(px[5, 5]) == (255, 255, 255)
    assert tuple(px[1018, 1018]) == (255, 255, 255)
    assert "shape: 1 x red circle" in result.facts["understood"]
    assert result.facts["ignored_words"] == []


def test_labelled_as_algorithmic_media_from_the_local_renderer() -> None:
    result = _generate("a blue square", size="64x64")
    assert result.backend == "local"
    assert result.model == "local-procedural-1"
    assert result.digital_source_type == ALGORITHMIC_MEDIA
    assert "local renderer" in result.software_agent
    assert result.outputs[0].mime == "image/png"


def test_same_prompt_seed_and_size_give_identical_bytes() -> None:
    prompt = "three yellow stars and a green triangle on a navy background, title 'Same'"
    first = _generate(prompt, seed=42, size="320x200")
    second = _generate(prompt, seed=42, size="320x200")
    other_seed = _generate(prompt, seed=43, size="320x200")
    assert first.outputs[0].data == second.outputs[0].data
    assert first.outputs[0].data != other_seed.outputs[0].data


def test_n_outputs_use_consecutive_seeds() -> None:
    result = _generate("a purple hexagon", n=3, seed=10, size="128x128")
    assert [o.facts["seed"] for o in result.outputs] == [10, 11, 12]
    assert len({o.data for o in result.outputs}) == 3
    single = _generate("a purple hexagon", seed=11, size="128x128")
    assert single.outputs[0].data == result.outputs[1].data


def test_poster_with_size_background_and_title() -> None:
    result = _generate("poster 1200x630, dark blue, title 'Election night'")
    px = _pixels(result)
    assert px.shape == (630, 1200, 3)
    assert tuple(px[3, 3]) == (0, 0, 139)  # CSS darkblue
    assert "title: 'Election night'" in result.facts["understood"]
    # The title is drawn in a light colour over the dark background.
    assert (px.sum(axis=2) > 600).sum() > 1000


def test_quoted_text_is_rendered() -> None:
    plain = _pixels(_generate("a white background", size="400x200"))
    titled = _pixels(_generate("a white background, title 'Hello World'", size="400x200"))
    assert (plain == 255).all()
    dark = titled.sum(axis=2) < 200
    assert dark.sum() > 200
    assert titled.shape == plain.shape


def test_different_quoted_text_draws_different_pixels() -> None:
    a = _generate("title 'Election night'", size="400x200").outputs[0].data
    b = _generate("title 'Election nigth'", size="400x200").outputs[0].data
    assert a != b


@pytest.mark.parametrize(
    ("prompt", "size"),
    [
        ("a red circle 16:9", (1024, 576)),
        ("portrait, a green square", (1024, 1536)),
        ("landscape card", (1536, 1024)),
        ("banner with a star", (1500, 500)),
        ("square", (1024, 1024)),
        ("a plain poster", (1024, 1536)),
    ],
)
def test_sizes_and_aspect_ratios_from_the_prompt(prompt: str, size: tuple[int, int]) -> None:
    result = _generate(prompt)
    assert Image.open(io.BytesIO(result.outputs[0].data)).size == size


def test_request_size_overrides_the_prompt() -> None:
    result = _generate("poster 1200x630 in red", size="300x100")
    assert Image.open(io.BytesIO(result.outputs[0].data)).size == (300, 100)


def test_unknown_words_never_fail_and_become_the_card_text() -> None:
    result = _generate("a cat wearing a hat", size="300x300")
    assert result.facts["ignored_words"] == ["cat", "wearing", "hat"]
    px = _pixels(result)
    assert (px.sum(axis=2) < 200).sum() > 100  # the words were drawn


def test_shape_position_and_colour() -> None:
    px = _pixels(
        _generate("a white background with a big black square in the top left", size="600x600")
    )
    assert px[124, 124].sum() < 60  # centre of the top-left cell
    assert (px[:300, :300].sum(axis=2) < 60).sum() > 5000
    assert (px[300:, 300:] == 255).all()


def test_gradient_background_changes_top_to_bottom() -> None:
    px = _pixels(_generate("gradient from red to blue", size="100x200"))
    assert px[0, 50, 0] > 200 and px[0, 50, 2] < 30
    assert px[199, 50, 2] > 200 and px[199, 50, 0] < 30


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_other_output_formats(fmt: str) -> None:
    result = _generate("a red circle", output_format=fmt, size="64x64")
    assert sniff_mime(result.outputs[0].data) == f"image/{fmt}"
    assert result.outputs[0].mime == f"image/{fmt}"


@pytest.mark.parametrize(
    ("prompt", "kwargs", "problem"),
    [
        ("", {}, "prompt is empty"),
        ("   ", {}, "prompt is empty"),
        ("a red circle", {"size": "99999x10"}, "size 99999x10: each side"),
        ("a red circle", {"size": "big"}, "size 'big': expected WIDTHxHEIGHT"),
        ("a red circle 10x10", {}, "size 10x10: each side"),
        ("a red circle", {"n": 0}, "n=0"),
        ("a red circle", {"n": 99}, "n=99"),
        ("a red circle", {"output_format": "gif"}, "output format 'gif'"),
        ("a red circle", {"options": {"quality": "high"}}, "option quality"),
    ],
)
def test_bad_requests_raise_input_error(
    prompt: str, kwargs: dict[str, object], problem: str
) -> None:
    with pytest.raises(InputError, match=problem):
        _generate(prompt, **kwargs)


def _blobs(px: np.ndarray, rgb: tuple[int, int, int]) -> int:
    """Connected regions close to ``rgb``."""
    import cv2

    near = (np.abs(px - np.array(rgb)).sum(axis=2) < 60).astype(np.uint8)
    count, _ = cv2.connectedComponents(near)
    return int(count) - 1  # label 0 is everything else


@pytest.mark.parametrize(
    ("prompt", "n"),
    [("three blue stars", 3), ("a blue circle", 1), ("5 blue squares in a grid", 5)],
)
def test_counts_draw_that_many_shapes(prompt: str, n: int) -> None:
    px = _pixels(_generate(prompt, size="512x512"))
    assert _blobs(px, (0, 0, 255)) == n


@pytest.mark.parametrize(
    "shape",
    [
        "circle",
        "ellipse",
        "square",
        "rectangle",
        "triangle",
        "diamond",
        "star",
        "hexagon",
        "ring",
        "line",
    ],
)
def test_every_shape_word_draws_something(shape: str) -> None:
    px = _pixels(_generate(f"a black {shape} on a white background", size="256x256"))
    assert (px.sum(axis=2) < 100).sum() > 200
    assert tuple(px[2, 2]) == (255, 255, 255)
