"""The log side of witnessing, through the real path: Ledger.open(witnesses=...) submits each new
checkpoint after it is stored, over real HTTP on 127.0.0.1, to real witness servers; the
cosignatures are stored (schema 0005) and attached to checkpoints and receipts; a witness policy
decides whether a proof counts. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from ledger import Ledger, verify_receipt
from ledger.checkpoint import generate_log_key, verifier_key
from ledger.models import COSIGNATURE
from ledger.witness.client import WitnessEndpoint
from ledger.witness.cosignature import CosignerKey
from ledger.witness.home import add_log, load_witness
from ledger.witness.logside import parse_witness_list
from ledger.witness.policy import Policy
from ledger.witness.server import BackgroundServer, make_app
from tests.witness.conftest import RunningWitness, free_port

ORIGIN = "test.example/witnessed"


def make_log(url: str, key: Ed25519PrivateKey, witnesses: list[WitnessEndpoint]) -> Ledger:
    Ledger.create(url, origin=ORIGIN, log_key=key).close()
    return Ledger.open(url, log_key=key, checkpoint_every=1, witnesses=witnesses, tsa_url="")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return generate_log_key()


@pytest.fixture
def two(tmp_path: Path, key: Ed25519PrivateKey) -> Iterator[list[RunningWitness]]:
    ws = [RunningWitness(tmp_path / f"w{i}", f"witness.example/w{i}") for i in (1, 2)]
    for w in ws:
        add_log(w.dir, verifier_key(key, ORIGIN))
        w.start()
    yield ws
    for w in ws:
        w.stop()


def endpoints(ws: list[RunningWitness]) -> list[WitnessEndpoint]:
    return [WitnessEndpoint(w.vkey, w.url) for w in ws]


def policy_for(ws: list[RunningWitness], group: str = "all") -> Policy:
    lines = [f"witness W{i} {w.vkey}" for i, w in enumerate(ws, 1)]
    names = " ".join(f"W{i}" for i in range(1, len(ws) + 1))
    return Policy.parse("\n".join([*lines, f"group g {group} {names}", "quorum g", ""]))


def test_each_recorded_entry_is_cosigned_by_both_and_attached(
    db_url: str, key: Ed25519PrivateKey, two: list[RunningWitness]
) -> None:
    with make_log(db_url, key, endpoints(two)) as led:
        first = led.append("generate", {"prompt": "a red circle"})
        assert led.witness_result is not None and led.witness_result.failed == {}
        second = led.append("edit", {"prompt": "grayscale"}, parents=[first.id])
        with led.engine.connect() as conn:
            rows = conn.execute(select(COSIGNATURE.c.witness, COSIGNATURE.c.size)).all()
        assert sorted(rows) == sorted(
            [(n, s) for n in ("witness.example/w1", "witness.example/w2") for s in (1, 2)]
        )
        note = led.latest_checkpoint().note  # type: ignore[union-attr]
        assert led.witnessed_note() == note and led.witnessed_note(1) != note
        for w in two:  # each line verifies with the witness's own key
            assert [c.name for c in CosignerKey.parse(w.vkey).find(note)] == [w.name]
        assert policy_for(two).evaluate(note).satisfied
        receipt = led.receipt(first.id)
        vkey = str(led.verifier_key)
    ok = verify_receipt(receipt, vkey, policy=policy_for(two))
    assert ok.ok and ok.tree_size == 2, ok.reason
    assert ok.witnesses == "witnessed: 2 of 2 required cosigned size 2 (W1, W2; quorum g)"
    assert receipt.count("\u2014 witness.example/w") == 2 and second.index == 1


def test_a_witness_down_never_stops_recording_and_a_later_checkpoint_catches_up(
    db_url: str, key: Ed25519PrivateKey, two: list[RunningWitness]
) -> None:
    port = free_port()  # nothing listens there yet: connection refused
    late = RunningWitness(two[0].dir.parent / "w3", "witness.example/w3")
    add_log(late.dir, verifier_key(key, ORIGIN))
    eps = [*endpoints(two), WitnessEndpoint(late.vkey, f"http://127.0.0.1:{port}")]
    three = policy_for([*two, late])
    with make_log(db_url, key, eps) as led:
        led.append("generate", {"prompt": "while w3 is down"})
        result = led.witness_result
        assert result is not None and led.size == 1
        assert sorted(result.cosigned) == ["witness.example/w1", "witness.example/w2"]
        assert result.outcomes["witness.example/w3"].down
        report = three.evaluate(led.latest_checkpoint().note)  # type: ignore[union-attr]
        assert not report.satisfied
        assert report.verdict().startswith("not witnessed: 2 of 3 required cosigned size 1")
        with BackgroundServer(make_app(load_witness(late.dir)), port=port):
            led.append("generate", {"prompt": "w3 is back"})
            assert led.witness_result is not None and led.witness_result.failed == {}
            assert three.evaluate(led.latest_checkpoint().note).satisfied  # type: ignore[union-attr]
            # The checkpoint missed at size 1 stays as it was; a retry of the newest asks none.
            assert not three.evaluate(str(led.witnessed_note(1))).satisfied
            led.checkpoint()
            assert led.witness_result is None


def test_witness_list_text_form_is_checked() -> None:
    from ledger.witness.errors import WitnessConfigError

    with pytest.raises(WitnessConfigError, match="needs an http"):
        parse_witness_list(f"witness a {_vkey()}\n")
    with pytest.raises(WitnessConfigError, match="only `witness NAME VKEY URL` lines"):
        parse_witness_list(f"witness a {_vkey()} http://x\nquorum a\n")
    with pytest.raises(WitnessConfigError, match="policy line 1"):
        parse_witness_list("witness a not-a-key http://x\n")
    assert parse_witness_list(f"# ours\nwitness a {_vkey()} http://127.0.0.1:1\n")[0].url


def _vkey() -> str:
    from ledger.witness.cosignature import witness_vkey

    return witness_vkey(generate_log_key(), "witness.example/x")


def test_an_older_ledger_gets_the_cosignature_table_and_keeps_its_checkpoints(
    db_url: str, key: Ed25519PrivateKey
) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from ledger.schema import _alembic_config

    with make_log(db_url, key, []) as led:
        led.append("generate", {"prompt": "before 0005"})
        before = led.latest_checkpoint()
    eng = create_engine(db_url)
    with eng.begin() as c:
        command.downgrade(_alembic_config(c), "0004")
        assert "ledger_cosignature" not in inspect(c).get_table_names()
    eng.dispose()
    with Ledger.open(db_url, log_key=key, checkpoint_every=None) as led:
        assert led.latest_checkpoint() == before  # no cosignatures: the note as it was
        with led.engine.connect() as c:
            assert "ledger_cosignature" in inspect(c).get_table_names()
