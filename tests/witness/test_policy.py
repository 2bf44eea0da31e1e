"""C2SP tlog-policy text: parsing (each rule of the spec a case) and the quorum check."""

from __future__ import annotations

import base64

import pytest

from ledger.checkpoint import Checkpoint, generate_log_key, verifier_key
from ledger.witness.cosignature import cosign, witness_vkey
from ledger.witness.errors import PolicyError
from ledger.witness.policy import Policy

LOG = generate_log_key()
LOG_VKEY = verifier_key(LOG, "example.org/log")
KEYS = {n: generate_log_key() for n in ("X1", "X2", "X3", "Y1", "Y2", "Y3")}
VKEYS = {n: witness_vkey(k, f"{n.lower()}.example") for n, k in KEYS.items()}

SPEC_EXAMPLE = f"""
log {LOG_VKEY}

witness X1 {VKEYS["X1"]}
witness X2 {VKEYS["X2"]}
witness X3 {VKEYS["X3"]}
group X-witnesses 2 X1 X2 X3

witness Y1 {VKEYS["Y1"]}
witness Y2 {VKEYS["Y2"]}
witness Y3 {VKEYS["Y3"]}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
"""


def note_cosigned_by(*names: str, size: int = 9) -> str:
    note = Checkpoint("example.org/log", size, bytes(32)).sign(LOG)
    return note + "".join(cosign(KEYS[n], f"{n.lower()}.example", note) for n in names)


@pytest.mark.parametrize(
    "cosigners, satisfied",
    [
        ((), False),
        (("X1", "X2"), False),  # no Y
        (("X1", "Y3"), False),  # one X only
        (("X1", "X3", "Y2"), True),
        (("X1", "X2", "X3", "Y1", "Y2", "Y3"), True),
    ],
)
def test_spec_example_quorum(cosigners: tuple[str, ...], satisfied: bool) -> None:
    report = Policy.parse(SPEC_EXAMPLE).evaluate(note_cosigned_by(*cosigners))
    assert report.satisfied is satisfied
    assert set(report.cosigned) == set(cosigners)
    assert report.size == 9 and report.log_verified is True
    assert report.summary(6).startswith(
        f"{len(cosigners)} of 6 witnesses cosigned example.org/log at size 9"
    )


def test_comments_whitespace_and_urls() -> None:
    text = f"  # a comment\n\t\nlog\t{LOG_VKEY}  https://log.example/\nwitness A {VKEYS['X1']} https://w.example/\n  quorum   A  \n"
    p = Policy.parse(text)
    assert p.logs[0].url == "https://log.example/" and p.witnesses["A"].url == "https://w.example/"
    assert p.evaluate(note_cosigned_by("X1")).satisfied


def test_quorum_none_and_no_logs() -> None:
    p = Policy.parse("quorum none\n")
    report = p.evaluate(note_cosigned_by())
    assert report.satisfied and report.log_verified is None


def test_bad_or_foreign_signatures_do_not_count() -> None:
    p = Policy.parse(
        f"log {LOG_VKEY}\nwitness A {VKEYS['X1']}\nwitness B {VKEYS['X2']}\ngroup g any A B\nquorum g\n"
    )
    note = note_cosigned_by("X1")
    # A cosignature line by a known witness whose signature is broken: reported, not counted.
    body, _, sigs = note.partition("\n\n")
    log_line, x1_line = sigs.strip().split("\n")
    name, b64 = x1_line[2:].split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[-1] ^= 1
    broken = f"{body}\n\n{log_line}\n\u2014 {name} {base64.b64encode(bytes(blob)).decode()}\n"
    report = p.evaluate(broken)
    assert report.invalid == ["A"] and not report.satisfied
    # Cosigned, but the log signature is by another key: not a checkpoint of the policy's log.
    other = Checkpoint("example.org/log", 9, bytes(32)).sign(generate_log_key())
    forged = other + cosign(KEYS["X1"], "x1.example", other)
    report = p.evaluate(forged)
    assert report.quorum_met and report.log_verified is False and not report.satisfied


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "no quorum line"),
        ("quorum A\n", "not defined"),
        (f"witness A {VKEYS['X1']}\nquorum A\nquorum A\n", "second quorum"),
        (f"witness A {VKEYS['X1']}\nwitness A {VKEYS['X2']}\nquorum A\n", "already defined"),
        (f"witness A {VKEYS['X1']}\nwitness B {VKEYS['X1']}\nquorum A\n", "same public key"),
        (f"log {LOG_VKEY}\nlog {LOG_VKEY}\nquorum none\n", "same public key"),
        (f"witness none {VKEYS['X1']}\nquorum none\n", "reserved"),
        (f"witness A {LOG_VKEY}\nquorum A\n", "expected 0x04"),
        (f"log {VKEYS['X1']}\nquorum none\n", "Ed25519 signed-note key"),
        (f"witness A {VKEYS['X1']}\ngroup g 2 A\nquorum g\n", "threshold"),
        (f"witness A {VKEYS['X1']}\ngroup g 0 A\nquorum g\n", "threshold"),
        (f"witness A {VKEYS['X1']}\ngroup g some A\nquorum g\n", "threshold"),
        (f"witness A {VKEYS['X1']}\ngroup g any A A\nquorum g\n", "listed twice"),
        (f"witness A {VKEYS['X1']}\ngroup g any A B\nquorum g\n", "member 'B'"),
        (f"witness A {VKEYS['X1']}\ngroup g any none\nquorum g\n", "member 'none'"),
        (f"witness A {VKEYS['X1']}\ngroup g any\nquorum A\n", "wrong number"),
        ("quorum none extra\n", "wrong number"),
        ("mirror x\nquorum none\n", "unknown keyword"),
        ("quorum none\x0b\n", "control character"),
        ("group g any g\nquorum none\n", "member 'g'"),
    ],
)
def test_bad_policies(text: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        Policy.parse(text)


def test_errors_name_the_line() -> None:
    with pytest.raises(PolicyError, match="policy line 3: unknown keyword"):
        Policy.parse("# c\n\nbogus\nquorum none\n")
