"""PNGs with one IDAT chunk (provenance.media.png): valid files, the same pixels, signable."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from provenance.backends.base import BackendOutput, BackendResult, EditRequest, GenerateRequest
from provenance.home.paths import Home
from provenance.media import imaging, png
from provenance.record.recorder import Recorder
from provenance.verify import verify_path
from provenance.verify.policy import default_policy


def _walk(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk of a PNG, each CRC checked (an independent walk, not png.chunks)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + payload), kind
        out.append((kind, payload))
        pos += 12 + length
    assert out[-1][0] == b"IEND" and pos == len(data)
    return out


def _kinds(data: bytes) -> list[bytes]:
    return [kind for kind, _ in _walk(data)]


def _image(kind: str, mode: str, size: int = 512) -> Image.Image:
    if kind == "noise":  # what a random-weights model renders: does not deflate
        rng = np.random.default_rng(3)
        shape = (size, size) if mode == "L" else (size, size, len(mode))
        return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    return Image.linear_gradient("L").resize((size, size)).convert(mode)  # deflates


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize("kind", ["noise", "smooth"])
def test_encode_png_fast_writes_one_idat_of_the_same_pixels(kind: str, mode: str) -> None:
    image = _image(kind, mode)
    data = imaging.encode_png_fast(image)
    assert _kinds(data) == [b"IHDR", b"IDAT", b"IEND"]  # OpenCV alone wrote ~97 IDATs
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    assert decoded.format == "PNG" and decoded.mode == mode and decoded.size == image.size
    assert np.array_equal(np.asarray(decoded), np.asarray(image))
    assert imaging.encode_png_fast(image) == data  # deterministic


def test_single_idat_keeps_the_other_chunks_and_the_stream() -> None:
    image = _image("noise", "RGB", 300)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "kept")
    buf = io.BytesIO()
    image.save(buf, "PNG", pnginfo=info, compress_level=1)
    many = buf.getvalue()
    before = _walk(many)
    assert [k for k, _ in before].count(b"IDAT") > 1  # Pillow writes 64 KiB chunks
    one = png.single_idat(many)
    after = _walk(one)
    assert [k for k, _ in after] == [b"IHDR", b"tEXt", b"IDAT", b"IEND"]
    joined = b"".join(p for k, p in before if k == b"IDAT")
    assert after[2][1] == joined  # the same compressed stream, so the same filters and pixels
    assert [c for c in after if c[0] != b"IDAT"] == [c for c in before if c[0] != b"IDAT"]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(one))), np.asarray(image))
    assert png.single_idat(one) == one  # already one: unchanged


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_stored_is_unfiltered_and_uncompressed(channels: int) -> None:
    rng = np.random.default_rng(channels)
    shape = (7, 5) if channels == 1 else (7, 5, channels)
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    data = png.stored(pixels)
    chunks = dict(_walk(data))
    rows = zlib.decompress(chunks[b"IDAT"])
    assert set(rows[:: 5 * channels + 1]) == {0}  # filter type none on every row
    assert len(chunks[b"IDAT"]) < len(rows) + 16  # stored blocks: no compression
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)


@pytest.mark.parametrize(
    ("shape", "dtype"), [((0, 4, 3), np.uint8), ((4, 4, 2), np.uint8), ((4, 0), np.uint8),
                         ((4, 4, 3), np.uint16)]
)  # fmt: skip
def test_stored_refuses_what_is_not_an_8_bit_image(shape: tuple[int, ...], dtype: type) -> None:
    with pytest.raises(ValueError, match="cannot store"):
        png.stored(np.zeros(shape, dtype))


@pytest.mark.parametrize(("width", "height"), [(1, 1), (65534, 1), (21845, 1), (21845, 3)])
def test_stored_frames_rows_across_deflate_block_edges(width: int, height: int) -> None:
    """Rows of 65535 bytes (one stored block) and more: the blocks split rows anywhere."""
    pixels = np.random.default_rng(width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    data = png.stored(pixels)
    idat = dict(_walk(data))[b"IDAT"]
    raw = height * (width * 3 + 1)
    blocks = -(-raw // 65535)
    assert len(idat) == 2 + 5 * blocks + raw + 4  # header, block frames, bytes, Adler-32
    rows = zlib.decompress(idat)  # checks the Adler-32 too
    assert rows == np.pad(pixels.reshape(height, -1), ((0, 0), (1, 0))).tobytes()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)


@pytest.mark.parametrize(
    "data", [b"GIF89a", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", b"\x89PNG\r\n\x1a\n"]
)
def test_chunks_refuses_broken_layouts(data: bytes) -> None:
    with pytest.raises(ValueError):
        list(png.chunks(data))


class _Pixels:
    """Returns 512x512 pixels as the diffusers backend does (the PNG left to the recorder)."""

    name = "pixels"

    def __init__(self, image: Image.Image) -> None:
        self.image = image

    def generate(self, request: GenerateRequest) -> BackendResult:
        out = BackendOutput(b"", "image/png", pixels=self.image)
        return BackendResult((out,), "pixels", "noise-1", "trainedAlgorithmicMedia", "noise 1")

    def edit(self, request: EditRequest) -> BackendResult:
        raise NotImplementedError


@pytest.mark.parametrize("kind", ["noise", "smooth"])
def test_a_recorded_one_idat_png_is_signed_and_verifies(
    kind: str, home: Home, tmp_path: Path
) -> None:
    image = _image(kind, "RGB")
    with Recorder(home, backend=_Pixels(image)) as rec:
        [made] = rec.generate("noise", tmp_path / "out.png")
    signed = made.path.read_bytes()
    kinds = _kinds(signed)
    assert kinds.count(b"IDAT") == 1 and b"caBX" in kinds  # c2pa's manifest store chunk
    assert np.array_equal(np.asarray(Image.open(made.path)), np.asarray(image))
    assert verify_path(made.path, default_policy(home)).verdict == "trusted"
