"""``provenance witness ...``: run a C2SP tlog-witness that cosigns other parties' logs."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import click

from ledger.errors import LedgerError
from ledger.witness.errors import WitnessConfigError
from ledger.witness.home import (
    STATE_FILE,
    add_log,
    init_witness,
    list_logs,
    load_witness,
    read_vkey,
)
from ledger.witness.policy import Policy
from ledger.witness.state import WitnessState
from provenance.cli.output import echo_json
from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK

_DIR = click.option(
    "--dir",
    "directory",
    required=True,
    envvar="PROVENANCE_WITNESS_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The witness's directory (key, logs.policy, state) [env PROVENANCE_WITNESS_DIR].",
)


@click.group("witness")
def witness_group() -> None:
    """Run an independent witness that cosigns consistent checkpoints of logs.

    \b
    Examples:
      provenance witness init --dir w1 --name witness.example/w1
      provenance witness add-log --dir w1 "$(provenance ledger key)"
      provenance witness serve --dir w1 --port 7380
      provenance witness quorum --policy policy.txt checkpoint.txt
    """


@witness_group.command("init")
@_DIR
@click.option("--name", required=True, help="The witness's key name, e.g. witness.example/w1.")
def init_cmd(directory: Path, name: str) -> None:
    """Create a witness key and an empty log list; print its public key (vkey)."""
    click.echo(init_witness(directory, name))


@witness_group.command("vkey")
@_DIR
def vkey_cmd(directory: Path) -> None:
    """Print the witness's public key (cosignature/v1 vkey) for logs' witness policies."""
    click.echo(read_vkey(directory).vkey())


@witness_group.command("add-log")
@_DIR
@click.argument("vkey")
@click.option("--url", default=None, help="Where the log can be reached (informational).")
def add_log_cmd(directory: Path, vkey: str, url: str | None) -> None:
    """Witness the log whose checkpoint key is VKEY (its key name is the log's origin)."""
    click.echo(add_log(directory, vkey, url))


@witness_group.command("logs")
@_DIR
@click.option("--json", "as_json", is_flag=True, help="One JSON object per log on stdout.")
def logs_cmd(directory: Path, as_json: bool) -> None:
    """List the logs this witness cosigns, with the latest size it cosigned for each."""
    logs = list_logs(directory)  # first: a missing directory is a clear error
    state = WitnessState(directory / STATE_FILE)
    for log in logs:
        tree = state.get(log.origin)
        size = None if tree is None else tree.size
        if as_json:
            echo_json({"origin": log.origin, "cosigned_size": size, "url": log.url})
        else:
            click.echo(f"{log.origin}\t{'-' if size is None else size}")


@witness_group.command("evidence")
@_DIR
def evidence_cmd(directory: Path) -> None:
    """Print the validly signed checkpoints this witness refused (split views, bad proofs).

    One JSON object per line: origin, HTTP status, reason, the refused note and the note the
    witness had cosigned for that origin. A refused note beside a cosigned one of the same
    size, both signed by the log, proves the log showed two histories.
    """
    read_vkey(directory)  # a directory that is not a witness's is an error, not an empty list
    state = WitnessState(directory / STATE_FILE)
    for r in state.refusals():
        echo_json(
            {
                "origin": r.origin,
                "status": r.status,
                "reason": r.reason,
                "old_size": r.old_size,
                "refused_note": r.note,
                "cosigned_note": state.note(r.origin),
            }
        )


@witness_group.command("serve")
@_DIR
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=7380, show_default=True, type=click.IntRange(0, 65535))
def serve_cmd(directory: Path, host: str, port: int) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness v1.0) until interrupted."""
    from ledger.witness.server import listen, serve  # Starlette and uvicorn load only here

    witness = load_witness(directory)
    if not witness.logs:
        raise WitnessConfigError(
            f"{directory}: no logs to witness; run `provenance witness add-log`"
        )
    sock = listen(host, port)
    click.echo(f"witness {witness.vkey} on http://{host}:{sock.getsockname()[1]}", err=True)
    serve(witness, sock)


@witness_group.command("quorum")
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A C2SP tlog-policy file (log, witness, group and quorum lines).",
)
@click.argument("note_file", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def quorum_cmd(policy_file: Path, note_file: TextIO, as_json: bool) -> int:
    """Check that the checkpoint in NOTE_FILE ('-': stdin) carries a quorum of cosignatures.

    Exit code 0 when the quorum is met and the log's signature verifies, 1 when not.
    """
    try:
        policy = Policy.parse(policy_file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise WitnessConfigError(f"{policy_file}: unreadable ({e})") from e
    except LedgerError as e:
        raise WitnessConfigError(f"{policy_file}: {e}") from e
    report = policy.evaluate(note_file.read())
    if as_json:
        echo_json(
            {
                "origin": report.origin,
                "size": report.size,
                "quorum": report.quorum,
                "log_verified": report.log_verified,
                "cosigned": sorted(report.cosigned),
                "invalid": sorted(report.invalid),
                "satisfied": report.satisfied,
            }
        )
    else:
        click.echo(report.summary(len(policy.witnesses)))
        if report.log_verified is False:
            click.echo("the checkpoint is not signed by any log of the policy", err=True)
        for name in report.invalid:
            click.echo(f"cosignature by {name} does not verify", err=True)
    return EXIT_OK if report.satisfied else EXIT_NOT_ACCEPTED
