"""``provenance logs ...``: the logs a desk knows (pinned keys, by origin) and the checkpoints it
has verified (its memory), exported and imported to compare notes with other desks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK, InputError
from provenance.home.paths import home_from_env


@click.group("logs")
def logs_group() -> None:
    """Pin the keys of the logs you verify against, and compare what you saw with others.

    \b
    Examples:
      provenance logs add "$(cat their-log.pub)"
      provenance logs list
      provenance logs export-checkpoints -o seen.txt
      provenance logs import-checkpoints their-seen.txt
    """


@logs_group.command("add")
@click.argument("vkey", metavar="KEY_OR_FILE")
def add_cmd(vkey: str) -> None:
    """Pin a log's verifier key (signed-note form, or a file holding it) for its origin.

    A key added for an origin that is already known replaces the old one.

    \b
    Example:
      provenance logs add their-log.pub
    """
    from provenance.home.log_keys import KnownLogs, read_vkey_arg

    pinned = KnownLogs(home_from_env()).add(read_vkey_arg(vkey).vkey)
    click.echo(f"pinned {pinned.origin}", err=True)


@logs_group.command("remove")
@click.argument("origin")
def remove_cmd(origin: str) -> None:
    """Forget the pinned key of the log ORIGIN.

    \b
    Example:
      provenance logs remove news.example/log
    """
    from provenance.home.log_keys import KnownLogs

    if not KnownLogs(home_from_env()).remove(origin):
        raise InputError(f"{origin}: not a known log (see provenance logs list)")
    click.echo(f"removed {origin}", err=True)


@logs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per log.")
def list_cmd(as_json: bool) -> None:
    """List the pinned logs: origin, key, where it is pinned, and the newest checkpoint verified.

    \b
    Example:
      provenance logs list --json
    """
    from provenance.home.log_keys import KnownLogs, checkpoint_memory, pinned_key

    home = home_from_env()
    keys = list(KnownLogs(home).all())
    own = pinned_key(home, "")  # the home's own log.pub, whatever its origin
    if own is not None and own.origin not in {k.origin for k in keys}:
        keys.insert(0, own)
    memory = checkpoint_memory()
    for k in keys:
        seen = memory.last(k.vkey)
        size = seen.size if seen is not None else None
        if as_json:
            out = {"origin": k.origin, "key": k.vkey, "source": k.source, "seen_size": size}
            click.echo(json.dumps(out))
        else:
            click.echo(f"{k.origin}  seen: {'-' if size is None else size}  ({k.source})")


@logs_group.command("export-checkpoints")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of stdout.",
)
def export_cmd(out: Path | None) -> None:
    """Write every checkpoint you have verified (signed notes), for another desk to import.

    \b
    Example:
      provenance logs export-checkpoints -o seen.txt
    """
    from provenance.home.log_keys import checkpoint_memory

    text = "\n".join(checkpoint_memory().remembered())
    if out is None:
        sys.stdout.write(text)
        return
    from provenance.fileio import write_atomic

    write_atomic(out, text.encode(), mode=0o644, overwrite=False)  # never through a link


@logs_group.command("import-checkpoints")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_cmd(file: Path) -> int:
    """Compare another desk's verified checkpoints with yours (gossip).

    Each checkpoint must be signed by a pinned key. One that disagrees with what you saw at the
    same size, or that the log (when reachable) cannot prove consistent, is a fork alarm: both
    signed notes are printed, exit 1. Consistent ones advance your memory.

    \b
    Example:
      provenance logs import-checkpoints their-seen.txt
    """
    from provenance.home.log_keys import import_checkpoints

    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{file}: cannot read the checkpoints ({e})") from e
    outcome = import_checkpoints(text, home_from_env())
    for line in outcome.lines:
        click.echo(line)
    return EXIT_NOT_ACCEPTED if outcome.forks else EXIT_OK
