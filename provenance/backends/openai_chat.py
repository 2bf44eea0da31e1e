"""Multi-turn image editing through OpenAI's Responses API and its ``image_generation`` tool.

Each turn is one ``responses.create`` call chained to the previous one by
``previous_response_id``, so the model keeps the conversation (and the last image) in context:
the first turn generates, later turns edit, optionally with a mask (``input_image_mask``) and
reference images (``input_image`` parts). A :class:`OpenAIConversation` is a backend (generate /
edit in, :class:`BackendResult` out) that remembers the chain; ``Recorder.session()`` records
every turn that yields an image. Example (needs ``OPENAI_API_KEY``)::

    chat = OpenAIBackend().conversation()
    first = chat.generate(GenerateRequest(prompt="a lighthouse on a cliff", size="1024x1024"))
    print(first.facts["response_id"], chat.chain)
"""

from __future__ import annotations

import base64
import binascii
import logging
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
    ImageInput,
)
from provenance.backends.openai_errors import translate
from provenance.backends.openai_params import (
    EDIT_OPTIONS,
    MIME_BY_FORMAT,
    api_params,
    check_seed,
    image_file,
    mask_file_for,
)
from provenance.errors import BackendError, BackendRefusedError, InputError
from provenance.media.imaging import sniff_mime

if TYPE_CHECKING:
    from provenance.backends.openai import OpenAIBackend

log = logging.getLogger(__name__)

# The Responses API's text model that drives the tool; the image model is the tool's own.
DEFAULT_CHAT_MODEL = "gpt-5"
# Sent at the top level of the request, not in the tool.
_TOP_LEVEL = ("user", "safety_identifier")
TOOL_OPTIONS = (EDIT_OPTIONS | {"moderation"}) - {"svg"}


class NoImageError(BackendError):
    """The model answered a turn in words only (``text``); the conversation goes on."""

    def __init__(self, message: str, *, text: str, response_id: str | None) -> None:
        super().__init__(message, request_id=None)
        self.text = text
        self.response_id = response_id


class OpenAIConversation:
    """One conversation: a backend whose calls are chained by ``previous_response_id``."""

    name = "openai"

    def __init__(self, backend: OpenAIBackend, *, chat_model: str | None = None) -> None:
        self._backend = backend
        self.model = backend.model
        self.chat_model = chat_model or DEFAULT_CHAT_MODEL
        self.previous_response_id: str | None = None
        self.chain: list[str] = []  # every response id of the conversation, oldest first

    def generate(self, request: GenerateRequest) -> BackendResult:
        return self._turn(request.prompt, request, (), None, "generate")

    def edit(self, request: EditRequest) -> BackendResult:
        if not request.images:
            raise InputError("edit: at least one input image is needed")
        # With a chain, the model already holds the previous image: send only the references.
        images = request.images[1:] if self.previous_response_id else request.images
        return self._turn(request.instruction, request, images, request, "edit")

    def _turn(
        self,
        text: str,
        request: GenerateRequest | EditRequest,
        images: tuple[ImageInput, ...],
        edit: EditRequest | None,
        action: str,
    ) -> BackendResult:
        model = self._backend._model(request.model)
        check_seed(request.seed)
        if request.n != 1:
            raise InputError(f"n {request.n}: a conversation turn makes one image (n=1)")
        params = api_params(
            model, 1, request.size, request.output_format, request.options, set(TOOL_OPTIONS)
        )
        tool: dict[str, Any] = {"type": "image_generation", "action": action}
        tool.update({k: v for k, v in params.items() if k not in ("n", "stream", *_TOP_LEVEL)})
        mask = edit.mask if edit is not None else None
        if mask is not None and edit is not None:
            tool["input_image_mask"] = {"image_url": _data_url(mask_file_for(mask, edit.images[0]))}
        content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
        content += [
            {"type": "input_image", "image_url": _data_url(image_file(img, i))}
            for i, img in enumerate(images)
        ]
        top = {k: params[k] for k in _TOP_LEVEL if k in params}
        sent = {
            "chat_model": self.chat_model,
            "tool": {k: v for k, v in tool.items() if k != "input_image_mask"},
            "previous_response_id": self.previous_response_id,
            "input_images": len(images),
            "mask": mask is not None,
            "stream": bool(params.get("stream")),
            **top,
        }
        body, request_id = self._call(
            [{"role": "user", "content": content}], tool, top, sent, request.on_progress
        )
        return self._result(model, body, request_id, sent, action, len(images), mask is not None)

    def _call(
        self,
        messages: list[dict[str, Any]],
        tool: dict[str, Any],
        top: dict[str, Any],
        sent: dict[str, Any],
        on_progress: Callable[[str, float | None], None] | None,
    ) -> tuple[dict[str, Any], str | None]:
        client = self._backend._client
        extra: dict[str, Any] = dict(top)
        if self.previous_response_id:
            extra["previous_response_id"] = self.previous_response_id
        if on_progress:
            on_progress(f"sending turn {len(self.chain) + 1} to OpenAI responses", 0.0)
        request_id = None
        try:
            raw = client.responses.with_raw_response.create(
                model=self.chat_model,
                input=messages,  # type: ignore[arg-type]
                tools=[tool],  # type: ignore[list-item]
                stream=sent["stream"],
                **extra,
            )
            request_id = raw.headers.get("x-request-id")
            parsed = raw.parse()
            body = (
                _collect(parsed, on_progress) if sent["stream"] else parsed.model_dump(mode="json")
            )
        except openai.OpenAIError as e:
            raise translate(
                e, self._backend._key, "responses", self._backend.timeout, request_id
            ) from None
        response_id = body.get("id")
        if isinstance(response_id, str):
            self.previous_response_id = response_id
            self.chain.append(response_id)
        return body, request_id

    def _result(
        self,
        model: str,
        body: dict[str, Any],
        request_id: str | None,
        sent: dict[str, Any],
        action: str,
        inputs: int,
        masked: bool,
    ) -> BackendResult:
        call = _image_call(body, request_id)
        said = " ".join(_texts(body)).strip()
        data = _decode(call["result"])
        fmt = str(call.get("output_format") or sent["tool"].get("output_format") or "png")
        facts: dict[str, Any] = {
            "endpoint": "responses",
            "request_id": request_id,
            "response_id": body.get("id"),
            "previous_response_id": sent["previous_response_id"],
            "response_chain": list(self.chain),
            "image_generation_call_id": call.get("id"),
            "created": body.get("created_at"),
            "usage": body.get("usage"),
            "tool_usage": body.get("tool_usage"),
            **{
                k: call.get(k) for k in ("action", "size", "quality", "background", "output_format")
            },
            "params": sent,
            "text": said or None,
        }
        source = TRAINED_ALGORITHMIC_MEDIA if action == "generate" else COMPOSITE_WITH_TRAINED
        actions: tuple[Action, ...] = ()
        if action == "edit":
            desc = f"Edited with {model} in an OpenAI Responses conversation"
            params = {"model": model, "inputs": inputs, "masked": masked}
            actions = (Action("c2pa.edited", params, COMPOSITE_WITH_TRAINED, desc),)
        mime = sniff_mime(data) or MIME_BY_FORMAT.get(fmt, "application/octet-stream")
        output = BackendOutput(data, mime, actions, call.get("revised_prompt"), {"index": 0})
        return BackendResult(
            outputs=(output,),
            backend=self.name,
            model=model,
            digital_source_type=source,
            software_agent=f"OpenAI Responses API image_generation ({model}, {self.chat_model}) "
            f"via openai-python {openai.__version__}",
            facts={k: v for k, v in facts.items() if v is not None or k == "previous_response_id"},
        )


def _image_call(body: dict[str, Any], request_id: str | None) -> dict[str, Any]:
    """The completed image_generation_call of a response; a refusal or no image raises."""
    items = [o for o in body.get("output") or [] if o.get("type") == "image_generation_call"]
    where = f" (response {body.get('id')}, request {request_id})"
    for item in items:
        error = item.get("error") or {}
        if item.get("status") == "failed" and error.get("code") == "moderation_blocked":
            raise BackendRefusedError(
                f"OpenAI responses moderation_blocked: {error.get('message', '')}{where}",
                code="moderation_blocked",
                request_id=request_id,
                status=200,
            )
    done = [o for o in items if o.get("status") == "completed" and o.get("result")]
    if done:
        return dict(done[-1])
    failed = next((o.get("error") for o in items if o.get("error")), None)
    if failed:
        raise BackendError(f"OpenAI responses: the image failed ({failed}){where}")
    raise NoImageError(
        f"OpenAI responses: the turn yielded no image{where}",
        text=" ".join(_texts(body)).strip(),
        response_id=body.get("id"),
    )


def _collect(events: Any, on_progress: Callable[[str, float | None], None] | None) -> Any:
    """The final response of an SSE stream; partial images become progress."""
    final: dict[str, Any] | None = None
    for event in events:
        kind = str(getattr(event, "type", ""))
        if kind.endswith("image_generation_call.partial_image") and on_progress:
            on_progress(f"partial image {int(event.partial_image_index) + 1}", None)
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            final = event.response.model_dump(mode="json")
        elif kind == "error":
            code = getattr(event, "code", None)
            cls = BackendRefusedError if code == "moderation_blocked" else BackendError
            raise cls(
                f"OpenAI responses stream error {code or ''}: {getattr(event, 'message', '')}",
                code=code,
            )
    if final is None:
        raise BackendError("OpenAI responses: the stream ended without a response")
    return final


def _texts(body: dict[str, Any]) -> list[str]:
    out = []
    for item in body.get("output") or []:
        if item.get("type") == "message":
            for part in item.get("content") or []:
                if part.get("type") == "output_text" and part.get("text"):
                    out.append(str(part["text"]))
    return out


def _data_url(file: tuple[str, bytes, str]) -> str:
    _, data, mime = file
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _decode(b64: Any) -> bytes:
    try:
        return base64.b64decode(str(b64), validate=True)
    except (binascii.Error, ValueError) as e:
        raise BackendError(f"OpenAI responses: invalid base64 image ({e})") from None
