"""OpenAI SDK errors as our errors: one clear line each, the API key never in the text."""

from __future__ import annotations

from typing import Any

import openai

from provenance.errors import (
    BackendAuthError,
    BackendError,
    BackendRateLimitError,
    BackendRefusedError,
    BackendUnavailableError,
)


def redact(text: str, key: str) -> str:
    """The key, its masked echoes, auth header values and sk- shapes removed (one rule:
    :mod:`provenance.redaction`)."""
    from provenance.redaction import redact as redact_secrets

    return redact_secrets(text, key)


def translate(
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
    text = redact(f"OpenAI {endpoint} {label}: {message}{where}", key).replace("\n", " ")
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
