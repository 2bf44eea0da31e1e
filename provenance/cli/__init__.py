"""The ``provenance`` command line. Parses arguments and formats results; no logic of its own.

``main(argv)`` runs one command in-process and returns its exit code (tests call it directly).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from provenance.errors import EXIT_USAGE, ProvenanceError, ledger_failures


def _fast_help() -> str | None:
    """click's `--help` text if it was pre-rendered at the width click would use now, else None.

    The width is click's rule (``max(min(columns, 100) - 2, 50)``) over the columns that
    ``shutil.get_terminal_size`` would report, worked out here because importing shutil (and click)
    is what this avoids. With click already loaded (tests, embedding) click answers.
    """
    if "click" in sys.modules:
        return None
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
            columns = 80  # shutil's fallback
    from provenance.cli.help_text import RENDERED

    return RENDERED.get(max(min(columns, 100) - 2, 50))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting (``python -m provenance`` exits)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    # --version and --help are answered before click loads: half the start-up of any command.
    if args == ["--version"]:
        from provenance import __version__

        print(f"provenance, version {__version__}")  # click's version_option wording
        return 0
    if args in (["--help"], ["-h"]) and (text := _fast_help()) is not None:
        sys.stdout.write(text)
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
