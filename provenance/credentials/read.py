"""Read and validate a C2PA manifest store: bytes in, a plain :class:`StoreReading` out.

Example::

    from provenance.credentials import make_context
    from provenance.credentials.read import read_store

    reading = read_store(open("photo.jpg", "rb").read(), "image/jpeg", make_context())
    print(reading.state, reading.active_label)   # "Valid" urn:c2pa:...

Reading never raises for a file's contents: a missing store gives ``state=None`` and
``error=None``; a store c2pa cannot parse gives ``error`` with c2pa's reason.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import c2pa


@dataclass(frozen=True)
class StoreReading:
    """What c2pa made of one file: the manifest store JSON and its validation."""

    state: str | None  # "Trusted", "Valid", "Invalid"; None when there is no store
    store: dict[str, Any] = field(
        default_factory=dict
    )  # c2pa's JSON report (manifests, validation)
    error: str | None = None  # c2pa refused the file (unsupported, corrupt store, ...)
    unsupported: bool = False
    remote_url: str | None = None  # the store lives elsewhere and was not fetched
    resources: dict[str, bytes] = field(default_factory=dict)  # thumbnail identifier -> bytes

    @property
    def active_label(self) -> str | None:
        label = self.store.get("active_manifest")
        return label if isinstance(label, str) else None

    @property
    def manifests(self) -> dict[str, Any]:
        m = self.store.get("manifests")
        return m if isinstance(m, dict) else {}

    @property
    def active(self) -> dict[str, Any] | None:
        label = self.active_label
        return self.manifests.get(label) if label else None


def read_store(
    data: bytes,
    mime: str,
    context: c2pa.Context,
    *,
    thumbnails: bool = False,
    network: bool = True,
) -> StoreReading:
    """Validate the C2PA store embedded in ``data`` under ``context``'s trust settings.

    With ``thumbnails``, the claim and ingredient thumbnails are extracted too (for reports).
    ``network=False`` says the context cannot fetch: a store that was read is then the embedded
    one, and c2pa is not asked where it came from.
    """
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data), context=context)
    except c2pa.C2paError.ManifestNotFound:
        return StoreReading(state=None)
    except c2pa.C2paError.NotSupported as e:
        return StoreReading(
            state=None, error=f"format not supported for reading ({_clean(e)})", unsupported=True
        )
    except c2pa.C2paError as e:
        text = _clean(e)
        url = _URL.search(text)
        if text.lower().startswith("remote") and url:
            return StoreReading(state=None, error=text, remote_url=url.group(0))
        return StoreReading(state=None, error=text)
    try:
        store = json.loads(reader.json())
        # what get_validation_state() returns, read from the JSON already parsed here (c2pa's
        # method parses the whole store's JSON a second time to read this one field)
        state = store.get("validation_state") if isinstance(store, dict) else None
        remote = None
        try:
            remote = None if not network or reader.is_embedded() else reader.get_remote_url()
        except c2pa.C2paError:
            remote = None
        resources = _thumbnails(reader, store) if thumbnails else {}
    except c2pa.C2paError as e:
        return StoreReading(state=None, error=_clean(e))
    finally:
        reader.close()
    return StoreReading(
        state=str(state) if state else None,
        store=store if isinstance(store, dict) else {},
        remote_url=remote,
        resources=resources,
    )


def read_crjson(data: bytes, mime: str, context: c2pa.Context) -> dict[str, Any]:
    """c2pa-rs's crJSON report of ``data`` (the format conformance tooling reads); ``{}`` when
    the file has no credentials or c2pa cannot read them (the reason is in our own report)."""
    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), context=context)
    except c2pa.C2paError:
        return {}
    if reader is None:
        return {}
    try:
        report = json.loads(reader.crjson())
    except (c2pa.C2paError, ValueError):
        return {}
    finally:
        reader.close()
    return report if isinstance(report, dict) else {}


_URL = re.compile(r"https?://[^\s)]+")
_MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024  # a hostile store could claim a huge "thumbnail"


def _thumbnails(reader: c2pa.Reader, store: dict[str, Any]) -> dict[str, bytes]:
    ids: set[str] = set()
    for manifest in (store.get("manifests") or {}).values():
        for holder in [manifest, *(manifest.get("ingredients") or [])]:
            thumb = holder.get("thumbnail") if isinstance(holder, dict) else None
            if isinstance(thumb, dict) and isinstance(thumb.get("identifier"), str):
                ids.add(thumb["identifier"])
    out: dict[str, bytes] = {}
    for ident in sorted(ids):
        buf = io.BytesIO()
        try:
            reader.resource_to_stream(ident, buf)
        except c2pa.C2paError:
            continue  # a missing thumbnail only costs the report a picture
        if 0 < len(buf.getvalue()) <= _MAX_THUMBNAIL_BYTES:
            out[ident] = buf.getvalue()
    return out


def _clean(e: Exception) -> str:
    text = str(e).strip() or type(e).__name__
    return " ".join(text.split())
