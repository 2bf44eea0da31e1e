"""POST /add-checkpoint over real HTTP on 127.0.0.1: every status code of C2SP tlog-witness v1.0,
with real checkpoints and consistency proofs from a real ledger."""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path

import httpx2
import pytest

from ledger.checkpoint import Checkpoint, generate_log_key
from ledger.witness.cosignature import CosignerKey
from ledger.witness.home import STATE_FILE
from ledger.witness.state import Tree, WitnessState
from ledger.witness.wire import encode_request
from tests.witness.conftest import ORIGIN, Log, RunningWitness


def state_of(w: RunningWitness) -> Tree | None:
    return WitnessState(w.dir / STATE_FILE).get(ORIGIN)


def test_cosigns_first_then_consistent_checkpoints(log: Log, witness: RunningWitness) -> None:
    cp = log.grow(3)
    resp = witness.post(encode_request(0, [], cp.note))
    assert resp.status_code == 200, resp.text
    lines = resp.text.split("\n")
    assert lines[-1] == "" and len(lines) == 2 and lines[0].startswith("\u2014 witness.example/w1 ")
    (cosig,) = CosignerKey.parse(witness.vkey).find(cp.note + resp.text)
    assert cosig.timestamp > 0
    assert state_of(witness) == Tree(3, cp.root)

    cp2 = log.grow(4)
    resp = witness.post(encode_request(3, log.proof(3, 7), cp2.note))
    assert resp.status_code == 200, resp.text
    assert state_of(witness) == Tree(7, cp2.root)
    # The same checkpoint again (old == new, same root): cosigned again, state unchanged.
    assert witness.post(encode_request(7, [], cp2.note)).status_code == 200
    assert state_of(witness) == Tree(7, cp2.root)


def test_409_carries_the_current_size_then_retry_succeeds(
    log: Log, witness: RunningWitness
) -> None:
    assert witness.post(encode_request(0, [], log.grow(3).note)).status_code == 200
    cp = log.grow(5)
    resp = witness.post(encode_request(0, [], cp.note))
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "text/x.tlog.size"
    assert resp.content == b"3\n"
    resp = witness.post(encode_request(2, log.proof(2, 8), cp.note))
    assert (resp.status_code, resp.content) == (409, b"3\n")
    assert witness.post(encode_request(3, log.proof(3, 8), cp.note)).status_code == 200
    assert state_of(witness) == Tree(8, cp.root)


def test_422_for_a_proof_that_does_not_verify(log: Log, witness: RunningWitness) -> None:
    first = log.grow(3)
    assert witness.post(encode_request(0, [], first.note)).status_code == 200
    cp = log.grow(4)
    good = log.proof(3, 7)
    flipped = [bytes([good[0][0] ^ 1]) + good[0][1:], *good[1:]]
    for proof in (flipped, good[:-1], [*good, good[0]], log.proof(2, 7)):
        resp = witness.post(encode_request(3, proof, cp.note))
        assert resp.status_code == 422, resp.text
        assert state_of(witness) == Tree(3, first.root)


def test_422_for_empty_tree_rules(log: Log, witness: RunningWitness) -> None:
    bogus_empty = Checkpoint(ORIGIN, 0, bytes(32)).sign(log.key)
    assert witness.post(encode_request(0, [], bogus_empty)).status_code == 422
    cp = log.grow(4)
    assert witness.post(encode_request(0, log.proof(2, 4), cp.note)).status_code == 422
    assert state_of(witness) is None


def test_403_without_a_valid_signature_by_the_log_key(log: Log, witness: RunningWitness) -> None:
    cp = log.grow(3)
    forged = Checkpoint(ORIGIN, 3, cp.root).sign(generate_log_key())  # same name, other key
    assert witness.post(encode_request(0, [], forged)).status_code == 403
    # The log's own key id and name, but the signature bytes are broken.
    body, _, sig_line = cp.note.partition("\n\n")
    name, b64 = sig_line.strip()[2:].split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[10] ^= 0xFF
    broken = f"{body}\n\n\u2014 {name} {base64.b64encode(bytes(blob)).decode()}\n"
    assert witness.post(encode_request(0, [], broken)).status_code == 403
    assert state_of(witness) is None
    # Unknown keys' signatures are ignored: the log's valid one still counts.
    extra = cp.note + forged.partition("\n\n")[2]
    assert witness.post(encode_request(0, [], extra)).status_code == 200


def test_404_for_an_unknown_origin(tmp_path: Path, witness: RunningWitness) -> None:
    other = Log(tmp_path / "other.db", generate_log_key(), origin="other.example/log")
    resp = witness.post(encode_request(0, [], other.grow(2).note))
    assert resp.status_code == 404
    other.led.close()


def test_400_old_larger_than_new(log: Log, witness: RunningWitness) -> None:
    cp = log.grow(3)
    assert witness.post(encode_request(5, [], cp.note)).status_code == 400
    assert state_of(witness) is None


def _malformed(note: str, hashes: list[bytes]) -> dict[str, bytes]:
    h = base64.b64encode(hashes[0]).decode()
    return {
        "empty body": b"",
        "no empty line": f"old 0\n{h}\n".encode(),
        "no old line": f"size 0\n\n{note}".encode(),
        "old with a leading zero": f"old 03\n{h}\n\n{note}".encode(),
        "old not a number": f"old -1\n\n{note}".encode(),
        "two spaces after old": f"old  3\n\n{note}".encode(),
        "bad base64 proof line": f"old 3\n{h[:-2]}!!\n\n{note}".encode(),
        "proof line not a hash": f"old 3\n{base64.b64encode(b'short').decode()}\n\n{note}".encode(),
        "64 proof lines": ("old 3\n" + f"{h}\n" * 64 + "\n" + note).encode(),
        "carriage return": f"old 0\r\n\n{note}".encode(),
        "not UTF-8": b"old 0\n\n\xff\xfe" + note.encode(),
        "no checkpoint": b"old 0\n\n",
        "not a checkpoint": b"old 0\n\nhello\n\n\xe2\x80\x94 x AAAAAAAA\n",
        "note without signatures": ("old 0\n\n" + note.partition("\n\n")[0] + "\n").encode(),
        "bad size line": ("old 0\n\n" + note.replace("\n7\n", "\n07\n", 1)).encode(),
    }


@pytest.mark.parametrize("case", list(_malformed("x\n7\ny\n\n", [bytes(32)])))
def test_400_for_every_malformed_body(log: Log, witness: RunningWitness, case: str) -> None:
    first = log.grow(3)
    assert witness.post(encode_request(0, [], first.note)).status_code == 200
    cp = log.grow(4)
    body = _malformed(cp.note, log.proof(3, 7))[case]
    resp = witness.post(body)
    assert resp.status_code == 400, (case, resp.status_code, resp.text)
    assert state_of(witness) == Tree(3, first.root)
    assert WitnessState(witness.dir / STATE_FILE).refusals() == []


def test_restart_keeps_state(log: Log, witness: RunningWitness) -> None:
    cp = log.grow(3)
    assert witness.post(encode_request(0, [], cp.note)).status_code == 200
    witness.restart()
    cp2 = log.grow(2)
    resp = witness.post(encode_request(0, [], cp2.note))
    assert (resp.status_code, resp.content) == (409, b"3\n")
    assert witness.post(encode_request(3, log.proof(3, 5), cp2.note)).status_code == 200


def _race(witness: RunningWitness, bodies: list[bytes]) -> list[httpx2.Response]:
    barrier = threading.Barrier(len(bodies))
    out: list[httpx2.Response | None] = [None] * len(bodies)

    def go(i: int) -> None:
        with httpx2.Client(timeout=30) as c:
            barrier.wait()
            out[i] = c.post(witness.url + "/add-checkpoint", content=bodies[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


def test_concurrent_requests_exactly_one_wins_each_size(log: Log, witness: RunningWitness) -> None:
    assert witness.post(encode_request(0, [], log.grow(3).note)).status_code == 200
    log.grow(37)
    current = 3
    for _ in range(3):  # rounds: racers to different sizes, all from the current size
        sizes = list(range(current + 1, current + 9))
        notes = [Checkpoint(ORIGIN, n, log.led.root(n)).sign(log.key) for n in sizes]
        bodies = [
            encode_request(current, log.proof(current, n), note)
            for n, note in zip(sizes, notes, strict=True)
        ]
        responses = _race(witness, bodies)
        winners = [n for n, r in zip(sizes, responses, strict=True) if r.status_code == 200]
        assert len(winners) == 1, [r.status_code for r in responses]
        losers = [r for r in responses if r.status_code != 200]
        assert all(r.status_code == 409 and r.content == f"{winners[0]}\n".encode() for r in losers)
        current = winners[0]
        assert state_of(witness) == Tree(current, log.led.root(current))
    # The same checkpoint from many clients at once: one cosignature, the rest 409.
    note = Checkpoint(ORIGIN, 40, log.led.root(40)).sign(log.key)
    responses = _race(witness, [encode_request(current, log.proof(current, 40), note)] * 8)
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7


def test_split_view_is_refused_and_kept(tmp_path: Path, log: Log, witness: RunningWitness) -> None:
    """The key holder shows two different trees for one origin: the witness cosigns only one."""
    fork = Log(tmp_path / "fork.db", log.key)  # same origin, same key, other entries
    a = log.grow(3, tag="a")
    b = fork.grow(3, tag="b")
    assert a.size == b.size and a.root != b.root
    assert witness.post(encode_request(0, [], a.note)).status_code == 200
    resp = witness.post(encode_request(0, [], b.note))
    assert (resp.status_code, resp.content) == (409, b"3\n")
    resp = witness.post(encode_request(3, [], b.note))  # same size, other root
    assert resp.status_code == 409
    b5 = fork.grow(2, tag="b")
    assert witness.post(encode_request(3, fork.proof(3, 5), b5.note)).status_code == 422
    assert state_of(witness) == Tree(3, a.root)
    evidence = WitnessState(witness.dir / STATE_FILE).refusals(ORIGIN)
    assert [r.status for r in evidence] == [409, 422]
    assert [r.note for r in evidence] == [b.note, b5.note]
    fork.led.close()


def test_monitoring_endpoint_serves_the_cosigned_checkpoint(
    log: Log, witness: RunningWitness
) -> None:
    path = "/" + hashlib.sha256(ORIGIN.encode()).hexdigest() + "/checkpoint"
    assert httpx2.get(witness.url + path).status_code == 404
    cp = log.grow(2)
    resp = witness.post(encode_request(0, [], cp.note))
    got = httpx2.get(witness.url + path)
    assert got.status_code == 200 and got.text == cp.note + resp.text
    # Signatures by keys the witness does not know are not passed on to monitors.
    cp2 = log.grow(1)
    foreign = Checkpoint(ORIGIN, 3, cp2.root).sign(generate_log_key()).partition("\n\n")[2]
    resp = witness.post(encode_request(2, log.proof(2, 3), cp2.note + foreign))
    assert resp.status_code == 200
    assert httpx2.get(witness.url + path).text == cp2.note + resp.text
    assert httpx2.get(witness.url + "/add-checkpoint").status_code == 405
