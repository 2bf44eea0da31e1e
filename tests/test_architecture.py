"""Architecture rules checked on the real tree: no import cycles, size limits, a light CLI start.

The package contracts (who may import whom) are import-linter's, in pyproject.toml, run by
`lint-imports` in .ci/run; these tests add what import-linter does not express.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import subprocess
import sys
from pathlib import Path

import click
import grimp
import pytest

from provenance.cli.app import COMMANDS, cli, load_command

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("provenance", "ledger")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph.modules), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_modules() -> None:
    """Imports that run (annotation-only imports excluded) never form a cycle."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for m in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(m)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph) == [["a.x", "a.y"]]


def _oversized() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            source = path.read_text()
            lines = source.count("\n")
            if lines > MAX_MODULE_LINES:
                found.append(f"{rel}: {lines} lines")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > MAX_FUNCTION_LINES:
                        found.append(f"{rel}:{node.lineno} {node.name}(): {length} lines")
    return found


def test_no_module_over_400_lines_and_no_function_over_60() -> None:
    assert _oversized() == []


def _package_map() -> dict[str, str]:
    """docs/architecture.md's package map: each entry (``ledger/audit/bulk.py``, ``ledger/audit/``,
    ``ledger/migrations/versions/*.py``) with the line it is on."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Packages", 1)[1]
    block = section.split("```", 2)[1]
    entries: dict[str, str] = {}
    root = ""
    for line in block.splitlines():
        if not line.strip():
            continue
        name = line.split()[0]
        if not line.startswith(" "):
            root = name
            entries[root] = line
        else:
            entries[root + name] = line
    return entries


def _map_problems(entries: dict[str, str], tree: Path) -> list[str]:
    files = sorted(
        str(p.relative_to(tree)) for package in PACKAGES for p in (tree / package).rglob("*.py")
    )
    patterns = [e for e in entries if "*" in e]
    problems = []
    for file in files:
        # A package is its directory's line; a module its own (or a pattern's, for migrations).
        name = file.removesuffix("__init__.py") if file.endswith("/__init__.py") else file
        if name not in entries and not any(fnmatch.fnmatch(file, p) for p in patterns):
            problems.append(f"{name}: not in docs/architecture.md")
    for entry in entries:
        matched = (
            any(fnmatch.fnmatch(f, entry) for f in files)
            if "*" in entry
            else (tree / entry).is_dir()
            if entry.endswith("/")
            else (tree / entry).is_file()
        )
        if not matched or (entry.endswith("/") and not (tree / entry / "__init__.py").is_file()):
            problems.append(f"{entry}: in docs/architecture.md but not in the tree")
    return problems


def test_architecture_map_matches_the_tree() -> None:
    """One line per module in docs/architecture.md, and no line for a module that is gone."""
    assert _map_problems(_package_map(), ROOT) == []


def test_map_check_names_missing_and_stale_modules(tmp_path: Path) -> None:
    for rel in ("provenance/__init__.py", "provenance/a.py", "ledger/__init__.py", "ledger/b.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    entries = {"provenance/": "", "provenance/a.py": "", "ledger/": "", "ledger/gone.py": ""}
    assert _map_problems(entries, tmp_path) == [
        "ledger/b.py: not in docs/architecture.md",
        "ledger/gone.py: in docs/architecture.md but not in the tree",
    ]


def test_help_lists_each_command_with_its_own_summary() -> None:
    """`--help` reads the summaries from app.COMMANDS without importing the commands; each must
    shorten exactly as the command's own help text does."""
    for name in COMMANDS:
        real = load_command(name)
        stub = click.Command(name, help=COMMANDS[name].summary)
        for limit in range(20, 120, 7):
            assert stub.get_short_help_str(limit) == real.get_short_help_str(limit), name
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)


def _modules_loaded_by(*argv: str) -> set[str]:
    code = (
        "import sys\n"
        "from provenance.cli import main\n"
        f"main({list(argv)!r})\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


HEAVY = ("sqlalchemy", "alembic", "sqlmodel", "numpy", "cv2", "PIL", "c2pa", "openai", "rich")


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_load_no_heavy_library(argv: list[str]) -> None:
    loaded = _modules_loaded_by(*argv)
    heavy = sorted(m for m in HEAVY if m in loaded)
    assert heavy == [], f"provenance {' '.join(argv)} imported {heavy}"


def test_fast_version_says_what_click_says(capsys: pytest.CaptureFixture[str]) -> None:
    """`provenance --version` is answered without click; the wording is click's own."""
    from provenance.cli import main

    assert main(["--version"]) == 0
    fast = capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"], prog_name="provenance")
    assert exited.value.code == 0
    assert capsys.readouterr().out == fast == "provenance, version 0.1.0\n"


def test_pre_rendered_help_is_what_click_renders_now() -> None:
    """cli/help_text.py is regenerated whenever the group's help or a command summary changes."""
    from provenance.cli.app import HELP_WIDTHS, render_help
    from provenance.cli.help_text import RENDERED

    assert sorted(RENDERED) == sorted(HELP_WIDTHS)
    for width in HELP_WIDTHS:
        assert RENDERED[width] == render_help(width), (
            f"cli/help_text.py is stale at width {width}: run `python -m provenance.cli.app`"
        )
        assert RENDERED[width].isascii()  # the same bytes whatever stdout's encoding


def _help_output(columns: str, *, click_first: bool, flag: str = "--help") -> tuple[bytes, bool]:
    """(stdout, whether click was loaded) of `provenance --help` in a fresh process."""
    code = (
        ("import click\n" if click_first else "")
        + "import sys\nfrom provenance.cli import main\n"
        + f"code = main([{flag!r}])\n"
        + "sys.stderr.write(str('click' in sys.modules))\nsys.exit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        check=True,
        env={**env, "COLUMNS": columns} if columns else env,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout, done.stderr.decode().endswith("True")


@pytest.mark.parametrize(
    ("columns", "fast"),
    [("", True), ("80", True), ("100", True), ("160", True), ("90", False), ("40", False)],
)
def test_fast_help_is_byte_identical_to_clicks(columns: str, fast: bool) -> None:
    """`--help` is answered without click at the pre-rendered widths (an 80-column terminal or a
    pipe, 100 columns or more), and by click at any other: the bytes are click's either way."""
    theirs, _ = _help_output(columns, click_first=True)
    for flag in ("--help", "-h"):
        ours, loaded_click = _help_output(columns, click_first=False, flag=flag)
        assert ours == theirs, (columns, flag)
        assert loaded_click is not fast, (columns, flag)


def test_verify_without_a_ledger_loads_neither_the_ledger_nor_sqlalchemy() -> None:
    """A desk that only checks files pays for c2pa, not for the ledger's stack, nor for Pillow
    when the file carries credentials (nothing is decoded)."""
    file = ROOT / "tests" / "assets" / "c2pa" / "public-testfiles" / "adobe-20220124-C.jpg"
    loaded = _modules_loaded_by("verify", str(file), "--no-ledger")
    heavy = ("ledger.store", "sqlalchemy", "alembic", "sqlmodel", "numpy", "cv2", "openai", "rich")
    heavy += ("PIL", "provenance.credentials.sign")
    assert sorted(m for m in heavy if m in loaded) == []
    assert "c2pa" in loaded  # it did verify
