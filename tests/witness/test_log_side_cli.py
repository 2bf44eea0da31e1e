"""The witnessed log from the CLI: `provenance ledger witnesses add/list/remove`, a recorded
generate cosigned by two witnesses, `ledger checkpoint` printing the witnessed note, and verify /
verify-receipt / audit enforcing a witness policy (flag or the home's default)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.witness.home import add_log
from provenance.home.paths import Home
from provenance.home.witnesses import policy_file, witnesses_file
from tests.conftest import reports, run
from tests.witness.conftest import RunningWitness


@pytest.fixture
def two(home: Home, tmp_path: Path) -> Iterator[list[RunningWitness]]:
    ws = [RunningWitness(tmp_path / f"w{i}", f"witness.example/w{i}") for i in (1, 2)]
    for w in ws:
        add_log(w.dir, home.log_pub.read_text().strip())
        w.start()
    yield ws
    for w in ws:
        w.stop()


def _policy(path: Path, ws: list[RunningWitness], extra: str = "") -> Path:
    lines = [f"witness W{i} {w.vkey}" for i, w in enumerate(ws, 1)]
    path.write_text("\n".join([*lines, "group both all W1 W2", "quorum both", ""]) + extra)
    return path


def test_witnesses_add_list_remove_and_bad_input_changes_nothing(
    home: Home, two: list[RunningWitness], capsys: pytest.CaptureFixture[str]
) -> None:
    w1 = two[0]
    assert run(capsys, "ledger", "witnesses", "list") == (0, "", "")
    code, out, _ = run(capsys, "ledger", "witnesses", "add", "w1", w1.vkey, w1.url)
    assert code == 0 and out == f"witness w1 added: witness.example/w1 at {w1.url}\n"
    before = witnesses_file(home).read_bytes()
    for args, why in [
        (("w2", "not-a-vkey", "http://127.0.0.1:1"), "witness 'w2': policy line"),
        (("w1", two[1].vkey, two[1].url), "witness 'w1': already in"),
        (("w2", w1.vkey, "http://127.0.0.1:1"), "the same public key is listed twice"),
        (("w2", two[1].vkey, "ftp://x"), "needs an http(s) URL"),
    ]:
        code, out, err = run(capsys, "ledger", "witnesses", "add", *args)
        assert code == 2 and why in err and len(err.strip().splitlines()) == 1, err
    assert witnesses_file(home).read_bytes() == before
    assert run(capsys, "ledger", "witnesses", "list")[1] == f"witness w1 {w1.vkey} {w1.url}\n"
    code, _, err = run(capsys, "ledger", "witnesses", "remove", "nope")
    assert code == 2 and "witness 'nope': not in" in err
    assert run(capsys, "ledger", "witnesses", "remove", "w1")[0] == 0
    assert run(capsys, "ledger", "witnesses", "list")[1] == ""


def test_generate_is_cosigned_and_verify_enforces_the_policy(
    home: Home, two: list[RunningWitness], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i, w in enumerate(two, 1):
        assert run(capsys, "ledger", "witnesses", "add", f"w{i}", w.vkey, w.url)[0] == 0
    img = workdir / "circle.png"
    code, _, err = run(capsys, "generate", "A red circle on a white background", "-o", str(img))
    assert code == 0, err
    code, note, err = run(capsys, "ledger", "checkpoint")
    assert code == 0 and note.count("\u2014 witness.example/w") == 2
    assert err.startswith("witnessed by 2 of 2 witnesses at size 1 (witness.example/w1, ")

    both = _policy(workdir / "both.policy", two)
    code, out, err = run(capsys, "verify", "--json", "--witness-policy", str(both), str(img))
    proof = reports(out)[0]["ledger"]["proof"]
    assert code == 0 and proof["verified"] is True, proof
    assert proof["witnesses"]["cosigned"] == ["W1", "W2"] and proof["witnesses"]["satisfied"]

    third = RunningWitness(workdir / "w3", "witness.example/w3")  # never asked: never cosigned
    strict = workdir / "three.policy"
    strict.write_text(
        "\n".join([f"witness W{i} {w.vkey}" for i, w in enumerate([*two, third], 1)])
        + "\ngroup all3 all W1 W2 W3\nquorum all3\n"
    )
    code, out, err = run(capsys, "verify", "--json", "--witness-policy", str(strict), str(img))
    proof = reports(out)[0]["ledger"]["proof"]
    assert proof["verified"] is False
    assert proof["reason"].startswith("not witnessed: 2 of 3 required cosigned size 1")

    policy_file(home).parent.mkdir(exist_ok=True)
    policy_file(home).write_text(strict.read_text())  # the home's default, without the flag
    code, out, _ = run(capsys, "verify", "--json", str(img))
    assert reports(out)[0]["ledger"]["proof"]["verified"] is False
    code, out, _ = run(capsys, "ledger", "audit", "--json")
    audit = json.loads(out)
    assert code == 1 and audit["problems"][0]["kind"] == "not witnessed"
    assert audit["witnesses"]["cosigned"] == ["W1", "W2"] and audit["witnesses"]["required"] == 3
    code, out, _ = run(capsys, "ledger", "audit", "--witness-policy", str(both))
    assert code == 0 and "witnesses: witnessed: 2 of 2 required" in out

    receipt = workdir / "circle.tlog-proof"
    assert run(capsys, "ledger", "receipt", str(img), "-o", str(receipt))[0] == 0
    args = ["ledger", "verify-receipt", str(receipt), "--log-key", str(home.log_pub)]
    code, out, _ = run(capsys, *args, "--witness-policy", str(both))
    assert code == 0 and out.startswith("OK: entry is in the log, witnessed: 2 of 2")
    code, out, _ = run(capsys, *args)  # the home default (three witnesses) is not met
    assert code == 1 and out.startswith("FAILED: not witnessed: 2 of 3 required")

    policy_file(home).write_text("quorum nobody\n")  # a malformed default: refused up front
    code, out, err = run(capsys, "verify", str(img))
    assert code == 2 and "witness.policy: policy line 1" in err and out == ""


def test_a_witness_down_leaves_generate_working_and_checkpoint_warns(
    home: Home, two: list[RunningWitness], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "ledger", "witnesses", "add", "w1", two[0].vkey, two[0].url)[0] == 0
    assert run(capsys, "ledger", "witnesses", "add", "w2", two[1].vkey, two[1].url)[0] == 0
    two[1].stop()
    img = workdir / "square.png"
    assert run(capsys, "generate", "A blue square", "-o", str(img))[0] == 0
    code, note, err = run(capsys, "ledger", "checkpoint")  # retries the missing witness
    assert code == 0 and note.count("\u2014 witness.example/w") == 1
    assert err.startswith("warning: witnessed by 1 of 2 witnesses at size 1")
    assert "not yet witnessed by witness.example/w2: ConnectError" in err
