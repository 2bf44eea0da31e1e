"""c2pa ``Context`` construction: trust anchors, network policy, thumbnails.

c2pa ignores global settings for Reader/Builder: trust only applies through a Context passed in
(REFERENCE.md). Remote manifest fetching is off unless the caller explicitly allows the network.
"""

from __future__ import annotations

from typing import Any

import c2pa

# Small JPEG thumbnails: enough for reports, a fraction of the default 1024px PNG's cost.
THUMBNAIL_LONG_EDGE = 256


def make_context(
    *, trust_anchors: str | None = None, allow_network: bool = False, thumbnail: bool = True
) -> c2pa.Context:
    """A c2pa Context with the given PEM trust anchors (None: trust nothing)."""
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
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    return c2pa.Context(c2pa.Settings.from_dict(settings))
