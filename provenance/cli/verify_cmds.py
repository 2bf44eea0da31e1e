"""``verify``, ``lineage``, ``log``: reading what was recorded."""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provenance.cli.app import cli
from provenance.cli.output import echo_json
from provenance.config import Home, home_from_env
from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK, EXIT_USAGE, InputError
from provenance.hashing import sha256_file
from provenance.policy import VERDICTS, default_policy

if TYPE_CHECKING:
    from ledger import Entry, Ledger
    from provenance.verify import VerificationReport


def _maybe_ledger(home: Home) -> Ledger | None:
    """The home's ledger, read-only, or None when there is none (a desk that only verifies)."""
    from ledger.errors import LedgerNotFoundError
    from provenance.ledger_access import open_ledger

    if not os.environ.get("PROVENANCE_LEDGER_URL") and not home.ledger_db.exists():
        return None
    try:
        return open_ledger(home, read_only=True)
    except LedgerNotFoundError:
        return None


def expand_inputs(args: tuple[str, ...]) -> Iterator[tuple[str, str | None]]:
    """Files, directories (recursive, symlink loops broken) and globs -> (path, problem or None)."""
    for arg in args:
        matches = sorted(glob.glob(arg, recursive=True)) if glob.has_magic(arg) else [arg]
        if not matches:
            yield arg, "no file matches this pattern"
        for m in matches:
            p = Path(m)
            if p.is_dir():
                yield from _walk(p)
            elif not p.exists() and not p.is_symlink():
                yield m, "no such file"
            else:
                yield m, None


def _walk(root: Path) -> Iterator[tuple[str, str | None]]:
    seen: set[tuple[int, int]] = set()

    def onerror(e: OSError) -> None:
        errors.append((e.filename or str(root), f"cannot read directory ({e.strerror})"))

    errors: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            yield os.path.join(dirpath, name), None
        yield from errors
        errors.clear()


@cli.command("verify")
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file per line on stdout.")
@click.option("--trust", "trust", multiple=True, type=click.Path(dir_okay=False),
              help="PEM bundle of trust anchors (repeatable).")
@click.option("--strict-chain", is_flag=True, help="Also fail files whose ingredient chain is broken.")
@click.option("--accept", multiple=True, type=click.Choice(VERDICTS),
              help="Verdicts the policy accepts (repeatable; default: trusted).")
@click.option("--allow-network", is_flag=True, help="Allow fetching remote manifests.")
@click.option("--no-ledger", is_flag=True, help="Skip the ledger cross-check.")
def verify_cmd(files: tuple[str, ...], as_json: bool, trust: tuple[str, ...], strict_chain: bool,
               accept: tuple[str, ...], allow_network: bool, no_ledger: bool) -> int:
    """Verify FILES (files, directories, globs): who made them, how, and whether they were altered.

    \b
    Verdicts: trusted, valid_untrusted, invalid, no_credentials, recovered, error.
    Exit codes: 0 every file accepted by the policy; 1 at least one was not;
                2 usage error, or no input could be read at all.

    \b
    Examples:
      provenance verify photo.jpg
      provenance verify --trust newsroom-anchors.pem --json incoming/ > reports.jsonl
      provenance verify --strict-chain --accept trusted --accept recovered '*.png'
    """
    from provenance.verify import VerificationReport, verify_path

    home = home_from_env()
    policy = default_policy(home, trust=trust, strict_chain=strict_chain,
                            accept=accept or ("trusted",), allow_network=allow_network)
    ledger = None if no_ledger else _maybe_ledger(home)
    reports: list[VerificationReport] = []
    try:
        for path, problem in expand_inputs(files):
            report = (verify_path(path, policy, ledger) if problem is None else
                      VerificationReport(path=path, verdict="error", reasons=[f"{path}: {problem}"]))
            reports.append(report)
            if as_json:
                echo_json(report.to_json())
            else:
                _print_report(report)
    finally:
        if ledger is not None:
            ledger.close()
    if not as_json and len(reports) > 1:
        counts = Counter(r.verdict for r in reports)
        click.echo("Summary: " + ", ".join(f"{v} {counts[v]}" for v in VERDICTS if counts[v]))
    if reports and all(r.verdict == "error" for r in reports):
        return EXIT_USAGE
    return EXIT_OK if all(r.accepted for r in reports) else EXIT_NOT_ACCEPTED


def _print_report(r: VerificationReport) -> None:
    mark = "ACCEPTED" if r.accepted else "NOT ACCEPTED"
    click.echo(f"{r.path}: {r.verdict.upper()} ({mark})")
    for reason in r.reasons:
        click.echo(f"  - {reason}")
    if r.signer:
        local = " [local identity]" if r.signer.local_identity else ""
        click.echo(f"  signer: {r.signer.common_name} (issuer {r.signer.issuer}){local}"
                   + (f", signed {r.signer.time}" if r.signer.time else ""))
    if r.ai_generated is not None and r.verdict not in ("error", "no_credentials"):
        src = f" ({r.digital_source_type})" if r.digital_source_type else ""
        click.echo(f"  AI disclosure: {'AI-generated or AI-edited' if r.ai_generated else 'no AI disclosed'}{src}"
                   + (f", model {r.model}" if r.model else ""))
    if r.actions:
        click.echo(f"  actions: {', '.join(r.actions)}")
    if r.chain_ok is not None:
        click.echo(f"  chain: {'all ancestors validate' if r.chain_ok else 'BROKEN ancestor'}")
    if r.ledger is not None and r.ledger.done and r.ledger.proof:
        click.echo(f"  ledger proof: {r.ledger.proof.get('reason')}")
    for note in r.notes:
        click.echo(f"  note: {note}")


def _resolve_entry(ledger: Ledger, target: str) -> Entry:
    p = Path(target)
    if p.exists() and p.is_file():
        found = ledger.find_by_output(sha256_file(p))
        if not found:
            raise InputError(f"{target}: not recorded in the ledger (no entry has this file's hash)")
        return found[-1]
    entry = ledger.get(target)
    if entry is None:
        raise InputError(f"{target}: no such file and no ledger entry with this id")
    return entry


def _summary(e: Entry) -> dict[str, Any]:
    b = e.body
    return {"id": e.id, "index": e.index, "kind": e.kind, "time": e.time.isoformat(),
            "actor": b.get("actor"), "backend": b.get("backend"), "model": b.get("model"),
            "actions": b.get("actions", []), "output": (b.get("output") or {}).get("name"),
            "sha256": (b.get("output") or {}).get("sha256"), "parents": list(e.parents)}


@cli.command("lineage")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the lineage as one JSON object.")
def lineage_cmd(target: str, as_json: bool) -> None:
    """Show the tree of a FILE or ledger ENTRY back to its roots.

    \b
    Example:
      provenance lineage edited.png
    """
    from provenance.ledger_access import open_ledger

    with open_ledger(home_from_env(), read_only=True) as ledger:
        entry = _resolve_entry(ledger, target)
        chain = ledger.lineage(entry.id)
        by_id = {e.id: e for e in chain}
        if as_json:
            echo_json({"target": target, "entry": entry.id,
                       "lineage": [_summary(e) for e in chain]})
            return

        def show(e: Entry, depth: int) -> None:
            s = _summary(e)
            what = " ".join(a for a in s["actions"] if a) or e.kind
            click.echo(f"{'  ' * depth}{'└─ ' if depth else ''}{s['output'] or e.id}  "
                       f"[{e.kind}: {what}] entry {e.index} by {s['actor']} {s['time']}")
            for pid in e.parents:
                if pid in by_id:
                    show(by_id[pid], depth + 1)

        show(entry, 0)


@cli.command("log")
@click.option("-n", "--limit", type=int, default=20, show_default=True, help="How many entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry per line.")
def log_cmd(limit: int, as_json: bool) -> None:
    """List the most recent ledger entries, newest first.

    \b
    Example:
      provenance log -n 5
    """
    from rich.table import Table

    from provenance.ledger_access import open_ledger

    with open_ledger(home_from_env(), read_only=True) as ledger:
        entries = ledger.recent(limit)
    if as_json:
        for e in entries:
            echo_json(_summary(e))
        return
    table = Table("index", "time", "kind", "actor", "backend/model", "output")
    for e in entries:
        s = _summary(e)
        table.add_row(str(e.index), s["time"][:19], e.kind, str(s["actor"]),
                      f"{s['backend'] or ''} {s['model'] or ''}".strip(), str(s["output"] or ""))
    from rich.console import Console

    Console().print(table)
