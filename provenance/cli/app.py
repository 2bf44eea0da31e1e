"""The top-level click group; each command module adds its commands here."""

from __future__ import annotations

import click

from provenance import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="provenance")
def cli() -> None:
    """Accountable AI image generation and editing.

    Every generate or edit call is recorded: inputs and outputs are hashed, C2PA content
    credentials are signed into the output file, and the lineage is appended to a tamper-evident
    ledger. Anyone can later verify a file: who or what made it, from which parents, with which
    model, whether it was altered, and whether the ledger was rewritten.

    \b
    Start here (offline, no API key needed):
      provenance init
      provenance generate "A red circle on a white background" -o circle.png
      provenance edit circle.png -i "grayscale; brightness 1.1" -o gray.png
      provenance verify gray.png
      provenance lineage gray.png
    """


def _register() -> None:
    import provenance.cli.compliance_cmds  # review, check, report, ledger erase-prompt
    import provenance.cli.doctor_cmds  # noqa: F401  (hardening: doctor, rotate-key)
    from provenance.cli import record_cmds, reproduce_cmds, verify_cmds  # noqa: F401  (register)
    from provenance.cli.ledger_cmds import ledger_group

    cli.add_command(ledger_group)


_register()
