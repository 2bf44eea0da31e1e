"""`provenance witness ...`: in-process for the file commands, a real subprocess for serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from ledger.witness.client import WitnessEndpoint, submit_checkpoint
from ledger.witness.home import LOGS_FILE, add_log
from provenance.cli import main
from tests.witness.conftest import Log, RunningWitness

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_init_add_log_logs_vkey(
    tmp_path: Path, log: Log, capsys: pytest.CaptureFixture[str]
) -> None:
    d = str(tmp_path / "w")
    rc, out, _ = run(capsys, "witness", "init", "--dir", d, "--name", "witness.example/w1")
    assert rc == 0 and out.startswith("witness.example/w1+")
    vkey = out.strip()
    assert run(capsys, "witness", "vkey", "--dir", d)[1].strip() == vkey
    assert run(capsys, "witness", "add-log", "--dir", d, log.vkey)[1] == "test.example/log\n"
    rc, out, _ = run(capsys, "witness", "logs", "--dir", d, "--json")
    assert rc == 0 and json.loads(out) == {
        "origin": "test.example/log",
        "cosigned_size": None,
        "url": None,
    }
    before = (tmp_path / "w" / LOGS_FILE).read_text()
    for args, problem in [
        (["init", "--dir", d, "--name", "witness.example/w1"], "already exists"),
        (["add-log", "--dir", d, log.vkey], "already listed"),
        (["add-log", "--dir", d, "nonsense"], "log key"),
        (["add-log", "--dir", d, vkey], "log key"),  # a witness key is not a log key
        (["vkey", "--dir", str(tmp_path / "missing")], "run `provenance witness init`"),
        (["logs", "--dir", str(tmp_path / "missing")], "run `provenance witness init`"),
        (["evidence", "--dir", str(tmp_path / "missing")], "run `provenance witness init`"),
        (["init", "--dir", str(tmp_path / "x"), "--name", "has space"], "witness name"),
    ]:
        rc, out, err = run(capsys, "witness", *args)
        assert rc == 2 and out == "" and problem in err and err.count("\n") == 1, (args, err)
    assert (tmp_path / "w" / LOGS_FILE).read_text() == before
    assert not (tmp_path / "x").exists()


def test_quorum_command(tmp_path: Path, log: Log, capsys: pytest.CaptureFixture[str]) -> None:
    w = RunningWitness(tmp_path / "w1", "witness.example/w1")
    add_log(w.dir, log.vkey)
    w.start()
    cp = log.grow(3)
    result = submit_checkpoint(cp.note, log.proof, [WitnessEndpoint(w.vkey, w.url)])
    w.stop()
    policy = tmp_path / "policy"
    policy.write_text(f"log {log.vkey}\nwitness A {w.vkey}\nquorum A\n")
    (tmp_path / "bare").write_text(cp.note)
    (tmp_path / "cosigned").write_text(result.cosigned_note())
    rc, out, _ = run(
        capsys, "witness", "quorum", "--policy", str(policy), str(tmp_path / "cosigned")
    )
    assert rc == 0 and "1 of 1 witnesses cosigned test.example/log at size 3 (A)" in out
    rc, out, _ = run(
        capsys, "witness", "quorum", "--policy", str(policy), str(tmp_path / "bare"), "--json"
    )
    assert rc == 1 and json.loads(out)["satisfied"] is False
    policy.write_text("quorum B\n")
    rc, _, err = run(capsys, "witness", "quorum", "--policy", str(policy), str(tmp_path / "bare"))
    assert rc == 2 and "not defined" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_subprocess(tmp_path: Path, log: Log) -> None:
    d = tmp_path / "w"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "provenance", "witness"]
    vkey = subprocess.run(
        [*cmd, "init", "--dir", str(d), "--name", "witness.example/sub"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run(
        [*cmd, "add-log", "--dir", str(d), log.vkey], env=env, check=True, capture_output=True
    )
    port = _free_port()
    proc = subprocess.Popen(
        [*cmd, "serve", "--dir", str(d), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(url + "/add-checkpoint", timeout=1)
                break
            except httpx2.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        result = submit_checkpoint(log.grow(2).note, log.proof, [WitnessEndpoint(vkey, url)])
        assert list(result.cosigned) == ["witness.example/sub"], result.failed
        busy = subprocess.run(
            [*cmd, "serve", "--dir", str(d), "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert busy.returncode == 2
        assert (
            busy.stderr
            == f"provenance: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
        )
    finally:
        proc.terminate()
        proc.wait(10)


def test_evidence_lists_refused_split_views(
    tmp_path: Path, log: Log, capsys: pytest.CaptureFixture[str]
) -> None:
    w = RunningWitness(tmp_path / "w1", "witness.example/w1")
    add_log(w.dir, log.vkey)
    w.start()
    fork = Log(tmp_path / "fork.db", log.key)
    a, b = log.grow(2, tag="a"), fork.grow(2, tag="b")
    eps = [WitnessEndpoint(w.vkey, w.url)]
    submit_checkpoint(a.note, log.proof, eps)
    refused = submit_checkpoint(b.note, fork.proof, eps)
    w.stop()
    fork.led.close()
    assert refused.outcomes[w.name].status == 409 and not refused.outcomes[w.name].down
    rc, out, _ = run(capsys, "witness", "evidence", "--dir", str(w.dir))
    (item,) = [json.loads(line) for line in out.splitlines()]
    assert rc == 0 and item["status"] == 409 and item["refused_note"] == b.note
    assert item["cosigned_note"].startswith(a.note)
