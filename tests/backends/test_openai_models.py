"""GPT Image as of 2026-12: default model, retirements, per-family parameters, over real HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from PIL import Image

from provenance.backends.base import EditRequest, GenerateRequest, ImageInput
from provenance.backends.openai import OpenAIBackend, RetiredModelWarning
from provenance.backends.openai_models import DEFAULT_MODEL, retirement_notice
from provenance.errors import BackendError, InputError
from tests.conftest import png_bytes
from tests.openai_server import OpenAIServer


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def _backend(server: OpenAIServer, model: str | None = None) -> OpenAIBackend:
    return OpenAIBackend(api_key=server.api_key, base_url=server.base_url, model=model)


def _gen(backend: OpenAIBackend, **kw: Any) -> Any:
    options = kw.pop("options", {})
    return backend.generate(
        GenerateRequest(prompt=kw.pop("prompt", "a kite"), options=options, **kw)
    )


def test_default_model_is_current_and_env_and_argument_override(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DEFAULT_MODEL == "gpt-image-2"
    assert _backend(server).model == "gpt-image-2"
    monkeypatch.setenv("PROVENANCE_OPENAI_MODEL", "gpt-image-2.5-flare")
    assert _backend(server).model == "gpt-image-2.5-flare"
    assert _backend(server, "gpt-image-2.6-sunburst").model == "gpt-image-2.6-sunburst"
    _gen(_backend(server), size="64x64")
    assert server.requests[-1].json is not None
    assert server.requests[-1].json["model"] == "gpt-image-2.5-flare"


def test_retired_model_warns_before_sending_then_the_api_refuses(server: OpenAIServer) -> None:
    backend = _backend(server, "gpt-image-1.5")
    with (
        pytest.warns(RetiredModelWarning, match=r"2026-12-01.*gpt-image-2\.5-sunburst"),
        pytest.raises(BackendError, match=r"404 model_not_found.*shut down"),
    ):
        _gen(backend, size="1024x1024")
    assert len(server.requests) == 1  # passed through: OpenAI has the last word
    notice = retirement_notice("gpt-image-1", today="2026-10-01")
    assert notice is not None and "shuts it down on 2026-10-23" in notice
    assert retirement_notice("gpt-image-2") is None and retirement_notice("acme-x") is None


@pytest.mark.parametrize(
    ("model", "size", "rule"),
    [
        ("gpt-image-2", "1000x1024", "multiples of 16"),
        ("gpt-image-2", "3072x1008", "aspect ratio"),
        ("gpt-image-2.5-sunburst", "3856x1296", "at most 3840x2160"),
        ("gpt-image-2", "2400x2400", "at most 3840x2160"),
        ("gpt-image-1.5", "64x64", "takes only auto, 1024x1024"),
        ("gpt-image-2", "big", "WIDTHxHEIGHT"),
    ],
)
@pytest.mark.filterwarnings("ignore::provenance.backends.openai.RetiredModelWarning")
def test_size_rules_say_which_failed_and_nothing_is_sent(
    server: OpenAIServer, model: str, size: str, rule: str
) -> None:
    with pytest.raises(InputError, match=rule):
        _gen(_backend(server, model), size=size)
    assert server.requests == []


def test_large_custom_size_and_new_params_are_sent_and_recorded(server: OpenAIServer) -> None:
    result = _gen(
        _backend(server, "gpt-image-2.5-sunburst"),
        size="1536x864",
        options={"quality": "xhigh", "complexity": "high", "moderation": "low"},
    )
    sent = server.requests[-1].json
    assert sent is not None
    assert (sent["size"], sent["quality"], sent["complexity"]) == ("1536x864", "xhigh", "high")
    assert result.facts["params"]["complexity"] == "high"
    assert result.facts["quality"] == "xhigh" and result.facts["request_id"]
    assert Image.open(io.BytesIO(result.outputs[0].data)).size == (1536, 864)


@pytest.mark.parametrize(
    ("model", "kw", "message"),
    [
        ("gpt-image-2", {"options": {"quality": "max"}}, "xhigh and max need gpt-image-2.5"),
        ("gpt-image-2", {"options": {"frame_count": 4}}, "frame_count: only for gif"),
        ("gpt-image-2", {"output_format": "gif", "options": {"frame_count": 17}}, "2 to 16"),
        (
            "gpt-image-2",
            {"output_format": "gif", "options": {"stream": True}},
            "stream: not available with gif",
        ),
        (
            "gpt-image-2",
            {"output_format": "gif", "options": {"output_compression": 50}},
            "only for jpeg or webp output, not gif",
        ),
        ("gpt-image-2", {"output_format": "svg", "n": 2}, "svg output makes one image"),
        ("gpt-image-2", {"options": {"svg": {"model": "x"}}}, "svg: only for svg output"),
        ("gpt-image-2", {"options": {"complexity": "extreme"}}, "choose one of low, medium"),
        ("gpt-image-2", {"output_format": "tiff"}, "choose one of png, jpeg, webp, gif, svg"),
    ],
)
def test_parameters_refused_before_the_wire(
    server: OpenAIServer, model: str, kw: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        _gen(_backend(server, model), size="64x64", **kw)
    assert server.requests == []


def test_gif_and_svg_outputs(server: OpenAIServer) -> None:
    backend = _backend(server)
    gif = _gen(
        backend,
        size="64x64",
        output_format="gif",
        options={"frame_count": 4, "frame_duration_ms": 120},
    ).outputs[0]
    assert gif.mime == "image/gif"
    img = Image.open(io.BytesIO(gif.data))
    assert img.n_frames == 4 and img.info["duration"] == 120
    svg = _gen(backend, size="64x48", output_format="svg").outputs[0]
    assert svg.mime == "image/svg+xml" and svg.data.startswith(b"<svg")


def test_gif_edit_with_mask_refused_and_sixteen_images_the_limit(server: OpenAIServer) -> None:
    backend = _backend(server)
    images = (ImageInput(png_bytes((64, 64)), "parent", "image/png", "p.png"),)
    mask = ImageInput(png_bytes((64, 64), "white"), "mask", "image/png", "m.png")
    with pytest.raises(InputError, match="no mask with gif"):
        backend.edit(EditRequest(images=images, instruction="x", mask=mask, output_format="gif"))
    many = images * 17
    with pytest.raises(InputError, match="at most 16"):
        backend.edit(EditRequest(images=many, instruction="x"))
    result = backend.edit(
        EditRequest(images=images * 16, instruction="x", options={"input_fidelity": "high"})
    )
    assert len([p for p in server.requests[-1].files if p.name == "image[]"]) == 16
    assert result.facts["params"]["image_count"] == 16


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"model": "gpt-image-2", "quality": "max"}, "invalid_value"),
        ({"model": "gpt-image-2", "output_format": "gif", "stream": True}, "invalid_value"),
        ({"model": "gpt-image-2", "size": "1000x1000"}, None),
        ({"model": "gpt-image-1", "size": "1024x1024"}, "model_not_found"),
    ],
)
def test_stand_in_server_refuses_what_the_api_refuses(
    server: OpenAIServer, params: dict[str, Any], code: str | None
) -> None:
    client = openai.OpenAI(api_key=server.api_key, base_url=server.base_url, max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        client.images.generate(prompt="x", **params)
    assert info.value.status_code in (400, 404)
    assert getattr(info.value, "code", None) == code
