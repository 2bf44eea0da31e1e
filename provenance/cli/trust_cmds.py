"""``provenance trust``: the trust sources in force, the user's own anchors, a newer official list."""

from __future__ import annotations

import os
from pathlib import Path

import click

from provenance.errors import InputError
from provenance.home.paths import home_from_env
from provenance.verify.anchors import check_anchors, load_anchors


@click.group("trust")
def trust_group() -> None:
    """List the trust sources in force; add or remove your anchors; load a newer official list."""


_TSA_OPTION = click.option(
    "--tsa",
    is_flag=True,
    help="Time-stamping authority anchors ($PROVENANCE_HOME/trust-tsa/): their time-stamps "
    "count, but they never vouch for a signer.",
)


@trust_group.command("list")
def list_cmd() -> None:
    """Every trust source in force, with its date and how many anchors it holds."""
    from provenance.verify.trust_lists import default_anchors, default_tsa_anchors

    home = home_from_env()
    counts: dict[str, int] = {}
    for a in [*default_anchors(home), *default_tsa_anchors()]:
        counts[a.source] = counts.get(a.source, 0) + 1
    if home.ca_cert.exists():
        click.echo(f"this home's local identity: {home.ca_cert}")
    for folder, words in ((home.trust_dir, "anchors"), (home.tsa_trust_dir, "TSA anchors")):
        for p in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
            click.echo(f"your {words} from {p.name}: {len(load_anchors(p))} certificate(s)")
    for source, n in counts.items():
        click.echo(f"{source}: {n} anchor(s)")


@trust_group.command("add")
@click.argument("pem", type=click.Path(dir_okay=False))
@_TSA_OPTION
def add_cmd(pem: str, tsa: bool) -> None:
    """Trust the CA certificates in PEM (copied into $PROVENANCE_HOME/trust/, or trust-tsa/)."""
    src = Path(pem)
    count = check_anchors(src)  # a clear error for a file that is not certificates
    home = home_from_env()
    folder = home.tsa_trust_dir if tsa else home.trust_dir
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / (src.name if src.suffix == ".pem" else f"{src.name}.pem")
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(src.read_bytes())
    os.replace(tmp, dest)
    click.echo(f"trusting {count} {'TSA ' if tsa else ''}certificate(s) from {dest.name}")


@trust_group.command("remove")
@click.argument("name")
@_TSA_OPTION
def remove_cmd(name: str, tsa: bool) -> None:
    """Stop trusting the anchors added as NAME (as `provenance trust list` shows it)."""
    home = home_from_env()
    folder = home.tsa_trust_dir if tsa else home.trust_dir
    target = folder / Path(name).name
    if not target.is_file():
        raise InputError(f"{name}: no such anchor file in {folder}")
    target.unlink()
    click.echo(f"no longer trusting {target.name}")


@trust_group.command("load")
@click.argument("pem", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--json-list",
    "json_list",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="The list's JSON (C2PA-TRUST-LIST.json): its issue date must be newer.",
)
def load_cmd(pem: str, json_list: str) -> None:
    """Replace the official C2PA Trust List with a newer one downloaded as PEM (offline)."""
    from provenance.verify.trust_lists import load_official_list

    issued = load_official_list(home_from_env(), Path(pem), Path(json_list))
    click.echo(f"C2PA Trust List, issued {issued[:10]}, now in force")
