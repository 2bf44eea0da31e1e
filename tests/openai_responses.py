"""The stand-in server's Responses API (``POST /v1/responses``) with the ``image_generation`` tool.

Speaks what multi-turn editing uses: ``previous_response_id`` chaining (the server keeps each
response's image, so a later turn edits it), ``input_image`` parts as data URLs, the tool's
``input_image_mask``, JSON or SSE (``response.image_generation_call.partial_image``,
``response.output_item.done``, ``response.completed``), the API's error shape, and two kinds of
refusal: a prompt containing ``[[blocked]]`` yields a failed ``image_generation_call`` with
``moderation_blocked``; ``[[words]]`` yields a text-only answer. Also ``POST
/v1/content_provenance_checks`` (multipart ``file``): a SynthID-style answer for images this
server made (matched by their pixels, so it survives stripped metadata).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import time
from typing import TYPE_CHECKING, Any

from PIL import Image

from tests.openai_server import (
    ApiError,
    Failure,
    ReceivedRequest,
    _b64,
    _check_model_params,
    _check_size,
    _open,
    _render,
    _sse,
)

if TYPE_CHECKING:
    from tests.openai_server import OpenAIServer

_TOP = {
    "model",
    "input",
    "tools",
    "previous_response_id",
    "stream",
    "safety_identifier",
    "user",
    "tool_choice",
    "instructions",
    "store",
}
_TOOL = {
    "type",
    "action",
    "model",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "input_fidelity",
    "input_image_mask",
    "partial_images",
    "complexity",
    "frame_count",
    "frame_duration_ms",
}

Reply = tuple[int, dict[str, str], bytes | list[bytes]]


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(Failure(400, code, message, param=param))


def _image_url(url: Any, what: str) -> Image.Image:
    if not isinstance(url, str) or not url.startswith("data:image/") or ";base64," not in url:
        raise _bad(f"Invalid {what}: expected a base64 data URL.", what)
    try:
        data = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError) as e:
        raise _bad(f"Invalid {what}: bad base64.", what) from e
    return _open(data, what)


def _read_input(value: Any) -> tuple[str, list[Image.Image]]:
    if isinstance(value, str):
        return value, []
    if not isinstance(value, list):
        raise _bad("Invalid 'input': a string or a list of messages.", "input")
    texts, images = [], []
    for message in value:
        parts = message.get("content") if isinstance(message, dict) else None
        for part in parts if isinstance(parts, list) else [{"type": "input_text", "text": parts}]:
            if part.get("type") == "input_text":
                texts.append(str(part.get("text") or ""))
            elif part.get("type") == "input_image":
                images.append(_image_url(part.get("image_url"), "input_image"))
            else:
                raise _bad(f"Invalid content part type: {part.get('type')!r}.", "input")
    return " ".join(texts), images


def _tool(params: dict[str, Any]) -> dict[str, Any]:
    tools = params.get("tools")
    if not isinstance(tools, list) or len(tools) != 1 or not isinstance(tools[0], dict):
        raise _bad("This server takes exactly one tool, image_generation.", "tools")
    tool = tools[0]
    if tool.get("type") != "image_generation":
        raise _bad(f"Unsupported tool type: {tool.get('type')!r}.", "tools[0].type")
    unknown = sorted(set(tool) - _TOOL)
    if unknown:
        raise _bad(f"Unknown parameter: 'tools[0].{unknown[0]}'.", unknown[0], "unknown_parameter")
    return dict(tool)


def respond(server: OpenAIServer, rec: ReceivedRequest, body: bytes) -> Reply:
    """One ``POST /v1/responses``."""
    try:
        params = json.loads(body)
    except ValueError as e:
        raise _bad(f"We could not parse the JSON body: {e}") from e
    rec.json = params
    unknown = sorted(set(params) - _TOP)
    if unknown:
        raise _bad(f"Unknown parameter: '{unknown[0]}'.", unknown[0], "unknown_parameter")
    if not isinstance(params.get("model"), str):
        raise _bad("Missing required parameter: 'model'.", "model")
    tool = _tool(params)
    text, images = _read_input(params.get("input"))
    previous = params.get("previous_response_id")
    base: Image.Image | None = None
    if previous is not None:
        if previous not in server.responses:
            raise _bad(
                f"Previous response with id '{previous}' not found.",
                "previous_response_id",
                "previous_response_not_found",
            )
        base = server.responses[previous]
    if base is None and images:
        base, images = images[0], images[1:]
    model = str(tool.get("model") or "gpt-image-2")
    server._check_model(model)
    fmt = str(tool.get("output_format") or "png")
    stream = bool(params.get("stream"))
    mask = _mask(tool, base)
    _check_model_params(model, {**tool, "stream": stream}, fmt, mask is not None)
    action = str(tool.get("action") or "auto")
    if action == "edit" and base is None:
        raise _bad("Action 'edit' needs an image in the conversation.", "tools[0].action")
    response_id = f"resp_{rec.request_id[-6:]}{len(server.responses):04d}"
    item = _call_item(server, rec, tool, text, base, images, mask, model, fmt)
    image = item.pop("_image", None)
    server.responses[response_id] = image if image is not None else base
    reply = _response(params, response_id, item, text)
    if stream:
        events = _events(reply, item, tool)
        if server.stream_error is not None:  # the stream breaks after its first event
            f = server.stream_error
            error = {"type": "error", "code": f.code, "message": f.message, "param": f.param}
            events = [events[0], _sse("error", {**error, "sequence_number": 1})]
        return 200, {"content-type": "text/event-stream"}, events
    return 200, {"content-type": "application/json"}, json.dumps(reply).encode()


def _mask(tool: dict[str, Any], base: Image.Image | None) -> Image.Image | None:
    spec = tool.get("input_image_mask")
    if spec is None:
        return None
    if base is None:
        raise _bad("A mask needs an image to edit.", "tools[0].input_image_mask")
    mask = _image_url(spec.get("image_url") if isinstance(spec, dict) else None, "mask")
    if mask.format != "PNG" or "A" not in mask.getbands():
        raise _bad("Invalid mask: it must be a PNG image with an alpha channel.", "mask")
    if mask.size != base.size:
        raise _bad(f"Invalid mask: its size {mask.size} differs from the image's {base.size}.")
    return mask


def _call_item(
    server: OpenAIServer,
    rec: ReceivedRequest,
    tool: dict[str, Any],
    text: str,
    base: Image.Image | None,
    refs: list[Image.Image],
    mask: Image.Image | None,
    model: str,
    fmt: str,
) -> dict[str, Any]:
    call_id = f"ig_{rec.request_id[-6:]}"
    if "[[words]]" in text:
        return {}
    if "[[blocked]]" in text:
        error = {
            "code": "moderation_blocked",
            "message": "Your request was rejected by the safety system.",
            "type": "image_generation_user_error",
        }
        return {"type": "image_generation_call", "id": call_id, "status": "failed", "error": error}
    size = str(tool.get("size") or "auto")
    if size == "auto":
        w, h = base.size if base is not None else (1024, 1024)
    else:
        w, h = _check_size(model, size)
    background = "transparent" if tool.get("background") == "transparent" else "opaque"
    seed = hashlib.sha256((rec.request_id + text).encode()).digest()
    inputs = [base, *refs] if base is not None else []
    picture = _render(seed, (w, h), background, inputs, mask)
    frames = (int(tool.get("frame_count") or 9), int(tool.get("frame_duration_ms") or 200))
    data = server._encode(picture, fmt, tool.get("output_compression"), frames=frames)
    rec.sent_images.append(data)
    server.issued[_pixels(data)] = (model, int(time.time()))
    return {
        "type": "image_generation_call",
        "id": call_id,
        "status": "completed",
        "result": _b64(data),
        "action": "edit" if base is not None else "generate",
        "background": background,
        "output_format": fmt,
        "quality": "medium" if tool.get("quality") in (None, "auto") else tool["quality"],
        "size": f"{w}x{h}",
        "revised_prompt": f"{text} (as drawn)",
        "_image": picture if fmt not in ("gif", "svg") else None,
    }


def _response(
    params: dict[str, Any], response_id: str, item: dict[str, Any], text: str
) -> dict[str, Any]:
    said = "I could not make that image." if "[[words]]" in text else "Here is the image."
    message = {
        "type": "message",
        "id": f"msg_{response_id[5:]}",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": said, "annotations": []}],
    }
    words = len(text.split())
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": params["model"],
        "output": [*([item] if item else []), message],
        "previous_response_id": params.get("previous_response_id"),
        "tools": params["tools"],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "error": None,
        "incomplete_details": None,
        "metadata": {},
        "usage": {
            "input_tokens": words,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 1056 if item else 8,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": words + (1056 if item else 8),
        },
    }


def _events(reply: dict[str, Any], item: dict[str, Any], tool: dict[str, Any]) -> list[bytes]:
    seq = iter(range(1000))
    started = {**reply, "status": "in_progress", "output": []}
    events = [_sse("response.created", _ev("response.created", next(seq), response=started))]
    for k in range(int(tool.get("partial_images") or 0) if item.get("result") else 0):
        events.append(
            _sse(
                "response.image_generation_call.partial_image",
                _ev(
                    "response.image_generation_call.partial_image",
                    next(seq),
                    item_id=item["id"],
                    output_index=0,
                    partial_image_index=k,
                    partial_image_b64=item["result"],
                ),
            )
        )
    for index, out in enumerate(reply["output"]):
        done = _ev("response.output_item.done", next(seq), item=out, output_index=index)
        events.append(_sse("response.output_item.done", done))
    events.append(_sse("response.completed", _ev("response.completed", next(seq), response=reply)))
    return events


def _ev(kind: str, sequence: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "sequence_number": sequence, **fields}


def _pixels(data: bytes) -> str:
    """What survives stripped metadata: the decoded pixels (SVG: its text)."""
    try:
        img = Image.open(io.BytesIO(data))
        return hashlib.sha256(img.convert("RGBA").tobytes()).hexdigest()
    except Exception:
        return hashlib.sha256(data).hexdigest()


def provenance_check(server: OpenAIServer, rec: ReceivedRequest) -> Reply:
    """``POST /v1/content_provenance_checks``: SynthID by pixels, C2PA by the provider's mark."""
    files = [p for p in rec.files if p.name == "file"]
    if not files:
        raise _bad("Missing required parameter: 'file'.", "file")
    data = files[0].data
    _open(data, "file")
    found = server.issued.get(_pixels(data))
    stamp = (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(found[1])) if found is not None else None
    )
    signed = server.provider_c2pa and b"c2pa" in data and found is not None
    c2pa: dict[str, Any] = {
        "type": "c2pa",
        "outcome": "detected" if signed else "not_detected",
        "validation_state": "valid" if signed else "not_present",
    }
    if signed and found is not None:
        c2pa.update(issuer="Test Image Provider", model=found[0], generated_at=stamp)
    synthid: dict[str, Any] = {
        "type": "synthid",
        "outcome": "detected" if found else "not_detected",
    }
    if found is not None:
        synthid.update(model=found[0], generated_at=stamp)
    body = {
        "object": "content_provenance_check",
        "created_at": int(time.time()),
        "results": [c2pa, synthid],
    }
    return 200, {"content-type": "application/json"}, json.dumps(body).encode()
