"""OpenAIBackend failures: each API failure maps to one error class, with no key anywhere."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from PIL import Image

from provenance.backends.base import EditRequest, GenerateRequest, ImageInput
from provenance.backends.openai import OpenAIBackend
from provenance.errors import (
    EXIT_AUTH,
    EXIT_BACKEND,
    EXIT_RATE_LIMITED,
    EXIT_REFUSED,
    BackendAuthError,
    BackendError,
    BackendRateLimitError,
    BackendRefusedError,
    BackendUnavailableError,
    InputError,
)
from tests.openai_server import OpenAIServer

KEY = "sk-proj-SECRETkey0123456789abcdefXYZ"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY) as s:
        yield s


def _backend(server: OpenAIServer, **kw: float) -> OpenAIBackend:
    return OpenAIBackend(
        api_key=KEY,
        base_url=server.base_url,
        max_retries=int(kw.get("max_retries", 0)),
        timeout=kw.get("timeout", 30.0),
    )


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 128).save(buf, "PNG")
    return buf.getvalue()


def _generate(backend: OpenAIBackend, prompt: str = "a kite") -> None:
    backend.generate(GenerateRequest(prompt=prompt, size="16x16"))


@pytest.mark.parametrize(
    ("status", "code", "error", "exit_code"),
    [
        (400, "moderation_blocked", BackendRefusedError, EXIT_REFUSED),
        (401, "invalid_api_key", BackendAuthError, EXIT_AUTH),
        (403, None, BackendAuthError, EXIT_AUTH),
        (429, "rate_limit_exceeded", BackendRateLimitError, EXIT_RATE_LIMITED),
        (500, None, BackendUnavailableError, EXIT_BACKEND),
        (404, "model_not_found", BackendError, EXIT_BACKEND),
    ],
)
def test_each_failure_maps_to_its_error(
    server: OpenAIServer, status: int, code: str | None, error: type[BackendError], exit_code: int
) -> None:
    server.fail_next(status, code, retry_after="0" if status == 429 else None)
    with pytest.raises(error) as info:
        _generate(_backend(server))
    e = info.value
    assert type(e) is error and e.exit_code == exit_code
    assert e.status == status and e.code == code
    assert e.request_id == server.requests[-1].request_id
    text = e.diagnostics()
    assert "\n" not in text and str(status) in text and e.request_id in text
    if code:
        assert code in text


def test_refusal_by_prompt_carries_message_and_code(server: OpenAIServer) -> None:
    with pytest.raises(BackendRefusedError) as info:
        _generate(_backend(server), prompt="something [[blocked]]")
    assert info.value.code == "moderation_blocked"
    assert "safety system" in str(info.value)


def test_wrong_key_never_appears_in_errors_or_logs(
    server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-proj-WRONGkey9876543210zyxwvu"
    backend = OpenAIBackend(api_key=wrong, base_url=server.base_url, max_retries=0)
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendAuthError) as info:
        _generate(backend)
    text = str(info.value)
    assert "Incorrect API key" in text
    # The server echoes a masked key (as the real API does); not even that part may leak.
    for secret in (wrong, wrong[-4:], "sk-pro"):
        assert secret not in text
        assert secret not in caplog.text
    assert wrong not in repr(backend)


def test_key_never_logged_on_success_or_failure(
    server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    backend = _backend(server)
    with caplog.at_level(logging.DEBUG):
        _generate(backend)
        server.fail_next(500)
        with pytest.raises(BackendUnavailableError) as info:
            _generate(backend)
    assert caplog.records  # the SDK and the backend did log at DEBUG
    assert KEY not in caplog.text and KEY[-8:] not in caplog.text
    assert KEY not in str(info.value)


def test_max_retries_zero_makes_one_request(server: OpenAIServer) -> None:
    server.fail_next(500, times=5)
    with pytest.raises(BackendUnavailableError):
        _generate(_backend(server, max_retries=0))
    assert len(server.requests) == 1


def test_retries_are_configurable(server: OpenAIServer) -> None:
    server.fail_next(500, times=1)
    result = _backend(server, max_retries=1).generate(GenerateRequest(prompt="x", size="16x16"))
    assert len(server.requests) == 2 and [r.status for r in server.requests] == [500, 200]
    assert result.facts["request_id"] == server.requests[1].request_id


def test_rate_limit_after_the_sdk_retries(server: OpenAIServer) -> None:
    server.fail_next(429, "rate_limit_exceeded", times=2, retry_after="0")
    with pytest.raises(BackendRateLimitError) as info:
        _generate(_backend(server, max_retries=1))
    assert len(server.requests) == 2
    assert info.value.retry_after == "0" and "retry after 0s" in str(info.value)


def test_timeout_is_unavailable(server: OpenAIServer) -> None:
    server.delay = 1.5
    with pytest.raises(BackendUnavailableError) as info:
        _generate(_backend(server, timeout=0.2))
    assert "timeout" in str(info.value) and "0.2s" in str(info.value)


def test_connection_refused_is_unavailable() -> None:
    with OpenAIServer() as closed:
        url = closed.base_url
    backend = OpenAIBackend(api_key=KEY, base_url=url, max_retries=0)
    with pytest.raises(BackendUnavailableError) as info:
        _generate(backend)
    assert "could not connect" in str(info.value)


def test_error_event_mid_stream(server: OpenAIServer) -> None:
    from tests.openai_server import Failure

    server.stream_error = Failure(400, "moderation_blocked", "The final image was blocked.")
    progress: list[str] = []
    with pytest.raises(BackendRefusedError) as info:
        _backend(server).generate(
            GenerateRequest(
                prompt="x",
                size="16x16",
                options={"stream": True, "partial_images": 1},
                on_progress=lambda m, f: progress.append(m),
            )
        )
    assert "partial image 1 of 1" in progress
    assert info.value.code == "moderation_blocked" and "final image was blocked" in str(info.value)
    assert info.value.request_id == server.requests[-1].request_id
    assert "None" not in str(info.value)


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InputError, match=r"^OPENAI_API_KEY is not set"):
        OpenAIBackend()


GEN_BAD = [
    ("retired_model", {"model": "dall-e-3"}, "retired"),
    (
        "transparent_jpeg",
        {"output_format": "jpeg", "options": {"background": "transparent"}},
        "needs output format png or webp",
    ),
    ("n_too_big", {"n": 11}, "1 to 10"),
    ("bad_size", {"size": "big"}, "WIDTHxHEIGHT"),
    ("unknown_option", {"options": {"style": "vivid"}}, "option 'style'"),
    ("bad_quality", {"options": {"quality": "ultra"}}, "option quality 'ultra'"),
    ("compression_png", {"options": {"output_compression": 50}}, "only for jpeg or webp"),
    (
        "compression_range",
        {"output_format": "webp", "options": {"output_compression": 101}},
        "0 to 100",
    ),
    ("partials_no_stream", {"options": {"partial_images": 2}}, "needs stream=True"),
    ("partials_range", {"options": {"stream": True, "partial_images": 4}}, "0 to 3"),
    ("seed", {"seed": 7}, "takes no seed"),
]


@pytest.mark.parametrize(("case", "fields", "message"), GEN_BAD, ids=[c[0] for c in GEN_BAD])
def test_bad_generate_parameters_fail_before_sending(
    server: OpenAIServer, case: str, fields: dict[str, object], message: str
) -> None:
    request = GenerateRequest(prompt="x", **fields)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=message):
        _backend(server).generate(request)
    assert server.requests == []


def _inp(data: bytes, role: str = "parent", name: str = "in.png") -> ImageInput:
    return ImageInput(data, role, "image/png", name)  # type: ignore[arg-type]


def test_too_many_edit_images_fail_before_sending(server: OpenAIServer) -> None:
    images = tuple(_inp(_png((16, 16))) for _ in range(17))
    with pytest.raises(InputError, match=r"17 input images.*at most 16"):
        _backend(server).edit(EditRequest(instruction="x", images=images))
    assert server.requests == []


def test_mask_of_wrong_size_fails_before_sending(server: OpenAIServer) -> None:
    request = EditRequest(
        instruction="x",
        images=(_inp(_png((32, 32))),),
        mask=_inp(_png((16, 16), "L"), "mask", "mask.png"),
    )
    with pytest.raises(InputError, match=r"mask mask.png is 16x16 but the image is 32x32"):
        _backend(server).edit(request)
    assert server.requests == []


def test_moderation_option_is_for_generate_only(server: OpenAIServer) -> None:
    request = EditRequest(
        instruction="x", images=(_inp(_png((16, 16))),), options={"moderation": "low"}
    )
    with pytest.raises(InputError, match="option 'moderation'"):
        _backend(server).edit(request)
    assert server.requests == []


def test_server_rejects_what_the_api_rejects(server: OpenAIServer) -> None:
    # The server checks what it receives: a mask without alpha is refused with the API's shape.
    import openai

    client = openai.OpenAI(api_key=KEY, base_url=server.base_url, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.images.edit(
            image=("a.png", _png((16, 16)), "image/png"),
            prompt="x",
            mask=("m.png", _png((16, 16), "L"), "image/png"),
        )
    assert "alpha" in str(info.value)
    with pytest.raises(openai.BadRequestError, match="differs"):
        client.images.edit(
            image=("a.png", _png((16, 16)), "image/png"),
            prompt="x",
            mask=("m.png", _png((32, 32), "RGBA"), "image/png"),
        )
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="sk-other", base_url=server.base_url, max_retries=0).images.generate(
            prompt="x"
        )
