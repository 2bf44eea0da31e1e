"""Regenerate docs/cli.md from the CLI's own --help texts (a test checks it is current).

python docs/gen_cli.py          # rewrite docs/cli.md
python docs/gen_cli.py --check  # exit 1 if docs/cli.md is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provenance.cli.app import cli  # noqa: E402

HEADER = """# CLI reference

Generated from `provenance --help` by `python docs/gen_cli.py`; do not edit by hand.

## Exit codes

| code | meaning |
|---|---|
| 0 | success; every verified or checked file accepted by the policy |
| 1 | verification, check or audit ran and did not pass |
| 2 | bad input or usage (nothing was written), or no input could be read at all |
| 3 | the backend refused the request (e.g. moderation) |
| 4 | the backend rejected the API key or permission |
| 5 | the backend is rate-limiting (after retries) |
| 6 | the backend failed or could not be reached (server error, timeout) |
| 7 | signing failed (identity, key, certificate or time-stamp authority) |

Errors are one line on stderr: `provenance: error: <what>: <problem>`. `--json` output goes to
stdout, one JSON object per line; progress and logs go to stderr.

## Environment

| variable | meaning |
|---|---|
| `PROVENANCE_HOME` | identity, keys, trust anchors, default SQLite ledger (default: the user data directory) |
| `PROVENANCE_LEDGER_URL` | an SQLAlchemy URL for another ledger database, e.g. `postgresql+psycopg://host/db` |
| `PROVENANCE_ACTOR` | who is acting, when not given per call |
| `PROVENANCE_KEY_PASSPHRASE` | passphrase of an encrypted signer key (never a command-line argument) |
| `OPENAI_API_KEY`, `OPENAI_BASE_URL` | the OpenAI SDK's own variables (`--backend openai`) |
"""


def _walk(cmd: click.Command, ctx: click.Context) -> list[click.Context]:
    """Contexts made the way click makes them when a command runs, so that settings inherited
    from the group (e.g. `-h` for help) show, whatever ran before in this process."""
    found = [ctx]
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):  # the CLI's group loads its commands lazily
            sub = cmd.get_command(ctx, name)
            assert sub is not None, name
            found += _walk(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True))
    return found


def render() -> str:
    parts = [HEADER]
    root = cli.make_context(
        "provenance", [], resilient_parsing=True, terminal_width=100, max_content_width=100
    )
    for ctx in _walk(cli, root):
        parts.append(f"## `{ctx.command_path}`\n\n```text\n{ctx.get_help().rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> int:
    target = ROOT / "docs" / "cli.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/cli.md is stale: run python docs/gen_cli.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
