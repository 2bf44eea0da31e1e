"""The top-level click group. Commands are listed here and imported only when one runs.

A command module imports what it needs (the ledger, c2pa, numpy) at its top, so loading every
module for ``provenance --version`` or ``--help`` would cost more than a second. The table below
names each command's module and carries its one-line help, so ``--help`` lists the commands
without importing them (a test checks the lines match the commands' own help texts). The command
modules never import this one: the CLI's import graph has no cycle.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import click

from provenance import __version__


class CommandSpec(NamedTuple):
    module: str
    attr: str
    summary: str  # first paragraph of the command's help, as `--help` shortens it


_CLI = "provenance.cli."

COMMANDS: dict[str, CommandSpec] = {
    "chat": CommandSpec(
        _CLI + "chat_cmds",
        "chat_cmd",
        "Edit an image over several turns; each turn's image is signed and recorded as an edit.",
    ),
    "check": CommandSpec(
        _CLI + "compliance_cmds",
        "check_cmd",
        "Publish gate: does each FILE meet the policy? Lists every rule with pass/fail and why.",
    ),
    "doctor": CommandSpec(
        _CLI + "doctor_cmds",
        "doctor_cmd",
        "Find what interrupted recordings left in PATHS (default: .) and audit the ledger.",
    ),
    "edit": CommandSpec(
        _CLI + "record_cmds",
        "edit_cmd",
        "Edit INPUTS (the first is the parent, the others references); sign and record the result.",
    ),
    "enroll-reviewer": CommandSpec(
        _CLI + "compliance_cmds",
        "enroll_reviewer_cmd",
        "Enrol a reviewer's certificate (or a CA that issues them) in this home.",
    ),
    "generate": CommandSpec(
        _CLI + "record_cmds",
        "generate_cmd",
        "Generate an image from PROMPT, sign it and record it in the ledger.",
    ),
    "import": CommandSpec(
        _CLI + "record_cmds",
        "import_cmd",
        "Register existing files (e.g. camera originals) as lineage roots in the ledger.",
    ),
    "init": CommandSpec(
        _CLI + "record_cmds",
        "init_cmd",
        "Create a signing identity and an empty ledger in PROVENANCE_HOME.",
    ),
    "ledger": CommandSpec(
        _CLI + "ledger_cmds", "ledger_group", "Inspect and prove the tamper-evident ledger."
    ),
    "lineage": CommandSpec(
        _CLI + "verify_cmds",
        "lineage_cmd",
        "Show the tree of a FILE or ledger ENTRY back to its roots.",
    ),
    "log": CommandSpec(
        _CLI + "verify_cmds", "log_cmd", "List the most recent ledger entries, newest first."
    ),
    "logs": CommandSpec(
        _CLI + "logs_cmds",
        "logs_group",
        "Pin the keys of the logs you verify against, and compare what you saw with others.",
    ),
    "report": CommandSpec(
        _CLI + "compliance_cmds",
        "report_cmd",
        "Audit report: every ledger entry in the window, with reviews and a covering checkpoint.",
    ),
    "reproduce": CommandSpec(
        _CLI + "reproduce_cmds",
        "reproduce_cmd",
        "Re-run the recorded diffusers call that made FILE; exit 0 if the pixels are identical.",
    ),
    "review": CommandSpec(
        _CLI + "compliance_cmds",
        "review_cmd",
        "Record an approval or rejection of a recorded FILE or ledger ENTRY.",
    ),
    "rotate-key": CommandSpec(
        _CLI + "doctor_cmds",
        "rotate_key_cmd",
        "Replace the local signer key and certificate (same local CA); old files keep verifying.",
    ),
    "trust": CommandSpec(
        _CLI + "trust_cmds",
        "trust_group",
        "List the trust sources in force; add or remove your anchors; load a newer official list.",
    ),
    "witness": CommandSpec(
        _CLI + "witness_cmds",
        "witness_group",
        "Run an independent witness that cosigns consistent checkpoints of logs.",
    ),
    "verify": CommandSpec(
        _CLI + "verify_cmds",
        "verify_cmd",
        "Verify FILES (files, directories, globs): who made them, how, and whether they were "
        "altered.",
    ),
}

# Subcommands defined in another part's module, added to a group when the group loads.
EXTRA_SUBCOMMANDS: dict[str, list[tuple[str, str]]] = {
    "ledger": [
        (_CLI + "compliance_cmds", "erase_prompt_cmd"),
        (_CLI + "ledger_proof_cmds", "check_receipt_cmd"),
        (_CLI + "ledger_proof_cmds", "checkpoints_cmd"),
        (_CLI + "ledger_proof_cmds", "consistency_cmd"),
        (_CLI + "ledger_proof_cmds", "adopt_checkpoint_cmd"),
    ],
}


def load_command(name: str) -> click.Command:
    """Import the module of command ``name`` and return the command, its extras attached."""
    spec = COMMANDS[name]
    cmd: click.Command = getattr(importlib.import_module(spec.module), spec.attr)
    if isinstance(cmd, click.Group):
        for module, attr in EXTRA_SUBCOMMANDS.get(name, []):
            cmd.add_command(getattr(importlib.import_module(module), attr))
    return cmd


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; `--help` lists them from `COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            summary = COMMANDS[name].summary if loaded is None else None
            stub = click.Command(name, help=summary) if loaded is None else loaded
            rows.append((name, stub.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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


# Formatter widths `--help` is pre-rendered at (cli/help_text.py, answered by cli/__init__.py
# before click loads): click's for an 80-column terminal or a pipe, and for 100 columns or more.
HELP_WIDTHS = (78, 98)


def render_help(width: int) -> str:
    """What click prints for `provenance --help` when its formatter is ``width`` columns wide."""
    ctx = click.Context(cli, info_name="provenance", terminal_width=width, **cli.context_settings)
    return ctx.get_help() + "\n"  # click.echo adds the newline


def write_help_text() -> None:
    """Regenerate cli/help_text.py (`python -m provenance.cli.app`, then `ruff format` it) after
    changing the group's help or a summary in COMMANDS; tests/test_architecture.py fails until."""
    from pathlib import Path

    body = ""
    for width in HELP_WIDTHS:
        lines = "".join(f"        {line!r}\n" for line in render_help(width).splitlines(True))
        body += f"    {width}: (\n{lines}    ),\n"
    Path(__file__).with_name("help_text.py").write_text(
        '"""`provenance --help` as click renders it, for answering it before click loads.\n\n'
        "Generated by `python -m provenance.cli.app` (see render_help); do not edit.\n"
        '"""\n\n'
        f"RENDERED: dict[int, str] = {{\n{body}}}\n"
    )


if __name__ == "__main__":
    write_help_text()
