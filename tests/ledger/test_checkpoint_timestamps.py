"""RFC 3161 timestamps on ledger checkpoints, against a real TSA on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from ledger import Ledger
from ledger.checkpoint import verifier_key
from ledger.checkpoint_timestamps import timestamp_of
from ledger.timestamp import TimestampError, check_token, fetch_token, load_anchors
from tests.hardening.tsa import TsaAuthority, running_tsa
from tests.ledger.ledger_helpers import ORIGIN


@pytest.fixture(scope="module")
def authority() -> TsaAuthority:
    return TsaAuthority.make()


@pytest.fixture
def tsa_url(authority: TsaAuthority) -> Iterator[str]:
    with running_tsa(authority) as url:
        yield url


def _dead_url() -> str:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/tsa"


def _ledger(url: str, key: Ed25519PrivateKey, tsa: str | None, n: int = 3) -> Ledger:
    Ledger.create(url, origin=ORIGIN, log_key=key, tsa_url="").close()
    led = Ledger.open(
        url, log_key=key, checkpoint_every=None, checkpoint_interval=None, tsa_url=tsa
    )
    for i in range(n):
        led.append("generate", {"n": i}, outputs=[f"{i:064x}"])
    return led


def _tokens(url: str) -> dict[int, bytes]:
    engine = create_engine(url)
    with engine.connect() as c:
        rows = c.execute(text("SELECT checkpoint_id, token FROM ledger_checkpoint_timestamp")).all()
    engine.dispose()
    return {int(r[0]): bytes(r[1]) for r in rows}


def test_timestamped_checkpoint_is_stored_and_audits_clean(
    any_url: str, log_key: Ed25519PrivateKey, tsa_url: str, authority: TsaAuthority
) -> None:
    with _ledger(any_url, log_key, tsa_url) as led:
        first = led.checkpoint()
        led.append("edit", {"n": 9})
        second = led.checkpoint()
        assert led.timestamp_error is None
        token = timestamp_of(led, second)
        assert token is not None and "CN=Test TSA" in token.tsa
        assert check_token(token.der, second.note.encode()).serial == token.serial
        with pytest.raises(TimestampError, match="imprint does not match"):
            check_token(token.der, first.note.encode())
        report = led.audit(tsa_anchors=load_anchors(authority.root_pem))
    assert report.ok, report.problems
    assert (report.timestamps.timestamped, report.timestamps.untimestamped) == (2, 0)
    assert report.timestamps.anchored
    latest = json.loads(report.to_json())["timestamps"]["latest"]
    assert latest["size"] == 4 and latest["gen_time"] == token.gen_time.isoformat()


def test_token_swapped_onto_another_checkpoint_is_damage(
    any_url: str, log_key: Ed25519PrivateKey, tsa_url: str
) -> None:
    with _ledger(any_url, log_key, tsa_url) as led:
        led.checkpoint()
        led.append("edit", {"n": 9})
        led.checkpoint()
    tokens = _tokens(any_url)
    first, second = sorted(tokens)
    engine = create_engine(any_url)
    with engine.begin() as c:
        c.execute(
            text("UPDATE ledger_checkpoint_timestamp SET token = :t WHERE checkpoint_id = :i"),
            {"t": tokens[first], "i": second},
        )
    engine.dispose()
    with Ledger.open(any_url, tsa_url="") as led:  # an auditor without the log key pins it
        report = led.audit(verifier_key=verifier_key(log_key, ORIGIN))
    assert not report.ok
    assert [(i, k) for i, k, _ in report.problems] == [(4, "checkpoint_timestamp")]
    assert "message imprint does not match" in report.problems[0][2]
    assert report.timestamps.timestamped == 1


def test_tampered_token_and_foreign_anchor_are_reported(
    sqlite_url: str, log_key: Ed25519PrivateKey, tsa_url: str
) -> None:
    with _ledger(sqlite_url, log_key, tsa_url) as led:
        led.checkpoint()
        other = TsaAuthority.make()  # a TSA root that did not issue this TSA's certificate
        report = led.audit(tsa_anchors=load_anchors(other.root_pem))
        assert [k for _, k, _ in report.problems] == ["checkpoint_timestamp"]
        assert "does not chain to a given TSA anchor" in report.problems[0][2]
    [(_, der)] = _tokens(sqlite_url).items()
    bad = bytearray(der)
    bad[-3] ^= 0x01  # inside the signature: the token still parses
    engine = create_engine(sqlite_url)
    with engine.begin() as c:
        c.execute(text("UPDATE ledger_checkpoint_timestamp SET token = :t"), {"t": bytes(bad)})
    engine.dispose()
    with Ledger.open(sqlite_url, tsa_url="") as led:  # an auditor without the log key pins it
        report = led.audit(verifier_key=verifier_key(log_key, ORIGIN))
    assert [k for _, k, _ in report.problems] == ["checkpoint_timestamp"]
    assert "signature does not verify" in report.problems[0][2]


def test_unreachable_tsa_keeps_the_checkpoint_warns_and_can_retry(
    any_url: str,
    log_key: Ed25519PrivateKey,
    authority: TsaAuthority,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = _dead_url()
    with (
        _ledger(any_url, log_key, dead) as led,
        caplog.at_level(logging.WARNING, "ledger.timestamp"),
    ):
        cp = led.checkpoint()
        assert led.latest_checkpoint() == cp  # signed and stored all the same
        assert led.timestamp_error is not None and "unreachable" in led.timestamp_error
        assert any("has no timestamp" in r.getMessage() for r in caplog.records)
        assert timestamp_of(led, cp) is None
        report = led.audit()
        assert report.ok and (report.timestamps.timestamped, report.timestamps.untimestamped) == (
            0,
            1,
        )
        led.append("edit", {"n": 9})
        led.checkpoint()  # within the back-off: no second wait on a dead TSA
        assert led.timestamp_error is not None and "failed recently" in led.timestamp_error
    with running_tsa(authority) as url, Ledger.open(any_url, log_key=log_key, tsa_url=url) as led:
        again = led.checkpoint()  # nothing new: the latest checkpoint is timestamped now
        assert again.size == 4 and led.timestamp_error is None
        assert timestamp_of(led, again) is not None
        assert led.audit().timestamps.untimestamped == 1


def test_without_a_tsa_nothing_is_asked_or_stored(
    sqlite_url: str, log_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROVENANCE_TSA_URL", raising=False)
    with _ledger(sqlite_url, log_key, "") as led:
        cp = led.checkpoint()
        assert led.tsa_url == "" and led.timestamp_error is None
        report = led.audit()
    assert report.ok and report.timestamps.timestamped == 0
    assert _tokens(sqlite_url) == {}
    with Ledger.open(sqlite_url, log_key=log_key) as led:  # no env, no argument: still none
        assert led.tsa_url == ""
        assert led.checkpoint() == cp


def test_tsa_url_from_environment(
    sqlite_url: str, log_key: Ed25519PrivateKey, tsa_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_TSA_URL", tsa_url)
    with _ledger(sqlite_url, log_key, tsa=None) as led:
        cp = led.checkpoint()
        assert timestamp_of(led, cp) is not None


@pytest.mark.parametrize(
    "reply, message",
    [
        (b"", "not a DER TimeStampResp"),
        (bytes.fromhex("30053003020102"), "request rejection"),
    ],
)
def test_bad_tsa_replies_are_named(reply: bytes, message: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(TimestampError, match=message):
            fetch_token(f"http://127.0.0.1:{server.server_address[1]}/", b"note")
    finally:
        server.shutdown()
        server.server_close()


def test_cli_checkpoint_and_audit_report_timestamps(
    home: object,
    authority: TsaAuthority,
    tsa_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from provenance.cli import main

    anchors = tmp_path / "tsa-root.pem"
    anchors.write_bytes(authority.root_pem)
    monkeypatch.setenv("PROVENANCE_TSA_URL", tsa_url)
    assert main(["ledger", "checkpoint"]) == 0
    out = capsys.readouterr()
    assert "timestamped by" in out.err and out.out.startswith("provenance.local/")
    monkeypatch.setenv("PROVENANCE_TSA_URL", _dead_url())
    assert main(["ledger", "checkpoint"]) == 0  # nothing new and already stamped: no request
    capsys.readouterr()
    assert main(["ledger", "audit", "--json", "--tsa-anchors", str(anchors)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["timestamps"]["timestamped"] == 1 and doc["timestamps"]["anchored"]
    assert main(["ledger", "audit"]) == 0  # the library names the parameter, the CLI its flag
    assert "(TSA certificate not checked: no --tsa-anchors)" in capsys.readouterr().out
    assert main(["ledger", "audit", "--tsa-anchors", str(tmp_path / "missing.pem")]) == 2
