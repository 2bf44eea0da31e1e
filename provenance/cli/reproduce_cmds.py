"""``reproduce``: make a recorded diffusers image again and compare the pixels."""

from __future__ import annotations

from pathlib import Path

import click

from provenance.cli.app import cli
from provenance.cli.output import console_err, echo_json
from provenance.errors import EXIT_NOT_ACCEPTED, EXIT_OK


@cli.command("reproduce")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    help="The model folder or checkpoint, if it moved since the image was made.",
)
@click.option(
    "--input",
    "inputs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="For edits: the parent image (and mask), found by hash; default: beside FILE.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def reproduce_cmd(file: Path, model: Path | None, inputs: tuple[Path, ...], as_json: bool) -> int:
    """Re-run the recorded diffusers call that made FILE; exit 0 if the pixels are identical.

    The weights on disk are hashed and checked against the recorded digest before anything
    runs (a mismatch exits 1 and names the changed files). On CPU with the same library versions
    the pixels should be identical; otherwise the differences are reported.

    \b
    Examples:
      provenance reproduce lighthouse.png
      provenance reproduce edited.png --input photo.png --input mask.png --json
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from provenance.record.reproduce import reproduce

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console_err(), transient=True) as bar:
        task = bar.add_task("checking the weights", total=1.0)

        def progress(message: str, fraction: float | None) -> None:
            bar.update(task, description=message, completed=fraction or 0.0)

        result = reproduce(file, model=model, inputs=inputs, on_progress=progress)
    if as_json:
        echo_json(result.to_json())
    elif result.identical:
        click.echo(f"{file}: identical pixels (weights {result.weights_digest})")
    else:
        click.echo(
            f"{file}: differs: {result.differing_pixels} pixels, max {result.max_abs_diff}, "
            f"mean {result.mean_abs_diff}, PSNR {result.psnr_db} dB"
        )
    return EXIT_OK if result.identical else EXIT_NOT_ACCEPTED
