"""The typed ledger entry body (schema 1) serialises to exactly the dict, and leaf bytes, of before."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ledger.entry import canonical_json
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.body import (
    ImportBody,
    InputRecord,
    OutputRecord,
    PromptRecord,
    RecordBody,
    RefusalBody,
    RequestRecord,
    SignerRecord,
)
from provenance.record.recorder import Recorder

FPS = {"phash": "00ff00ff00ff00ff", "dhash": "0f0f0f0f0f0f0f0f"}
PARENT = InputRecord("parent", "ab" * 32, "image/png", "in.png", "e-1", 64, 32, FPS)

# The dict the recorder wrote before the body was typed, spelled out key by key.
RECORD_DICT: dict[str, Any] = {
    "schema": 1,
    "op": "edit",
    "actor": "desk@example.org",
    "backend": "local",
    "model": "local-procedural-1",
    "software_agent": "provenance local",
    "digital_source_type": None,
    "actions": ["c2pa.opened", "c2pa.color_adjustments"],
    "request": {
        "group": "g-1",
        "index": 0,
        "count": 1,
        "params": {"n": 1, "seed": None},
        "facts": {"ops": ["grayscale"]},
    },
    "output": {
        "sha256": "cd" * 32,
        "mime": "image/png",
        "name": "out.png",
        "width": 64,
        "height": 32,
        "fingerprints": FPS,
        "facts": {},
        "provider_signed": False,
    },
    "inputs": [
        {
            "role": "parent",
            "sha256": "ab" * 32,
            "mime": "image/png",
            "name": "in.png",
            "entry": "e-1",
            "width": 64,
            "height": 32,
            "fingerprints": FPS,
        }
    ],
    "prompt": {"hash": "sha256:" + "ef" * 32, "embedded": False},
    "signer": {"subject": "CN=signer", "cert_sha256": "12" * 32, "local_identity": True},
    "signed_at": "2026-01-02T03:04:05.678Z",
}
# SHA-256 of the RFC 8785 leaf body above: any change to names or values shows here.
RECORD_LEAF_SHA256 = "d0015523ea5d7bbfbb0f045144e9ae076a35a1fd3cb3da216be8c76c82b84981"


def _record_body() -> RecordBody:
    return RecordBody(
        op="edit",
        actor="desk@example.org",
        backend="local",
        model="local-procedural-1",
        software_agent="provenance local",
        digital_source_type=None,
        actions=["c2pa.opened", "c2pa.color_adjustments"],
        request=RequestRecord("g-1", 0, 1, {"n": 1, "seed": None}, {"ops": ["grayscale"]}),
        output=OutputRecord("cd" * 32, "image/png", "out.png", 64, 32, FPS, {}, False),
        inputs=[PARENT],
        prompt=PromptRecord("sha256:" + "ef" * 32, False),
        signer=SignerRecord("CN=signer", "12" * 32, True),
        signed_at="2026-01-02T03:04:05.678Z",
    )


def test_record_body_is_the_schema_1_dict_byte_for_byte() -> None:
    body = _record_body().to_json()
    assert body == RECORD_DICT
    assert list(body) == list(RECORD_DICT)  # same key order too (not that JCS cares)
    assert canonical_json(body) == canonical_json(RECORD_DICT)
    assert hashlib.sha256(canonical_json(body)).hexdigest() == RECORD_LEAF_SHA256


def test_import_and_refusal_bodies_keep_their_shape() -> None:
    imported = ImportBody("desk", InputRecord("output", *_fields(PARENT)), has_manifest=True)
    assert imported.to_json() == {
        "schema": 1,
        "op": "import",
        "actor": "desk",
        "output": {**RECORD_DICT["inputs"][0], "role": "output", "has_manifest": True},
        "inputs": [],
    }
    refusal = RefusalBody(
        "generate", "desk", "openai", None, PromptRecord("sha256:x", False), "blocked", "c", None
    )
    assert refusal.to_json() == {
        "schema": 1,
        "op": "generate",
        "refused": True,
        "actor": "desk",
        "backend": "openai",
        "model": None,
        "prompt": {"hash": "sha256:x", "embedded": False},
        "reason": "blocked",
        "code": "c",
        "request_id": None,
        "inputs": [],
    }


def _fields(r: InputRecord) -> tuple[object, ...]:
    return (r.sha256, r.mime, r.name, r.entry, r.width, r.height, r.fingerprints)


def test_a_recorded_entry_has_exactly_the_documented_keys(home: Home, workdir: Path) -> None:
    with Recorder(home) as rec:
        [card] = rec.generate("A red circle on a white background", workdir / "c.png")
        [edited] = rec.edit([card.path], "grayscale", workdir / "e.png")
    with open_ledger(home, read_only=True) as led:
        entry = led.get(edited.entry_id)
    assert entry is not None
    assert set(entry.body) == set(RECORD_DICT)
    for part in ("request", "output", "signer", "prompt"):
        assert set(entry.body[part]) == set(RECORD_DICT[part])
    assert set(entry.body["inputs"][0]) == set(RECORD_DICT["inputs"][0])
