"""Strings from a file, made safe to print: no control characters reach a terminal or a log.

Example::

    >>> printable("Reuters\\x1b[2J\\nTRUSTED")
    'Reuters\\\\x1b[2J\\\\nTRUSTED'

A manifest's fields (model, title, signer names, status explanations) are chosen by whoever made
the file; printed raw, escape sequences could repaint the terminal and newlines could forge lines
in a log. Every such string passes through :func:`printable` on its way out.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: object) -> str:
    """``text`` with control, format (bidi overrides) and separator characters escaped."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in s)


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") or code < 0x20:
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch
