"""Terminal output of ``provenance verify``: one readable block per file, then a summary table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import click

from provenance.verify.report import ChainNode, VerificationReport
from provenance.vocab import Verdict

_HEADLINES = {
    Verdict.TRUSTED: "TRUSTED: intact, signed by a trusted signer",
    Verdict.VALID_UNTRUSTED: "VALID BUT UNTRUSTED: intact, but the signer is not on your trust list",
    Verdict.INVALID: "INVALID: the credentials are broken or the file was altered",
    Verdict.NO_CREDENTIALS: "NO CREDENTIALS: nothing can be proven about this file",
    Verdict.RECOVERED: "RECOVERED: no credentials, but the ledger knows this picture",
    Verdict.ERROR: "ERROR: the file could not be checked",
}


def print_report(r: VerificationReport) -> None:
    mark = "accepted" if r.accepted else "NOT accepted"
    click.echo(f"{r.path}\n  {_HEADLINES.get(r.verdict, r.verdict)} ({mark} by the policy)")
    for reason in r.reasons:
        click.echo(f"  - {reason}")
    if r.signer:
        local = " [local identity]" if r.signer.local_identity else ""
        click.echo(f"  signed by: {r.signer.common_name} (issuer {r.signer.issuer}){local}")
        if r.signer.time:
            click.echo(f"  signed at: {r.signer.time}")
    if r.chain is not None:
        ai = "AI-generated or AI-edited" if r.ai_generated else "no AI declared"
        extra = "".join(f", {x}" for x in (r.digital_source_type, r.model) if x)
        click.echo(f"  AI disclosure: {ai}{extra}")
        click.echo(f"  edits: {', '.join(r.actions) or 'none recorded'}")
        if r.chain.ingredients:
            state = {
                True: "every ancestor validates",
                False: "BROKEN ancestor",
                None: "not judged",
            }[r.chain_ok]
            click.echo(f"  chain ({state}):")
            for child in r.chain.ingredients:
                _print_node(child, 2)
    _print_ledger(r)
    for item in r.not_checked:
        click.echo(f"  not checked: {item}")
    for note in r.notes:
        click.echo(f"  note: {note}")


def _print_node(n: ChainNode, depth: int) -> None:
    who = n.signer.common_name if n.signer else ("no credentials" if not n.has_manifest else "?")
    when = f" {n.signer.time}" if n.signer and n.signer.time else ""
    ok = "ok" if n.ok else "FAILED: " + "; ".join(f.explanation for f in n.failures)
    ai = ", AI" if n.ai_disclosed else ""
    acts = f" [{', '.join(n.actions)}]" if n.actions else ""
    click.echo(
        f"{'  ' * depth}└─ {n.title or '(untitled)'} ({n.relationship}) by {who}{when}"
        f"{acts}{ai}: {ok}"
    )
    for c in n.ingredients:
        _print_node(c, depth + 1)


def _print_ledger(r: VerificationReport) -> None:
    led = r.ledger
    if led is None or not led.done:
        return
    if led.entry is None:
        click.echo(f"  ledger: {led.reason}")
    else:
        e = led.entry
        click.echo(
            f"  ledger: entry {e.index} ({e.kind}) by {e.actor} at {e.time}"
            f", {len(led.lineage)} entr{'y' if len(led.lineage) == 1 else 'ies'} back to "
            "the roots"
        )
        if led.proof:
            click.echo(f"  ledger proof: {led.proof.reason}")
    for c in led.candidates[:3]:
        click.echo(f"  look-alike: entry {c.entry} ({c.label}: {c.reason})")


def print_summary(reports: Sequence[VerificationReport], *, err: bool) -> None:
    if len(reports) < 2:
        return
    from rich.console import Console
    from rich.table import Table

    counts = Counter(r.verdict for r in reports)
    table = Table("verdict", "files", title="Summary")
    for v in Verdict:
        if counts[v]:
            table.add_row(v, str(counts[v]))
    table.add_row("accepted", str(sum(r.accepted for r in reports)))
    Console(stderr=err, width=60).print(table)
