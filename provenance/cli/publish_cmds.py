"""``provenance ledger publish`` and ``provenance ledger audit-tiles``: the log as C2SP tiles.

Registered on the ``ledger`` group by :mod:`provenance.cli.ledger_cmds`.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from ledger.checkpoint import Verifier
from ledger.errors import MalformedNoteError
from provenance.home.ledger import open_ledger
from provenance.home.paths import home_from_env


class _Progress:
    """``label: done/total`` on stderr, at most once a second and once at the end."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self._last >= 1.0:
            self._last = now
            click.echo(f"{self.label}: {done}/{total}", err=True)


def _pinned_key(log_key: str | None) -> str:
    """The verifier key as the user gives it (a file or the key itself), else the home's."""
    if log_key is None:
        pub = home_from_env().log_pub
        if not pub.is_file():
            raise MalformedNoteError("no pinned key for the log: pass --log-key FILE_OR_KEY")
        log_key = str(pub)
    path = Path(log_key)
    text = path.read_text().strip() if path.is_file() else log_key
    Verifier.parse(text)  # a malformed key is a usage error, before anything is fetched
    return text


@click.command("publish")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--checkpoint",
    "sign",
    is_flag=True,
    help="Sign a checkpoint of the whole ledger first (needs the log key).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON summary on stdout.")
def publish_cmd(directory: Path, sign: bool, as_json: bool) -> None:
    """Write the ledger as a static C2SP tlog-tiles log into DIRECTORY, incrementally.

    Only tiles that changed since the last publish are written; the checkpoint goes last.
    The published size is the latest signed checkpoint's.

    \b
    Example:
      provenance ledger publish /srv/www/log --json
    """
    from ledger.tiles import publish

    home = home_from_env()
    pinned = _pinned_key(None) if home.log_pub.is_file() else None
    with open_ledger(home, read_only=not sign, checkpoint_every=None) as led:
        if sign:
            led.checkpoint()
        report = publish(led, directory, verifier=pinned, progress=_Progress("publishing entries"))
    click.echo(report.describe(), err=True)
    for path in report.repaired:
        click.echo(f"warning: {path} held other bytes and was rewritten", err=True)
    if as_json:
        click.echo(report.to_json())


@click.command("audit-tiles")
@click.argument("location")
@click.option(
    "--log-key",
    "log_key",
    help="The log's verifier key, or a file holding it (default: the home's log.pub).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per HTTP request.")
def audit_tiles_cmd(location: str, log_key: str | None, as_json: bool, timeout: float) -> int:
    """Audit a published log from a directory or http(s) URL, with no database access.

    Checks the checkpoint with the pinned key, re-hashes every entry and every tile, and names
    each damaged file. Exit 0 clean, 1 damage found, 2 bad input or unreachable.

    \b
    Example:
      provenance ledger audit-tiles https://example.org/log --log-key log.pub
    """
    from ledger.tiles import audit_tiles, open_source

    key = _pinned_key(log_key)
    source = open_source(location, timeout=timeout)
    try:
        report = audit_tiles(source, key, progress=_Progress("auditing tiles"))
    finally:
        source.close()
    if as_json:
        click.echo(report.to_json())
    else:
        click.echo(report.describe())
        for problem in report.problems:
            click.echo(f"  {problem.line()}")
    return 0 if report.ok else 1
