"""``provenance doctor`` (repair leftovers of interrupted recordings, audit) and ``rotate-key``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from provenance.cli.output import echo_json
from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK
from provenance.home.paths import ENV_KEY_PASSPHRASE, home_from_env


@click.command("doctor")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only report; change no file.")
@click.option("--no-audit", is_flag=True, help="Skip the full ledger audit.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--min-age",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Leave temp files younger than this many seconds alone.",
)
def doctor_cmd(
    paths: tuple[Path, ...], dry_run: bool, no_audit: bool, as_json: bool, min_age: float
) -> int:
    """Find what interrupted recordings left in PATHS (default: .) and audit the ledger.

    A temp file whose hash the ledger records is moved into place (the recording had committed);
    one the ledger does not know is removed; a conflict is kept and reported. Exit 0 when nothing
    is left to look at, 1 otherwise.

    \b
    Examples:
      provenance doctor                 # this folder, repair and audit
      provenance doctor out/ --dry-run --json
    """
    from provenance.home.ledger import open_ledger
    from provenance.record.doctor import run_doctor

    with open_ledger(home_from_env(), read_only=True) as ledger:
        report = run_doctor(
            list(paths) or [Path(".")],
            ledger,
            fix=not dry_run,
            audit=not no_audit,
            min_age=min_age,
        )
    if as_json:
        echo_json(report.to_json())
    else:
        for item in report.leftovers:
            click.echo(
                f"{item.status:9}  {item.action:8}  {item.path}"
                + (f"  (ledger entry {item.entry_id})" if item.entry_id else "")
            )
        for why in report.abandoned:
            click.echo(
                f"queue      {'cleared' if not dry_run else 'kept':8}  refused append of a gone writer: {why}"
            )
        if report.audit is not None:
            a = report.audit
            click.echo(
                f"ledger audit: {'clean' if a.ok else 'DAMAGED'} ({a.size} entries, "
                f"{a.checkpoints_checked} checkpoints)"
            )
            for index, kind, detail in a.problems:
                click.echo(f"  entry {index}: {kind}: {detail}")
        click.echo("ok" if report.ok else "problems remain", err=True)
    return EXIT_OK if report.ok else EXIT_NOT_ACCEPTED


@click.command("rotate-key")
@click.option("--json", "as_json", is_flag=True, help="Print the new signer as JSON.")
def rotate_key_cmd(as_json: bool) -> None:
    """Replace the local signer key and certificate (same local CA); old files keep verifying.

    The passphrase of an encrypted key comes from $PROVENANCE_KEY_PASSPHRASE or a prompt, never
    from the command line. Each ledger entry records which certificate signed it.
    """
    from provenance.home.identity import load_identity, rotate_signer

    home = home_from_env()
    passphrase = None
    if (
        home.signer_key.exists()
        and b"ENCRYPTED" in home.signer_key.read_bytes()
        and not os.environ.get(ENV_KEY_PASSPHRASE)
    ):
        passphrase = click.prompt(
            "Passphrase for the signer key", hide_input=True, err=True
        ).encode()
    old = load_identity(home, passphrase=passphrase)
    new = rotate_signer(home, passphrase=passphrase)
    info = {
        "signer": new.subject,
        "cert_sha256": new.cert_sha256,
        "retired_cert_sha256": old.cert_sha256,
    }
    if as_json:
        echo_json(info)
    else:
        click.echo(f"New signer: {new.subject} (certificate {new.cert_sha256[:16]}…)")
        click.echo(f"Retired:    certificate {old.cert_sha256[:16]}… (its files still verify)")
