"""Where a published log is read from: a directory or an http(s) URL. No database, no keys.

Example::

    >>> import tempfile
    >>> from ledger.tiles.source import open_source
    >>> src = open_source(tempfile.mkdtemp())
    >>> src.get("checkpoint") is None
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ledger.tiles.layout import TilesError

if TYPE_CHECKING:
    import httpx2

MAX_BODY = 256 * (2 + 0xFFFF)  # the largest possible entry bundle


class Source(Protocol):
    """Fetches one resource of a published log by its path (``checkpoint``, ``tile/0/000``)."""

    name: str

    def get(self, path: str) -> bytes | None:
        """The resource's bytes, or None when it does not exist; raises :class:`TilesError`
        when it cannot be read."""
        ...

    def close(self) -> None: ...


class DirectorySource:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.name = str(self.root)
        if not self.root.is_dir():
            raise TilesError(f"{root}: not a directory")

    def get(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            raise TilesError(f"{self.root / path}: cannot read ({e.strerror})") from e

    def close(self) -> None:
        pass


class HttpSource:
    """A log served over HTTP(S): one pooled, thread-safe client with bounded timeouts."""

    def __init__(self, url: str, *, timeout: float = 10.0, connections: int = 8) -> None:
        import httpx2

        self.name = url
        self.prefix = url if url.endswith("/") else url + "/"
        self._errors = (httpx2.HTTPError, httpx2.InvalidURL)
        self._client: httpx2.Client = httpx2.Client(
            timeout=httpx2.Timeout(timeout),
            limits=httpx2.Limits(max_connections=connections),
            headers={"Accept-Encoding": "gzip, identity"},
        )

    def get(self, path: str) -> bytes | None:
        url = self.prefix + path
        try:
            with self._client.stream("GET", url) as resp:
                if resp.status_code in (404, 410):
                    return None
                if resp.status_code != 200:
                    raise TilesError(f"{url}: HTTP {resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise TilesError(f"{url}: larger than any tile or entry bundle")
                return bytes(body)
        except self._errors as e:
            raise TilesError(f"{url}: cannot fetch ({type(e).__name__}: {e})") from e

    def close(self) -> None:
        self._client.close()


def open_source(location: str | Path, *, timeout: float = 10.0) -> Source:
    """A :class:`Source` for a directory path or an ``http://`` / ``https://`` URL."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        return HttpSource(text, timeout=timeout)
    return DirectorySource(text)
