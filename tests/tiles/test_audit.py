"""Auditing a published log from files alone: clean, over real HTTP, and each kind of damage."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from ledger.checkpoint import Checkpoint, generate_log_key, open_checkpoint
from ledger.tiles import TileReader, TilesError, audit_tiles, open_source
from ledger.tiles.layout import decode_bundle, encode_bundle

from .conftest import ORIGIN, SIZE, Published


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """A static file server with keep-alive and no request log."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(published: Published) -> Iterator[str]:
    """The published directory behind a static file server on 127.0.0.1."""
    handler = functools.partial(_Quiet, directory=str(published.directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_clean_log_audits_from_the_directory_alone(published: Published) -> None:
    report = audit_tiles(published.directory, published.vkey)
    assert report.ok, report.problems
    assert (report.size, report.origin) == (SIZE, ORIGIN)
    assert (report.tiles_checked, report.bundles_checked) == (13, 12)


def test_clean_log_audits_over_http(published: Published, served: str) -> None:
    report = audit_tiles(served, published.vkey)
    assert report.ok, report.problems
    assert report.tiles_checked == 13


def test_damage_is_found_over_http(published: Published, served: str) -> None:
    _flip(published.directory / "tile/0/003", 32 * 17 + 5)
    problems = audit_tiles(served, published.vkey).problems
    assert [(p.path, p.index) for p in problems] == [("tile/0/003", 3 * 256 + 17)]


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _alter_entry(d: Path, rel: str, pos: int) -> None:
    leaves, _ = decode_bundle((d / rel).read_bytes())
    leaves[pos] = leaves[pos].replace(b'"n":', b'"m":')
    (d / rel).write_bytes(encode_bundle(leaves))


def _resign(d: Path, vkey: str, size_delta: int = 0, key: bool = True) -> None:
    cp = open_checkpoint((d / "checkpoint").read_text(), vkey)
    if key:
        note = Checkpoint(cp.origin, cp.size, cp.root).sign(generate_log_key())
    else:  # a changed size under the real signature
        note = cp.note.replace(f"\n{cp.size}\n", f"\n{cp.size + size_delta}\n", 1)
    (d / "checkpoint").write_text(note)


class Damage(NamedTuple):
    name: str
    do: Callable[[Path, str], None]
    path: str  # the file the report must blame
    index: int | None  # the first entry it must name
    says: str


DAMAGE = [
    Damage(
        "tile byte",
        lambda d, k: _flip(d / "tile/0/003", 32 * 17 + 5),
        "tile/0/003",
        785,
        "hash 17 is not the leaf hash of the entry in tile/entries/003, which tile/1/000.p/11 "
        "hash 3 confirms: the tile was altered",
    ),
    Damage(
        "entry in a bundle",
        lambda d, k: _alter_entry(d, "tile/entries/003", 17),
        "tile/entries/003",
        785,
        "entry does not hash to its leaf hash in tile/0/003, which tile/1/000.p/11 hash 3 "
        "confirms: the entry was altered",
    ),
    Damage(
        "byte of the rightmost tile",
        lambda d, k: _flip(d / "tile/0/011.p/184", 32 * 5),
        "tile/0/011.p/184",
        2821,
        "the checkpoint's root confirms: the tile was altered",
    ),
    Damage(
        "entry in the rightmost bundle",
        lambda d, k: _alter_entry(d, "tile/entries/011.p/184", 5),
        "tile/entries/011.p/184",
        2821,
        "the entry was altered",
    ),
    Damage(
        "level-1 tile byte",
        lambda d, k: _flip(d / "tile/1/000.p/11", 32 * 4 + 31),
        "tile/1/000.p/11",
        1024,
        "hash 4 is not the root of tile/0/004",
    ),
    Damage(
        "deleted tile",
        lambda d, k: (d / "tile/0/005").unlink(),
        "tile/0/005",
        1280,
        "missing",
    ),
    Damage(
        "deleted bundle",
        lambda d, k: (d / "tile/entries/002").unlink(),
        "tile/entries/002",
        512,
        "missing",
    ),
    Damage(
        "truncated tile",
        lambda d, k: (d / "tile/0/007").write_bytes((d / "tile/0/007").read_bytes()[:-32]),
        "tile/0/007",
        1792,
        "8160 bytes, not 8192",
    ),
    Damage(
        "truncated bundle",
        lambda d, k: (d / "tile/entries/001").write_bytes(
            (d / "tile/entries/001").read_bytes()[:-3]
        ),
        "tile/entries/001",
        511,
        "malformed: entry 255 is cut short",
    ),
    Damage(
        "checkpoint signed by another key",
        lambda d, k: _resign(d, k),
        "checkpoint",
        None,
        "not verified: checkpoint for 'tiles.example/log' carries no signature by key",
    ),
    Damage(
        "checkpoint size changed under the real signature",
        lambda d, k: _resign(d, k, size_delta=-1, key=False),
        "checkpoint",
        None,
        "signature does not verify",
    ),
]


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.name for d in DAMAGE])
def test_damage_is_named_precisely(published: Published, damage: Damage) -> None:
    damage.do(published.directory, published.vkey)
    report = audit_tiles(published.directory, published.vkey)
    assert not report.ok
    named = [p for p in report.problems if p.path != "checkpoint" or damage.path == "checkpoint"]
    assert [(p.path, p.index) for p in named] == [(damage.path, damage.index)], report.problems
    assert damage.says in named[0].detail
    assert report.to_json()  # the JSON form carries the same problems


def test_entry_and_proofs_from_tiles_match_the_ledger(published: Published) -> None:
    reader = TileReader(open_source(published.directory), published.vkey)
    result = reader.prove(1234)
    with published.open() as led:
        assert result.ok
        assert result.leaf == led.at(1234).leaf
        assert result.proof == led.inclusion_proof(1234, SIZE)
        assert reader.consistency_proof(1000, SIZE) == led.consistency_proof(1000, SIZE)


def test_an_altered_entry_fails_its_inclusion_proof(published: Published) -> None:
    _alter_entry(published.directory, "tile/entries/004", 210)
    reader = TileReader(open_source(published.directory), published.vkey)
    assert not reader.prove(1234).ok
    assert reader.prove(1235).ok


def test_not_a_published_log(tmp_path: Path) -> None:
    with pytest.raises(TilesError, match="no checkpoint here"):
        audit_tiles(tmp_path, generate_log_key_vkey())
    with pytest.raises(TilesError, match="not a directory"):
        audit_tiles(tmp_path / "nope", generate_log_key_vkey())


def test_unreachable_url_is_one_clear_error() -> None:
    with pytest.raises(TilesError, match=r"http://127\.0\.0\.1:9/checkpoint: cannot fetch"):
        audit_tiles("http://127.0.0.1:9/", generate_log_key_vkey())


def generate_log_key_vkey() -> str:
    from ledger.checkpoint import verifier_key

    return verifier_key(generate_log_key(), ORIGIN)
