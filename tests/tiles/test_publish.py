"""Publishing: the files a size needs, incremental re-publication, refusals that change nothing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.checkpoint import generate_log_key
from ledger.errors import LedgerIntegrityError
from ledger.tiles import TilesError, audit_tiles, publish
from ledger.tiles.layout import tiles_for_size

from .conftest import SIZE, Published, grow, make_ledger


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()} - {".publish.lock"}


def _expected(size: int) -> set[str]:
    out = {"checkpoint"}
    for t in tiles_for_size(size):
        out.add(t.path)
        if t.level == 0:
            out.add(t.entries_path)
    return out


def _stats(d: Path) -> dict[str, tuple[int, int]]:
    return {f: ((d / f).stat().st_ino, (d / f).stat().st_mtime_ns) for f in _files(d)}


def test_first_publish_writes_exactly_the_tiles_of_the_checkpoint(published: Published) -> None:
    assert _files(published.directory) == _expected(SIZE)
    # 11 full level-0 tiles + the partial of 184, and the level-1 partial of 11
    assert len([f for f in _files(published.directory) if f.startswith("tile/0/")]) == 12
    with published.open() as led:
        assert (published.directory / "checkpoint").read_text() == led.latest_checkpoint().note  # type: ignore[union-attr]


def test_republish_writes_only_new_and_changed_tiles(published: Published) -> None:
    d = published.directory
    before = _stats(d)
    with published.open() as led:
        again = publish(led, d)
        assert (again.tiles_written, again.bundles_written, again.tiles_skipped) == (0, 0, 13)
        assert _stats(d) == before  # nothing touched, not even the checkpoint
        grow(led, 700, start=SIZE)
        report = publish(led, d)
    # size 3700: level-0 tiles 11 (was the partial), 12, 13 and the partial 14.p/116; level 1 the
    # partial 000.p/14
    assert (report.previous_size, report.size) == (SIZE, 3700)
    assert (report.tiles_written, report.bundles_written) == (5, 4)
    assert (report.tiles_skipped, report.bundles_skipped) == (11, 11)
    assert report.partials_removed == 2  # tile/0/011.p/184 and tile/entries/011.p/184
    assert _files(d) == _expected(3700) | {"tile/1/000.p/11"}
    after = _stats(d)
    for f in [f"tile/0/{i:03d}" for i in range(11)] + [f"tile/entries/{i:03d}" for i in range(11)]:
        assert after[f] == before[f], f  # full tiles are immutable: same inode, same mtime
    newest_tile = max(t for f, (_, t) in after.items() if f != "checkpoint")
    assert after["checkpoint"][1] >= newest_tile  # the checkpoint is written last
    assert audit_tiles(d, published.vkey).ok


def test_entries_after_the_last_checkpoint_wait(published: Published) -> None:
    with published.open() as led:
        led.append("generate", {"n": -1})
        report = publish(led, published.directory)
    assert (report.size, report.ledger_size, report.unpublished) == (SIZE, SIZE + 1, 1)
    assert "1 newer entries are not covered by a signed checkpoint" in report.describe()


def test_no_checkpoint_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    with make_ledger(sqlite_url, generate_log_key(), 0) as led:
        led.append("generate", {"n": 0})
        with pytest.raises(TilesError, match="has no signed checkpoint yet"):
            publish(led, tmp_path / "out")
    assert not (tmp_path / "out" / "checkpoint").exists()


def test_another_logs_directory_is_refused_and_left_alone(
    published: Published, tmp_path: Path
) -> None:
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    with make_ledger(other_url, generate_log_key(), 10) as other:
        before = _stats(published.directory)
        with pytest.raises(TilesError, match="not a checkpoint of this log"):
            publish(other, published.directory)
    assert _stats(published.directory) == before


def test_a_rewritten_history_is_not_published_over_the_old_one(
    published: Published, tmp_path: Path
) -> None:
    """Same key, different tree: the published checkpoint is not extended, so nothing changes."""
    url = f"sqlite:///{tmp_path / 'fork.db'}"
    Ledger.create(url, origin="tiles.example/log", log_key=published.key).close()
    with Ledger.open(url, log_key=published.key, checkpoint_every=None) as fork:
        grow(fork, SIZE + 10, start=7)
        before = _stats(published.directory)
        with pytest.raises(LedgerIntegrityError, match="not consistent with the ledger's"):
            publish(fork, published.directory)
    assert _stats(published.directory) == before


def test_a_tampered_database_is_not_published(published: Published) -> None:
    """An entry's leaf changed in the database: its root no longer matches the signed one."""
    with published.open() as led:
        grow(led, 300, start=SIZE)
    db = sqlite3.connect(published.url.removeprefix("sqlite:///"))
    (leaf,) = db.execute("SELECT leaf FROM ledger_entry WHERE idx = 3100").fetchone()
    with db:
        forged = bytes(leaf).replace(b'"n":3100', b'"n":9999')
        db.execute("UPDATE ledger_entry SET leaf = ? WHERE idx = 3100", (forged,))
    db.close()
    before = _stats(published.directory)
    with published.open() as led, pytest.raises(LedgerIntegrityError, match="checkpoint not"):
        publish(led, published.directory)
    assert (published.directory / "checkpoint").stat().st_mtime_ns == before["checkpoint"][1]


def test_damaged_published_tiles_are_not_extended(published: Published) -> None:
    """The old partial level-1 tile was changed on disk: the new root would be wrong, and the
    directory, not the ledger, is named."""
    tile = published.directory / "tile/1/000.p/11"
    tile.write_bytes(bytes(32) + tile.read_bytes()[32:])
    with published.open() as led:
        grow(led, 300, start=SIZE)
        with pytest.raises(TilesError, match="the tiles published there before do not match"):
            publish(led, published.directory)
    assert open_checkpoint_size(published.directory) == SIZE


def open_checkpoint_size(d: Path) -> int:
    return int((d / "checkpoint").read_text().splitlines()[1])


def test_a_missing_old_partial_is_rebuilt_from_the_full_tiles(published: Published) -> None:
    os.remove(published.directory / "tile/1/000.p/11")
    with published.open() as led:
        grow(led, 300, start=SIZE)
        publish(led, published.directory)
    assert audit_tiles(published.directory, published.vkey).ok


def test_a_stale_tile_from_an_interrupted_publish_is_rewritten(published: Published) -> None:
    """A publish that died before its checkpoint left a wrong tile/0/011: the next one fixes it."""
    (published.directory / "tile/0/011").write_bytes(bytes(8192))
    with published.open() as led:
        grow(led, 300, start=SIZE)
        report = publish(led, published.directory)
    assert report.repaired == ["tile/0/011"]
    assert audit_tiles(published.directory, published.vkey).ok


def test_publish_and_audit_on_each_database(any_url: str, tmp_path: Path) -> None:
    key = generate_log_key()
    with make_ledger(any_url, key, 600) as led:
        first = publish(led, tmp_path / "log")
        grow(led, 200, start=600)
        second = publish(led, tmp_path / "log")
        vkey = led.verifier_key
    assert (first.tiles_written, second.tiles_written, second.tiles_skipped) == (4, 3, 2)
    assert vkey is not None and audit_tiles(tmp_path / "log", vkey).ok


def test_an_older_size_is_still_readable_after_its_partials_are_pruned(
    published: Published,
) -> None:
    """tile/0/011.p/184 is deleted once tile/0/011 is full; a reader of size 3000 falls back
    to the full tile's prefix."""
    from ledger.tiles import TileReader, open_source

    with published.open() as led:
        grow(led, 700, start=SIZE)
        publish(led, published.directory)
        assert not (published.directory / "tile/0/011.p").exists()
        reader = TileReader(open_source(published.directory), published.vkey)
        assert reader.inclusion_proof(2900, SIZE) == led.inclusion_proof(2900, SIZE)
        assert reader.entry(2900, SIZE) == led.at(2900).leaf
