"""The CLI reference in docs/ is generated from --help and must be current."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (ROOT / "docs" / "cli.md").read_text() == gen.render(), (
        "docs/cli.md is stale: run python docs/gen_cli.py"
    )


def test_readme_shows_both_setup_commands_and_ci_runs_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = ".venv/bin/python -m pytest -q"
    assert test_cmd in readme
    assert ci.rstrip().splitlines()[-1] == test_cmd
    assert "provenance init" in readme and "provenance verify" in readme
