"""The ``provenance`` command line. Parses arguments and formats results; no logic of its own.

``main(argv)`` runs one command in-process and returns its exit code (tests call it directly).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from provenance.errors import EXIT_USAGE, ProvenanceError, ledger_failures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting (``python -m provenance`` exits)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    if args == ["--version"]:  # answered before click loads: half the start-up of any command
        from provenance import __version__

        print(f"provenance, version {__version__}")  # click's version_option wording
        return 0
    import click

    from provenance.cli.app import cli
    from provenance.cli.messages import cli_message

    try:
        # Commands also call the ledger directly; its errors join the one family here.
        with ledger_failures():
            rv = cli.main(args=args, prog_name="provenance", standalone_mode=False)
    except ProvenanceError as e:
        from provenance.redaction import redact

        click.echo(f"provenance: error: {redact(cli_message(e))}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("provenance: aborted", err=True)
        return EXIT_USAGE
    except click.ClickException as e:
        e.show()
        return EXIT_USAGE if e.exit_code == 1 else e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("provenance: interrupted", err=True)
        return 130
    return int(rv) if isinstance(rv, int) else 0


def run() -> None:  # console-script entry point
    sys.exit(main())
