"""A local server that speaks the OpenAI Images API wire format, for tests and demos.

It implements ``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart,
``image`` or repeated ``image[]`` parts, optional ``mask``), with SSE streaming, the usage block,
the API's error shape, ``x-request-id`` and ``retry-after``; the per-model rules of today's GPT
Image models (custom sizes for gpt-image-2+, xhigh/max, gif with frames, svg, complexity; models
shut down answer 404 ``model_not_found``); and, in :mod:`tests.openai_responses`, the Responses
API with the ``image_generation`` tool and ``POST /v1/content_provenance_checks``. It returns real PNG/JPEG/WebP images
of the requested size (transparent when asked), optionally already signed with C2PA by a test
"provider" CA, checks what it receives and records every request.

    from openai import OpenAI
    from tests.openai_server import OpenAIServer

    with OpenAIServer() as server:
        client = OpenAI(api_key=server.api_key, base_url=server.base_url)
        result = client.images.generate(prompt="a red kite", size="64x64")
        assert server.requests[-1].json["prompt"] == "a red kite"

Run by hand: ``python -m tests.openai_server --port 8089 [--provider-c2pa]``, then point
``OPENAI_BASE_URL=http://127.0.0.1:8089/v1`` and ``OPENAI_API_KEY=sk-test-local`` at it.

Scenario control: :meth:`OpenAIServer.fail_next` makes the next request(s) fail (moderation,
401, 429, 500, ...); :attr:`OpenAIServer.delay` slows every response (for timeouts); a prompt
containing ``[[blocked]]`` is refused with ``moderation_blocked``; :attr:`OpenAIServer.stream_error`
ends a stream with an SSE error event.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import io
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

DEFAULT_KEY = "sk-test-local-0123456789abcdef"
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
    "gif": ("GIF", "image/gif"),
    "svg": ("SVG", "image/svg+xml"),
}
# Shut down by OpenAI (model -> date); the real API answers 404 model_not_found from that day.
SHUT_DOWN = {
    "gpt-image-1": "2026-10-23",
    "gpt-image-1.5": "2026-12-01",
    "gpt-image-1-mini": "2026-12-01",
    "chatgpt-image-latest": "2026-12-01",
}
_STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")
_GEN_FIELDS = {
    "prompt",
    "model",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "user",
    "safety_identifier",
    "stream",
    "partial_images",
    "response_format",
    "style",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "svg",
}
_EDIT_FIELDS = (_GEN_FIELDS - {"moderation", "style"}) | {"input_fidelity"}


@dataclass
class Part:
    """One multipart form part as received."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class ReceivedRequest:
    """What the server received: tests assert on this."""

    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    fields: dict[str, str] = field(default_factory=dict)
    files: list[Part] = field(default_factory=list)
    request_id: str = ""
    status: int = 0
    sent_images: list[bytes] = field(default_factory=list)  # final images in the response

    def file_names(self) -> list[str]:
        return [p.name for p in self.files]


@dataclass
class Failure:
    """A scripted failure: the API's error shape with this status and code."""

    status: int
    code: str | None
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    retry_after: str | None = None


class ApiError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class OpenAIServer:
    """The server, run in a daemon thread on 127.0.0.1 (port 0 = a free port)."""

    def __init__(
        self, *, api_key: str | None = DEFAULT_KEY, port: int = 0, provider_c2pa: bool = False
    ) -> None:
        self.api_key = api_key or ""
        self.check_key = api_key is not None
        self.provider_c2pa = provider_c2pa
        self.delay = 0.0
        self.stream_error: Failure | None = None  # sent as an SSE error event after the partials
        self.revised_prompt: str | None = None  # sent with each image when set (older models did)
        self.today = _dt.datetime.now(_dt.UTC).date().isoformat()  # for SHUT_DOWN
        self.responses: dict[str, Image.Image | None] = {}  # Responses API: id -> its image
        self.issued: dict[str, tuple[str, int]] = {}  # pixel hash -> (model, time) of our images
        self.requests: list[ReceivedRequest] = []
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._provider: _ProviderSigner | None = None
        # Pillow registers its plugins lazily and not thread-safely: do it once, here, so the
        # server thread and the client never race on it (seen as KeyError: 'MPO').
        Image.init()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def provider_ca_pem(self) -> str:
        """The test provider's root certificate (PEM), to use as a trust anchor."""
        return self._signer().ca_pem

    def start(self) -> OpenAIServer:
        # A short poll interval keeps shutdown (once per test) fast.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        times: int = 1,
        retry_after: str | None = None,
        type: str | None = None,
    ) -> None:
        """Make the next ``times`` requests fail with the API's error body and this status."""
        kind = type or {
            400: "invalid_request_error",
            401: "invalid_request_error",
            403: "invalid_request_error",
            429: "requests",
        }.get(status, "server_error")
        msg = message or {
            400: "Your request was rejected by the safety system.",
            401: "Incorrect API key provided.",
            403: "You are not allowed to use this model.",
            429: "Rate limit reached for images per minute.",
        }.get(status, "The server had an error processing your request.")
        with self._lock:
            self._failures.extend(
                Failure(status, code, msg, kind, None, retry_after) for _ in range(times)
            )

    # -- request handling -------------------------------------------------------------------

    def _signer(self) -> _ProviderSigner:
        with self._lock:
            if self._provider is None:
                self._provider = _ProviderSigner()
            return self._provider

    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes | list[bytes]]:
        rec = ReceivedRequest(
            path=path, headers=headers, request_id=f"req_test_{next(self._ids):06d}"
        )
        with self._lock:
            self.requests.append(rec)
        if self.delay:
            time.sleep(self.delay)
        try:
            self._check_auth(headers)
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                raise ApiError(failure)
            if path == "/v1/images/generations":
                params = self._parse_json(rec, body)
                status, out_headers, payload = self._generate(
                    rec, params, [], None, "image_generation"
                )
            elif path == "/v1/images/edits":
                params, images, mask = self._parse_edit(rec, headers, body)
                status, out_headers, payload = self._generate(
                    rec, params, images, mask, "image_edit"
                )
            elif path == "/v1/responses":
                from tests.openai_responses import respond

                status, out_headers, payload = respond(self, rec, body)
            elif path == "/v1/content_provenance_checks":
                from tests.openai_responses import provenance_check

                self._parse_multipart(rec, headers, body)
                status, out_headers, payload = provenance_check(self, rec)
            else:
                raise ApiError(Failure(404, "unknown_url", f"Invalid URL (POST {path})"))
        except ApiError as e:
            f = e.failure
            err = {
                "error": {"message": f.message, "type": f.type, "param": f.param, "code": f.code}
            }
            status, out_headers, payload = (
                f.status,
                {"content-type": "application/json"},
                json.dumps(err).encode(),
            )
            if f.retry_after is not None:
                out_headers["retry-after"] = f.retry_after
        rec.status = status
        out_headers["x-request-id"] = rec.request_id
        return status, out_headers, payload

    def _check_auth(self, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            raise ApiError(Failure(401, None, "You didn't provide an API key.", param=None))
        given = auth[7:]
        if self.check_key and given != self.api_key:
            # The real API echoes a masked key; the backend must not let even this leak.
            masked = given[:3] + "*" * 6 + given[-4:]
            raise ApiError(
                Failure(401, "invalid_api_key", f"Incorrect API key provided: {masked}.")
            )

    @staticmethod
    def _parse_json(rec: ReceivedRequest, body: bytes) -> dict[str, Any]:
        try:
            params = json.loads(body)
        except ValueError as e:
            raise ApiError(Failure(400, None, f"We could not parse the JSON body: {e}")) from e
        if not isinstance(params, dict):
            raise ApiError(Failure(400, None, "The body must be a JSON object."))
        rec.json = params
        unknown = sorted(set(params) - _GEN_FIELDS)
        if unknown:
            raise ApiError(
                Failure(
                    400,
                    "unknown_parameter",
                    f"Unknown parameter: '{unknown[0]}'.",
                    param=unknown[0],
                )
            )
        return params

    def _parse_edit(
        self, rec: ReceivedRequest, headers: dict[str, str], body: bytes
    ) -> tuple[dict[str, Any], list[Image.Image], Image.Image | None]:
        self._parse_multipart(rec, headers, body)
        names = set(rec.fields) | {p.name for p in rec.files}
        unknown = sorted(names - _EDIT_FIELDS - {"image", "image[]", "mask"})
        if unknown:
            raise ApiError(
                Failure(
                    400,
                    "unknown_parameter",
                    f"Unknown parameter: '{unknown[0]}'.",
                    param=unknown[0],
                )
            )
        image_parts = [p for p in rec.files if p.name in ("image", "image[]")]
        if not image_parts:
            raise ApiError(
                Failure(400, None, "Missing required parameter: 'image'.", param="image")
            )
        if len(image_parts) > 16:
            raise ApiError(
                Failure(400, None, "Too many images: at most 16 are allowed.", param="image")
            )
        images = [_open(p.data, "image") for p in image_parts]
        mask = None
        mask_parts = [p for p in rec.files if p.name == "mask"]
        if mask_parts:
            mask = _open(mask_parts[0].data, "mask")
            if mask.format != "PNG":
                raise ApiError(
                    Failure(400, None, "Invalid mask: it must be a PNG image.", param="mask")
                )
            if "A" not in mask.getbands():
                raise ApiError(
                    Failure(400, None, "Invalid mask: it must have an alpha channel.", param="mask")
                )
            if mask.size != images[0].size:
                raise ApiError(
                    Failure(
                        400,
                        None,
                        f"Invalid mask: its size {mask.size[0]}x{mask.size[1]} differs "
                        f"from the image's {images[0].size[0]}x{images[0].size[1]}.",
                        param="mask",
                    )
                )
        params: dict[str, Any] = dict(rec.fields)
        for key in (
            "n",
            "output_compression",
            "partial_images",
            "frame_count",
            "frame_duration_ms",
        ):
            if key in params:
                params[key] = _int_field(params[key], key)
        if "stream" in params:
            params["stream"] = params["stream"] == "true"
        return params, images, mask

    @staticmethod
    def _parse_multipart(rec: ReceivedRequest, headers: dict[str, str], body: bytes) -> None:
        ctype = headers.get("content-type", "")
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not ctype.startswith("multipart/form-data") or not m:
            raise ApiError(Failure(400, None, "Expected a multipart/form-data body."))
        for part in _split_multipart(body, m.group(1).encode()):
            if part.filename is None:
                rec.fields[part.name] = part.data.decode()
            else:
                rec.files.append(part)

    def _generate(
        self,
        rec: ReceivedRequest,
        params: dict[str, Any],
        images: list[Image.Image],
        mask: Image.Image | None,
        event_prefix: str,
    ) -> tuple[int, dict[str, str], bytes | list[bytes]]:
        prompt = params.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise ApiError(
                Failure(400, None, "Missing required parameter: 'prompt'.", param="prompt")
            )
        if "[[blocked]]" in prompt:
            raise ApiError(
                Failure(
                    400,
                    "moderation_blocked",
                    "Your request was rejected as a result of our safety system.",
                    param=None,
                )
            )
        model = str(params.get("model") or "gpt-image-2")
        self._check_model(model)
        n = params.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10:
            raise ApiError(
                Failure(
                    400, "integer_above_max_value", f"Invalid 'n': {n}; must be 1 to 10.", param="n"
                )
            )
        fmt = str(params.get("output_format") or "png")
        if fmt not in _FORMATS:
            raise ApiError(
                Failure(400, None, f"Invalid 'output_format': {fmt}.", param="output_format")
            )
        background = str(params.get("background") or "auto")
        if background == "transparent" and fmt not in ("png", "webp"):
            raise ApiError(
                Failure(
                    400, None, "Transparent background requires png or webp.", param="background"
                )
            )
        _check_model_params(model, params, fmt, mask is not None)
        size_text = str(params.get("size") or "auto")
        if size_text == "auto":
            width, height = images[0].size if images else (1024, 1024)
        else:
            width, height = _check_size(model, size_text)
        partials = params.get("partial_images", 0) or 0
        if not isinstance(partials, int) or not 0 <= partials <= 3:
            raise ApiError(
                Failure(400, None, f"Invalid 'partial_images': {partials}.", param="partial_images")
            )
        quality = str(params.get("quality") or "auto")
        quality = "medium" if quality == "auto" else quality
        resolved_bg = "transparent" if background == "transparent" else "opaque"
        compression = params.get("output_compression")
        seed = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).digest()
        frames = (int(params.get("frame_count") or 9), int(params.get("frame_duration_ms") or 200))
        outputs = [
            self._encode(
                _render(seed + bytes([i]), (width, height), resolved_bg, images, mask),
                fmt,
                compression,
                frames=frames,
            )
            for i in range(n)
        ]
        rec.sent_images = outputs
        from tests.openai_responses import _pixels

        for data in outputs:  # what a content provenance check will recognise later
            self.issued[_pixels(data)] = (model, int(time.time()))
        usage = {
            "input_tokens": len(prompt.split()) + 272 * len(images),
            "input_tokens_details": {
                "text_tokens": len(prompt.split()),
                "image_tokens": 272 * len(images),
            },
            "output_tokens": 1056 * n,
            "output_tokens_details": {"text_tokens": 0, "image_tokens": 1056 * n},
            "total_tokens": len(prompt.split()) + 272 * len(images) + 1056 * n,
        }
        created = int(time.time())
        size_out = f"{width}x{height}"
        if params.get("stream"):
            events = []
            for i, data in enumerate(outputs):
                base = {
                    "created_at": created,
                    "size": size_out,
                    "quality": quality,
                    "background": resolved_bg,
                    "output_format": fmt,
                }
                for k in range(partials):
                    preview = self._encode(
                        _render(seed + bytes([i, k]), (width, height), resolved_bg, [], None),
                        fmt,
                        compression,
                        sign=False,
                    )
                    events.append(
                        _sse(
                            f"{event_prefix}.partial_image",
                            {
                                "type": f"{event_prefix}.partial_image",
                                "b64_json": _b64(preview),
                                "partial_image_index": k,
                                **base,
                            },
                        )
                    )
                if self.stream_error is not None:
                    f = self.stream_error
                    events.append(
                        _sse(
                            "error",
                            {
                                "type": "error",
                                "error": {
                                    "message": f.message,
                                    "type": f.type,
                                    "param": f.param,
                                    "code": f.code,
                                },
                            },
                        )
                    )
                    break
                done_usage = {k: v for k, v in usage.items() if k != "output_tokens_details"}
                events.append(
                    _sse(
                        f"{event_prefix}.completed",
                        {
                            "type": f"{event_prefix}.completed",
                            "b64_json": _b64(data),
                            "usage": done_usage,
                            **base,
                        },
                    )
                )
            return 200, {"content-type": "text/event-stream"}, events
        body = {
            "created": created,
            "data": [
                {
                    "b64_json": _b64(d),
                    **({"revised_prompt": self.revised_prompt} if self.revised_prompt else {}),
                }
                for d in outputs
            ],
            "background": resolved_bg,
            "output_format": fmt,
            "quality": quality,
            "size": size_out,
            "usage": usage,
        }
        return 200, {"content-type": "application/json"}, json.dumps(body).encode()

    def _check_model(self, model: str) -> None:
        if model.startswith("dall-e"):
            raise ApiError(
                Failure(
                    400, "model_not_found", f"The model '{model}' has been retired.", param="model"
                )
            )
        shut = SHUT_DOWN.get(model)
        if shut is not None and shut <= self.today:
            raise ApiError(
                Failure(
                    404,
                    "model_not_found",
                    f"The model '{model}' was shut down on {shut}.",
                    param="model",
                )
            )

    def _encode(
        self,
        image: Image.Image,
        fmt: str,
        compression: Any,
        *,
        sign: bool = True,
        frames: tuple[int, int] = (9, 200),
    ) -> bytes:
        pil_format, mime = _FORMATS[fmt]
        if fmt in ("gif", "svg"):
            data = _gif(image, *frames) if fmt == "gif" else _svg(image)
            return self._signer().sign(data, mime) if sign and self.provider_c2pa else data
        if fmt == "jpeg":
            image = image.convert("RGB")
        buf = io.BytesIO()
        kwargs: dict[str, Any] = {}
        if fmt in ("jpeg", "webp") and isinstance(compression, int):
            kwargs["quality"] = max(1, compression)
        image.save(buf, pil_format, **kwargs)
        data = buf.getvalue()
        if sign and self.provider_c2pa:
            data = self._signer().sign(data, mime)
        return data


def _check_size(model: str, size: str) -> tuple[int, int]:
    """The real API's size rules: three standard sizes before gpt-image-2, then any WxH in bounds."""
    sm = _SIZE.match(size)
    if not sm:
        raise ApiError(Failure(400, None, f"Invalid 'size': {size}.", param="size"))
    w, h = int(sm.group(1)), int(sm.group(2))
    if model in SHUT_DOWN:  # the gpt-image-1 family
        ok = size in _STANDARD_SIZES
    else:
        ok = min(w, h) >= 16 and not (w % 16 or h % 16) and max(w, h) <= 3 * min(w, h)
        ok = ok and max(w, h) <= 3840 and min(w, h) <= 2160
    if not ok:
        raise ApiError(Failure(400, None, f"Invalid 'size': {size} for {model}.", param="size"))
    return w, h


def _major(model: str) -> float:
    m = re.match(r"gpt-image-(\d+(?:\.\d+)?)", model)
    return float(m.group(1)) if m else 2.0


def _check_model_params(model: str, params: dict[str, Any], fmt: str, masked: bool) -> None:
    """What the API refuses for the newer parameters."""

    def refuse(param: str, message: str) -> None:
        raise ApiError(Failure(400, "invalid_value", message, param=param))

    if params.get("quality") in ("xhigh", "max") and _major(model) < 2.5:
        refuse("quality", f"Quality '{params['quality']}' is not supported by {model}.")
    for name in ("frame_count", "frame_duration_ms"):
        if name in params and fmt != "gif":
            refuse(name, f"'{name}' is only supported with output_format=gif.")
    count = params.get("frame_count", 9)
    if not isinstance(count, int) or not 2 <= count <= 16:
        refuse("frame_count", f"Invalid 'frame_count': {count}; must be 2 to 16.")
    if fmt in ("gif", "svg"):
        for name in ("stream", "partial_images", "output_compression"):
            if params.get(name):
                refuse(name, f"'{name}' is not supported with output_format={fmt}.")
    if fmt == "gif" and masked:
        refuse("mask", "Masks are not supported with output_format=gif.")
    if fmt == "svg" and params.get("n", 1) != 1:
        refuse("n", "SVG generation requires n=1.")
    if "svg" in params and fmt != "svg":
        refuse("svg", "'svg' requires output_format=svg.")


def _gif(image: Image.Image, count: int, duration: int) -> bytes:
    """An animated GIF: the picture with its colours rotated a little per frame."""
    base = image.convert("RGB")
    frames = [base.point(lambda v, k=k: (v + 16 * k) % 256) for k in range(count)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0)
    return buf.getvalue()


def _svg(image: Image.Image) -> bytes:
    """An SVG drawing: the picture's corner and centre colours as a rectangle and a disc."""
    w, h = image.size
    rgb = image.convert("RGB")
    bg, fg = rgb.getpixel((0, 0)), rgb.getpixel((w // 2, h // 2))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="rgb{bg}"/>'
        f'<circle cx="{w // 2}" cy="{h // 2}" r="{min(w, h) // 4}" fill="rgb{fg}"/></svg>'
    ).encode()


def _render(
    seed: bytes,
    size: tuple[int, int],
    background: str,
    images: list[Image.Image],
    mask: Image.Image | None,
) -> Image.Image:
    """A deterministic picture: the first input (if any) with a coloured disc painted in."""
    seed = hashlib.sha256(seed).digest()  # each image of a call differs
    color = (seed[0], seed[1], seed[2], 255)
    if images:
        base = images[0].convert("RGBA").resize(size)
    elif background == "transparent":
        base = Image.new("RGBA", size, (0, 0, 0, 0))
    else:
        base = Image.new("RGBA", size, (seed[3], seed[4], seed[5], 255))
    overlay = base.copy()
    w, h = size
    ImageDraw.Draw(overlay).ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=color)
    if mask is not None:
        # Only where the mask is transparent may pixels change, as the API promises.
        editable = mask.getchannel("A").point(lambda a: 255 if a == 0 else 0).resize(size)
        return Image.composite(overlay, base, editable)
    return overlay


def _open(data: bytes, what: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as e:
        raise ApiError(
            Failure(
                400, "invalid_image_format", f"Invalid {what}: not a readable image.", param=what
            )
        ) from e
    return img


def _int_field(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError as e:
        raise ApiError(
            Failure(400, None, f"Invalid '{name}': {value!r} is not an integer.", param=name)
        ) from e


def _split_multipart(body: bytes, boundary: bytes) -> list[Part]:
    parts = []
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("latin-1").strip().split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disp = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disp)
        filename = re.search(r'\bfilename="([^"]*)"', disp)
        parts.append(
            Part(
                name.group(1) if name else "",
                filename.group(1) if filename else None,
                headers.get("content-type"),
                data[:-2] if data.endswith(b"\r\n") else data,
            )
        )
    return parts


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out_headers, payload = server.handle(self.path, headers, body)
            try:
                self.send_response(status)
                for key, value in out_headers.items():
                    self.send_header(key, value)
                if isinstance(payload, list):
                    self.send_header("cache-control", "no-cache")
                    self.send_header("connection", "close")
                    self.end_headers()
                    for event in payload:
                        self.wfile.write(event)
                        self.wfile.flush()
                    self.close_connection = True
                else:
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


class _ProviderSigner:
    """A test "provider" CA and signer, standing in for OpenAI's own C2PA credentials."""

    def __init__(self) -> None:
        import c2pa
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = _dt.datetime.now(_dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Image Provider"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Test Image Provider Root CA"),
            ]
        )
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(days=1))
            .not_valid_after(now + _dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Image Provider"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Test Image Provider Signer"),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(days=1))
            .not_valid_after(now + _dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        self.ca_pem = ca.public_bytes(pem).decode()
        chain = cert.public_bytes(pem) + ca.public_bytes(pem)
        key_pem = key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._c2pa = c2pa
        self._signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, key_pem, None))
        self._context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        self._lock = threading.Lock()

    def sign(self, data: bytes, mime: str) -> bytes:
        manifest = {
            "claim_generator_info": [{"name": "Test Image Provider", "version": "1.0"}],
            "title": "image." + mime.split("/")[1],
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": "trainedAlgorithmicMedia",
                                "softwareAgent": {"name": "Test Image Provider API"},
                            }
                        ]
                    },
                }
            ],
        }
        out = io.BytesIO()
        with self._lock:  # a Signer is shared; sign one file at a time
            builder = self._c2pa.Builder(json.dumps(manifest), self._context)
            builder.sign(self._signer, mime, io.BytesIO(data), out)
        return out.getvalue()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="A local OpenAI Images API server for testing.")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key it accepts")
    parser.add_argument(
        "--provider-c2pa", action="store_true", help="sign outputs as a test provider"
    )
    args = parser.parse_args()
    server = OpenAIServer(api_key=args.key, port=args.port, provider_c2pa=args.provider_c2pa)
    print(f"OPENAI_BASE_URL={server.base_url}  OPENAI_API_KEY={server.api_key}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
