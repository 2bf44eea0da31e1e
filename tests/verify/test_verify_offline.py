"""Offline by default: a remote manifest is not fetched without --allow-network, and the report
says so; with it, the manifest is fetched from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import c2pa
import pytest
from PIL import Image

from provenance.credentials import make_context, make_signer
from provenance.home.identity import load_identity
from provenance.home.paths import Home
from tests.conftest import reports, run


class _Server(http.server.ThreadingHTTPServer):
    manifest: bytes = b""
    hits: int = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/c2pa")
        self.send_header("Content-Length", str(len(self.server.manifest)))
        self.end_headers()
        self.wfile.write(self.server.manifest)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _remote_signed(home: Home, url: str, dest: Path) -> bytes:
    identity = load_identity(home)
    src = io.BytesIO()
    Image.new("RGB", (96, 64), "navy").save(src, "JPEG")
    spec = {
        "claim_generator_info": [{"name": "test"}],
        "title": dest.name,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                        }
                    ]
                },
            }
        ],
    }
    builder = c2pa.Builder(spec, context=make_context(thumbnail=False))
    builder.set_no_embed()
    builder.set_remote_url(url)
    out = io.BytesIO()
    signer = make_signer(identity)
    manifest = builder.sign(signer, "image/jpeg", io.BytesIO(src.getvalue()), out)
    signer.close()
    dest.write_bytes(out.getvalue())
    return bytes(manifest)


def test_remote_manifest_is_not_fetched_offline(
    home: Home, workdir: Path, server: _Server, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/m.c2pa"
    server.manifest = _remote_signed(home, url, workdir / "remote.jpg")
    code, out, _ = run(capsys, "verify", "--json", str(workdir / "remote.jpg"))
    [r] = reports(out)
    assert (code, r["verdict"], server.hits) == (1, "no_credentials", 0)
    assert any(url in x and "network is off" in x for x in r["not_checked"])
    code, out, _ = run(capsys, "verify", "--json", "--allow-network", str(workdir / "remote.jpg"))
    [r] = reports(out)
    assert server.hits >= 1
    assert (code, r["verdict"]) == (0, "trusted"), r["reasons"]
    assert f"the manifest was fetched from {url}" in r["notes"]  # asked of c2pa when it can fetch


def test_unreachable_remote_manifest_with_network_is_error(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _remote_signed(home, "http://127.0.0.1:9/gone.c2pa", workdir / "gone.jpg")
    code, out, _ = run(capsys, "verify", "--json", "--allow-network", str(workdir / "gone.jpg"))
    [r] = reports(out)
    assert (code, r["verdict"]) == (2, "error")
    assert "could not be fetched" in r["reasons"][0]
