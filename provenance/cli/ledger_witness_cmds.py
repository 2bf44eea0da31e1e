"""``provenance ledger witnesses add/remove/list``: the witnesses this log submits to.

Registered on the ``ledger`` group by :mod:`provenance.cli.ledger_cmds`. The list is
``<home>/ledger/witnesses`` (tlog-policy ``witness NAME VKEY URL`` lines).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from provenance.home.paths import home_from_env
from provenance.home.witnesses import (
    ENV_WITNESS_POLICY,
    LogWitnesses,
    read_policy,
    witness_policy,
)


@click.group("witnesses")
def witnesses_group() -> None:
    """The witnesses this log submits each new checkpoint to (C2SP tlog-witness).

    \b
    Examples:
      provenance ledger witnesses add w1 "$(cat w1.vkey)" http://127.0.0.1:7381
      provenance ledger witnesses list
      provenance ledger witnesses remove w1
    """


@witnesses_group.command("add")
@click.argument("name")
@click.argument("vkey")
@click.argument("url")
def add_cmd(name: str, vkey: str, url: str) -> None:
    """Submit new checkpoints to the witness VKEY at URL too (NAME: a local label).

    \b
    Example:
      provenance ledger witnesses add w1 "$(provenance witness vkey --dir w1)" http://127.0.0.1:7381
    """
    w = LogWitnesses(home_from_env()).add(name, vkey, url)
    click.echo(f"witness {w.label} added: {w.vkey.split('+')[0]} at {w.url}")


@witnesses_group.command("remove")
@click.argument("name")
def remove_cmd(name: str) -> None:
    """Stop submitting to the witness labelled NAME (its stored cosignatures stay).

    \b
    Example:
      provenance ledger witnesses remove w1
    """
    w = LogWitnesses(home_from_env()).remove(name)
    click.echo(f"witness {w.label} removed ({w.vkey.split('+')[0]})")


@witnesses_group.command("list")
def list_cmd() -> None:
    """Print the witness list (``witness NAME VKEY URL`` lines; nothing when there is none).

    \b
    Example:
      provenance ledger witnesses list
    """
    for w in LogWitnesses(home_from_env()).all():
        click.echo(f"witness {w.label} {w.vkey} {w.url}")


def witness_policy_option(f: click.decorators.FC) -> click.decorators.FC:
    """``--witness-policy FILE``: checked at once, then enforced (through the environment, so
    that verify's worker processes enforce it too)."""

    def use(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
        if value is not None:
            read_policy(value)  # a malformed policy is one clear error before anything runs
            before = os.environ.get(ENV_WITNESS_POLICY)
            os.environ[ENV_WITNESS_POLICY] = str(value.resolve())
            ctx.call_on_close(lambda: _restore(before))  # for this command only
        else:
            witness_policy(home_from_env())  # the default too: refuse a malformed one up front
        return value

    return click.option(
        "--witness-policy",
        "witness_policy",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=use,
        expose_value=False,
        help="C2SP tlog-policy file: a checkpoint counts only with a quorum of witness "
        "cosignatures. Default: $PROVENANCE_WITNESS_POLICY or <home>/trust/witness.policy.",
    )(f)


def _restore(before: str | None) -> None:
    if before is None:
        os.environ.pop(ENV_WITNESS_POLICY, None)
    else:
        os.environ[ENV_WITNESS_POLICY] = before
