"""The local backend's edit instruction language, checked on real pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from provenance.backends.base import BackendResult, EditRequest, ImageInput
from provenance.backends.local import LocalBackend
from provenance.errors import InputError
from provenance.media.imaging import encode, sniff_mime

W, H = 256, 192


def _parent_image() -> Image.Image:
    """A colourful, non-symmetric test picture: gradients plus noise."""
    y, x = np.mgrid[0:H, 0:W]
    rng = np.random.default_rng(7)
    rgb = np.stack([x * 255 // W, y * 255 // H, (x + y) % 256], axis=2) // 2 + rng.integers(
        0, 100, (H, W, 3)
    )
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def _input(image: Image.Image, role: str = "parent", name: str = "parent.png") -> ImageInput:
    return ImageInput(encode(image, "png"), role=role, mime="image/png", name=name)  # type: ignore[arg-type]


def _left_half_mask(rgba: bool = False) -> ImageInput:
    if rgba:
        m = Image.new("RGBA", (W, H), (0, 0, 0, 255))
        m.paste((0, 0, 0, 0), (0, 0, W // 2, H))
    else:
        m = Image.new("L", (W, H), 0)
        m.paste(255, (0, 0, W // 2, H))
    return _input(m, role="mask", name="mask.png")


def _edit(instruction: str, parent: Image.Image | None = None, **kwargs: object) -> BackendResult:
    images = kwargs.pop("images", None) or (_input(parent or _parent_image()),)
    request = EditRequest(instruction, images=images, **kwargs)  # type: ignore[arg-type]
    return LocalBackend().edit(request)


def _px(result: BackendResult) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(result.outputs[0].data)).convert("RGB")).astype(int)


PARENT = np.asarray(_parent_image()).astype(int)


def test_grayscale() -> None:
    result = _edit("grayscale")
    px = _px(result)
    assert (px[..., 0] == px[..., 1]).all() and (px[..., 1] == px[..., 2]).all()
    (action,) = result.outputs[0].actions
    assert action.action == "c2pa.adjustedColor"
    assert action.parameters == {"grayscale": True}
    assert result.model == "local-editor-1"
    assert result.digital_source_type == "algorithmicMedia"


def test_brightness() -> None:
    result = _edit("brightness 1.1")
    assert _px(result).mean() > PARENT.mean() * 1.05
    (action,) = result.outputs[0].actions
    assert (action.action, action.parameters) == ("c2pa.adjustedColor", {"brightness": 1.1})


def test_contrast_saturation_exposure() -> None:
    result = _edit("contrast 1.5; saturation 0; exposure 1")
    px = _px(result)
    assert (px[..., 0] == px[..., 1]).all()  # saturation 0 removed colour
    assert [a.parameters for a in result.outputs[0].actions] == [
        {"contrast": 1.5},
        {"saturation": 0.0},
        {"exposure_ev": 1.0},
    ]
    assert px.mean() > PARENT.mean()


def test_crop() -> None:
    result = _edit("crop 10 20 128 64")
    px = _px(result)
    assert px.shape == (64, 128, 3)
    assert np.array_equal(px, PARENT[20:84, 10:138])
    (action,) = result.outputs[0].actions
    assert action.action == "c2pa.cropped"
    assert action.parameters == {"x": 10, "y": 20, "width": 128, "height": 64}


def test_crop_to_aspect_ratio_is_centred() -> None:
    px = _px(_edit("crop 1:1"))
    assert px.shape == (H, H, 3)
    assert np.array_equal(px, PARENT[:, (W - H) // 2 : (W - H) // 2 + H])


def test_crop_0_0_512_512_on_a_large_image() -> None:
    big = Image.new("RGB", (1024, 768), "teal")
    result = _edit("crop 0 0 512 512", parent=big)
    assert _px(result).shape == (512, 512, 3)


@pytest.mark.parametrize(
    ("instruction", "size"),
    [("resize 50%", (W // 2, H // 2)), ("resize 100x50", (100, 50)), ("resize 128", (128, 96))],
)
def test_resize(instruction: str, size: tuple[int, int]) -> None:
    result = _edit(instruction)
    assert _px(result).shape == (size[1], size[0], 3)
    (action,) = result.outputs[0].actions
    assert action.action == "c2pa.resized"
    assert (action.parameters["width"], action.parameters["height"]) == size
    assert (action.parameters["from_width"], action.parameters["from_height"]) == (W, H)


def test_rotate_90_is_clockwise() -> None:
    result = _edit("rotate 90")
    px = _px(result)
    assert px.shape == (W, H, 3)
    # Clockwise: the parent's top-left corner ends at the top-right.
    assert tuple(px[0, H - 1]) == tuple(PARENT[0, 0])
    assert result.outputs[0].actions[0].action == "c2pa.orientation"
    assert result.outputs[0].actions[0].parameters == {"rotate": 90, "direction": "clockwise"}


def test_flip() -> None:
    px = _px(_edit("flip horizontal"))
    assert np.array_equal(px, PARENT[:, ::-1])
    px = _px(_edit("flip vertical"))
    assert np.array_equal(px, PARENT[::-1])


def test_blur_and_sharpen_are_filters() -> None:
    blurred = _edit("blur 3")
    assert np.abs(np.diff(_px(blurred), axis=1)).mean() < np.abs(np.diff(PARENT, axis=1)).mean() / 2
    assert blurred.outputs[0].actions[0].action == "c2pa.filtered"
    sharpened = _edit("sharpen")
    assert not np.array_equal(_px(sharpened), PARENT)
    assert sharpened.outputs[0].actions[0].parameters == {"filter": "unsharp_mask", "amount": 150}


def test_two_operations_in_order() -> None:
    result = _edit("grayscale; brightness 1.1")
    px = _px(result)
    assert (px[..., 0] == px[..., 2]).all()
    assert [a.action for a in result.outputs[0].actions] == ["c2pa.adjustedColor"] * 2
    assert [a.parameters for a in result.outputs[0].actions] == [
        {"grayscale": True},
        {"brightness": 1.1},
    ]
    assert result.facts["operations"] == ["grayscale", "brightness"]


@pytest.mark.parametrize("rgba", [False, True], ids=["white-is-editable", "openai-transparent"])
def test_masked_grayscale_leaves_unmasked_pixels_unchanged(rgba: bool) -> None:
    result = _edit("grayscale", mask=_left_half_mask(rgba))
    px = _px(result)
    left, right = px[:, : W // 2], px[:, W // 2 :]
    assert (left[..., 0] == left[..., 1]).all()
    assert np.array_equal(right, PARENT[:, W // 2 :])
    (action,) = result.outputs[0].actions
    assert action.parameters["region"] == "mask"
    assert action.parameters["mask_bbox"] == {"x": 0, "y": 0, "width": W // 2, "height": H}
    assert "masked area" in (action.description or "")


def test_mask_follows_a_crop() -> None:
    result = _edit("crop 64 0 128 192; grayscale", mask=_left_half_mask())
    px = _px(result)
    assert (px[:, :64, 0] == px[:, :64, 1]).all()  # parent columns 64..127 were masked
    assert np.array_equal(px[:, 64:], PARENT[:, 128:192])


@pytest.mark.parametrize(
    ("method", "args"), [("fill", "fill"), ("pixelate", "pixelate 8"), ("blur", "blur")]
)
def test_redact_changes_only_the_masked_area(method: str, args: str) -> None:
    result = _edit(f"redact {args}", mask=_left_half_mask())
    px = _px(result)
    assert np.array_equal(px[:, W // 2 :], PARENT[:, W // 2 :])
    assert not np.array_equal(px[:, : W // 2], PARENT[:, : W // 2])
    if method == "fill":
        assert (px[:, : W // 2] == 0).all()
    (action,) = result.outputs[0].actions
    assert action.action == "c2pa.edited"
    assert action.parameters["method"] == method
    assert "redacted" in (action.description or "")


def test_redact_default_is_black_fill() -> None:
    px = _px(_edit("redact", mask=_left_half_mask()))
    assert (px[:, : W // 2] == 0).all()


def test_inpaint_changes_only_the_masked_area() -> None:
    scene = Image.new("RGB", (W, H), (30, 90, 200))
    scene.paste((255, 0, 0), (100, 80, 140, 110))  # a red block to remove
    mask = Image.new("L", (W, H), 0)
    mask.paste(255, (96, 76, 144, 114))
    result = _edit("inpaint", parent=scene, mask=_input(mask, "mask", "m.png"))
    px = _px(result)
    original = np.asarray(scene).astype(int)
    outside = np.asarray(mask) == 0
    assert np.array_equal(px[outside], original[outside])
    r, _, b = px[95, 120]
    assert r < 100 and b > 150  # the red block was filled with the surrounding blue
    (action,) = result.outputs[0].actions
    assert action.parameters["algorithm"] == "opencv.inpaint.telea"


def test_text_and_caption_draw_pixels() -> None:
    text = _edit('text "BREAKING NEWS" top color yellow')
    assert not np.array_equal(_px(text), PARENT)
    assert text.outputs[0].actions[0].parameters == {"text": "BREAKING NEWS", "position": "top"}
    caption = _edit('caption "Photo: AP"')
    px = _px(caption)
    assert np.array_equal(px[:40], PARENT[:40])  # the band is at the bottom only
    assert not np.array_equal(px[-20:], PARENT[-20:])


def test_place_reference_image() -> None:
    ref = _input(Image.new("RGB", (32, 32), (255, 0, 0)), role="reference", name="logo.png")
    result = _edit("place 1 at 10 10", images=(_input(_parent_image()), ref))
    px = _px(result)
    assert tuple(px[20, 20]) == (255, 0, 0)
    assert np.array_equal(px[50:], PARENT[50:])
    (action,) = result.outputs[0].actions
    assert action.action == "c2pa.placed"
    assert action.parameters == {
        "reference": 1,
        "opacity": 1.0,
        "x": 10,
        "y": 10,
        "width": 32,
        "height": 32,
        "name": "logo.png",
    }


def test_transparent_parent_keeps_alpha_in_png() -> None:
    rgba = Image.new("RGBA", (64, 64), (200, 100, 50, 0))
    rgba.paste((200, 100, 50, 255), (0, 0, 32, 64))
    out = Image.open(io.BytesIO(_edit("grayscale", parent=rgba).outputs[0].data))
    assert out.mode == "RGBA"
    alpha = np.asarray(out)[..., 3]
    assert alpha[10, 48] == 0 and alpha[10, 10] == 255


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_output_formats(fmt: str) -> None:
    assert sniff_mime(_edit("grayscale", output_format=fmt).outputs[0].data) == f"image/{fmt}"


def test_n_copies_and_determinism() -> None:
    result = _edit("grayscale; blur 2", n=2)
    assert len(result.outputs) == 2
    assert result.outputs[0].data == result.outputs[1].data
    assert result.facts["identical_outputs"] is True
    assert _edit("grayscale; blur 2").outputs[0].data == result.outputs[0].data


def test_request_size_resizes_at_the_end() -> None:
    result = _edit("grayscale", size="64x48")
    assert _px(result).shape == (48, 64, 3)
    assert [a.action for a in result.outputs[0].actions] == [
        "c2pa.adjustedColor",
        "c2pa.resized",
    ]


@pytest.mark.parametrize(
    ("instruction", "problem"),
    [
        ("posterize 4", "unknown operation 'posterize'.*known operations: blur, brightness"),
        ("", "no operation given"),
        (" ; ", "no operation given"),
        ("crop 0 0 512 512", r"box x=0..512, y=0..512 extends outside the 256x192 image"),
        ("crop 0 0 10", "expected crop X Y WIDTH HEIGHT"),
        ("crop a b c d", "X must be a whole number"),
        ("crop 0 0 0 10", "WIDTH and HEIGHT must be positive"),
        ("resize 0%", "percentage must be above 0"),
        ("resize 0", "smaller than one pixel"),
        ("resize 100000x100000", "above the size limit"),
        ("rotate 45.5", "only multiples of 90 degrees"),
        ("rotate left", "DEGREES must be a number"),
        ("flip diagonal", "axis must be horizontal or vertical"),
        ("brightness", "expected brightness FACTOR"),
        ("brightness abc", "FACTOR must be a number"),
        ("brightness -1", "factor must be between 0 and 10"),
        ("exposure 9", "EV must be between -5 and 5"),
        ("blur 0", "radius must be above 0"),
        ("grayscale 2", "expected grayscale"),
        ("text", "expected text"),
        ('text "hi" sideways', "unexpected 'sideways'"),
        ('text "hi" color notacolour', "unknown colour 'notacolour'"),
        ('text "unbalanced', "unbalanced quotes"),
        ("redact", "redact needs a mask"),
        ("inpaint", "inpaint needs a mask"),
        ("redact smudge", "method must be fill, pixelate or blur"),
        ("place", "no reference image was given"),
        ("grayscale; crop 0 0 999 999", "extends outside"),
    ],
)
def test_bad_instructions_raise_input_error(instruction: str, problem: str) -> None:
    progress: list[str] = []
    with pytest.raises(InputError, match=problem):
        _edit(instruction, on_progress=lambda message, fraction: progress.append(message))
    assert "editing" not in progress  # refused before any pixel was produced


def test_mask_problems() -> None:
    small = _input(Image.new("L", (64, 64), 255), "mask", "small.png")
    with pytest.raises(InputError, match=r"mask small.png is 64x64 but the image is 256x192"):
        _edit("redact", mask=small)
    with pytest.raises(InputError, match="no operation can be limited to it"):
        _edit("crop 0 0 64 64", mask=_left_half_mask())
    with pytest.raises(InputError, match="cropped away"):
        _edit("crop 200 0 56 192; redact", mask=_left_half_mask())


def test_bad_parent_and_missing_reference() -> None:
    broken = ImageInput(b"not an image at all", role="parent", mime="image/png", name="broken.png")
    with pytest.raises(InputError, match=r"broken.png: not an image"):
        _edit("grayscale", images=(broken,))
    with pytest.raises(InputError, match="reference 2 does not exist"):
        ref = _input(Image.new("RGB", (8, 8)), "reference", "r.png")
        _edit("place 2", images=(_input(_parent_image()), ref))


def test_sixteen_bit_parent_is_scaled_not_clipped() -> None:
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)  # 0..65520
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    parent = ImageInput(buf.getvalue(), role="parent", mime="image/png", name="deep.png")
    px = _px(_edit("crop 0 0 64 64", images=(parent,)))
    assert px[0, 0, 0] == 0 and px[63, 63, 0] == 255
    assert 120 < px.mean() < 135  # a 0..65535 ramp maps onto 0..255, not mostly 255
