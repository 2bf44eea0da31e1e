"""``chat``: conversational editing, every turn that yields an image signed and recorded."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from provenance.backends import BACKENDS
from provenance.cli.output import echo_json
from provenance.cli.record_cmds import _backend, _show_warning
from provenance.errors import EXIT_REFUSED, BackendRefusedError, InputError

if TYPE_CHECKING:
    from provenance.record.session import Session, Turn

_QUIT = {"quit", "exit", ":q"}


@click.command("chat")
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Output name; turn N is written to stem-N.ext (a turn may name its own).",
)
@click.option(
    "--turns",
    "turns_file",
    type=click.File("r"),
    help="Read turns from this file ('-' = stdin), one per line: text or a JSON object.",
)
@click.option("--start", type=click.Path(path_type=Path), help="Start from this image (edit it).")
@click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True)
@click.option(
    "--model", help="Image model (openai: default gpt-image-2 or $PROVENANCE_OPENAI_MODEL)."
)
@click.option("--chat-model", help="openai: the Responses API model that drives the tool.")
@click.option("--size", help="Size of the first image (WxH; local also e.g. 16:9).")
@click.option("--quality", help="openai: auto, low, medium, high (xhigh, max: gpt-image-2.5+).")
@click.option("--stream", is_flag=True, help="openai: stream each turn (partial images).")
@click.option("--partial-images", type=int, help="openai: partial images per turn (0-3).")
@click.option("--timeout", type=float, help="openai: seconds to wait for the API (default 120).")
@click.option("--retries", type=int, help="openai: retries on 408/409/429/5xx (default 2).")
@click.option("--embed-prompt", is_flag=True, help="Put each turn's text into its manifest.")
@click.option("--actor", help="Who is acting (default: the configured actor).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--json", "as_json", is_flag=True, help="Print each turn as a JSON line.")
def chat_cmd(out: Path, turns_file: TextIO | None, **kw: Any) -> None:
    """Edit an image over several turns; each turn's image is signed and recorded as an edit.

    The first turn generates (or edits --start); each later turn edits the previous turn's
    output, so `provenance lineage` shows the whole conversation. On a terminal it asks for
    turns (an empty line or "quit" ends); otherwise it reads them from --turns or stdin. A turn
    is a line of text, or a JSON object {"instruction": ..., "mask": ..., "references": [...],
    "out": ..., "size": ...}. With --backend openai each turn is a Responses API call chained by
    previous_response_id; the local engine takes its edit language after the first turn.

    \b
    Examples:
      provenance chat -o poster.png          (then type: poster 800x600, dark blue; ...)
      printf 'a lighthouse\\nmake it dusk\\n' | provenance chat -o l.png --backend openai
      provenance chat -o v.png --start photo.png --turns turns.jsonl
    """
    from provenance.record.recorder import Recorder

    backend = _backend(kw.pop("backend"), kw.pop("timeout"), kw.pop("retries"))
    options = {k: kw[k] for k in ("quality", "stream", "partial_images") if kw[k]}
    lines = _lines(turns_file)
    refused = False
    with (
        Recorder(backend=backend, embed_prompt=kw["embed_prompt"]) as rec,
        warnings.catch_warnings(),
    ):
        warnings.showwarning = _show_warning
        session = rec.session(
            start=kw["start"],
            chat_model=kw["chat_model"],
            model=kw["model"],
            options=options,
            actor=kw["actor"],
            overwrite=kw["force"],
        )
        for number, line in enumerate(lines, start=1):
            spec = _parse_turn(line, number)
            dest = Path(spec.get("out") or out.with_name(f"{out.stem}-{number}{out.suffix}"))
            size = spec.get("size") or (kw["size"] if number == 1 else None)
            try:
                turn = _run_turn(session, spec, dest, size)
            except BackendRefusedError as e:
                refused = True
                click.echo(f"turn {number}: refused by the backend (recorded): {e}", err=True)
                continue
            _report(turn, kw["as_json"])
    if refused:
        raise click.exceptions.Exit(EXIT_REFUSED)


def _run_turn(session: Session, spec: dict[str, Any], dest: Path, size: str | None) -> Turn:
    return session.turn(
        spec["instruction"],
        dest,
        mask=spec.get("mask"),
        references=spec.get("references") or (),
        size=size,
    )


def _lines(source: TextIO | None) -> Iterator[str]:
    """Turn lines: from the file, from stdin, or asked for on a terminal."""
    if source is None and sys.stdin.isatty():
        number = 1
        while True:
            line = click.prompt(f"turn {number}", default="", show_default=False, err=True)
            if not line.strip() or line.strip().lower() in _QUIT:
                return
            yield line
            number += 1
    stream = source or sys.stdin
    try:
        for line in stream:
            text = line.strip()
            if text.lower() in _QUIT:
                return
            if text and not text.startswith("#"):
                yield text
    except UnicodeDecodeError:
        name = getattr(stream, "name", "stdin")
        raise InputError(f"--turns {name}: not a text file of turns") from None


def _parse_turn(line: str, number: int) -> dict[str, Any]:
    if not line.lstrip().startswith("{"):
        return {"instruction": line.strip()}
    try:
        spec = json.loads(line)
    except ValueError as e:
        raise InputError(f"turn {number}: not valid JSON ({e.args[0]})") from None
    known = {"instruction", "mask", "references", "out", "size"}
    if not isinstance(spec, dict) or not isinstance(spec.get("instruction"), str):
        raise InputError(f'turn {number}: a JSON turn needs an "instruction" string')
    unknown = sorted(set(spec) - known)
    if unknown:
        raise InputError(f"turn {number}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    refs = spec.get("references") or []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise InputError(f'turn {number}: "references" must be a list of file names')
    return spec


def _report(turn: Turn, as_json: bool) -> None:
    o = turn.output
    if as_json:
        echo_json(
            {
                "turn": turn.number,
                "path": str(o.path) if o else None,
                "entry": o.entry_id if o else None,
                "sha256": o.sha256 if o else None,
                "response_id": turn.response_id,
                "text": turn.text,
            }
        )
    elif o is None:
        click.echo(f"turn {turn.number}: no image; the model said: {turn.text or '(nothing)'}")
    else:
        click.echo(f"turn {turn.number}: {o.path}  ledger entry {o.index} ({o.entry_id})")
