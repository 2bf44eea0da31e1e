"""Make a recorded diffusers image again and say whether the pixels are the same.

Example::

    from provenance.record.reproduce import reproduce

    result = reproduce("lighthouse.png")          # the ledger of PROVENANCE_HOME
    print(result.identical, result.max_abs_diff)

The file's ledger entry (looked up by its SHA-256) gives the model folder, the weights digest, the
seed and every parameter; the prompt comes from the entry's erasable secret. The weights on disk
are hashed afresh (never from the cache) and compared with the recorded digest *before* anything
runs; edits need their parent (and mask) files, found by hash among ``inputs`` or beside the file.
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ledger import Entry, Ledger
from provenance.backends.base import EditRequest, GenerateRequest, ImageInput
from provenance.errors import EXIT_NOT_ACCEPTED, InputError, ProvenanceError
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home, home_from_env
from provenance.media import imaging
from provenance.media.hashing import sha256_bytes

Progress = Callable[[str, float | None], None]


class WeightsMismatchError(ProvenanceError):
    """The model on disk is not the one that made the image; nothing was run."""

    exit_code = EXIT_NOT_ACCEPTED


@dataclass(frozen=True)
class Reproduction:
    path: Path
    entry_id: str
    weights_digest: str
    identical: bool
    size: tuple[int, int]
    reproduced_size: tuple[int, int]
    differing_pixels: int
    max_abs_diff: int
    mean_abs_diff: float
    psnr_db: float | None  # None when identical (infinite)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "entry": self.entry_id,
            "weights": self.weights_digest,
            "identical": self.identical,
            "size": f"{self.size[0]}x{self.size[1]}",
            "reproduced_size": f"{self.reproduced_size[0]}x{self.reproduced_size[1]}",
            "differing_pixels": self.differing_pixels,
            "max_abs_diff": self.max_abs_diff,
            "mean_abs_diff": self.mean_abs_diff,
            "psnr_db": self.psnr_db,
        }


def reproduce(
    path: str | os.PathLike[str],
    *,
    home: Home | None = None,
    ledger: Ledger | None = None,
    model: str | os.PathLike[str] | None = None,
    inputs: Sequence[str | os.PathLike[str]] = (),
    on_progress: Progress | None = None,
    backend: Any = None,
) -> Reproduction:
    """Re-run the recorded call that made ``path``; ``model`` overrides the recorded folder."""
    file = Path(path)
    data = _read(file)
    own = ledger is None
    led = ledger or open_ledger(home or home_from_env(), read_only=True)
    try:
        entry = _entry_of(led, file, data)
        prompt = _prompt(led, entry)
    finally:
        if own:
            led.close()
    body = entry.body
    facts = body["request"]["facts"]
    model_path = Path(model).expanduser().resolve() if model else Path(facts["model_path"])
    recorded = facts["weights"]
    check_weights(model_path, recorded)
    if facts.get("config_weights"):
        check_weights(Path(facts["config_path"]), facts["config_weights"])
    request = _request(body, facts, prompt, str(model_path), file, inputs, on_progress)
    if backend is None:
        from provenance.backends.diffusers import DiffusersBackend

        backend = DiffusersBackend(device=facts["device"], dtype=facts["dtype"])
    result = (
        backend.edit(request) if isinstance(request, EditRequest) else backend.generate(request)
    )
    if result.facts["weights"]["digest"] != recorded["digest"]:  # changed while running
        raise WeightsMismatchError(f"model {model_path}: the weights changed during the run")
    return _compare(file, entry.id, recorded["digest"], data, result.outputs[0].encoded())


def check_weights(model_path: Path, recorded: dict[str, Any]) -> None:
    """Hash the model afresh and refuse, naming the files, if it is not the recorded one."""
    from provenance.backends.diffusers._weights import compare, weights_digest

    try:
        now = weights_digest(model_path, cache_file=None)
    except InputError as e:
        raise WeightsMismatchError(f"{e}; the recorded weights are {recorded['digest']}") from e
    if now.digest != recorded["digest"]:
        problems = compare(recorded, now)
        raise WeightsMismatchError(
            f"model {model_path}: weights {now.digest} differ from the recorded "
            f"{recorded['digest']} ({'; '.join(problems[:5]) or 'same files, other hashes'}); "
            "nothing was run"
        )


def _entry_of(led: Ledger, file: Path, data: bytes) -> Entry:
    found = led.find_by_output(sha256_bytes(data))
    if not found:
        raise InputError(f"{file}: not in the ledger (no entry made this exact file)")
    entry = found[-1]
    if entry.body.get("backend") != "diffusers":
        raise InputError(
            f"{file}: made by backend {entry.body.get('backend')!r}; "
            "only diffusers images can be reproduced"
        )
    return entry


def _prompt(led: Ledger, entry: Entry) -> str:
    secret = led.secret(entry.id)
    prompt = json.loads(secret).get("prompt") if secret else None
    if not isinstance(prompt, str):
        raise InputError(f"entry {entry.id}: the prompt was erased; the image cannot be remade")
    return prompt


def _request(
    body: dict[str, Any],
    facts: dict[str, Any],
    prompt: str,
    model: str,
    file: Path,
    inputs: Sequence[str | os.PathLike[str]],
    on_progress: Progress | None,
) -> GenerateRequest | EditRequest:
    params = body["request"]["params"]
    common: dict[str, Any] = {
        "n": 1,
        "output_format": params["output_format"],
        "size": params["size"],
        "model": model,
        "seed": body["output"]["facts"]["seed"],
        "options": dict(params["options"]),
        "on_progress": on_progress,
    }
    if facts.get("config_path"):
        common["options"]["config"] = facts["config_path"]
    if body["op"] == "generate":
        return GenerateRequest(prompt=prompt, **common)
    recorded = {i["role"]: i for i in body["inputs"]}
    parent = _find_input(recorded["parent"], file, inputs)
    mask = None
    if "mask" in recorded:
        raw = _find_input(recorded["mask"], file, inputs)
        size = imaging.open_image(parent.data, name=parent.name).size
        png = imaging.encode(imaging.load_mask(raw.data, size, name=raw.name), "png")
        mask = ImageInput(png, "mask", "image/png", raw.name)
    return EditRequest(instruction=prompt, images=(parent,), mask=mask, **common)


def _find_input(
    record: dict[str, Any], file: Path, given: Sequence[str | os.PathLike[str]]
) -> ImageInput:
    """The input with the recorded hash: among ``given``, or under its recorded name beside FILE."""
    for candidate in [*(Path(p) for p in given), file.parent / record["name"]]:
        if candidate.is_file():
            data = candidate.read_bytes()
            if sha256_bytes(data) == record["sha256"]:
                return ImageInput(data, record["role"], record["mime"], candidate.name)
    raise InputError(
        f"{file}: give the {record['role']} image it was made from (--input FILE; recorded "
        f"{record['name']}, sha256 {record['sha256'][:16]}…)"
    )


def _compare(file: Path, entry_id: str, digest: str, old: bytes, new: bytes) -> Reproduction:
    a = np.asarray(Image.open(io.BytesIO(old)).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(new)).convert("RGB"), dtype=np.int16)
    size = (a.shape[1], a.shape[0])
    new_size = (b.shape[1], b.shape[0])
    if a.shape != b.shape:
        return Reproduction(file, entry_id, digest, False, size, new_size, -1, 255, 255.0, 0.0)
    diff = np.abs(a - b)
    differing = int(np.count_nonzero(diff.max(axis=2)))
    mse = float((diff.astype(np.float64) ** 2).mean())
    psnr = None if mse == 0 else round(10 * math.log10(255**2 / mse), 2)
    return Reproduction(
        file,
        entry_id,
        digest,
        differing == 0,
        size,
        new_size,
        differing,
        int(diff.max()),
        round(float(diff.mean()), 4),
        psnr,
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file") from e
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from e


__all__ = ["Reproduction", "WeightsMismatchError", "check_weights", "reproduce"]
