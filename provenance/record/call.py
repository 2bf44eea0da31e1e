"""One recorded call, after the backend ran: sign, append, place (DESIGN "One recorded call").

Each output gets an entry id, a manifest and a signed temp file beside its destination (fsynced);
all entries of the call are appended in one ledger transaction; only then is each temp file
moved into place. A failure before the append leaves no file and no entry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import uuid
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ledger import AppendRequest, Ledger
from provenance.backends.base import (
    PRIVATE_FACTS,
    BackendOutput,
    BackendResult,
    EditRequest,
    GenerateRequest,
)
from provenance.credentials import ManifestSpec, has_manifest
from provenance.credentials.context import THUMBNAIL_LONG_EDGE
from provenance.errors import ProvenanceError
from provenance.home.identity import Identity
from provenance.media import imaging
from provenance.media.hashing import new_salt, salted_hash, sha256_bytes
from provenance.record import background
from provenance.record.body import (
    OutputRecord,
    PromptRecord,
    RecordBody,
    RequestRecord,
    SignerRecord,
)
from provenance.record.inputs import RecordInput
from provenance.record.manifest import ManifestFacts, build_manifest
from provenance.record.tempfiles import discard, fsync_dir, place, temp_name, write_temp
from provenance.recovery import fingerprint

# (manifest, media bytes, mime) -> the signed file's bytes
Sign = Callable[[ManifestSpec, bytes, str], bytes]
Progress = Callable[[str, float | None], None]
# (output SHA-256, signed bytes) of each recorded output -> kept in the home (never raises)
Keep = Callable[[list[tuple[str, bytes]]], None]


@dataclass(frozen=True)
class RecordedOutput:
    """One file the recorder wrote, and the ledger entry that vouches for it."""

    path: Path
    entry_id: str
    index: int
    sha256: str
    mime: str
    # What the backend said about the call, incl. how it read the prompt (understood, ignored
    # words): for the caller, who wrote the prompt; the ledger keeps those beside the prompt.
    facts: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class CallFacts:
    """What every output of one recorded call shares."""

    op: str
    result: BackendResult
    inputs: list[RecordInput]
    prompt: str | None
    prompt_record: PromptRecord | None
    embed_prompt: bool
    params: dict[str, Any]
    request_facts: dict[str, Any]
    actor: str
    group: str
    count: int
    signer: SignerRecord
    origin: str  # the ledger's checkpoint origin, named in each manifest
    salt: str  # salts the prompt hash; kept in the erasable secret

    @classmethod
    def of(
        cls,
        op: str,
        result: BackendResult,
        inputs: list[RecordInput],
        *,
        prompt: str | None,
        embed_prompt: bool,
        params: dict[str, Any],
        actor: str,
        count: int,
        identity: Identity,
        origin: str,
    ) -> CallFacts:
        salt = new_salt()
        prompt_record = (
            PromptRecord(salted_hash(salt, prompt), embed_prompt) if prompt is not None else None
        )
        signer = SignerRecord(identity.subject, identity.cert_sha256, identity.is_local)
        return cls(
            op=op,
            result=result,
            inputs=inputs,
            prompt=prompt,
            prompt_record=prompt_record,
            embed_prompt=embed_prompt,
            params=params,
            request_facts=split_private(result.facts)[0],
            actor=actor,
            group=str(uuid.uuid4()),
            count=count,
            signer=signer,
            origin=origin,
            salt=salt,
        )


def record_call(
    call: CallFacts,
    dests: list[Path],
    ledger: Ledger,
    sign: Sign,
    progress: Progress,
    overwrite: bool,
    keep: Keep | None = None,
) -> list[RecordedOutput]:
    """Sign every output, append their entries in one transaction, then move them into place;
    ``keep`` then stores a copy of each (the home's originals), after the entries are in."""
    result = call.result
    if len(result.outputs) != len(dests):
        raise ProvenanceError(
            f"backend {result.backend}: returned {len(result.outputs)} images for {len(dests)} requested"
        )
    request_private = split_private(result.facts)[1]
    pending: list[Pending] = []
    try:
        for i, (output, dest) in enumerate(zip(result.outputs, dests, strict=True)):
            progress(f"signing {dest.name}", (i + 1) / (len(dests) + 1))
            pending.append(sign_output(call, output, dest, i, ledger.new_entry_id(), sign))
        parents = sorted({i.entry_id for i in call.inputs if i.entry_id})
        requests = [
            p.append_request(
                call, parents, secret(call.prompt, call.salt, {**request_private, **p.private})
            )
            for p in pending
        ]
        progress("appending to the ledger", None)
        entries = ledger.append_many(
            requests, checkpoint=False, before_commit=lambda: _all_written(pending)
        )
    except BaseException:
        for p in pending:
            _settle(p.tmp, p.written)
        raise
    recorded = []
    for p, entry in zip(pending, entries, strict=True):
        place(p.tmp, p.dest, overwrite, entry.id)
        recorded.append(
            RecordedOutput(p.dest, entry.id, entry.index, p.sha256, p.mime, dict(result.facts))
        )
    # After the files are in place: a refused checkpoint (a rewritten database) is an error the
    # caller sees, but the entries and their files stay together. The renames are made durable
    # beside the checkpoint's signing; both are done before the call returns.
    # Keeping the copies in the home's originals store runs there too (it never raises).
    placed = background.pool().submit(fsync_dir, dests[0].parent)
    kept = (
        None
        if keep is None
        else background.pool().submit(keep, [(p.sha256, p.signed) for p in pending])
    )
    try:
        ledger.maybe_checkpoint(entries)
    finally:
        placed.result()
        if kept is not None:
            kept.result()
    return recorded


@dataclass(frozen=True)
class Pending:
    """An output that is signed into a temp file and waits for its ledger append and rename."""

    dest: Path
    tmp: Path
    entry_id: str
    sha256: str
    mime: str
    body: RecordBody
    fingerprints: list[tuple[str, str, int]]
    private: dict[str, Any]  # prompt-derived facts, stored with the prompt outside the leaf
    written: Future[Path]  # the worker's write_temp of ``tmp``: locked, fsynced, named on disk
    signed: bytes = field(default=b"", repr=False)  # the file's bytes, for the originals store

    def append_request(
        self, call: CallFacts, parents: list[str], secret: str | None
    ) -> AppendRequest:
        return AppendRequest(
            call.op,
            self.body.to_json(),
            entry_id=self.entry_id,
            outputs=[self.sha256],
            inputs=[i.sha256 for i in call.inputs],
            parents=parents,
            fingerprints=self.fingerprints,
            secret=secret,
        )


def sign_output(
    call: CallFacts,
    output: BackendOutput,
    dest: Path,
    index: int,
    entry_id: str,
    sign: Sign,
) -> Pending:
    """Sign ``output`` into a fsynced temp file beside ``dest``."""
    result = call.result
    output, pixels, thumbnail, measured = _start(output, result.backend)
    output_facts, private, provider_signed = output_facts_of(result.backend, output, pixels)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    facts = ManifestFacts(
        op=call.op,
        title=dest.name,
        origin=call.origin,
        entry_id=entry_id,
        time=now,
        prompt=call.prompt,
        prompt_record=call.prompt_record,
        embed_prompt=call.embed_prompt,
        provider_signed=provider_signed,
    )
    spec = build_manifest(facts, result, output, call.inputs)
    try:
        if thumbnail is not None:  # else c2pa decodes the signed asset once more to make one
            spec = dataclasses.replace(spec, thumbnail=thumbnail.result())
        signed = sign(spec, output.data, output.mime)
    finally:
        width, height, fps = measured.result()  # its error, if any, wins: nothing written yet
    tmp = temp_name(dest)
    written = background.pool().submit(write_temp, dest, signed, tmp)
    try:
        digest = sha256_bytes(signed)  # here, while the worker writes and fsyncs the file
        fp_json = fps.to_json() if fps else {}
        out = OutputRecord(
            digest, output.mime, dest.name, width, height, fp_json, output_facts, provider_signed
        )
        body = _body(call, spec, index, out, now)
    except BaseException:
        _settle(tmp, written)
        raise
    ledger_fps = [(digest, k, v) for k, v in fps.as_ledger()] if fps else []
    return Pending(
        dest, tmp, entry_id, digest, output.mime, body, ledger_fps, private, written, signed
    )


def _body(
    call: CallFacts, spec: ManifestSpec, index: int, out: OutputRecord, now: str
) -> RecordBody:
    result = call.result
    return RecordBody(
        op=call.op,
        actor=call.actor,
        backend=result.backend,
        model=result.model,
        software_agent=result.software_agent,
        digital_source_type=result.digital_source_type or None,
        actions=[a["action"] for a in spec.actions],
        request=RequestRecord(call.group, index, call.count, call.params, call.request_facts),
        output=out,
        inputs=[i.record() for i in call.inputs],
        prompt=call.prompt_record,
        signer=call.signer,
        signed_at=now,
    )


def _all_written(pending: list[Pending]) -> None:
    """The append's COMMIT waits here: each temp file is written and fsynced on the worker while
    the append is prepared, and must be durable first (a failed write: no entry, no file)."""
    for p in pending:
        p.written.result()  # its error, if any, rolls the append back


def _settle(tmp: Path, written: Future[Path]) -> None:
    """Wait for a temp file's write (nothing of a call outlives it); remove the file if the write
    made it (a failed write removed its own, and the name may be another's)."""
    wait([written])
    if written.exception() is None:
        discard(tmp)


def output_facts_of(
    backend: str, output: BackendOutput, pixels: Image.Image | None = None
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """An output's public facts, its private ones (secret) and whether its provider signed it.

    ``pixels`` (see :func:`_pixels_of`): the backend encoded ``data`` here, so no provider did.
    """
    public, private = split_private(output.facts)
    if output.revised_prompt is not None:
        private["revised_prompt"] = output.revised_prompt
    provider_signed = pixels is None and has_manifest(output.data, output.mime)
    if backend != "local":  # a remote provider may sign its outputs: say whether it did
        public = {**public, "provider_manifest": provider_signed}
    return public, private, provider_signed


Measured = tuple[int, int, fingerprint.Fingerprints | None]


def _start(
    output: BackendOutput, backend: str
) -> tuple[BackendOutput, Image.Image | None, Future[bytes] | None, Future[Measured]]:
    """Start the claim thumbnail and the fingerprints on the worker; encode the output (when
    the backend left that to us) meanwhile: OpenCV, Pillow and c2pa release the GIL, so on two
    cores these overlap. Their errors surface before any file is written."""
    pixels = _pixels_of(output)
    worker = background.pool()
    thumbnail = None
    if pixels is not None:
        thumbnail = worker.submit(imaging.thumbnail_jpeg, pixels, THUMBNAIL_LONG_EDGE)
    measured = worker.submit(_measure, output, backend, pixels)
    if not output.data and pixels is not None:
        output = dataclasses.replace(output, data=output.encoded())
    return output, pixels, thumbnail, measured


def _pixels_of(output: BackendOutput) -> Image.Image | None:
    """The backend's own pixels of a PNG output when its header agrees with them, else None."""
    pixels = output.pixels
    if pixels is None or output.mime != "image/png":
        return None  # only a lossless encoding has exactly the pixels it was made from
    if not output.data:
        return pixels  # the PNG is made from them here
    try:
        with Image.open(io.BytesIO(output.data)) as header:  # the header only: no decoding
            agrees = header.format == "PNG" and header.size == pixels.size
            agrees = agrees and header.mode == pixels.mode
    except Exception:
        agrees = False
    return pixels if agrees else None


def _measure(output: BackendOutput, backend: str, pixels: Image.Image | None) -> Measured:
    """Size and fingerprints of an output; an SVG has no pixels: its declared size, none."""
    if output.mime == imaging.SVG_MIME:
        width, height = imaging.svg_size(output.data)
        return width, height, None
    if pixels is None:  # a GIF: its first frame
        pixels = imaging.open_image(output.data, name=f"{backend} output")
    return pixels.width, pixels.height, fingerprint.compute(pixels)


def jsonable(value: Any) -> Any:
    """A JSON-safe copy (RFC 8785 refuses floats like NaN and non-str keys)."""
    return json.loads(json.dumps(value, default=str, allow_nan=False))


def split_private(facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split backend facts into public ones (for the leaf) and prompt-derived ones (secret)."""
    public = {k: v for k, v in facts.items() if k not in PRIVATE_FACTS}
    private = {k: v for k, v in facts.items() if k in PRIVATE_FACTS}
    return jsonable(public), jsonable(private)


def secret(prompt: str | None, salt: str, private: dict[str, Any]) -> str | None:
    """What is kept outside the tree and erased on request: the prompt, its salt, echoes of it."""
    if prompt is None and not private:
        return None
    return json.dumps({"prompt": prompt, "salt": salt, **private}, sort_keys=True)


def request_params(request: GenerateRequest | EditRequest) -> dict[str, Any]:
    """The request's parameters as recorded in the entry (JSON-safe)."""
    params: dict[str, Any] = jsonable(
        {
            "n": request.n,
            "size": request.size,
            "model": request.model,
            "seed": request.seed,
            "output_format": request.output_format,
            "options": request.options,
        }
    )
    return params
