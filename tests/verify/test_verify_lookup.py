"""One entry summary for verify, lineage and log; one rule from a file or an entry id to its entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.errors import InputError
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.media.hashing import sha256_file
from provenance.verify.lookup import resolve_entry
from provenance.vocab import ASSET_KINDS
from tests.conftest import png_bytes, reports, run
from tests.verify.conftest import record

SUMMARY_KEYS = {
    "id",
    "index",
    "kind",
    "time",
    "actor",
    "op",
    "backend",
    "model",
    "actions",
    "output",
    "output_sha256",
    "parents",
}


def test_verify_lineage_and_log_share_one_summary(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "a.png"
    record(capsys, "generate", "A red circle on a white background", "-o", str(out))
    digest = sha256_file(out)
    _, text, _ = run(capsys, "verify", "--json", str(out))
    [r] = reports(text)
    _, lineage_out, _ = run(capsys, "lineage", "--json", str(out))
    _, log_out, _ = run(capsys, "log", "--json")
    from_verify = r["ledger"]["entry"]
    [from_lineage] = json.loads(lineage_out)["lineage"]
    [from_log] = reports(log_out)
    assert from_verify == from_lineage == from_log
    assert set(from_verify) == SUMMARY_KEYS
    assert (from_verify["output"], from_verify["output_sha256"]) == ("a.png", digest)
    assert r["ledger"]["lineage"] == [from_verify]


def test_resolver_one_rule_for_files_and_ids(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "a.png"
    record(capsys, "generate", "A red circle on a white background", "-o", str(out))
    stranger = workdir / "stranger.png"
    stranger.write_bytes(png_bytes(color="blue"))
    with open_ledger(home, read_only=True) as ledger:
        by_file = resolve_entry(ledger, out)
        assert by_file.sha256 == sha256_file(out)
        by_id = resolve_entry(ledger, by_file.entry.id)
        assert (by_id.entry.id, by_id.sha256) == (by_file.entry.id, by_file.sha256)
        assert resolve_entry(ledger, str(out), kinds=ASSET_KINDS).entry.id == by_file.entry.id
        cases = [
            (stranger, {}, "stranger.png: not in the ledger (no entry records this file's SHA-256"),
            (stranger, {"hint": "only recorded files can be reviewed"}, "; only recorded files"),
            (workdir, {}, "work: not a regular file"),
            ("0000-no-such-id", {}, "0000-no-such-id: no such file and no ledger entry"),
            (out, {"kinds": ("review",)}, "a.png: not in the ledger"),
        ]
        for target, kwargs, message in cases:
            with pytest.raises(InputError) as e:
                resolve_entry(ledger, target, **kwargs)  # type: ignore[arg-type]
            assert message in str(e.value), (target, str(e.value))


def test_lineage_and_receipt_name_an_unknown_target_the_same_way(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = workdir / "stranger.png"
    stranger.write_bytes(png_bytes(color="blue"))
    for argv in (["lineage"], ["ledger", "receipt"]):
        code, _, err = run(capsys, *argv, str(stranger))
        assert code == 2
        assert "stranger.png: not in the ledger" in err
