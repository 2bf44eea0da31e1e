"""Issue 2, end to end on the embedded default: generate -> edit with mask -> edit again -> verify."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import c2pa
import pytest
from PIL import Image

from provenance.home.paths import Home
from tests.conftest import files_in, reports, run


def read_manifest(path: Path, home: Home) -> dict:
    ctx = c2pa.Context(
        c2pa.Settings.from_dict(
            {
                "trust": {"trust_anchors": home.ca_cert.read_text()},
                "verify": {"remote_manifest_fetch": False},
            }
        )
    )
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}[path.suffix]
    with c2pa.Reader(mime, io.BytesIO(path.read_bytes()), context=ctx) as r:
        store = json.loads(r.json())
    return store


def actions_of(manifest: dict) -> list[dict]:
    for a in manifest["assertions"]:
        if a["label"].startswith("c2pa.actions"):
            return a["data"]["actions"]
    raise AssertionError("no actions assertion")


def make_mask(path: Path, size: tuple[int, int], box: tuple[int, int, int, int]) -> Path:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))  # opaque = keep (OpenAI convention)
    mask.paste((0, 0, 0, 0), box)  # transparent = editable
    mask.save(path)
    return path


def ledger_size(home: Home) -> int:
    with sqlite3.connect(home.ledger_db) as db:
        return int(db.execute("SELECT count(*) FROM ledger_entry").fetchone()[0])


def test_generate_edit_mask_edit_verify_lineage(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card, masked, final = workdir / "card.png", workdir / "masked.png", workdir / "final.jpg"
    code, out, err = run(capsys, "generate", "A red circle on a white background", "-o", str(card))
    assert code == 0, err
    mask = make_mask(workdir / "mask.png", Image.open(card).size, (0, 0, 400, 400))
    code, _, err = run(
        capsys, "edit", str(card), "-i", "redact", "--mask", str(mask), "-o", str(masked)
    )
    assert code == 0, err
    code, _, err = run(
        capsys, "edit", str(masked), "-i", "grayscale; brightness 1.1", "-o", str(final)
    )
    assert code == 0, err

    code, out, _ = run(capsys, "verify", "--json", str(card), str(masked), str(final))
    assert code == 0
    rs = reports(out)
    assert [r["verdict"] for r in rs] == ["trusted"] * 3
    assert all(r["signer"]["local_identity"] for r in rs)
    assert all(any("local, self-issued identity" in x for x in r["reasons"]) for r in rs)
    assert all(r["ledger_entry"] for r in rs)
    assert rs[0]["ai_generated"] is False  # the local renderer is algorithmicMedia, not AI

    gen = read_manifest(card, home)
    gen_actions = actions_of(gen["manifests"][gen["active_manifest"]])
    assert gen_actions[0]["action"] == "c2pa.created"
    assert gen_actions[0]["digitalSourceType"].endswith("/algorithmicMedia")

    red = read_manifest(masked, home)
    active = red["manifests"][red["active_manifest"]]
    assert next(a["action"] for a in actions_of(active)) == "c2pa.opened"
    rels = sorted((i["title"], i["relationship"]) for i in active["ingredients"])
    assert rels == [("card.png", "parentOf"), ("mask.png", "inputTo")]
    assert any(a["label"] == "org.provenance.ledger" for a in active["assertions"])

    last = read_manifest(final, home)
    names = [a["action"] for a in actions_of(last["manifests"][last["active_manifest"]])]
    assert names[0] == "c2pa.opened" and "c2pa.adjustedColor" in names

    code, out, _ = run(capsys, "lineage", "--json", str(final))
    assert code == 0
    lineage = json.loads(out)["lineage"]
    assert [e["output"] for e in lineage] == ["final.jpg", "masked.png", "card.png"]
    assert lineage[0]["parents"] == [lineage[1]["id"]]
    assert lineage[1]["parents"] == [lineage[2]["id"]]


def _flip_pixel_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 40] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_pixel_byte_is_invalid(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = workdir / "a.png"
    assert run(capsys, "generate", "A blue square", "-o", str(out_file))[0] == 0
    _flip_pixel_byte(out_file)
    code, out, _ = run(capsys, "verify", "--json", str(out_file))
    assert code == 1
    [r] = reports(out)
    assert r["verdict"] == "invalid"
    assert any(c["code"] == "assertion.dataHash.mismatch" for c in r["status_codes"])


def test_reencoded_copy_is_not_trusted(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original, copy = workdir / "a.png", workdir / "copy.png"
    assert run(capsys, "generate", "A green triangle", "-o", str(original))[0] == 0
    Image.open(original).convert("RGB").save(copy)  # re-encode: no metadata survives
    code, out, _ = run(capsys, "verify", "--json", str(copy))
    [r] = reports(out)
    assert code == 1
    assert r["verdict"] != "trusted"
    assert r["verdict"] in ("recovered", "no_credentials")


def test_failure_between_signing_and_append_leaves_nothing(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A real fault in the real database: the ledger refuses every new entry.
    with sqlite3.connect(home.ledger_db) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON ledger_entry "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
    before = files_in(workdir)
    code, _, err = run(capsys, "generate", "A red circle", "-o", str(workdir / "x.png"))
    assert code != 0
    assert "Traceback" not in err
    assert files_in(workdir) == before
    assert ledger_size(home) == 0
