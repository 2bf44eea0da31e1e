"""Keeping configured secrets out of every text that leaves the process.

A backend registers each secret it is configured with (its API key, any ``Authorization``
header value); :func:`redact` removes, from any text, the exact secrets, the masked echoes a
server makes of them (``abc******wxyz``: a run of asterisks, or a token sharing the secret's
first or last characters), ``Authorization``/``Bearer`` header values and ``sk-``-shaped keys.
Error messages are redacted where they are made and again where the CLI prints them.

>>> key = "ak_live_0123456789ABCDEF"  # register_secret(key) makes redact() always know it
>>> redact("Incorrect API key provided: ak_******CDEF. Authorization: Bearer tok123", key)
'Incorrect API key provided: [redacted]. Authorization: Bearer [redacted]'
"""

from __future__ import annotations

import re
import threading

MIN_SECRET = 8  # shorter values are not secrets worth the false positives
_lock = threading.Lock()
_secrets: set[str] = set()

_KEYLIKE = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{3,}")
_MASKED = re.compile(r"[^\s'\",;:()\[\]{}<>]*\*{3,}[^\s'\",;:()\[\]{}<>.]*")
_AUTH = re.compile(
    r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?>(?:(?:bearer|basic|token)\s+)?)|bearer\s+)"
    r"(?!\[redacted\])[^\s\"',;]+"
)


def register_secret(value: str | None) -> None:
    """Remember a configured secret (for the life of the process) so no text shows it."""
    if value and len(value.strip()) >= MIN_SECRET:
        with _lock:
            _secrets.add(value.strip())


def redact(text: str, *secrets: str | None) -> str:
    """``text`` without any registered (or given) secret, masked echo or credential header."""
    with _lock:
        known = set(_secrets)
    known.update(s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET)
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
        head, tail = re.escape(secret[:6]), re.escape(secret[-4:])
        text = re.sub(rf"[^\s'\"]*{tail}\b|\b{head}[^\s'\"]*", "[redacted]", text)
    text = _AUTH.sub(r"\1[redacted]", text)
    text = _MASKED.sub("[redacted]", text)
    return _KEYLIKE.sub("sk-[redacted]", text)
