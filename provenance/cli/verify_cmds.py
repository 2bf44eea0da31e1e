"""``verify``, ``lineage``, ``log``: reading what was recorded."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provenance.cli.app import cli
from provenance.cli.output import console_err, echo_json
from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK, EXIT_USAGE, InputError
from provenance.home.ledger import find_ledger
from provenance.home.paths import home_from_env
from provenance.media.hashing import sha256_file
from provenance.verify.policy import VERDICTS, default_policy

if TYPE_CHECKING:
    from ledger import Entry, Ledger
    from provenance.verify.report import VerificationReport


@cli.command("verify")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per file per line on stdout."
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write a self-contained HTML report (with thumbnails) to this file.",
)
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="PEM bundle of trust anchors (repeatable). Added to $PROVENANCE_HOME/trust/*.pem "
    "and the local CA made by `provenance init`, if any.",
)
@click.option(
    "--signer",
    "signers",
    multiple=True,
    metavar="NAME",
    help="Only accept files signed by a certificate with this common name (repeatable).",
)
@click.option(
    "--signer-cert",
    "signer_certs",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Only accept files signed by one of these certificates (PEM, repeatable).",
)
@click.option(
    "--strict-chain", is_flag=True, help="Also fail files whose ingredient chain is broken."
)
@click.option(
    "--accept",
    multiple=True,
    type=click.Choice(VERDICTS),
    help="Verdicts the policy accepts (repeatable; default: trusted).",
)
@click.option(
    "--allow-network",
    is_flag=True,
    help="Allow fetching remote manifests (off by default: verification is offline).",
)
@click.option("--no-ledger", is_flag=True, help="Skip the ledger cross-check.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker processes (default: one per core, for 64 files or more).",
)
def verify_cmd(
    files: tuple[str, ...],
    as_json: bool,
    html_out: str | None,
    trust: tuple[str, ...],
    signers: tuple[str, ...],
    signer_certs: tuple[str, ...],
    strict_chain: bool,
    accept: tuple[str, ...],
    allow_network: bool,
    no_ledger: bool,
    jobs: int | None,
) -> int:
    """Verify FILES (files, directories, globs): who made them, how, and whether they were altered.

    Works offline and without `provenance init`. For each file it reports the verdict, who signed
    it and when, any AI disclosure, the edits, every ancestor in the ingredient chain with its own
    validation, and the ledger entry with its inclusion proof (when a ledger is available). A file
    without credentials is searched in the ledger by hash and by perceptual fingerprint.

    \b
    Verdicts: trusted, valid_untrusted, invalid, no_credentials, recovered, error.
    Exit codes: 0 every file accepted by the policy; 1 at least one was not;
                2 usage error, or no input could be read at all.

    \b
    Examples:
      provenance verify photo.jpg
      provenance verify --trust newsroom-anchors.pem --json incoming/ > reports.jsonl
      provenance verify --strict-chain --accept trusted --accept recovered '*.png'
      provenance verify --html report.html incoming/
    """
    from provenance.verify.batch import expand_inputs, verify_many
    from provenance.verify.text import print_report, print_summary

    home = home_from_env()
    policy = default_policy(
        home,
        trust=trust,
        strict_chain=strict_chain,
        accept=accept or ("trusted",),
        allow_network=allow_network,
        allowed_signers=signers,
        signer_certs=signer_certs,
    )
    source = None if no_ledger else find_ledger(home)
    items = list(expand_inputs(files))
    reports: list[VerificationReport] = []
    with _progress(len(items)) as advance:
        for report in verify_many(
            items, policy, source, thumbnails=html_out is not None, workers=jobs
        ):
            reports.append(report)
            if as_json:
                echo_json(report.to_json())
            else:
                print_report(report)
            advance()
    print_summary(reports, err=as_json)
    if html_out:
        _write_html(Path(html_out), reports)
    if not reports or all(r.verdict == "error" for r in reports):
        return EXIT_USAGE
    return EXIT_OK if all(r.accepted for r in reports) else EXIT_NOT_ACCEPTED


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console_err(),
        transient=True,
        disable=total < 2,
    ) as bar:
        task = bar.add_task("verify", total=total)
        yield lambda: bar.advance(task)


def _write_html(path: Path, reports: list[VerificationReport]) -> None:
    from provenance.verify.html import render_html

    page = render_html(reports)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, path)  # no half-written report
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write the HTML report ({e.strerror})") from e
    click.echo(f"HTML report written to {path}", err=True)


def _resolve_entry(ledger: Ledger, target: str) -> Entry:
    p = Path(target)
    if p.exists() and p.is_file():
        found = ledger.find_by_output(sha256_file(p))
        if not found:
            raise InputError(
                f"{target}: not recorded in the ledger (no entry has this file's hash)"
            )
        return found[-1]
    entry = ledger.get(target)
    if entry is None:
        raise InputError(f"{target}: no such file and no ledger entry with this id")
    return entry


def _summary(e: Entry) -> dict[str, Any]:
    b = e.body
    return {
        "id": e.id,
        "index": e.index,
        "kind": e.kind,
        "time": e.time.isoformat(),
        "actor": b.get("actor"),
        "backend": b.get("backend"),
        "model": b.get("model"),
        "actions": b.get("actions", []),
        "output": (b.get("output") or {}).get("name"),
        "sha256": (b.get("output") or {}).get("sha256"),
        "parents": list(e.parents),
    }


@cli.command("lineage")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the lineage as one JSON object.")
def lineage_cmd(target: str, as_json: bool) -> None:
    """Show the tree of a FILE or ledger ENTRY back to its roots.

    \b
    Example:
      provenance lineage edited.png
    """
    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env(), read_only=True) as ledger:
        entry = _resolve_entry(ledger, target)
        chain = ledger.lineage(entry.id)
        by_id = {e.id: e for e in chain}
        if as_json:
            echo_json(
                {"target": target, "entry": entry.id, "lineage": [_summary(e) for e in chain]}
            )
            return

        def show(e: Entry, depth: int) -> None:
            s = _summary(e)
            what = " ".join(a for a in s["actions"] if a) or e.kind
            click.echo(
                f"{'  ' * depth}{'└─ ' if depth else ''}{s['output'] or e.id}  "
                f"[{e.kind}: {what}] entry {e.index} by {s['actor']} {s['time']}"
            )
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

    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env(), read_only=True) as ledger:
        entries = ledger.recent(limit)
    if as_json:
        for e in entries:
            echo_json(_summary(e))
        return
    table = Table("index", "time", "kind", "actor", "backend/model", "output")
    for e in entries:
        s = _summary(e)
        table.add_row(
            str(e.index),
            s["time"][:19],
            e.kind,
            str(s["actor"]),
            f"{s['backend'] or ''} {s['model'] or ''}".strip(),
            str(s["output"] or ""),
        )
    from rich.console import Console

    Console().print(table)
