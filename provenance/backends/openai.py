"""The OpenAI Images API backend (GPT Image models), through the official ``openai`` SDK.

Example (needs ``OPENAI_API_KEY``; ``OPENAI_BASE_URL`` may point at a compatible server)::

    from provenance.backends.base import GenerateRequest
    from provenance.backends.openai import OpenAIBackend

    backend = OpenAIBackend(model="gpt-image-1.5", timeout=60.0, max_retries=2)
    result = backend.generate(GenerateRequest(prompt="a lighthouse at dusk", size="1024x1024",
                                              options={"quality": "low"}))
    print(result.facts["request_id"], result.facts["usage"]["total_tokens"])
    open("lighthouse.png", "wb").write(result.outputs[0].data)

Nothing is lost from what the API returns: request id, ``created``, the size/quality/background/
format used, token usage and the parameters sent become facts for the ledger. The provider's
bytes are returned untouched (OpenAI signs its outputs with C2PA; the recorder keeps that
manifest as the parent ingredient). The API key never appears in facts, errors or log lines.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from collections.abc import Callable
from typing import Any

import openai

from provenance.backends.base import (
    COMPOSITE_WITH_TRAINED,
    TRAINED_ALGORITHMIC_MEDIA,
    Action,
    BackendOutput,
    BackendResult,
    EditRequest,
    GenerateRequest,
    ImageInput,
)
from provenance.credentials import has_manifest
from provenance.errors import (
    BackendAuthError,
    BackendError,
    BackendRateLimitError,
    BackendRefusedError,
    BackendUnavailableError,
    InputError,
)
from provenance.media.imaging import load_mask, mask_to_openai_png, open_image, sniff_mime

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-image-1.5"
MAX_EDIT_IMAGES = 16
_RETIRED = {"dall-e-2": "2026-05-12", "dall-e-3": "2026-05-12"}
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_SIZE = re.compile(r"^(auto|[1-9]\d{1,4}x[1-9]\d{1,4})$")
# Known options and the values they take (None = free text); each endpoint takes a subset.
_CHOICES: dict[str, tuple[str, ...] | None] = {
    "quality": ("auto", "low", "medium", "high", "xhigh", "max"),
    "background": ("auto", "opaque", "transparent"),
    "moderation": ("auto", "low"),
    "input_fidelity": ("high", "low"),
    "user": None,
    "safety_identifier": None,
}
_GENERATE_OPTIONS = {
    "quality",
    "background",
    "moderation",
    "user",
    "safety_identifier",
    "output_compression",
    "stream",
    "partial_images",
}
_EDIT_OPTIONS = (_GENERATE_OPTIONS - {"moderation"}) | {"input_fidelity"}
# Real keys look like sk-..., sk-proj-...; the API's 401 message echoes a masked key.
_KEYLIKE = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{3,}")


class OpenAIBackend:
    """GPT Image generations and edits. Satisfies :class:`provenance.backends.base.Backend`."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str = DEFAULT_MODEL,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        if not key.strip():
            raise InputError(
                "OPENAI_API_KEY is not set: export your OpenAI API key "
                "(or pass api_key=...) to use --backend openai"
            )
        if not timeout > 0:
            raise InputError(f"timeout {timeout!r}: must be a positive number of seconds")
        if max_retries < 0:
            raise InputError(f"max_retries {max_retries!r}: must be 0 or more")
        _check_model(model)
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self._key = key
        url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.base_url = url
        self._client = openai.OpenAI(
            api_key=key, base_url=url, timeout=timeout, max_retries=max_retries
        )

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    def generate(self, request: GenerateRequest) -> BackendResult:
        model = request.model or self.model
        _check_model(model)
        _check_seed(request.seed)
        params = _params(
            model,
            request.n,
            request.size,
            request.output_format,
            request.options,
            _GENERATE_OPTIONS,
        )
        log.info("openai images.generate model=%s n=%s size=%s", model, request.n, request.size)
        facts, images = self._call(
            "images.generations",
            params,
            request.on_progress,
            lambda p: self._client.images.with_raw_response.generate(prompt=request.prompt, **p),
        )
        return self._result(model, TRAINED_ALGORITHMIC_MEDIA, facts, images, ())

    def edit(self, request: EditRequest) -> BackendResult:
        model = request.model or self.model
        _check_model(model)
        _check_seed(request.seed)
        if not request.images:
            raise InputError("edit: at least one input image is needed")
        if len(request.images) > MAX_EDIT_IMAGES:
            raise InputError(
                f"edit: {len(request.images)} input images, but the OpenAI edits "
                f"endpoint takes at most {MAX_EDIT_IMAGES}"
            )
        params = _params(
            model, request.n, request.size, request.output_format, request.options, _EDIT_OPTIONS
        )
        files = [_file(img, i) for i, img in enumerate(request.images)]
        mask_file = _mask_file(request.mask, request.images[0]) if request.mask else None
        sent = {**params, "image_count": len(files), "mask": mask_file is not None}
        log.info(
            "openai images.edit model=%s images=%d mask=%s",
            model,
            len(files),
            mask_file is not None,
        )

        def call(p: dict[str, Any]) -> Any:
            extra: dict[str, Any] = {"mask": mask_file} if mask_file else {}
            # One image goes as field "image"; a list as repeated "image[]" parts (SDK's choice).
            image: Any = files[0] if len(files) == 1 else files
            return self._client.images.with_raw_response.edit(
                image=image, prompt=request.instruction, **p, **extra
            )

        facts, images = self._call("images.edits", params, request.on_progress, call, sent)
        action = Action(
            "c2pa.edited",
            digital_source_type=COMPOSITE_WITH_TRAINED,
            description=f"Edited with {model} through the OpenAI Images API",
            parameters={"model": model, "inputs": len(files), "masked": mask_file is not None},
        )
        return self._result(model, COMPOSITE_WITH_TRAINED, facts, images, (action,))

    # -- internals ---------------------------------------------------------------------------

    def _call(
        self,
        endpoint: str,
        params: dict[str, Any],
        on_progress: Callable[[str, float | None], None] | None,
        call: Callable[[dict[str, Any]], Any],
        sent: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], list[tuple[bytes, str | None]]]:
        stream = bool(params.get("stream"))
        if on_progress:
            on_progress(f"sending request to OpenAI {endpoint} ({params['model']})", 0.0)
        request_id: str | None = None
        try:
            raw = call(params)
            request_id = raw.headers.get("x-request-id")
            parsed = raw.parse()
            if stream:
                body, partials = _collect_stream(
                    parsed, int(params.get("partial_images", 0)), on_progress
                )
            else:
                body, partials = parsed.model_dump(mode="json", exclude_none=True), 0
        except openai.OpenAIError as e:
            raise _translate(e, self._key, endpoint, self.timeout, request_id) from None
        # (bytes, revised prompt): GPT Image models return no revised prompt, but keep one if sent.
        images = [
            (_decode(item.get("b64_json"), i), item.get("revised_prompt"))
            for i, item in enumerate(body.get("data") or [])
        ]
        if not images:
            raise BackendError(
                f"OpenAI {endpoint}: the response held no image (request {request_id})"
            )
        facts: dict[str, Any] = {
            "endpoint": endpoint,
            "request_id": request_id,
            "created": body.get("created"),
            "usage": body.get("usage"),
            "size": body.get("size"),
            "quality": body.get("quality"),
            "background": body.get("background"),
            "output_format": body.get("output_format"),
            "params": sent if sent is not None else params,
        }
        if stream:
            facts["partial_images_received"] = partials
        if on_progress:
            on_progress(f"received {len(images)} image(s) from OpenAI (request {request_id})", 1.0)
        return facts, images

    def _result(
        self,
        model: str,
        source_type: str,
        facts: dict[str, Any],
        images: list[tuple[bytes, str | None]],
        actions: tuple[Action, ...],
    ) -> BackendResult:
        fmt = str(facts.get("output_format") or facts["params"].get("output_format") or "png")
        outputs = []
        for i, (data, revised) in enumerate(images):
            mime = sniff_mime(data) or _MIME.get(fmt, "application/octet-stream")
            outputs.append(
                BackendOutput(
                    data=data,
                    mime=mime,
                    actions=actions,
                    revised_prompt=revised,
                    facts={"index": i, "provider_manifest": has_manifest(data, mime)},
                )
            )
        return BackendResult(
            outputs=tuple(outputs),
            backend=self.name,
            model=model,
            digital_source_type=source_type,
            software_agent=f"OpenAI Images API ({model}) via openai-python {openai.__version__}",
            facts=facts,
        )


def _check_model(model: str) -> None:
    if not model or not model.strip():
        raise InputError("model: empty model name")
    if model in _RETIRED:
        raise InputError(
            f"model {model!r}: retired by OpenAI on {_RETIRED[model]}; use a GPT "
            f"Image model such as {DEFAULT_MODEL}"
        )


def _check_seed(seed: int | None) -> None:
    if seed is not None:
        raise InputError(
            "seed: the OpenAI Images API takes no seed (its output is not "
            "reproducible); leave --seed out with --backend openai"
        )


def _params(
    model: str,
    n: int,
    size: str | None,
    output_format: str,
    options: dict[str, Any],
    allowed: set[str],
) -> dict[str, Any]:
    """The parameters to send, checked before anything goes over the wire."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InputError(
            f"option {unknown[0]!r}: not taken by the OpenAI backend here "
            f"(known: {', '.join(sorted(allowed))})"
        )
    if not isinstance(n, int) or not 1 <= n <= 10:
        raise InputError(f"n {n!r}: the OpenAI Images API makes 1 to 10 images per call")
    if output_format not in _MIME:
        raise InputError(f"output format {output_format!r}: choose png, jpeg or webp")
    params: dict[str, Any] = {"model": model, "n": n, "output_format": output_format}
    if size is not None:
        if not _SIZE.match(size):
            raise InputError(f"size {size!r}: use WIDTHxHEIGHT (e.g. 1024x1024) or auto")
        params["size"] = size
    for name, value in options.items():
        if value is None:
            continue
        choices = _CHOICES.get(name, ())
        if name in _CHOICES and not isinstance(value, str):
            raise InputError(f"option {name} {value!r}: must be a string")
        if choices and value not in choices:
            raise InputError(f"option {name} {value!r}: choose one of {', '.join(choices)}")
        params[name] = value
    if params.get("background") == "transparent" and output_format == "jpeg":
        raise InputError("background 'transparent' needs output format png or webp, not jpeg")
    _check_int(params, "output_compression", 0, 100)
    if "output_compression" in params and output_format == "png":
        raise InputError("option output_compression: only for jpeg or webp output, not png")
    if "stream" in params and not isinstance(params["stream"], bool):
        raise InputError(f"option stream {params['stream']!r}: must be true or false")
    _check_int(params, "partial_images", 0, 3)
    if params.get("partial_images") and not params.get("stream"):
        raise InputError("option partial_images: needs stream=True")
    return params


def _check_int(params: dict[str, Any], name: str, low: int, high: int) -> None:
    value = params.get(name)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
    ):
        raise InputError(f"option {name} {value!r}: must be an integer from {low} to {high}")


def _file(image: ImageInput, index: int) -> tuple[str, bytes, str]:
    name = os.path.basename(image.name) or f"image-{index + 1}"
    mime = sniff_mime(image.data) or image.mime
    if mime not in _MIME.values():
        raise InputError(
            f"input image {name}: {mime} is not accepted by OpenAI edits (use png, jpeg or webp)"
        )
    return name, image.data, mime


def _mask_file(mask: ImageInput, parent: ImageInput) -> tuple[str, bytes, str]:
    """The mask as OpenAI wants it: RGBA PNG, alpha 0 = editable, the parent's size."""
    name = os.path.basename(mask.name) or "mask"
    size = open_image(parent.data, name=os.path.basename(parent.name) or "image-1").size
    return "mask.png", mask_to_openai_png(load_mask(mask.data, size, name=name)), "image/png"


def _collect_stream(
    events: Any,
    partial_images: int,
    on_progress: Callable[[str, float | None], None] | None,
) -> tuple[dict[str, Any], int]:
    """Read SSE events: partials become progress; completed events become the response body."""
    body: dict[str, Any] = {"data": []}
    partials = 0
    for event in events:
        kind = str(getattr(event, "type", ""))
        if kind.endswith(".partial_image"):
            partials += 1
            if on_progress:
                idx = int(event.partial_image_index) + 1
                on_progress(
                    f"partial image {idx} of {partial_images}",
                    idx / (partial_images + 1) if partial_images else None,
                )
        elif kind.endswith(".completed"):
            done = event.model_dump(mode="json", exclude_none=True)
            body["data"].append({"b64_json": done.pop("b64_json", None)})
            body["created"] = done.pop("created_at", None)
            done.pop("type", None)
            body.update(done)
    return body, partials


def _decode(b64: Any, index: int) -> bytes:
    if not isinstance(b64, str):
        raise BackendError(
            f"OpenAI response image {index + 1}: no b64_json data (GPT Image models return base64)"
        )
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise BackendError(f"OpenAI response image {index + 1}: invalid base64 ({e})") from None


def _redact(text: str, key: str) -> str:
    if key:
        text = text.replace(key, "[redacted]")
    return _KEYLIKE.sub("sk-[redacted]", text)


def _translate(
    e: openai.OpenAIError,
    key: str,
    endpoint: str,
    timeout: float,
    stream_request_id: str | None = None,
) -> BackendError:
    """One clear line per failure; the key (even masked) never survives into the text."""
    if isinstance(e, openai.APITimeoutError):
        err: BackendError = BackendUnavailableError(
            f"OpenAI {endpoint}: no answer within {timeout:g}s (timeout; raise it or retry)"
        )
        return err
    if isinstance(e, openai.APIConnectionError):
        return BackendUnavailableError(f"OpenAI {endpoint}: could not connect ({e})")
    raw_body = getattr(e, "body", None)
    body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
    if isinstance(body.get("error"), dict):
        body = body["error"]
    message = str(body.get("message") or getattr(e, "message", "") or e).strip()
    code = body.get("code") or getattr(e, "code", None)
    status = getattr(e, "status_code", None)
    # An error event inside a stream has no response of its own: use the stream's request id.
    request_id = getattr(e, "request_id", None) or stream_request_id
    retry_after: str | None = None
    if isinstance(e, openai.APIStatusError):
        retry_after = e.response.headers.get("retry-after")
    where = f" (request {request_id})" if request_id else ""
    label = " ".join(str(x) for x in (status, code) if x) or "error"
    text = _redact(f"OpenAI {endpoint} {label}: {message}{where}", key).replace("\n", " ")
    cls: type[BackendError]
    if code == "moderation_blocked":
        cls = BackendRefusedError
    elif status in (401, 403):
        cls = BackendAuthError
    elif status == 429:
        cls = BackendRateLimitError
        if retry_after:
            text += f"; retry after {retry_after}s"
    elif status is None or status >= 500:
        cls = BackendUnavailableError if status else BackendError
    else:
        cls = BackendError
    return cls(
        text,
        code=str(code) if code else None,
        request_id=request_id,
        status=status,
        retry_after=retry_after,
    )
