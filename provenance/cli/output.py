"""Shared output helpers: JSON on stdout, progress and logs on stderr."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def console_err() -> Console:
    """Progress, spinners and tables for people: stderr, so stdout stays machine-readable."""
    from rich.console import Console  # rich costs ~80 ms; only commands that show progress pay

    return Console(stderr=True)


def echo_json(obj: Any) -> None:
    """One JSON object on one line of stdout."""
    click.echo(json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False))
