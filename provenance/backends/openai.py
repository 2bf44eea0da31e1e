"""The OpenAI Images API backend (GPT Image models), through the official ``openai`` SDK.

Example (needs ``OPENAI_API_KEY``; ``OPENAI_BASE_URL`` may point at a compatible server)::

    from provenance.backends.base import GenerateRequest
    from provenance.backends.openai import OpenAIBackend

    backend = OpenAIBackend(model="gpt-image-2", timeout=60.0, max_retries=2)
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
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import openai

from provenance.backends.base import (
    COMPOSITE_WITH_TRAINED,
    TRAINED_ALGORITHMIC_MEDIA,
    Action,
    BackendOutput,
    BackendResult,
    EditRequest,
    GenerateRequest,
)
from provenance.backends.openai_errors import translate
from provenance.backends.openai_models import check_model, default_model, retirement_notice
from provenance.backends.openai_params import (
    EDIT_OPTIONS,
    GENERATE_OPTIONS,
    MAX_INPUT_IMAGES,
    MIME_BY_FORMAT,
    api_params,
    check_seed,
    image_file,
    mask_file_for,
)
from provenance.errors import (
    BackendError,
    InputError,
    MissingAPIKeyError,
)
from provenance.media.imaging import sniff_mime
from provenance.redaction import register_secret

if TYPE_CHECKING:
    from provenance.backends.openai_chat import OpenAIConversation

log = logging.getLogger(__name__)

MAX_EDIT_IMAGES = MAX_INPUT_IMAGES


class RetiredModelWarning(UserWarning):
    """Issued before a request names a model OpenAI has shut down (the request still goes)."""


class OpenAIBackend:
    """GPT Image generations and edits. Satisfies :class:`provenance.backends.base.Backend`."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        if not key.strip():
            raise MissingAPIKeyError("OPENAI_API_KEY", "OpenAI", "openai")
        if not timeout > 0:
            raise InputError(f"timeout {timeout!r}: must be a positive number of seconds")
        if max_retries < 0:
            raise InputError(f"max_retries {max_retries!r}: must be 0 or more")
        model = model or default_model()
        check_model(model)
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self._key = key
        register_secret(key)  # kept out of every message the process prints
        url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.base_url = url
        self._client = openai.OpenAI(
            api_key=key, base_url=url, timeout=timeout, max_retries=max_retries
        )

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    def generate(self, request: GenerateRequest) -> BackendResult:
        model = self._model(request.model)
        check_seed(request.seed)
        params = api_params(
            model,
            request.n,
            request.size,
            request.output_format,
            request.options,
            GENERATE_OPTIONS,
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
        model = self._model(request.model)
        check_seed(request.seed)
        if not request.images:
            raise InputError("edit: at least one input image is needed")
        if len(request.images) > MAX_EDIT_IMAGES:
            raise InputError(
                f"edit: {len(request.images)} input images, but the OpenAI edits "
                f"endpoint takes at most {MAX_EDIT_IMAGES}"
            )
        params = api_params(
            model, request.n, request.size, request.output_format, request.options, EDIT_OPTIONS
        )
        if request.mask is not None and request.output_format == "gif":
            raise InputError("mask: OpenAI takes no mask with gif output")
        files = [image_file(img, i) for i, img in enumerate(request.images)]
        mask_file = mask_file_for(request.mask, request.images[0]) if request.mask else None
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

    def conversation(self, *, chat_model: str | None = None) -> OpenAIConversation:
        """A multi-turn session through the Responses API, sharing this client and model."""
        from provenance.backends.openai_chat import OpenAIConversation

        return OpenAIConversation(self, chat_model=chat_model)

    # -- internals ---------------------------------------------------------------------------

    def _model(self, requested: str | None) -> str:
        """The model to send: checked, and a warning issued (once per call) when it is retired."""
        model = requested or self.model
        check_model(model)
        notice = retirement_notice(model)
        if notice:
            log.warning("%s", notice)
            warnings.warn(notice, RetiredModelWarning, stacklevel=3)
        return model

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
            raise translate(e, self._key, endpoint, self.timeout, request_id) from None
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
            mime = sniff_mime(data) or MIME_BY_FORMAT.get(fmt, "application/octet-stream")
            outputs.append(
                BackendOutput(
                    data=data,
                    mime=mime,
                    actions=actions,
                    revised_prompt=revised,
                    facts={"index": i},
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
