"""The options a diffusers call takes, checked up front so a typo fails before any loading."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.errors import InputError

DEFAULT_STEPS = 30
DEFAULT_GUIDANCE = 7.5
DEFAULT_STRENGTH = 0.8
KNOWN = ("steps", "guidance", "strength", "scheduler", "device", "dtype", "config")


@dataclass(frozen=True)
class CallOptions:
    steps: int
    guidance: float
    strength: float
    scheduler: str | None
    device: str
    dtype: str
    config: Path | None


def parse_options(options: dict[str, Any], *, device: str, dtype: str) -> CallOptions:
    unknown = sorted(set(options) - set(KNOWN))
    if unknown:
        raise InputError(
            f"option {unknown[0]}: unknown for the diffusers backend (known: {', '.join(KNOWN)})"
        )
    steps = _number(options, "steps", DEFAULT_STEPS, int, 1, 1000)
    guidance = _number(options, "guidance", DEFAULT_GUIDANCE, float, 0.0, 100.0)
    strength = _number(options, "strength", DEFAULT_STRENGTH, float, 0.0, 1.0)
    if strength == 0.0:
        raise InputError("option strength=0: nothing would change (give a value in (0, 1])")
    scheduler = options.get("scheduler")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.isidentifier()):
        raise InputError(f"option scheduler={scheduler!r}: a diffusers scheduler class name")
    config = options.get("config")
    return CallOptions(
        steps=int(steps),
        guidance=float(guidance),
        strength=float(strength),
        scheduler=scheduler,
        device=str(options.get("device", device)),
        dtype=str(options.get("dtype", dtype)),
        config=Path(str(config)).expanduser().resolve() if config else None,
    )


def _number(
    options: dict[str, Any], name: str, default: float, kind: type, low: float, high: float
) -> float:
    value = options.get(name, default)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int and not isinstance(value, int):
        ok = False
    if not ok or not low <= value <= high:
        what = "a whole number" if kind is int else "a number"
        raise InputError(f"option {name}={value!r}: must be {what} from {low:g} to {high:g}")
    return float(value)


def parse_size(size: str | None) -> tuple[int, int] | None:
    """``"WxH"`` in multiples of 8 (the VAE's scale), or None/auto for the model's default."""
    if size in (None, "auto"):
        return None
    assert size is not None
    try:
        w_s, h_s = size.lower().split("x")
        w, h = int(w_s), int(h_s)
    except ValueError as e:
        raise InputError(f"size {size!r}: expected WxH, e.g. 512x512") from e
    if not (8 <= w <= 4096 and 8 <= h <= 4096) or w % 8 or h % 8:
        raise InputError(f"size {size}: width and height must be multiples of 8 from 8 to 4096")
    return w, h


def pick_seed(seed: int | None) -> int:
    """The recorded seed; one is drawn when none was given, so every image can be made again."""
    if seed is None:
        return secrets.randbelow(2**31)
    if not 0 <= seed < 2**63:
        raise InputError(f"seed {seed}: must be from 0 to 2**63-1")
    return seed
