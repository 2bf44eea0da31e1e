"""The add-checkpoint request and 409 bodies, byte for byte (the spec's example request)."""

from __future__ import annotations

import base64

import pytest

from ledger.witness.wire import (
    BadRequestError,
    encode_request,
    parse_request,
    parse_size_body,
)

SPEC_REQUEST = """old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
"""


def test_spec_example_round_trips() -> None:
    req = parse_request(SPEC_REQUEST.encode())
    assert req.old_size == 20852014 and len(req.proof) == 4
    assert req.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    assert req.note.startswith("example.com/behind-the-sofa\n20852163\n")
    assert encode_request(req.old_size, req.proof, req.note) == SPEC_REQUEST.encode()


def test_encoding() -> None:
    assert encode_request(0, [], "n\n") == b"old 0\n\nn\n"
    with pytest.raises(ValueError, match="at most 63"):
        encode_request(3, [bytes(32)] * 64, "n\n")
    assert len(parse_request(encode_request(3, [bytes(32)] * 63, "n\n")).proof) == 63


def test_size_body() -> None:
    assert parse_size_body(b"0\n") == 0 and parse_size_body(b"20852014\n") == 20852014
    for bad in (b"", b"3", b"03\n", b"-1\n", b"3\n\n", b"x\n", b"\xff\n"):
        with pytest.raises(BadRequestError):
            parse_size_body(bad)
