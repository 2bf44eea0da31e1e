"""OpenAIBackend against the local wire-format server, through the real openai SDK."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from PIL import Image

from provenance.backends import get_backend
from provenance.backends.base import (
    COMPOSITE_WITH_TRAINED,
    TRAINED_ALGORITHMIC_MEDIA,
    EditRequest,
    GenerateRequest,
    ImageInput,
)
from provenance.backends.openai import OpenAIBackend
from tests.openai_server import OpenAIServer


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


@pytest.fixture
def backend(server: OpenAIServer) -> OpenAIBackend:
    return OpenAIBackend(api_key=server.api_key, base_url=server.base_url, max_retries=0)


def _png(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def _image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_generate_one_image_records_what_the_api_returned(
    server: OpenAIServer, backend: OpenAIBackend
) -> None:
    result = backend.generate(
        GenerateRequest(prompt="a red kite over dunes", size="64x48", options={"quality": "low"})
    )
    assert len(result.outputs) == 1
    out = result.outputs[0]
    assert out.mime == "image/png"
    assert _image(out.data).size == (64, 48)
    assert result.backend == "openai" and result.model == "gpt-image-2"
    assert result.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert "gpt-image-2" in result.software_agent
    got = server.requests[-1]
    assert got.path == "/v1/images/generations"
    assert got.json == {
        "prompt": "a red kite over dunes",
        "model": "gpt-image-2",
        "n": 1,
        "output_format": "png",
        "size": "64x48",
        "quality": "low",
    }
    facts = result.facts
    assert facts["request_id"] == got.request_id
    assert facts["size"] == "64x48" and facts["quality"] == "low"
    assert facts["background"] == "opaque" and facts["output_format"] == "png"
    assert isinstance(facts["created"], int)
    assert facts["usage"]["input_tokens_details"]["text_tokens"] == 5
    assert facts["usage"]["output_tokens"] == 1056
    assert facts["params"]["quality"] == "low" and "prompt" not in facts["params"]
    assert out.facts == {"index": 0}  # whether the provider signed it is the recorder's call
    assert out.revised_prompt is None
    assert out.data == got.sent_images[0]
    json.dumps(facts)  # facts go into the ledger as JSON


def test_generate_three_images(server: OpenAIServer, backend: OpenAIBackend) -> None:
    result = backend.generate(
        GenerateRequest(
            prompt="three kites",
            n=3,
            size="32x32",
            output_format="webp",
            options={"output_compression": 80},
        )
    )
    assert len(result.outputs) == 3
    assert [o.mime for o in result.outputs] == ["image/webp"] * 3
    assert len({o.data for o in result.outputs}) == 3
    assert [o.facts["index"] for o in result.outputs] == [0, 1, 2]
    assert server.requests[-1].json is not None and server.requests[-1].json["n"] == 3
    assert result.facts["usage"]["output_tokens"] == 3 * 1056


def test_model_override_and_default_model(server: OpenAIServer) -> None:
    backend = OpenAIBackend(
        api_key=server.api_key, base_url=server.base_url, model="gpt-image-2.6-sunburst"
    )
    result = backend.generate(GenerateRequest(prompt="x", size="16x16"))
    assert result.model == "gpt-image-2.6-sunburst"
    result = backend.generate(GenerateRequest(prompt="x", size="16x16", model="acme-image-next"))
    assert result.model == "acme-image-next"  # unknown names are passed through, not checked
    assert [r.json["model"] for r in server.requests if r.json] == [
        "gpt-image-2.6-sunburst",
        "acme-image-next",
    ]


def test_transparent_background_returns_alpha(server: OpenAIServer, backend: OpenAIBackend) -> None:
    result = backend.generate(
        GenerateRequest(prompt="a sticker", size="64x64", options={"background": "transparent"})
    )
    img = _image(result.outputs[0].data)
    assert img.mode == "RGBA"
    alpha = img.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((32, 32)) == 255
    assert result.facts["background"] == "transparent"


def test_jpeg_output(server: OpenAIServer, backend: OpenAIBackend) -> None:
    result = backend.generate(GenerateRequest(prompt="a photo", size="48x32", output_format="jpeg"))
    assert result.outputs[0].mime == "image/jpeg"
    assert _image(result.outputs[0].data).format == "JPEG"


def test_streaming_partials_are_progress_only(server: OpenAIServer, backend: OpenAIBackend) -> None:
    progress: list[tuple[str, float | None]] = []
    result = backend.generate(
        GenerateRequest(
            prompt="a streamed kite",
            size="32x32",
            options={"stream": True, "partial_images": 2},
            on_progress=lambda msg, frac: progress.append((msg, frac)),
        )
    )
    partial_msgs = [m for m, _ in progress if m.startswith("partial image")]
    assert partial_msgs == ["partial image 1 of 2", "partial image 2 of 2"]
    assert len(result.outputs) == 1  # only the final image
    assert _image(result.outputs[0].data).size == (32, 32)
    assert result.facts["partial_images_received"] == 2
    assert result.facts["request_id"] == server.requests[-1].request_id
    assert result.facts["usage"]["total_tokens"] > 0
    assert server.requests[-1].json is not None and server.requests[-1].json["stream"] is True
    fractions = [f for _, f in progress if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_edit_three_images_and_a_mask(server: OpenAIServer, backend: OpenAIBackend) -> None:
    parent = _png((64, 64), (200, 10, 10))
    refs = [_png((32, 32), (10, 200, 10)), _png((40, 40), (10, 10, 200))]
    mask_l = Image.new("L", (64, 64), 0)
    mask_l.paste(255, (0, 0, 32, 64))  # left half editable
    buf = io.BytesIO()
    mask_l.save(buf, "PNG")
    request = EditRequest(
        instruction="add a kite",
        size="64x64",
        images=(
            ImageInput(parent, "parent", "image/png", "parent.png"),
            *(ImageInput(r, "reference", "image/png", f"ref{i}.png") for i, r in enumerate(refs)),
        ),
        mask=ImageInput(buf.getvalue(), "mask", "image/png", "mask.png"),
        options={"input_fidelity": "high"},
    )
    result = backend.edit(request)
    got = server.requests[-1]
    assert got.path == "/v1/images/edits"
    assert got.file_names() == ["image[]", "image[]", "image[]", "mask"]
    assert [p.data for p in got.files[:3]] == [parent, *refs]
    assert got.fields["input_fidelity"] == "high" and got.fields["prompt"] == "add a kite"
    sent_mask = _image(got.files[3].data)
    assert sent_mask.format == "PNG" and sent_mask.mode == "RGBA" and sent_mask.size == (64, 64)
    assert sent_mask.getchannel("A").getpixel((5, 5)) == 0  # editable -> transparent
    assert sent_mask.getchannel("A").getpixel((60, 5)) == 255
    out = _image(result.outputs[0].data).convert("RGB")
    assert out.getpixel((60, 5)) == (200, 10, 10)  # outside the mask: untouched
    assert result.digital_source_type == COMPOSITE_WITH_TRAINED
    (action,) = result.outputs[0].actions
    assert action.action == "c2pa.edited" and action.digital_source_type == COMPOSITE_WITH_TRAINED
    assert result.facts["params"]["image_count"] == 3 and result.facts["params"]["mask"] is True
    assert result.facts["request_id"] == got.request_id
    assert result.facts["usage"]["input_tokens_details"]["image_tokens"] == 3 * 272


def test_edit_single_image_goes_as_image_field(
    server: OpenAIServer, backend: OpenAIBackend
) -> None:
    parent = _png((32, 32), (1, 2, 3))
    backend.edit(
        EditRequest(
            instruction="brighter", images=(ImageInput(parent, "parent", "image/png", "p.png"),)
        )
    )
    assert server.requests[-1].file_names() == ["image"]


def test_edit_streaming(server: OpenAIServer, backend: OpenAIBackend) -> None:
    parent = _png((32, 32), (1, 2, 3))
    seen: list[str] = []
    result = backend.edit(
        EditRequest(
            instruction="brighter",
            images=(ImageInput(parent, "parent", "image/png", "p.png"),),
            options={"stream": True, "partial_images": 1},
            on_progress=lambda m, f: seen.append(m),
        )
    )
    assert "partial image 1 of 1" in seen
    assert len(result.outputs) == 1 and result.facts["partial_images_received"] == 1


def test_provider_signed_output_is_returned_untouched() -> None:
    with OpenAIServer(provider_c2pa=True) as server:
        backend = OpenAIBackend(api_key=server.api_key, base_url=server.base_url)
        progress: list[str] = []
        result = backend.generate(
            GenerateRequest(
                prompt="signed", size="32x32", on_progress=lambda m, f: progress.append(m)
            )
        )
    out = result.outputs[0]
    assert b"c2pa" in out.data  # the recorder notes the provider manifest (test_openai_recorded)
    # The exact bytes the server sent: nothing re-encoded, the provider's signature intact.
    assert out.data == server.requests[-1].sent_images[0]
    assert any("received 1 image" in m for m in progress)


def test_key_and_base_url_from_environment(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    backend = get_backend("openai")
    result = backend.generate(GenerateRequest(prompt="env", size="16x16"))
    assert result.facts["request_id"] == server.requests[-1].request_id
    assert server.requests[-1].headers["authorization"] == f"Bearer {server.api_key}"
    assert server.api_key not in repr(backend)


def test_revised_prompt_is_kept_per_output(server: OpenAIServer, backend: OpenAIBackend) -> None:
    server.revised_prompt = "A red kite flying over sand dunes at noon"
    result = backend.generate(GenerateRequest(prompt="kite", n=2, size="16x16"))
    assert [o.revised_prompt for o in result.outputs] == [server.revised_prompt] * 2
    assert server.revised_prompt not in json.dumps(result.facts)  # not duplicated into facts
