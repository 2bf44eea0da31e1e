"""c2pa ``Context`` construction: trust anchors, network policy, thumbnails.

c2pa ignores global settings for Reader/Builder: trust only applies through a Context passed in
(REFERENCE.md). Remote manifest fetching is off unless the caller explicitly allows the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import c2pa

# Small JPEG thumbnails: enough for reports, a fraction of the default 1024px PNG's cost.
THUMBNAIL_LONG_EDGE = 256


def make_context(
    *,
    trust_anchors: str | None = None,
    allow_network: bool = False,
    thumbnail: bool = True,
    trust_lists: Sequence[tuple[str, str, str]] = (),
) -> c2pa.Context:
    """A c2pa Context with the given PEM trust anchors (None: trust nothing).

    ``trust_lists`` are named lists, ``(kind, name, PEM)`` with kind ``manifest`` or ``tsa``:
    c2pa names the list that vouched in its status codes (``found in [name] trust anchors``).
    """
    settings: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": allow_network, "ocsp_fetch": False},
        "builder": {
            "thumbnail": {
                "enabled": thumbnail,
                "long_edge": THUMBNAIL_LONG_EDGE,
                "format": "jpeg",
                "quality": "medium",
            },
        },
    }
    trust: dict[str, Any] = {}
    if trust_anchors:
        trust["trust_anchors"] = trust_anchors
    if trust_lists:
        trust["anchors"] = [
            {"trust_kind": kind, "trust_uri": name, "trust_anchors": pem}
            for kind, name, pem in trust_lists
        ]
    if trust:
        settings["trust"] = trust
    return c2pa.Context(c2pa.Settings.from_dict(settings))
