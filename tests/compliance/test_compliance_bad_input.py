"""Bad input to review, check, report and erase-prompt: one clear line, exit 2, nothing recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.cli import main
from provenance.home.ledger import open_ledger


def ledger_size(world) -> int:  # type: ignore[no-untyped-def]
    with open_ledger(world.home, read_only=True) as led:
        return led.size


CASES = [
    (
        "review_unknown_entry",
        ["review", "01a20000-0000-7000-8000-000000000000", "--approve"],
        "no such file and no ledger entry",
    ),
    ("review_unrecorded_file", ["review", "{foreign}", "--approve"], "not in the ledger"),
    ("review_missing_file", ["review", "{dir}/nope.png", "--approve"], "no such file"),
    ("review_no_decision", ["review", "{generated}"], "say --approve or --reject"),
    (
        "review_empty_reviewer",
        ["review", "{generated}", "--approve", "--by", "  "],
        "reviewer: empty",
    ),
    (
        "review_not_allowed",
        ["review", "{generated}", "--approve", "--by", "intern", "--policy", "{dir}/strict.toml"],
        "not allowed to review",
    ),
    (
        "review_a_review",
        ["review", "{review_entry}", "--approve"],
        "is a review, not a recorded file",
    ),
    (
        "review_bad_policy",
        ["review", "{generated}", "--approve", "--policy", "{dir}/broken.toml"],
        "unknown rule 'aproval'",
    ),
    ("check_missing_file", ["check", "{generated}", "{dir}/nope.png"], "no such file"),
    ("check_directory", ["check", "{dir}"], "not a regular file"),
    (
        "check_bad_policy",
        ["check", "{generated}", "--policy", "{dir}/broken.toml"],
        "line 1: unknown rule 'aproval'",
    ),
    (
        "check_missing_policy",
        ["check", "{generated}", "--policy", "{dir}/none.toml"],
        "no such policy file",
    ),
    (
        "report_bad_since",
        ["report", "--since", "last tuesday"],
        "date 'last tuesday': not an ISO 8601",
    ),
    (
        "report_bad_until",
        ["report", "--since", "2026-01-01", "--until", "2026-13-01"],
        "date '2026-13-01'",
    ),
    (
        "report_until_before_since",
        ["report", "--since", "2026-02-01", "--until", "2026-01-01"],
        "is not after --since",
    ),
    (
        "report_existing_out",
        ["report", "--since", "2026-01-01", "-o", "{generated}"],
        "already exists",
    ),
    (
        "erase_unknown_entry",
        ["ledger", "erase-prompt", "01a20000-0000-7000-8000-000000000000", "--reason", "x"],
        "no such file and no ledger entry",
    ),
    (
        "erase_empty_reason",
        ["ledger", "erase-prompt", "{generated}", "--reason", " "],
        "--reason: empty",
    ),
    (
        "erase_no_prompt",
        ["ledger", "erase-prompt", "{camera}", "--reason", "x"],
        "has no secret text to erase",
    ),
]


@pytest.mark.parametrize("argv,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(
    argv: list[str],
    message: str,
    in_world,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    w = in_world
    (w.dir / "strict.toml").write_text('[rules.approval]\nreviewers = ["legal@example.org"]\n')
    (w.dir / "broken.toml").write_text("[rules.aproval]\n")
    with open_ledger(w.home) as led:
        reviews = [e for e in led.iter_entries(kinds=["review"])]
        review_id = (
            reviews[0].id
            if reviews
            else led.append(
                "review", {"op": "review", "decision": "approve", "reviewer": "seed", "target": {}}
            ).id
        )
    size = ledger_size(w)
    before = sorted(p.name for p in w.dir.iterdir())
    subs = {
        "dir": str(w.dir),
        "generated": str(w.generated),
        "foreign": str(w.foreign),
        "camera": str(w.camera),
        "review_entry": review_id,
    }
    code = main([a.format(**subs) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert out == ""
    assert ledger_size(w) == size
    assert sorted(p.name for p in w.dir.iterdir()) == before


def test_check_without_ledger_fails_closed(
    tmp_path: Path,
    in_world,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path / "empty-home"))
    code = main(["check", str(in_world.generated), "--json"])
    out, _ = capsys.readouterr()
    assert code == 1
    assert '"rule": "approval"' in out and "no ledger available" in out
