"""``verify``, ``lineage``, ``log``: reading what was recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provenance.cli.ledger_witness_cmds import witness_policy_option
from provenance.cli.output import console_err, echo_json
from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK, EXIT_USAGE
from provenance.home.ledger import find_ledger
from provenance.home.paths import home_from_env
from provenance.verify.policy import default_policy
from provenance.verify.printable import printable as p
from provenance.vocab import VERDICTS, Verdict

if TYPE_CHECKING:
    from ledger import Entry
    from provenance.home.ledger import LedgerSource
    from provenance.verify.policy import TrustPolicy
    from provenance.verify.report import VerificationReport


def _log_key(value: str | None) -> str | None:
    if value is None:
        return None
    from provenance.home.log_keys import read_vkey_arg

    return read_vkey_arg(value).vkey


@click.command("verify")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per file per line on stdout."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "crjson"]),
    default=None,
    help="text (default), json (as --json), or crjson: c2pa-rs's crJSON report of each file, "
    "one per line, as C2PA conformance tooling reads it ({} for a file without credentials).",
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
    "--tsa-trust",
    "tsa_trust",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="PEM bundle of time-stamping authority anchors (repeatable): time-stamps count only "
    "when their TSA chains to these, $PROVENANCE_HOME/trust-tsa/*.pem or the C2PA TSA Trust List.",
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
    help="Only accept files signed by one of these certificates (PEM, repeatable; pinned by "
    "the certificate's SHA-256).",
)
@click.option(
    "--signer-issuer-serial",
    "signer_issuer_serials",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Like --signer-cert, but pinned by issuer and serial number only (any certificate "
    "that issuer gives that serial).",
)
@click.option(
    "--no-default-trust",
    is_flag=True,
    help="Trust only your own anchors (--trust, --tsa-trust, the home's trust folders, its local "
    "CA), not the bundled C2PA Trust List, interim trust list and C2PA TSA Trust List.",
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
    "--log-key",
    metavar="FILE_OR_KEY",
    help="The ledger's verifier key (a file or the key). Default: this home's log.pub or a "
    "known log (provenance logs add); never the key the database names.",
)
@witness_policy_option
@click.option(
    "--ask-openai",
    is_flag=True,
    help="Send files with no credentials and no ledger match to OpenAI's provenance check "
    "(network, OPENAI_API_KEY); shown as a separate signal, never a verdict.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker processes (default: one per core, for 1,000 files or more).",
)
def verify_cmd(files: tuple[str, ...], **o: Any) -> int:
    """Verify FILES (files, directories, globs): who made them, how, and whether they were altered.

    Offline, without `provenance init`: verdict, signer, AI disclosure, edits, every ancestor with
    its own validation, the ledger entry and proof; files without credentials are searched by hash.

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
    from provenance.verify.batch import expand_inputs
    from provenance.verify.text import print_summary

    home = home_from_env()
    policy = default_policy(
        home,
        trust=o["trust"],
        strict_chain=o["strict_chain"],
        accept=o["accept"] or (Verdict.TRUSTED,),
        allow_network=o["allow_network"],
        allowed_signers=o["signers"],
        signer_certs=o["signer_certs"],
        signer_issuer_serials=o["signer_issuer_serials"],
        default_trust=not o["no_default_trust"],
        tsa_trust=o["tsa_trust"],
    )
    source = None if o["no_ledger"] else find_ledger(home, _log_key(o["log_key"]))
    ask = _openai_asker() if o["ask_openai"] else None
    skipped: list[str] = []
    items = list(expand_inputs(files, skipped=skipped))
    fmt = o["fmt"] or ("json" if o["as_json"] else "text")
    reports = _verify_and_print(
        items, policy, source, fmt, o["html_out"] is not None, o["jobs"], ask
    )
    print_summary(reports, err=fmt != "text", skipped=len(skipped))
    if o["html_out"]:
        _write_html(Path(o["html_out"]), reports)
    if not reports or all(r.verdict == Verdict.ERROR for r in reports):
        return EXIT_USAGE
    return EXIT_OK if all(r.accepted for r in reports) else EXIT_NOT_ACCEPTED


def _write_html(path: Path, reports: list[VerificationReport]) -> None:
    from provenance.verify.html import write_html

    write_html(path, reports)
    click.echo(f"HTML report written to {path}", err=True)


def _verify_and_print(
    items: list[tuple[str, str | None]],
    policy: TrustPolicy,
    source: LedgerSource | None,
    fmt: str,
    thumbnails: bool,
    jobs: int | None,
    ask: Callable[[VerificationReport], dict[str, Any] | None] | None = None,
) -> list[VerificationReport]:
    """Each report printed as it comes (JSON line, crJSON line or text block), in input order."""
    from provenance.verify.batch import verify_many
    from provenance.verify.text import print_report

    reports: list[VerificationReport] = []
    with _progress(len(items)) as advance:
        for report in verify_many(items, policy, source, thumbnails=thumbnails, workers=jobs):
            reports.append(_in_cli_words(report))
            extra = ask(report) if ask is not None else None
            if fmt == "json":
                echo_json({**report.to_json(), **({"openai_check": extra} if extra else {})})
            elif fmt == "crjson":
                echo_json(_crjson(report, policy))
            else:
                print_report(report)
                if extra:
                    click.echo(f"  {extra['attribution']}:\n    {extra['summary']}")
            advance()
    return reports


def _crjson(report: VerificationReport, policy: TrustPolicy) -> dict[str, object]:
    """c2pa-rs's own report of the file, read under the same trust anchors as ours."""
    from provenance.credentials import make_context
    from provenance.credentials.read import read_crjson

    if report.verdict == Verdict.ERROR or not report.mime:
        return {}
    try:
        data = Path(report.path).read_bytes()
    except OSError:
        return {}
    ctx = make_context(
        trust_lists=policy.groups.lists, allow_network=policy.allow_network, thumbnail=False
    )
    return read_crjson(data, report.mime, ctx)


def _openai_asker() -> Callable[[VerificationReport], dict[str, Any] | None]:
    """OpenAI's check, only for files with no credentials and no ledger match (opt-in)."""
    from provenance.backends.openai_check import OpenAIProvenanceCheck

    checker = OpenAIProvenanceCheck()

    def ask(report: VerificationReport) -> dict[str, Any] | None:
        if report.verdict != Verdict.NO_CREDENTIALS or report.ledger_entry:
            return None
        try:
            data = Path(report.path).read_bytes()
        except OSError:
            return None
        return checker.check(data, report.path, report.mime).to_json()

    return ask


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    if total < 2:  # no bar for one file, and no rich import (~40 ms of start-up) either
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console_err(),
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=total)
        yield lambda: bar.advance(task)


def _cli_words() -> dict[str, str]:
    """The library's parameter hints as this command's flags (the library knows no flags)."""
    from provenance.verify import core

    return {
        core.STRICT_CHAIN_REASON: "--strict-chain: a broken ancestor fails this file",
        core.NETWORK_HINT: "run with --allow-network to fetch them",
        core.TRUST_HINT: "add its CA with --trust to trust it",
    }


def _in_cli_words(report: VerificationReport) -> VerificationReport:
    words = _cli_words()

    def say(text: str) -> str:
        for lib, cli_text in words.items():
            text = text.replace(lib, cli_text)
        return text

    report.reasons = [say(r) for r in report.reasons]
    report.not_checked = [say(r) for r in report.not_checked]
    if report.ledger is not None:
        report.ledger.reason = say(report.ledger.reason)
    return report


@click.command("lineage")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the lineage as one JSON object.")
def lineage_cmd(target: str, as_json: bool) -> None:
    """Show the tree of a FILE or ledger ENTRY back to its roots.

    \b
    Example:
      provenance lineage edited.png
    """
    from provenance.home.ledger import open_ledger
    from provenance.verify.lookup import resolve_entry
    from provenance.verify.report import EntrySummary

    with open_ledger(home_from_env(), read_only=True) as ledger:
        entry = resolve_entry(ledger, target).entry
        chain = ledger.lineage(entry.id)
        by_id = {e.id: e for e in chain}
        if as_json:
            lineage = [EntrySummary.of(e).to_json() for e in chain]
            echo_json({"target": target, "entry": entry.id, "lineage": lineage})
            return

        def show(e: Entry, depth: int) -> None:
            s = EntrySummary.of(e)
            what = " ".join(a for a in s.actions if a) or e.kind
            click.echo(  # names and actors come from files and callers: no control characters
                f"{'  ' * depth}{'└─ ' if depth else ''}{p(s.output or e.id)}  "
                f"[{p(e.kind)}: {p(what)}] entry {e.index} by {p(s.actor)} {s.time}"
            )
            for pid in e.parents:
                if pid in by_id:
                    show(by_id[pid], depth + 1)

        show(entry, 0)


@click.command("log")
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
    from provenance.verify.report import EntrySummary

    with open_ledger(home_from_env(), read_only=True) as ledger:
        summaries = [EntrySummary.of(e) for e in ledger.recent(limit)]
    if as_json:
        for s in summaries:
            echo_json(s.to_json())
        return
    from rich.markup import escape

    def cell(x: object) -> str:  # neither control characters nor rich markup from an entry
        return escape(p(x))

    table = Table("index", "time", "kind", "actor", "backend/model", "output")
    for s in summaries:
        table.add_row(
            str(s.index),
            s.time[:19],
            cell(s.kind),
            cell(s.actor),
            cell(f"{s.backend or ''} {s.model or ''}".strip()),
            cell(s.output or ""),
        )
    from rich.console import Console

    Console().print(table)
