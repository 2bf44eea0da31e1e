"""Terminal output of ``provenance verify``: one readable block per file, then a summary table.

Every string that comes from the file (titles, signer names, models, c2pa's explanations) passes
through :func:`~provenance.verify.printable.printable`: a manifest must not be able to repaint
the terminal or forge lines in a log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import click

from provenance.verify.printable import printable as p
from provenance.verify.report import ChainNode, Signer, VerificationReport
from provenance.verify.words import action_name, ai_line, product_words, stamp_words
from provenance.vocab import Verdict, is_ai_source_type

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
    click.echo(f"{p(r.path)}\n  {_HEADLINES.get(r.verdict, r.verdict)} ({mark} by the policy)")
    for reason in r.reasons:
        click.echo(f"  - {p(reason)}")
    if r.signer:
        _print_signer(r.signer, r.verdict)
    if r.chain is not None:
        if r.chain.app:
            click.echo(f"  app or device used: {p(r.chain.app)}")
        click.echo(f"  AI: {ai_line(r)}")
        click.echo(f"  edits: {', '.join(action_name(a) for a in r.actions) or 'none recorded'}")
        if r.chain.ingredients:
            state = {
                True: "every ancestor validates",
                False: "BROKEN ancestor",
                None: "not judged",
            }[r.chain_ok]
            click.echo(f"  chain ({state}):")
            for child in r.chain.ingredients:
                _print_node(child, 2)
    for item in r.unverified:
        click.echo(f"  unverified: {p(item)}")
    _print_ledger(r)
    for item in r.not_checked:
        click.echo(f"  not checked: {p(item)}")
    for note in r.notes:
        click.echo(f"  note: {p(note)}")


def _print_signer(s: Signer, verdict: str) -> None:
    local = " [local identity]" if s.local_identity else ""
    who = f"{p(s.common_name)} (issuer {p(s.issuer)})"
    if verdict == Verdict.INVALID:  # a forged signature names whoever the forger chose
        click.echo(f"  claimed signer: {who}, which could not be verified")
    else:
        click.echo(f"  signed by: {who}{local}")
    if s.time:
        click.echo(f"  signed at: {p(s.time)} ({p(stamp_words(s))})")
    else:
        click.echo("  signed at: not known (no time-stamp)")
    if product_words(s):
        click.echo(f"  product: {p(product_words(s))}")


def _print_node(n: ChainNode, depth: int) -> None:
    who = "no credentials" if not n.has_manifest else "?"
    who = p(n.signer.common_name) if n.signer else who
    when = f" {p(n.signer.time)}" if n.signer and n.signer.time else ""
    ok = "ok" if n.ok else "FAILED: " + "; ".join(p(f.explanation) for f in n.failures)
    ai = (
        ", AI"
        if n.ai_disclosed or any(is_ai_source_type(d) for d in n.digital_source_types)
        else ""
    )
    acts = f" [{', '.join(action_name(a) for a in n.actions)}]" if n.actions else ""
    again = " (shown above)" if n.repeat else ""
    click.echo(
        f"{'  ' * depth}└─ {p(n.title or '(untitled)')} ({p(n.relationship)}) by {who}{when}"
        f"{acts}{ai}{again}: {ok}"
    )
    for c in n.ingredients:
        _print_node(c, depth + 1)
    if n.omitted:
        click.echo(f"{'  ' * (depth + 1)}└─ … {n.omitted} more not shown")


def _print_ledger(r: VerificationReport) -> None:
    led = r.ledger
    if led is None or not led.done:
        return
    if led.entry is None or led.match == "manifest":
        click.echo(f"  ledger: {p(led.reason)}")
    else:
        e = led.entry
        click.echo(
            f"  ledger: entry {e.index} ({p(e.kind)}) by {p(e.actor)} at {p(e.time)}"
            f", {len(led.lineage)} entr{'y' if len(led.lineage) == 1 else 'ies'} back to "
            "the roots"
        )
        if led.proof:
            click.echo(f"  ledger proof: {p(led.proof.reason)}")
    for c in led.candidates[:3]:
        pixels = f"; pixels {c.pixels}" if c.pixels else ""
        click.echo(f"  look-alike: entry {p(c.entry)} ({p(c.label)}: {p(c.reason)}{pixels})")


def print_summary(reports: Sequence[VerificationReport], *, err: bool, skipped: int = 0) -> None:
    if len(reports) < 2 and not skipped:
        return
    from rich.console import Console
    from rich.table import Table

    counts = Counter(r.verdict for r in reports)
    table = Table("verdict", "files", title="Summary")
    for v in Verdict:
        if counts[v]:
            table.add_row(v, str(counts[v]))
    table.add_row("accepted", str(sum(r.accepted for r in reports)))
    if skipped:
        table.add_row("skipped (not media)", str(skipped))
    Console(stderr=err, width=60).print(table)
