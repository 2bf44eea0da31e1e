"""Reading what a recorded call consumes and checking where its outputs go.

Every input is read once, decoded safely, hashed and fingerprinted before the backend runs; the
output paths are checked (directory exists, format known, nothing clobbered) before any work.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from ledger import Ledger
from provenance.backends.base import ImageInput, OutputFormat, Role
from provenance.errors import InputError, OutputExistsError
from provenance.media import imaging
from provenance.media.hashing import sha256_bytes
from provenance.record.body import InputRecord
from provenance.recovery import fingerprint
from provenance.verify.printable import printable

if TYPE_CHECKING:
    import c2pa

    from provenance.recovery.match import OriginalOf

MAX_N = 10


@dataclass(frozen=True)
class RecordInput:
    """One input file of a recorded call, read, decoded, hashed and fingerprinted."""

    path: Path | None
    data: bytes
    mime: str
    role: Role
    sha256: str
    image: Image.Image
    fingerprints: fingerprint.Fingerprints
    entry_id: str | None  # the ledger entry that produced it, when known
    link: str | None = None  # "perceptual": entry_id was recovered by fingerprints, not by hash
    credentials: str | None = None  # "untrusted"/"invalid": its credentials are not trusted
    lookalike: dict[str, str] | None = None  # a recorded look-alike whose pixels did not confirm

    @property
    def name(self) -> str:
        return self.path.name if self.path else self.role

    def as_backend_input(self) -> ImageInput:
        return ImageInput(self.data, self.role, self.mime, self.name)

    def record(self, role: str | None = None) -> InputRecord:
        # Inputs are never searched for, so the ~3 KB detail grid stays out of their records;
        # a recorded input's own entry holds its full fingerprints.
        fps = {k: v for k, v in self.fingerprints.to_json().items() if k != "detail"}
        return InputRecord(
            role=role or self.role,
            sha256=self.sha256,
            mime=self.mime,
            name=self.name,
            entry=self.entry_id,
            width=self.image.width,
            height=self.image.height,
            fingerprints=fps,
            link=self.link,
            credentials=self.credentials,
            lookalike=self.lookalike,
        )


def read_input(
    ledger: Ledger, path: Path, role: Role, original_of: OriginalOf | None = None
) -> RecordInput:
    """Read and hash ``path``; the ledger says which entry produced it, if any (by hash, or by a
    perceptual match whose pixels ``original_of``'s copy of the recorded output confirms)."""
    data = read_file(path)
    image = imaging.open_image(data, name=str(path))
    mime = imaging.sniff_mime(data) or "application/octet-stream"
    digest = sha256_bytes(data)
    found = ledger.find_by_output(digest)
    entry_id, link, lookalike = (
        (found[-1].id, None, None) if found else _perceptual_parent(ledger, image, original_of)
    )
    if lookalike is not None:
        print(
            f"warning: {path.name}: {lookalike.pop('words')}; it is recorded without a parent "
            "(not linked to that entry)",
            file=sys.stderr,
        )
    fps = fingerprint.compute(image)
    return RecordInput(
        path, data, mime, role, digest, image, fps, entry_id, link, lookalike=lookalike
    )


def _perceptual_parent(
    ledger: Ledger, image: Image.Image, original_of: OriginalOf | None
) -> tuple[str | None, str | None, dict[str, str] | None]:
    """A recorded output this input is a copy of (stripped, re-encoded, resized), by the ledger's
    fingerprint index, linked only when its pixels are confirmed against the recorded original:
    its lineage and AI disclosure must not be lost by re-saving the pixels, and a doctored
    look-alike must not borrow them. Else the look-alike that did not confirm, if any."""
    from provenance.recovery.match import recover
    from provenance.verify.ledger_check import lead_words, pixel_check

    if ledger.size == 0:
        return None, None, None
    found = recover(ledger, image, original_of)
    if found.entry is not None:
        return found.entry.id, "perceptual", None
    px = pixel_check(ledger, found.pixels)  # the same look-alike verify would report
    words = lead_words(px)
    if px is None or not words:
        return None, None, None
    return None, None, {"entry": px.entry, "pixels": px.state, "words": words}


def read_inputs(
    ledger: Ledger,
    paths: list[Path],
    context: c2pa.Context | None = None,
    original_of: OriginalOf | None = None,
) -> list[RecordInput]:
    """The first path is the parent, the others references.

    With ``context`` (the recorder's trust settings), an input from outside this ledger whose
    credentials are not trusted is said so on stderr and marked in its record: an edit signed
    by a trusted identity must not be read as vouching for what its parent claims.
    """
    ins = [
        read_input(ledger, p, "parent" if i == 0 else "reference", original_of)
        for i, p in enumerate(paths)
    ]
    return [i if context is None else _judge_credentials(i, context) for i in ins]


def _judge_credentials(inp: RecordInput, context: c2pa.Context) -> RecordInput:
    if inp.entry_id is not None:
        return inp  # this ledger's own output
    from provenance.credentials.read import read_store

    reading = read_store(inp.data, inp.mime, context)
    if reading.state in (None, "Trusted") and reading.error is None:
        return inp  # no credentials at all, or trusted ones
    state = "invalid" if reading.state == "Invalid" or reading.error else "untrusted"
    signer = ((reading.active or {}).get("signature_info") or {}).get("common_name")
    who = f" (claimed signer: {printable(str(signer))})" if signer else ""
    print(
        f"warning: {inp.name}: its content credentials are {state}{who}; the new entry "
        "records that, and what they claim stays unverified",
        file=sys.stderr,
    )
    return replace(inp, credentials=state)


def read_mask(path: Path, parent: RecordInput) -> RecordInput:
    """A mask for ``parent``, normalised to PNG (its hash is the file's as given)."""
    data = read_file(path)
    mask = imaging.load_mask(data, parent.image.size, name=str(path))
    png = imaging.encode(mask, "png")
    return RecordInput(
        path,
        png,
        "image/png",
        "mask",
        sha256_bytes(data),
        mask,
        fingerprint.compute(mask),
        None,
    )


def plan_outputs(
    out: str | os.PathLike[str], n: int, overwrite: bool
) -> tuple[list[Path], OutputFormat]:
    """The destination paths for ``n`` outputs (``stem-1.ext``... when ``n > 1``) and the format."""
    if not 1 <= n <= MAX_N:
        raise InputError(f"n: {n} is out of range (1 to {MAX_N})")
    dest = Path(out)
    fmt = imaging.format_from_path(dest)
    if not dest.parent.is_dir():
        raise InputError(f"{dest}: the output directory {dest.parent} does not exist")
    dests = (
        [dest]
        if n == 1
        else [dest.with_name(f"{dest.stem}-{i}{dest.suffix}") for i in range(1, n + 1)]
    )
    for d in dests:
        if d.exists() and not overwrite:
            raise OutputExistsError(d)
    return dests, fmt


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise InputError(f"{path}: is a directory, not an image") from e
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from e
