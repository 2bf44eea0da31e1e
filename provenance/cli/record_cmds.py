"""``init``, ``generate``, ``edit``, ``import``: the recording commands."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provenance.backends import BACKENDS
from provenance.cli.output import console_err, echo_json
from provenance.errors import InputError
from provenance.home.paths import ENV_KEY_PASSPHRASE, home_from_env

if TYPE_CHECKING:
    from provenance.record.recorder import RecordedOutput, Recorder


@click.command("init")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing identity (old files keep verifying "
    "only while their CA stays a trust anchor).",
)
@click.option(
    "--actor", help="Who records: a name, e-mail or service account (default: user@host)."
)
@click.option(
    "--cert",
    "cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bring your own signer: a PEM chain (signer certificate first).",
)
@click.option(
    "--key",
    "key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The private key (PEM) for --cert.",
)
@click.option(
    "--encrypt",
    is_flag=True,
    help=f"Encrypt the signer key with a passphrase (from ${ENV_KEY_PASSPHRASE} or a prompt).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was created as JSON.")
def init_cmd(
    force: bool,
    actor: str | None,
    cert: Path | None,
    key: Path | None,
    encrypt: bool,
    as_json: bool,
) -> None:
    """Create a signing identity and an empty ledger in PROVENANCE_HOME.

    By default this makes a local ES256 root CA and a signer certificate under it: a self-issued
    identity that proves files came from this installation (reports say so). Bring an
    organisation's certificate with --cert/--key instead.

    \b
    Examples:
      provenance init
      PROVENANCE_HOME=./desk provenance init --actor "photo desk <desk@example.org>"
      provenance init --cert signer-chain.pem --key signer.key.pem
    """
    from sqlalchemy.engine import make_url

    from provenance.home.init import init_home

    home = home_from_env()
    made = init_home(
        home,
        actor=actor,
        cert=cert,
        key=key,
        passphrase=_passphrase if encrypt else None,
        force=force,
    )
    ident = made.identity
    info = {
        "home": str(home.root),
        "signer": ident.subject,
        "local_identity": ident.is_local,
        "ledger": make_url(home.ledger_url()).render_as_string(hide_password=True),
        "log_key": str(home.log_pub),
    }
    if as_json:
        echo_json(info)
        return
    ledger_note = (
        f"created ledger {made.ledger_origin}" if made.ledger_origin else "kept the existing ledger"
    )
    click.echo(
        f"Identity: {ident.subject}" + (" (local, self-issued CA)" if ident.is_local else "")
    )
    click.echo(f"Home:     {home.root}")
    click.echo(f"Ledger:   {ledger_note}; log key {home.log_pub}")


def _passphrase() -> bytes:
    """The signer key's passphrase: from the environment, else asked for (twice)."""
    env = os.environ.get(ENV_KEY_PASSPHRASE)
    return (
        env
        or click.prompt(
            "Passphrase for the signer key", hide_input=True, confirmation_prompt=True, err=True
        )
    ).encode()


_OUTPUT_HELP = (
    "Output file (.png, .jpg/.jpeg or .webp; openai also .gif, .svg); with -n N, files "
    "stem-1.ext ... stem-N.ext."
)
# The options each command passes to its backend, as the library names them.
_OPTION_NAMES = (
    "quality",
    "jpeg_quality",
    "background",
    "output_compression",
    "moderation",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "stream",
    "partial_images",
)


# Shared by generate and edit, in --help order.
_BACKEND_OPTIONS = [
    click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="local",
        show_default=True,
        help="Where pixels come from: the offline local engine, OpenAI's API, or a local "
        "diffusers model (--model FOLDER).",
    ),
    click.option(
        "--model",
        help="Backend model (openai: default gpt-image-2 or $PROVENANCE_OPENAI_MODEL; "
        "unknown names are passed through).",
    ),
    click.option(
        "--size",
        help="WxH or auto (local: also an aspect W:H like 16:9, or square, portrait, "
        "landscape, banner, wide, tall).",
    ),
    click.option(
        "-n", "n", type=int, default=1, show_default=True, help="Number of images (1-10)."
    ),
    click.option("--seed", type=int, help="Seed (local backend; same seed, same pixels)."),
    click.option("--quality", help="openai: auto, low, medium, high (xhigh, max: gpt-image-2.5+)."),
    click.option(
        "--jpeg-quality", type=int, help="local: JPEG/WebP encoder quality 0-100 (default 90)."
    ),
    click.option("--complexity", help="openai: planning effort low, medium, high."),
    click.option("--frame-count", type=int, help="openai: frames of a .gif output (2-16)."),
    click.option(
        "--frame-duration-ms", type=int, help="openai: delay per .gif frame in milliseconds."
    ),
    click.option("--background", help="openai: auto, opaque, transparent (png/webp only)."),
    click.option(
        "--compression",
        "output_compression",
        type=int,
        help="openai: output compression 0-100 for jpeg/webp.",
    ),
    click.option("--moderation", help="openai: auto or low."),
    click.option(
        "-O",
        "--option",
        "extra",
        multiple=True,
        help="Backend option KEY=VALUE, repeatable (diffusers: steps, guidance, strength, "
        "scheduler, device, dtype, config).",
    ),
    click.option(
        "--timeout", type=float, help="openai: seconds to wait for the API (default 120)."
    ),
    click.option("--retries", type=int, help="openai: retries on 408/409/429/5xx (default 2)."),
    click.option("--stream", is_flag=True, help="openai: stream partial images as progress."),
    click.option("--partial-images", type=int, help="openai: partial images to stream (0-3)."),
    click.option(
        "--embed-prompt",
        is_flag=True,
        help="Put the prompt text itself into the manifest (default: a salted hash only).",
    ),
    click.option("--actor", help="Who is acting, for this call (default: the configured actor)."),
    click.option("-f", "--force", is_flag=True, help="Overwrite existing output files."),
    click.option(
        "--json", "as_json", is_flag=True, help="Print the recorded outputs as JSON lines."
    ),
]


def _backend_options(f: Any) -> Any:
    for option in reversed(_BACKEND_OPTIONS):
        f = option(f)
    return f


def _options(kw: dict[str, Any], *names: str) -> dict[str, Any]:
    opts = {n: kw.pop(n) for n in names if kw.get(n) not in (None, False)}
    for item in kw.pop("extra", ()):
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InputError(f"--option {item!r}: expected KEY=VALUE, e.g. steps=30")
        try:  # numbers, booleans and JSON objects as such; anything else as text
            opts[key] = json.loads(raw)
        except ValueError:
            opts[key] = raw
    return opts


def _backend(name: str, timeout: float | None, retries: int | None) -> Any:
    """A backend name, or an instance when a backend-specific client setting was given."""
    from provenance.backends import get_backend

    settings: dict[str, Any] = {}
    if timeout is not None:
        settings["timeout"] = timeout
    if retries is not None:
        settings["max_retries"] = retries
    if settings and name != "openai":
        raise InputError(f"--timeout/--retries: only for --backend openai, not {name}")
    return get_backend(name, **settings) if settings else name


@contextmanager
def _recorder(backend: Any, embed_prompt: bool) -> Iterator[Recorder]:
    with console_err().status("starting", spinner="dots") as status:

        def progress(message: str, fraction: float | None) -> None:
            pct = f" {fraction:.0%}" if fraction is not None else ""
            status.update(f"{message}{pct}")

        from provenance.record.recorder import Recorder

        rec = Recorder(backend=backend, embed_prompt=embed_prompt, on_progress=progress)
        with rec, warnings.catch_warnings():
            # A retired model is worth one plain line before the request goes, not a traceback.
            warnings.showwarning = _show_warning
            yield rec


def _show_warning(message: Warning | str, *args: Any, **kwargs: Any) -> None:
    click.echo(f"warning: {message}", err=True)


def _report(outputs: list[RecordedOutput], as_json: bool) -> None:
    for o in outputs:
        if as_json:
            row = {
                "path": str(o.path),
                "entry": o.entry_id,
                "index": o.index,
                "sha256": o.sha256,
                "mime": o.mime,
            }
            # The local engine says how it read the prompt (kept beside it, not in the leaf).
            row.update({k: o.facts[k] for k in _READING if k in o.facts})
            echo_json(row)
        else:
            click.echo(f"{o.path}  ledger entry {o.index} ({o.entry_id})  sha256 {o.sha256[:16]}…")


_READING = ("understood", "ignored_words")


def _say_reading(outputs: list[RecordedOutput]) -> None:
    """What the engine understood and ignored, once per call, on stderr."""
    facts = outputs[0].facts if outputs else {}
    if "understood" in facts:
        click.echo(f"understood: {'; '.join(facts['understood']) or '(nothing)'}", err=True)
    if facts.get("ignored_words"):
        click.echo(f"ignored: {', '.join(facts['ignored_words'])}", err=True)


@click.command("generate")
@click.argument("prompt")
@click.option(
    "-o", "--output", "out", required=True, type=click.Path(path_type=Path), help=_OUTPUT_HELP
)
@_backend_options
def generate_cmd(prompt: str, out: Path, **kw: Any) -> None:
    """Generate an image from PROMPT, sign it and record it in the ledger.

    \b
    Examples (local engine, offline):
      provenance generate "A red circle on a white background" -o circle.png
      provenance generate "poster 1200x630, dark blue, title 'Election night'" -o poster.jpg
    With OpenAI (needs OPENAI_API_KEY):
      provenance generate "a lighthouse at dawn" --backend openai --model gpt-image-2 -o l.png
    """
    as_json, force = kw.pop("as_json"), kw.pop("force")
    backend = _backend(kw.pop("backend"), kw.pop("timeout"), kw.pop("retries"))
    embed = kw.pop("embed_prompt")
    options = _options(kw, *_OPTION_NAMES)
    with _recorder(backend, embed) as rec:
        outputs = rec.generate(
            prompt,
            out,
            n=kw["n"],
            size=kw["size"],
            model=kw["model"],
            seed=kw["seed"],
            options=options,
            overwrite=force,
            actor=kw["actor"],
        )
    _say_reading(outputs)
    _report(outputs, as_json)


@click.command("edit")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-i",
    "--instruction",
    required=True,
    help="What to do. local: operations separated by ';' (see docs/local-backend.md); "
    "openai: a prompt.",
)
@click.option(
    "--mask",
    type=click.Path(path_type=Path),
    help="Mask: transparent pixels (or white on black) mark the editable area.",
)
@click.option(
    "-o", "--output", "out", required=True, type=click.Path(path_type=Path), help=_OUTPUT_HELP
)
@click.option("--input-fidelity", help="openai: high or low.")
@_backend_options
def edit_cmd(
    inputs: tuple[Path, ...], instruction: str, mask: Path | None, out: Path, **kw: Any
) -> None:
    """Edit INPUTS (the first is the parent, the others references); sign and record the result.

    \b
    Examples (local engine, offline):
      provenance edit photo.png -i "crop 0 0 512 512; resize 50%" -o crop.png
      provenance edit photo.png -i "grayscale; brightness 1.1" -o gray.png
      provenance edit photo.png -i redact --mask faces.png -o redacted.png
      provenance edit photo.png -i inpaint --mask scratch.png -o clean.png
    """
    as_json, force = kw.pop("as_json"), kw.pop("force")
    backend = _backend(kw.pop("backend"), kw.pop("timeout"), kw.pop("retries"))
    embed = kw.pop("embed_prompt")
    options = _options(kw, *_OPTION_NAMES, "input_fidelity")
    with _recorder(backend, embed) as rec:
        outputs = rec.edit(
            list(inputs),
            instruction,
            out,
            mask=mask,
            n=kw["n"],
            size=kw["size"],
            model=kw["model"],
            seed=kw["seed"],
            options=options,
            overwrite=force,
            actor=kw["actor"],
        )
    _report(outputs, as_json)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--actor", help="Who is importing (default: the configured actor).")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON lines.")
def import_cmd(files: tuple[Path, ...], actor: str | None, as_json: bool) -> None:
    """Register existing files (e.g. camera originals) as lineage roots in the ledger.

    The files are not modified: any C2PA manifest they carry stays as it is. Importing the same
    bytes again returns the existing entry.

    \b
    Example:
      provenance import DSC_0042.jpg && provenance edit DSC_0042.jpg -i "crop 0 0 800 600" -o c.jpg
    """
    from provenance.record.recorder import Recorder

    rec = Recorder(actor=actor)
    with rec:
        outputs = [rec.import_asset(f, actor=actor) for f in files]
    _report(outputs, as_json)
