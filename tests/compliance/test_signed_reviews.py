"""Issue 13: self-approval must not pass four-eyes; only signed, enrolled reviews count.

Each case is something the creator of a file tried, as an insider, to get it approved. Before the
fix ``--by`` was free text and reviews carried no signature, so the first case passed `check`
with ``four_eyes = true``; every case below except the last must now fail the gate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from provenance.cli import main
from provenance.home.ledger import open_ledger
from provenance.home.paths import ENV_ACTOR, Home
from tests.compliance.conftest import make_reviewer

MAKER = "maker@example.org"
POLICY = '[rules.approval]\nreviewers = ["legal@example.org"]\nfour_eyes = true\n'
FOUR_EYES_ONLY = "[rules.approval]\nfour_eyes = true\n"


@dataclass
class Scene:
    home: Home
    dir: Path
    file: Path
    other: Path  # a second recorded file


def _review_argv(s: Scene, *extra: str) -> list[str]:
    return ["review", str(s.file), "--approve", *extra]


def unsigned_claim(s: Scene) -> int:
    return main(_review_argv(s, "--by", "legal@example.org"))


def own_key_claiming_legal(s: Scene) -> int:
    me = make_reviewer(s.home, MAKER, s.dir / "k")
    return main(_review_argv(s, "--by", "legal@example.org", *me.cli()))


def self_made_legal_cert(s: Scene) -> int:  # a certificate naming legal@, never enrolled
    fake = make_reviewer(None, "legal@example.org", s.dir / "k")
    return main(_review_argv(s, *fake.cli()))


def own_enrolled_key(s: Scene) -> int:  # allowed list aside, four-eyes must stop it
    me = make_reviewer(s.home, MAKER, s.dir / "k")
    return main(_review_argv(s, *me.cli(), "--policy", str(s.dir / "four-eyes.toml")))


def recorder_signing_key(s: Scene) -> int:  # the very key that signed the file, enrolled
    from provenance.compliance.review import record_review
    from provenance.compliance.signing import enroll_reviewer, key_signer

    enroll_reviewer(s.home, s.home.signer_chain.read_bytes())
    signer = key_signer(s.home.signer_chain.read_bytes(), s.home.signer_key.read_bytes())
    with open_ledger(s.home) as led:
        record_review(led, s.file, "approve", signer=signer)
    return 0


def forged_entry(s: Scene) -> int:  # written straight into the ledger, as the old CLI did
    with open_ledger(s.home) as led:
        [e] = led.find_by_output(_sha(s.file))
        body = {
            "op": "review",
            "decision": "approve",
            "reviewer": "legal@example.org",
            "actor": "legal@example.org",
            "target": {"entry": e.id, "index": e.index, "sha256": _sha(s.file)},
        }
        led.append("review", body, inputs=[_sha(s.file)], parents=[e.id])
    return 0


def replayed_signature(s: Scene) -> int:  # legal approved another file; its signature reused
    legal = make_reviewer(s.home, "legal@example.org", s.dir / "k")
    assert main(["review", str(s.other), "--approve", *legal.cli()]) == 0
    with open_ledger(s.home) as led:
        [real] = [x for x in led.iter_entries(kinds=["review"])]
        [e] = led.find_by_output(_sha(s.file))
        body = dict(real.body)
        body["target"] = {"entry": e.id, "index": e.index, "sha256": _sha(s.file)}
        led.append("review", body, inputs=[_sha(s.file)], parents=[e.id])
    return 0


def legal_signs(s: Scene) -> int:
    legal = make_reviewer(s.home, "legal@example.org", s.dir / "k")
    return main(_review_argv(s, *legal.cli()))


@dataclass(frozen=True)
class Case:
    attempt: Callable[[Scene], int]
    recorded: int  # exit code of the attempt
    policy: str  # which policy `check` uses
    passes: bool
    why: str  # in the approval rule's reason, or in the refusal


CASES = [
    Case(unsigned_claim, 2, "publish.toml", False, "no approval"),
    Case(own_key_claiming_legal, 2, "publish.toml", False, "no approval"),
    Case(self_made_legal_cert, 2, "publish.toml", False, "no approval"),
    Case(own_enrolled_key, 0, "four-eyes.toml", False, "who also made it"),
    Case(recorder_signing_key, 0, "four-eyes.toml", False, "who also made it"),
    Case(forged_entry, 0, "publish.toml", False, "not signed by an enrolled reviewer"),
    Case(replayed_signature, 0, "publish.toml", False, "not signed by an enrolled reviewer"),
    Case(legal_signs, 0, "publish.toml", True, "approved by legal@example.org"),
]


def _sha(path: Path) -> str:
    from provenance.media.hashing import sha256_file

    return sha256_file(path)


@pytest.mark.parametrize("case", CASES, ids=[c.attempt.__name__ for c in CASES])
def test_only_a_signed_review_by_someone_else_passes_four_eyes(
    case: Case,
    home: Home,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(ENV_ACTOR, MAKER)
    (workdir / "publish.toml").write_text(POLICY)
    (workdir / "four-eyes.toml").write_text(FOUR_EYES_ONLY)
    f, other = workdir / "ad.png", workdir / "other.png"
    assert main(["generate", "An advert", "--size", "64x64", "-o", str(f)]) == 0
    assert main(["generate", "Another", "--size", "64x64", "-o", str(other)]) == 0
    scene = Scene(home, workdir, f, other)
    capsys.readouterr()
    assert case.attempt(scene) == case.recorded, capsys.readouterr().err
    capsys.readouterr()
    policy = str(workdir / case.policy)
    code = main(["check", str(f), "--policy", policy, "--json"])
    [doc] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    [approval] = [r for r in doc["results"] if r["rule"] == "approval"]
    assert approval["passed"] is case.passes and (code == 0) is case.passes
    assert case.why in approval["reason"], approval["reason"]
