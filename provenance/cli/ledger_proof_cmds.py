"""``provenance ledger check-receipt | checkpoints | consistency``: what an auditor with only the
CLI needs to get and check the log's proofs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK, InputError
from provenance.home.paths import home_from_env

if TYPE_CHECKING:
    from ledger import Ledger
    from provenance.verify.receipt_check import ReceiptCheck


@click.command("check-receipt")
@click.argument("receipt", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also check that this file is an output of the receipt's entry.",
)
@click.option(
    "--log-key",
    "log_key",
    metavar="FILE_OR_KEY",
    help="The log's verifier key. Default: this home's log.pub or a known log.",
)
@click.option("--offline", is_flag=True, help="Do not compare with the log, even if reachable.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def check_receipt_cmd(
    receipt: Path, file: Path | None, log_key: str | None, offline: bool, as_json: bool
) -> int:
    """Check a receipt offline and against today's log: was its entry deleted or rewritten since?

    Exit 0 the receipt holds (and, with the log at hand, its checkpoint is part of today's
    history); 1 it fails, or the log's history no longer contains it (both signed checkpoints
    are printed as evidence).

    \b
    Examples:
      provenance ledger check-receipt photo.tlog-proof --file photo.png
      provenance ledger check-receipt photo.tlog-proof --log-key their-log.pub --offline
    """
    from provenance.media.hashing import sha256_file
    from provenance.verify.receipt_check import check_receipt

    text = _read(receipt)
    vkey = _pinned_for_note(text.partition("\n\n")[2], log_key)
    digest = sha256_file(file) if file is not None else None
    ledger = None if offline else _reachable()
    try:
        result = check_receipt(text, vkey, file_sha256=digest, ledger=ledger)
    finally:
        if ledger is not None:
            ledger.close()
    if as_json:
        click.echo(json.dumps(_receipt_json(result)))
    else:
        click.echo(f"{'OK' if result.ok else 'FAILED'}: {result.offline.reason}; {result.reason}")
        if result.fork is not None:
            click.echo(f"previous:\n{result.fork.previous}now:\n{result.fork.current}", nl=False)
    return EXIT_OK if result.ok else EXIT_NOT_ACCEPTED


@click.command("checkpoints")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per checkpoint.")
def checkpoints_cmd(as_json: bool) -> None:
    """List the signed checkpoints the ledger stores (oldest first), as signed notes.

    \b
    Example:
      provenance ledger checkpoints --json
    """
    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env(), read_only=True, checkpoint_every=None) as led:
        cps = led.checkpoints()
    for cp in cps:
        if as_json:
            click.echo(json.dumps({"size": cp.size, "root": cp.root.hex(), "note": cp.note}))
        else:
            click.echo(cp.note)


@click.command("consistency")
@click.argument("old", type=click.IntRange(min=0))
@click.argument("new", type=click.IntRange(min=0), required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def consistency_cmd(old: int, new: int | None, as_json: bool) -> None:
    """Print the RFC 9162 consistency proof from tree size OLD to NEW (default: the newest
    checkpoint), one base64 hash per line, with both roots.

    \b
    Example:
      provenance ledger consistency 120
    """
    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env(), read_only=True, checkpoint_every=None) as led:
        latest = led.latest_checkpoint()
        new = new if new is not None else (latest.size if latest else led.size)
        if old > new or new > led.size:
            raise InputError(f"sizes {old} -> {new}: need OLD <= NEW <= {led.size}")
        proof = led.consistency_proof(old, new)
        roots = (led.root(old).hex(), led.root(new).hex())
    lines = [base64.b64encode(h).decode() for h in proof]
    if as_json:
        out = {"old": old, "new": new, "old_root": roots[0], "new_root": roots[1], "proof": lines}
        click.echo(json.dumps(out))
    else:
        click.echo(f"old {old} {roots[0]}\nnew {new} {roots[1]}")
        for line in lines:
            click.echo(line)


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the receipt ({e})") from e


def _pinned_for_note(note: str, explicit: str | None) -> str:
    from provenance.home.log_keys import user_key

    origin = note.split("\n", 1)[0]
    found = user_key(origin, explicit)
    if found is None:
        raise InputError(f"no pinned key for log {origin}: pass the log's key")
    return found.vkey


def _reachable() -> Ledger | None:
    from provenance.home.ledger import find_ledger, open_ledger

    source = find_ledger(home_from_env())
    return None if source is None else open_ledger(source, read_only=True, checkpoint_every=None)


def _receipt_json(result: ReceiptCheck) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "offline": {
            "ok": result.offline.ok,
            "reason": result.offline.reason,
            "index": result.offline.index,
            "tree_size": result.offline.tree_size,
        },
        "checked_against_log": result.checked_against_log,
        "current_size": result.current_size,
        "reason": result.reason,
        "fork": None
        if result.fork is None
        else {"previous": result.fork.previous, "current": result.fork.current},
    }


@click.command("adopt-checkpoint")
@click.option("--reason", required=True, help="Why the signer's memory was lost (logged).")
@click.option("--yes", is_flag=True, help="Confirm: you have checked the newest checkpoint.")
def adopt_checkpoint_cmd(reason: str, yes: bool) -> None:
    """Re-create a lost signer memory (ledger/log.signed) from the newest stored checkpoint.

    Only after checking that checkpoint against one seen elsewhere (a witness, a receipt, a
    published tiles mirror): whoever could write the database may have rewritten it. The
    adoption is logged beside the memory (log.signed.log).

    \b
    Example:
      provenance ledger adopt-checkpoint --reason "disk replaced" --yes
    """
    from provenance.home.actor import default_actor
    from provenance.home.ledger import open_ledger

    if not yes:
        raise InputError("adopt-checkpoint: confirm with --yes after checking the checkpoint")
    with open_ledger(home_from_env(), require_key=True, checkpoint_every=None) as led:
        cp = led.adopt_checkpoint(reason=reason, actor=default_actor())
    click.echo(f"adopted the checkpoint at size {cp.size} as the signer's memory", err=True)
