"""Safe decoding, masks and deterministic encoding, on real files made with Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

from provenance.errors import InputError
from provenance.media import imaging
from provenance.verify.signer_cert import _chunks


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _saved(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def _noise(size: tuple[int, int] = (64, 48)) -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` but carries almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("WEBP", "image/webp"),
        ("GIF", "image/gif"),
        ("TIFF", "image/tiff"),
        ("BMP", "image/bmp"),
        ("AVIF", "image/avif"),
    ],
)
def test_sniff_mime_recognises_real_files(fmt: str, mime: str) -> None:
    data = _saved(_noise(), fmt)
    assert imaging.sniff_mime(data) == mime
    assert imaging.open_image(data, name=f"x.{fmt.lower()}").size == (64, 48)


def test_sniff_mime_heic_brand_and_garbage() -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    assert imaging.sniff_mime(heic) == "image/heic"
    assert imaging.sniff_mime(b"hello world, not an image") is None
    assert imaging.sniff_mime(b"") is None


def test_open_image_is_fully_decoded_and_keeps_pixels() -> None:
    src = _noise()
    image = imaging.open_image(_png(src), name="noise.png")
    assert np.array_equal(np.asarray(image), np.asarray(src))


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("empty.png", b"", "empty file"),
        ("notes.txt", b"just some text, really", "not an image"),
        (
            "photo.heic",
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
            "unsupported image format image/heic",
        ),
        ("doc.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not an image"),
    ],
)
def test_open_image_refuses_non_images(name: str, data: bytes, problem: str) -> None:
    with pytest.raises(InputError, match=problem) as err:
        imaging.open_image(data, name=name)
    assert name in str(err.value)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_open_image_refuses_truncated_files(fmt: str) -> None:
    data = _saved(_noise((256, 256)), fmt)
    with pytest.raises(InputError, match=r"truncated|corrupt") as err:
        imaging.open_image(data[: len(data) * 2 // 3], name=f"cut.{fmt.lower()}")
    assert f"cut.{fmt.lower()}" in str(err.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_open_image_refuses_decompression_bomb() -> None:
    with pytest.raises(InputError, match=r"bomb|limit") as err:
        imaging.open_image(_png_header_only(30_000, 30_000), name="bomb.png")
    assert "bomb.png" in str(err.value)


def test_pixel_limit_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _png(_noise((100, 100)))
    monkeypatch.setenv(imaging.ENV_MAX_PIXELS, "5000")
    with pytest.raises(InputError, match="100x100 is 10000 pixels, above the limit of 5000"):
        imaging.open_image(data, name="big.png")
    monkeypatch.setenv(imaging.ENV_MAX_PIXELS, "lots")
    with pytest.raises(InputError, match="PROVENANCE_MAX_PIXELS"):
        imaging.open_image(data, name="big.png")
    monkeypatch.delenv(imaging.ENV_MAX_PIXELS)
    assert imaging.open_image(data, name="big.png").size == (100, 100)


def test_load_mask_openai_transparency_convention() -> None:
    rgba = Image.new("RGBA", (40, 20), (0, 0, 0, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 10, 20))  # transparent = editable
    mask = imaging.load_mask(_png(rgba), (40, 20), name="m.png")
    assert mask.mode == "L"
    assert mask.getpixel((5, 5)) == 255
    assert mask.getpixel((30, 5)) == 0


def test_load_mask_black_and_white_convention() -> None:
    bw = Image.new("L", (40, 20), 0)
    bw.paste(255, (30, 0, 40, 20))  # white = editable
    mask = imaging.load_mask(_png(bw), (40, 20), name="m.png")
    assert mask.getpixel((35, 5)) == 255
    assert mask.getpixel((5, 5)) == 0
    # An opaque RGBA mask has no transparency to read, so its luminance is used.
    opaque = bw.convert("RGBA")
    assert imaging.load_mask(_png(opaque), (40, 20), name="m.png").getpixel((35, 5)) == 255


def test_load_mask_size_mismatch_and_empty_mask() -> None:
    data = _png(Image.new("L", (512, 512), 255))
    with pytest.raises(InputError, match=r"mask m.png is 512x512 but the image is 1024x1024"):
        imaging.load_mask(data, (1024, 1024), name="m.png")
    with pytest.raises(InputError, match="marks no editable pixels"):
        imaging.load_mask(_png(Image.new("L", (8, 8), 0)), (8, 8), name="blank.png")


def test_mask_to_openai_png_round_trips() -> None:
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (4, 4, 12, 12))
    data = imaging.mask_to_openai_png(mask)
    rgba = Image.open(io.BytesIO(data))
    assert rgba.mode == "RGBA"
    alpha = np.asarray(rgba)[..., 3]
    assert alpha[8, 8] == 0  # editable -> transparent
    assert alpha[0, 0] == 255
    assert np.array_equal(
        np.asarray(imaging.load_mask(data, (16, 16), name="m.png")), np.asarray(mask)
    )


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encode_is_deterministic_and_sniffable(fmt: imaging.ImageFormat) -> None:
    image = _noise()
    first, second = imaging.encode(image, fmt), imaging.encode(image, fmt)
    assert first == second
    assert imaging.sniff_mime(first) == imaging.MIME_BY_FORMAT[fmt]
    assert imaging.FORMAT_BY_MIME[imaging.MIME_BY_FORMAT[fmt]] == fmt


def test_encode_png_is_lossless_without_text_or_time_chunks() -> None:
    image = _noise()
    image.info["comment"] = "should not leak"
    data = imaging.encode(image, "png")
    assert b"tIME" not in data and b"tEXt" not in data and b"iTXt" not in data
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), np.asarray(image))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "I;16"])
def test_encode_png_fast_is_lossless_and_deterministic(mode: str) -> None:
    image = _noise().convert(mode) if mode != "RGBA" else _noise().convert("RGBA")
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    data = imaging.encode_png_fast(image)
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == "PNG" and decoded.mode == image.mode
    assert np.array_equal(np.asarray(decoded), np.asarray(image))
    assert imaging.encode_png_fast(image) == data
    assert b"tIME" not in data and b"tEXt" not in data


def _row_filters(data: bytes, width: int, channels: int) -> set[int]:
    """The PNG filter types of the rows (0: none, 4: Paeth)."""
    rows = zlib.decompress(_chunks(data, 8, b"IDAT", ">I", 4, 12))  # the verifier's chunk walk
    return set(rows[:: width * channels + 1])


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_encode_png_fast_stores_noise_and_deflates_what_compresses(mode: str) -> None:
    rng = np.random.default_rng(2)
    noise = Image.fromarray(rng.integers(0, 256, (512, 512, len(mode)), dtype=np.uint8).squeeze())
    smooth = Image.linear_gradient("L").resize((512, 512)).convert(mode)
    raw = len(noise.tobytes())
    stored, packed = imaging.encode_png_fast(noise), imaging.encode_png_fast(smooth)
    # noise does not deflate: its rows are stored unfiltered (about its raw size), not run
    # through the Paeth filter and deflate for nothing; what compresses still is
    assert _row_filters(stored, 512, len(mode)) == {0} and raw < len(stored) < raw * 1.01
    assert _row_filters(packed, 512, len(mode)) == {4} and len(packed) < raw // 20
    for image, data in ((noise, stored), (smooth, packed)):
        decoded = Image.open(io.BytesIO(data))
        assert decoded.mode == image.mode
        assert np.array_equal(np.asarray(decoded), np.asarray(image))


def test_encode_png_fast_keeps_an_icc_profile() -> None:
    image = _noise()
    image.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    decoded = Image.open(io.BytesIO(imaging.encode_png_fast(image)))
    assert decoded.info.get("icc_profile") == image.info["icc_profile"]


def test_thumbnail_jpeg_fits_the_long_edge() -> None:
    small = Image.open(io.BytesIO(imaging.thumbnail_jpeg(_noise((600, 300)), 256)))
    assert small.format == "JPEG" and small.size == (256, 128) and small.mode == "RGB"
    tiny = Image.open(io.BytesIO(imaging.thumbnail_jpeg(_noise((40, 30)).convert("RGBA"), 256)))
    assert tiny.size == (40, 30)  # never enlarged


@pytest.mark.parametrize(
    ("mode", "size", "expected"),
    [
        ("RGB", (512, 512), (256, 256)),  # an exact integer reduction
        ("RGBA", (600, 300), (256, 128)),  # reduced by 2, then resized
        ("P", (1000, 7), (256, 2)),
        ("L", (3000, 2), (256, 1)),
        ("I;16", (257, 100), (256, 100)),  # no integer reduction: resized only
    ],
)
def test_thumbnail_jpeg_of_any_mode_and_shape(
    mode: str, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    image = _noise(size).convert(mode)
    small = Image.open(io.BytesIO(imaging.thumbnail_jpeg(image, 256)))
    assert small.format == "JPEG" and small.mode == "RGB" and small.size == expected


def test_thumbnail_jpeg_looks_like_the_image() -> None:
    """The box reduction keeps the picture: each quadrant's colour survives."""
    image = Image.new("RGB", (512, 512), "red")
    image.paste((0, 0, 255), (256, 0, 512, 256))
    image.paste((0, 255, 0), (0, 256, 256, 512))
    small = np.asarray(Image.open(io.BytesIO(imaging.thumbnail_jpeg(image, 256)))).astype(int)
    for (y, x), colour in {
        (60, 60): (255, 0, 0),
        (60, 190): (0, 0, 255),
        (190, 60): (0, 255, 0),
    }.items():
        assert np.abs(small[y, x] - colour).max() < 12


def test_encode_jpeg_flattens_alpha_onto_white_and_keeps_icc() -> None:
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 0))  # fully transparent red
    rgba.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    decoded = Image.open(io.BytesIO(imaging.encode(rgba, "jpeg")))
    assert decoded.mode == "RGB"
    assert (np.asarray(decoded)[16, 16] > 245).all()
    assert decoded.info.get("icc_profile") == rgba.info["icc_profile"]


def test_encode_rejects_bad_quality_and_format() -> None:
    with pytest.raises(InputError, match="quality 101"):
        imaging.encode(_noise(), "jpeg", quality=101)
    with pytest.raises(InputError, match="output format 'gif'"):
        imaging.encode(_noise(), "gif")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("a.png", "png"), ("dir/b.JPG", "jpeg"), ("c.jpeg", "jpeg"), ("d.webp", "webp")],
)
def test_format_from_path(path: str, fmt: str) -> None:
    assert imaging.format_from_path(path) == fmt
    assert imaging.EXT_BY_FORMAT[imaging.format_from_path(path)].startswith(".")


def test_format_from_path_unknown_extension() -> None:
    with pytest.raises(InputError, match=r"anim\.tiff: cannot tell the output format"):
        imaging.format_from_path("out/anim.tiff")
    with pytest.raises(InputError, match="'\\(none\\)'"):
        imaging.format_from_path("noext")
