"""The log side: submit real checkpoints to real witnesses on 127.0.0.1, some down or refusing."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from ledger.checkpoint import Checkpoint
from ledger.errors import MalformedNoteError
from ledger.witness.client import WitnessEndpoint, submit_checkpoint
from ledger.witness.home import add_log
from ledger.witness.policy import Policy
from tests.witness.conftest import ORIGIN, Log, RunningWitness


@pytest.fixture
def three(tmp_path: Path, log: Log) -> Iterator[list[RunningWitness]]:
    ws = [RunningWitness(tmp_path / f"w{i}", f"witness.example/w{i}") for i in (1, 2, 3)]
    for w in ws:
        add_log(w.dir, log.vkey)
        w.start()
    yield ws
    for w in ws:
        w.stop()


def endpoints(ws: list[RunningWitness]) -> list[WitnessEndpoint]:
    return [WitnessEndpoint(w.vkey, w.url) for w in ws]


def policy_for(log: Log, ws: list[RunningWitness], k: str) -> Policy:
    lines = [f"log {log.vkey}"] + [f"witness W{i} {w.vkey}" for i, w in enumerate(ws)]
    members = " ".join(f"W{i}" for i in range(len(ws)))
    return Policy.parse("\n".join([*lines, f"group g {k} {members}", "quorum g", ""]))


def test_three_witnesses_cosign_and_catch_up(log: Log, three: list[RunningWitness]) -> None:
    cp = log.grow(5)
    result = submit_checkpoint(cp.note, log.proof, endpoints(three))
    assert result.failed == {} and len(result.cosigned) == 3
    assert result.known_sizes() == {w.name: 5 for w in three}
    report = policy_for(log, three, "all").evaluate(result.cosigned_note())
    assert report.satisfied and report.size == 5 and len(report.cosigned) == 3
    # The next checkpoint goes out with each witness's last size and a real proof.
    cp2 = log.grow(6)
    r2 = submit_checkpoint(cp2.note, log.proof, endpoints(three), known_sizes=result.known_sizes())
    assert r2.failed == {} and r2.known_sizes() == {w.name: 11 for w in three}
    assert all(o.status == 200 for o in r2.outcomes.values())


def test_409_is_retried_once_from_the_reported_size(log: Log, three: list[RunningWitness]) -> None:
    submit_checkpoint(log.grow(4).note, log.proof, endpoints(three))
    cp = log.grow(3)
    result = submit_checkpoint(cp.note, log.proof, endpoints(three))  # sizes unknown: old 0
    assert result.failed == {} and result.known_sizes() == {w.name: 7 for w in three}
    wrong = {w.name: 2 for w in three}  # stale: 409 says 7, resubmitted with proof(7, 9)
    cp3 = log.grow(2)
    assert submit_checkpoint(cp3.note, log.proof, endpoints(three), known_sizes=wrong).failed == {}


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_down_and_silent_witnesses_never_raise(log: Log, three: list[RunningWitness]) -> None:
    three[2].stop()
    silent = socket.socket()  # accepts connections (backlog) but never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    eps = [
        *endpoints(three[:2]),
        WitnessEndpoint(three[2].vkey, f"http://127.0.0.1:{_closed_port()}"),
        WitnessEndpoint(three[0].vkey, f"http://127.0.0.1:{silent.getsockname()[1]}"),
    ]
    cp = log.grow(3)
    t0 = time.monotonic()
    result = submit_checkpoint(cp.note, log.proof, eps[:3], timeout=1.0)
    assert time.monotonic() - t0 < 5
    assert set(result.cosigned) == {three[0].name, three[1].name}
    assert "ConnectError" in result.failed[three[2].name] and result.outcomes[three[2].name].down
    t0 = time.monotonic()
    slow = submit_checkpoint(cp.note, log.proof, [eps[3]], timeout=0.5)
    assert time.monotonic() - t0 < 3
    assert "Timeout" in slow.failed[three[0].name]
    silent.close()
    # The stopped witness comes back: a later checkpoint catches it up from size 0.
    three[2].start()
    cp2 = log.grow(2)
    again = submit_checkpoint(
        cp2.note, log.proof, endpoints(three), known_sizes=result.known_sizes()
    )
    assert again.failed == {} and again.known_sizes()[three[2].name] == 5


def test_refusals_and_wrong_keys_are_reported(
    tmp_path: Path, log: Log, three: list[RunningWitness]
) -> None:
    stranger = RunningWitness(tmp_path / "stranger", "witness.example/stranger")
    stranger.start()  # witnesses no log: 404
    eps = [
        WitnessEndpoint(stranger.vkey, stranger.url),
        WitnessEndpoint(three[1].vkey, three[0].url),  # answers, but with another key
        WitnessEndpoint(three[2].vkey, three[2].url + "/"),
    ]
    result = submit_checkpoint(log.grow(3).note, log.proof, eps)
    assert result.failed[stranger.name].startswith("HTTP 404")
    assert "no cosignature by the witness's key" in result.failed[three[1].name]
    assert list(result.cosigned) == [three[2].name]
    stranger.stop()


def test_a_witness_ahead_of_the_checkpoint(log: Log, three: list[RunningWitness]) -> None:
    old = log.grow(3)
    submit_checkpoint(log.grow(4).note, log.proof, endpoints(three))
    result = submit_checkpoint(old.note, log.proof, endpoints(three[:1]))
    assert "ahead" in result.failed[three[0].name]
    assert result.known_sizes() == {three[0].name: 7}
    # A proof the log cannot give (a size beyond its tree) fails that witness only.
    future = Checkpoint(ORIGIN, 99, bytes(32)).sign(log.key)
    r = submit_checkpoint(future, log.proof, endpoints(three[:1]), known_sizes={three[0].name: 7})
    assert "no consistency proof" in r.failed[three[0].name]


def test_bad_urls_fail_the_witness_and_bad_keys_raise(
    log: Log, three: list[RunningWitness]
) -> None:
    cp = log.grow(2)
    for url in ("not a url", "ftp://127.0.0.1/", "http://[::1"):
        r = submit_checkpoint(cp.note, log.proof, [WitnessEndpoint(three[0].vkey, url)])
        assert list(r.failed) == [three[0].name] and r.cosigned == {}, url
    with pytest.raises(MalformedNoteError, match="witness key"):
        submit_checkpoint(cp.note, log.proof, [WitnessEndpoint(log.vkey, three[0].url)])


def test_kept_client_gets_the_timeout_and_no_duplicate_lines(
    log: Log, three: list[RunningWitness]
) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    cp = log.grow(2)
    with httpx2.Client(timeout=60) as http:
        t0 = time.monotonic()
        eps = [WitnessEndpoint(three[0].vkey, f"http://127.0.0.1:{silent.getsockname()[1]}")]
        r = submit_checkpoint(cp.note, log.proof, eps, timeout=0.5, client=http)
        assert time.monotonic() - t0 < 3 and "Timeout" in r.failed[three[0].name]
        first = submit_checkpoint(cp.note, log.proof, endpoints(three[1:]), client=http)
        # Resubmitting the cosigned note: fresh cosignatures, the old lines not repeated.
        again = submit_checkpoint(
            first.cosigned_note(),
            log.proof,
            endpoints(three[1:]),
            known_sizes=first.known_sizes(),
            client=http,
        )
    silent.close()
    assert again.failed == {}
    note = again.cosigned_note()
    assert note.startswith(cp.note)
    assert [note.count(f"\u2014 {w.name} ") for w in three] == [0, 1, 1]
    assert policy_for(log, three[1:], "all").evaluate(note).satisfied


def test_split_view_gets_no_quorum(tmp_path: Path, log: Log, three: list[RunningWitness]) -> None:
    """The key holder shows tree A to the witnesses, then a fork B of the same size: B gets no
    cosignature, so a verifier requiring a quorum accepts A and not B."""
    fork = Log(tmp_path / "fork.db", log.key)
    a, b = log.grow(4, tag="a"), fork.grow(4, tag="b")
    ra = submit_checkpoint(a.note, log.proof, endpoints(three))
    rb = submit_checkpoint(b.note, fork.proof, endpoints(three))
    assert len(ra.cosigned) == 3 and rb.cosigned == {}
    assert all(reason.startswith("HTTP 409") for reason in rb.failed.values())
    b6 = fork.grow(2, tag="b")
    rb6 = submit_checkpoint(b6.note, fork.proof, endpoints(three), known_sizes=ra.known_sizes())
    assert all(reason.startswith("HTTP 422") for reason in rb6.failed.values())
    policy = policy_for(log, three, "any")
    assert policy.evaluate(ra.cosigned_note()).satisfied
    assert not policy.evaluate(rb.cosigned_note()).satisfied
    assert not policy.evaluate(rb6.cosigned_note()).satisfied
    fork.led.close()
