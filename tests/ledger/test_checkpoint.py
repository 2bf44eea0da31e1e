"""Signed-note checkpoints: round trip, forged, foreign and malformed notes."""

from __future__ import annotations

import base64

import pytest

from ledger.checkpoint import (
    Checkpoint,
    Verifier,
    generate_log_key,
    key_from_pem,
    key_to_pem,
    open_checkpoint,
    verifier_key,
)
from ledger.errors import LedgerIntegrityError, MalformedNoteError, WrongLogKeyError

ORIGIN = "example.org/log"


def test_round_trip_and_format() -> None:
    key = generate_log_key()
    note = Checkpoint(ORIGIN, 7, bytes(range(32))).sign(key)
    lines = note.split("\n")
    assert lines[:3] == [ORIGIN, "7", base64.b64encode(bytes(range(32))).decode()]
    assert lines[3] == "" and lines[4].startswith("\u2014 example.org/log ")
    vkey = verifier_key(key, ORIGIN)
    assert vkey.startswith(ORIGIN + "+") and Verifier.parse(vkey).name == ORIGIN
    cp = open_checkpoint(note, vkey)
    assert (cp.origin, cp.size, cp.root, cp.note) == (ORIGIN, 7, bytes(range(32)), note)
    assert verifier_key(key_from_pem(key_to_pem(key)), ORIGIN) == vkey


def test_wrong_key_and_other_log_are_refused() -> None:
    key, other = generate_log_key(), generate_log_key()
    note = Checkpoint(ORIGIN, 1, bytes(32)).sign(key)
    with pytest.raises(WrongLogKeyError, match="wrong log key"):
        open_checkpoint(note, verifier_key(other, ORIGIN))
    with pytest.raises(WrongLogKeyError):
        open_checkpoint(note, verifier_key(key, "other.org/log"))


def test_tampered_body_fails_signature() -> None:
    key = generate_log_key()
    note = Checkpoint(ORIGIN, 5, bytes(32)).sign(key).replace("\n5\n", "\n6\n", 1)
    with pytest.raises(LedgerIntegrityError, match="signature does not verify"):
        open_checkpoint(note, verifier_key(key, ORIGIN))


@pytest.mark.parametrize(
    "note",
    [
        "",
        "no blank line\n",
        f"{ORIGIN}\n5\n\n\u2014 x AAAA\n",
        f"{ORIGIN}\nfive\nAAAA\n\n\u2014 x AAAAAAAA\n",
        f"{ORIGIN}\n5\n{base64.b64encode(bytes(32)).decode()}\n\n- x AAAAAAAA\n",
        f"{ORIGIN}\n05\n{base64.b64encode(bytes(32)).decode()}\n\n\u2014 x AAAAAAAA\n",
    ],
)
def test_malformed_notes(note: str) -> None:
    with pytest.raises(MalformedNoteError):
        open_checkpoint(note, verifier_key(generate_log_key(), ORIGIN))


@pytest.mark.parametrize("vkey", ["", "a+b", "a+zzzzzzzz+AAAA", "a+00000000+" + "A" * 44])
def test_malformed_verifier_keys(vkey: str) -> None:
    with pytest.raises(MalformedNoteError):
        Verifier.parse(vkey)
