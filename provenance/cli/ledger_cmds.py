"""``provenance ledger ...``: checkpoints, receipts, audit, export and the log's public key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provenance.cli.ledger_witness_cmds import witness_policy_option, witnesses_group
from provenance.errors import InputError
from provenance.home.ledger import open_ledger
from provenance.home.paths import home_from_env
from provenance.media.hashing import sha256_file

if TYPE_CHECKING:  # the ledger (SQLAlchemy) loads only when a command runs
    from ledger import Ledger
    from ledger.witness.policy import QuorumReport


def _open(with_key: bool) -> Ledger:
    return open_ledger(home_from_env(), read_only=not with_key, require_key=with_key)


@click.group("ledger")
def ledger_group() -> None:
    """Inspect and prove the tamper-evident ledger.

    \b
    Examples:
      provenance ledger checkpoint
      provenance ledger receipt photo.png -o photo.tlog-proof
      provenance ledger verify-receipt photo.tlog-proof --log-key log.pub --file photo.png
      provenance ledger audit --json
    """


@ledger_group.command("checkpoint")
def checkpoint_cmd() -> None:
    """Sign and store a checkpoint of the ledger now (after checking it extends the last one).

    \b
    Example:
      provenance ledger checkpoint

    With witnesses configured (`provenance ledger witnesses add`), the checkpoint is submitted
    to them after it is stored; the note printed carries their cosignatures, and stderr says
    which witnesses have not cosigned it yet (a later checkpoint catches them up).
    """
    from ledger.checkpoint_timestamps import timestamp_of
    from ledger.witness.logside import describe

    with _open(with_key=True) as led:
        cp = led.checkpoint()  # its note: the log's signature and every stored cosignature
        stamp = timestamp_of(led, cp) if led.tsa_url else None
        configured = led.checkpointer.witnessing
    click.echo(cp.note, nl=False)
    if stamp is not None:
        click.echo(f"timestamped by {stamp.tsa} at {stamp.gen_time.isoformat()}", err=True)
    elif led.tsa_url:
        click.echo(f"warning: checkpoint has no timestamp: {led.timestamp_error}", err=True)
    if configured is not None:  # say whether the checkpoint printed is witnessed yet
        click.echo(describe(cp.note, configured.witnesses, led.witness_result), err=True)


@ledger_group.command("receipt")
@click.argument("target")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the receipt here instead of stdout.",
)
def receipt_cmd(target: str, out: Path | None) -> None:
    """Write an offline-verifiable receipt (C2SP tlog-proof) for a FILE or an ENTRY id.

    \b
    Example:
      provenance ledger receipt photo.png -o photo.tlog-proof
    """
    from provenance.verify.lookup import resolve_entry

    with open_ledger(home_from_env()) as led:
        text = led.receipt(resolve_entry(led, target).entry.id)
    if out is None:
        click.echo(text, nl=False)
    else:
        from provenance.fileio import write_atomic

        write_atomic(out, text.encode(), mode=0o644)
        click.echo(f"receipt written to {out}", err=True)


@ledger_group.command("verify-receipt")
@click.argument("receipt", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--log-key",
    "log_key",
    required=True,
    help="The log's verifier key, or a file holding it (e.g. log.pub).",
)
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also check that this file is the entry's output (by SHA-256).",
)
@witness_policy_option
def verify_receipt_cmd(receipt: Path, log_key: str, file: Path | None) -> int:
    """Check a receipt offline with nothing but the receipt, the log key and optionally the file.

    Exit 0 when it proves the entry is in the log, 1 when it does not.

    \b
    Example:
      provenance ledger verify-receipt photo.tlog-proof --log-key log.pub --file photo.png
    """
    from ledger import verify_receipt
    from provenance.home.witnesses import witness_policy

    key_text = Path(log_key).read_text().strip() if Path(log_key).is_file() else log_key
    digest = sha256_file(file) if file is not None else None
    found = witness_policy(home_from_env())
    policy = found[0] if found else None
    result = verify_receipt(receipt.read_text(), key_text, file_sha256=digest, policy=policy)
    status = "OK" if result.ok else "FAILED"
    click.echo(
        f"{status}: {result.reason} (entry {result.entry_id or '?'}, index {result.index}, "
        f"tree size {result.tree_size}, log {result.origin or '?'})"
    )
    return 0 if result.ok else 1


@ledger_group.command("audit")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option(
    "--tsa-anchors",
    "tsa_anchors",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM certificates: checkpoint timestamps must chain to one of them.",
)
@click.option(
    "--log-key",
    "log_key",
    metavar="FILE_OR_KEY",
    help="The log's verifier key (a file or the key itself). Default: this home's log.pub or "
    "a known log (provenance logs add); never the key the database names.",
)
@witness_policy_option
def audit_cmd(as_json: bool, tsa_anchors: Path | None, log_key: str | None) -> int:
    """Recompute every leaf, subtree hash and checkpoint; name the first damage found.

    Checkpoint signatures are checked with a key pinned on your side, and the newest checkpoint
    must extend the one this user verified before (else: fork alarm). Exit 0 clean, 1 damage
    found or not verified.

    \b
    Example:
      provenance ledger audit --json
      provenance ledger audit --log-key their-log.pub
    """
    anchors = []
    if tsa_anchors is not None:
        try:
            from ledger.timestamp import load_anchors

            anchors = load_anchors(tsa_anchors.read_bytes())
        except OSError as e:
            raise InputError(f"{tsa_anchors}: cannot read the TSA anchors ({e.strerror})") from e
    from provenance.home.log_keys import audit_pinned

    with _open(with_key=False) as led:
        report = audit_pinned(led, log_key, anchors)
        quorum = _quorum(led) if report.ok else None
    if quorum is not None and not quorum.satisfied:  # the policy's verdict on the newest one
        report.problems.append((quorum.size, "not witnessed", quorum.verdict()))
    if as_json:
        click.echo(report.to_json() if quorum is None else _with_quorum(report.to_json(), quorum))
    else:
        click.echo(
            f"{'clean' if report.ok else 'DAMAGED'}: {report.size} entries, "
            f"{report.checkpoints_checked} checkpoints checked"
        )
        from ledger.audit.timestamps import UNANCHORED

        timestamps = report.timestamps.describe()
        no_flag = "TSA certificate not checked: no --tsa-anchors"  # the library names a parameter
        click.echo(f"  timestamps: {timestamps.replace(UNANCHORED, no_flag)}")
        if quorum is not None and quorum.satisfied:
            click.echo(f"  witnesses: {quorum.verdict()}")
        for index, kind, detail in report.problems:
            click.echo(f"  index {index}: {kind}: {detail}")
    return 0 if report.ok else 1


def _quorum(led: Ledger) -> QuorumReport | None:
    """The witness policy's verdict on the newest checkpoint (None: no policy, no checkpoint)."""
    from provenance.home.witnesses import witness_policy

    found = witness_policy(home_from_env())
    latest = led.latest_checkpoint()
    return None if found is None or latest is None else found[0].evaluate(latest.note)


def _with_quorum(text: str, quorum: QuorumReport) -> str:
    """The audit JSON plus ``"witnesses"``: the policy's verdict on the newest checkpoint."""
    import json

    data = json.loads(text)
    data["witnesses"] = quorum.to_dict()
    return json.dumps(data)


@ledger_group.command("export")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
def export_cmd(out: Path | None) -> None:
    """Stream every entry as a JSON line {index, leaf_hash, leaf} to rebuild the tree elsewhere.

    \b
    Example:
      provenance ledger export -o ledger.jsonl
    """
    with _open(with_key=False) as led:
        if out is None:
            n = led.export(sys.stdout)
        else:
            from provenance.fileio import new_text

            with new_text(out, mode=0o644, overwrite=True) as f:
                n = led.export(f)
    click.echo(f"{n} entries exported", err=True)


@ledger_group.command("key")
def key_cmd() -> None:
    """Print the log's public key in signed-note verifier-key form.

    \b
    Example:
      provenance ledger key > log.pub
    """
    home = home_from_env()
    if home.log_pub.exists():
        click.echo(home.log_pub.read_text().strip())
        return
    with _open(with_key=home.log_key.exists()) as led:
        vkey = led.verifier_key
    if vkey is None:
        raise InputError("the log's key is not known yet: run `provenance init`")
    click.echo(vkey)


from provenance.cli.publish_cmds import audit_tiles_cmd, publish_cmd  # noqa: E402  (issue 11, tiles)

ledger_group.add_command(publish_cmd)
ledger_group.add_command(audit_tiles_cmd)
ledger_group.add_command(witnesses_group)
