"""cosignature/v1 to the byte: message layout, key id, vkey and signature encoding, checked against
the C2SP spec text, public witnesses' real cosignatures, and an independent recomputation."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.checkpoint import Checkpoint, Verifier, generate_log_key, open_checkpoint
from ledger.errors import MalformedNoteError
from ledger.witness.cosignature import (
    CosignerKey,
    cosign,
    cosignature_message,
    cosigner_key_id,
    witness_vkey,
)

SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

# A checkpoint of the CT log arche2025h1.staging.ct.transparency.dev as published, cosigned by
# four public witnesses (other implementations: litewitness, omniwitness, ...). The vkeys are
# the witnesses' and the log's published keys.
REAL_NOTE = """arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

\u2014 arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
\u2014 arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
\u2014 transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
\u2014 witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
\u2014 remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
\u2014 witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
"""
REAL_LOG_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
REAL_WITNESS_VKEYS = [
    "transparency.dev/DEV:witness-little-garden+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM",
    "witness1.smartit.nu/witness1+a48c820f+BPSFWg9G6KPiO7QPryYO5Xq4oYJJ+kAvLKLSimDhoxMO",
    "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
    "witness.stagemole.eu+67f7aea0+BEqSG3yu9YrmcM3BHvQYTxwFj3uSWakQepafafpUqklv",
]


def test_message_layout_is_the_spec_example() -> None:
    assert cosignature_message(SPEC_BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert cosignature_message(SPEC_BODY, 0).startswith(b"cosignature/v1\ntime 0\n")
    with pytest.raises(MalformedNoteError):
        cosignature_message(SPEC_BODY, 2**63)


def test_spec_example_signature_layout() -> None:
    """The spec's sample line: 4-byte key id, 8-byte big-endian time (1679315147), 64 bytes."""
    b64 = (
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
        "qhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    blob = base64.b64decode(b64)
    assert len(blob) == 4 + 8 + 64
    assert int.from_bytes(blob[4:12], "big") == 1679315147


def test_key_id_and_vkey_layout() -> None:
    key = generate_log_key()
    raw = key.public_key().public_bytes_raw()
    name = "witness.example/w1"
    kid = hashlib.sha256(name.encode() + b"\x0a" + b"\x04" + raw).digest()[:4]
    assert cosigner_key_id(name, raw) == kid
    assert (
        witness_vkey(key, name) == f"{name}+{kid.hex()}+" + base64.b64encode(b"\x04" + raw).decode()
    )
    # A published witness key: the id in it is SHA-256(name || 0x0A || 0x04 || key)[:4].
    remora = CosignerKey.parse(REAL_WITNESS_VKEYS[2])
    assert remora.key_id.hex() == "da77ade7"
    assert cosigner_key_id("remora.n621.de", remora.raw_public).hex() == "da77ade7"
    assert remora.vkey() == REAL_WITNESS_VKEYS[2]


def test_public_witnesses_cosignatures_verify() -> None:
    open_checkpoint(REAL_NOTE, Verifier.parse(REAL_LOG_VKEY))
    for vkey in REAL_WITNESS_VKEYS:
        (cosig,) = CosignerKey.parse(vkey).find(REAL_NOTE)
        assert cosig.timestamp == 1779573024  # 0x6a122120, the same second for all four
        assert cosig.line() in REAL_NOTE
    clobbered = REAL_NOTE.replace("1432088532", "1432088533", 1)
    for vkey in REAL_WITNESS_VKEYS:
        with pytest.raises(MalformedNoteError, match="does not verify"):
            CosignerKey.parse(vkey).find(clobbered)


def test_sign_matches_an_independent_recomputation() -> None:
    log_key, wkey = generate_log_key(), generate_log_key()
    note = Checkpoint("example.org/log", 42, bytes(range(32))).sign(log_key)
    line = cosign(wkey, "w.example", note, timestamp=1700000000)
    assert line.startswith("\u2014 w.example ") and line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2])
    raw = wkey.public_key().public_bytes_raw()
    assert blob[:4] == hashlib.sha256(b"w.example\n\x04" + raw).digest()[:4]
    assert blob[4:12] == (1700000000).to_bytes(8, "big")
    body = note.partition("\n\n")[0] + "\n"
    message = b"cosignature/v1\ntime 1700000000\n" + body.encode()
    Ed25519PublicKey.from_public_bytes(raw).verify(blob[12:], message)  # raises if wrong


def test_extension_lines_are_covered() -> None:
    wkey = generate_log_key()
    body = SPEC_BODY + "extension line\n"
    line = cosign(wkey, "w.example", body, timestamp=5)
    note = body + "\n" + line
    key = CosignerKey.parse(witness_vkey(wkey, "w.example"))
    assert key.find(note)[0].timestamp == 5
    with pytest.raises(MalformedNoteError):
        key.find(note.replace("extension", "Extension"))


@pytest.mark.parametrize(
    "vkey, problem",
    [
        (REAL_LOG_VKEY, "expected 0x04"),  # a log key (type 0x01) is not a witness key
        ("remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "key id"),
        ("remora.n621.de+da77ade7", "expected"),
        ("remora.n621.de+da77ade7+not base64!", "bad encoding"),
        ("remora.n621.de+da77ade7+BAAA", "not an Ed25519"),
        ("bad name+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2", "spaces"),
    ],
)
def test_bad_witness_keys(vkey: str, problem: str) -> None:
    with pytest.raises(MalformedNoteError, match=problem):
        CosignerKey.parse(vkey)


def test_foreign_and_short_signatures() -> None:
    wkey, other = generate_log_key(), generate_log_key()
    key = CosignerKey.parse(witness_vkey(wkey, "w.example"))
    note = SPEC_BODY + "\n" + cosign(other, "w.example", SPEC_BODY, timestamp=1)
    assert key.find(note) == []  # same name, other key id: ignored
    kid = key.key_id
    short = SPEC_BODY + "\n\u2014 w.example " + base64.b64encode(kid + bytes(64)).decode() + "\n"
    with pytest.raises(MalformedNoteError, match="8 \\+ 64"):
        key.find(short)
