"""The recorder: every generate or edit call hashed, signed and appended to the ledger.

Example::

    from provenance import Recorder

    rec = Recorder()                      # identity and ledger from PROVENANCE_HOME
    [card] = rec.generate("A red circle on a white background", "circle.png")
    [gray] = rec.edit(["circle.png"], "grayscale; brightness 1.1", "gray.png")

One recorded call: see provenance.record.call (a failure leaves no file and no entry).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from ledger import Ledger
from provenance.backends import get_backend
from provenance.backends.base import (
    Action,
    Backend,
    BackendOutput,
    BackendResult,
    EditRequest,
    GenerateRequest,
)
from provenance.credentials import ManifestSpec, has_manifest, make_context, sign_bytes
from provenance.credentials.sign import ENV_TSA_URL
from provenance.errors import BackendRefusedError, InputError, ledger_failures
from provenance.home.actor import actor_pseudonym
from provenance.home.identity import Identity, load_identity, read_meta
from provenance.home.ledger import open_ledger
from provenance.home.originals import keep_outputs, originals_for, reader_for
from provenance.home.paths import ENV_ACTOR, Home, home_from_env
from provenance.media import imaging
from provenance.media.hashing import new_salt, salted_hash
from provenance.record.body import ImportBody, PromptRecord, RefusalBody, refusal_reason
from provenance.record.call import CallFacts, Progress, RecordedOutput, record_call, request_params
from provenance.record.inputs import RecordInput, plan_outputs, read_input, read_inputs, read_mask
from provenance.record.timestamps import signer_for

if TYPE_CHECKING:
    from provenance.record.session import Session


@dataclass
class Step:
    """A custom pipeline step being recorded; set :attr:`image` (or :attr:`data`) inside the block."""

    actions: list[Action]
    image: Image.Image | None = None
    data: bytes | None = None
    facts: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Wraps image backends so that every call is hashed, signed and recorded.

    ``home`` defaults to ``PROVENANCE_HOME``; the identity must exist (``init_home`` or
    ``provenance init``). Every failure is a :class:`~provenance.errors.ProvenanceError`; the
    ledger's own errors arrive as :class:`~provenance.errors.LedgerFailure`.
    ``backend`` is a name (``"local"``, ``"openai"``) or a :class:`~provenance.backends.base.Backend`.
    """

    def __init__(
        self,
        home: Home | None = None,
        *,
        backend: str | Backend = "local",
        actor: str | None = None,
        identity: Identity | None = None,
        ledger: Ledger | None = None,
        embed_prompt: bool = False,
        record_refusals: bool = True,
        tsa_url: str | None = None,
        on_progress: Progress | None = None,
    ) -> None:
        self.home = home or home_from_env()
        self.identity = identity or load_identity(self.home)
        self.ledger = ledger or open_ledger(self.home, tsa_url=tsa_url)
        self.backend = get_backend(backend) if isinstance(backend, str) else backend
        self.actor = (
            actor or os.environ.get(ENV_ACTOR) or read_meta(self.home).get("actor") or "unknown"
        )
        self.embed_prompt = embed_prompt
        self.record_refusals = record_refusals
        self.on_progress = on_progress
        # a copy of every output, by hash: what verify confirms a stripped copy against
        self.originals = originals_for(self.home)
        self._original = reader_for(self.home).get  # a perceptual parent is confirmed against it
        # RFC 3161 timestamps keep signatures verifiable after the signer certificate expires.
        self._signer = signer_for(self.identity, tsa_url or os.environ.get(ENV_TSA_URL) or None)
        anchors = self.identity.ca_pem.decode() if self.identity.ca_pem else None
        self._context = make_context(trust_anchors=anchors)

    def close(self) -> None:
        self._signer.close()
        self.ledger.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @ledger_failures()
    def generate(
        self,
        prompt: str,
        out: str | os.PathLike[str],
        *,
        n: int = 1,
        size: str | None = None,
        model: str | None = None,
        seed: int | None = None,
        options: dict[str, Any] | None = None,
        overwrite: bool = False,
        actor: str | None = None,
    ) -> list[RecordedOutput]:
        """Generate ``n`` images from ``prompt``; ``n > 1`` writes ``stem-1.ext``, ``stem-2.ext``..."""
        dests, fmt = plan_outputs(out, n, overwrite)
        options = self._provider_options(options, actor)
        if not prompt.strip():
            raise InputError("prompt: empty; describe the image to generate")
        request = GenerateRequest(
            prompt=prompt,
            n=n,
            output_format=fmt,
            size=size,
            model=model,
            seed=seed,
            options=dict(options or {}),
            on_progress=self.on_progress,
        )
        self._progress(f"generating with {self.backend.name}", None)
        result = self._call_backend(
            lambda: self.backend.generate(request),
            "generate",
            prompt,
            model,
            actor,
        )
        return self._record(
            "generate",
            result,
            dests,
            [],
            prompt=prompt,
            params=request_params(request),
            actor=actor,
            overwrite=overwrite,
        )

    @ledger_failures()
    def edit(
        self,
        inputs: Sequence[str | os.PathLike[str]],
        instruction: str,
        out: str | os.PathLike[str],
        *,
        mask: str | os.PathLike[str] | None = None,
        n: int = 1,
        size: str | None = None,
        model: str | None = None,
        seed: int | None = None,
        options: dict[str, Any] | None = None,
        overwrite: bool = False,
        actor: str | None = None,
    ) -> list[RecordedOutput]:
        """Edit ``inputs[0]`` (the parent; the others are references) as ``instruction`` says."""
        if not inputs:
            raise InputError("edit: give at least one input image")
        if not instruction.strip():
            raise InputError("instruction: empty; say what to do, e.g. 'grayscale; brightness 1.1'")
        dests, fmt = plan_outputs(out, n, overwrite)
        options = self._provider_options(options, actor)
        ins = read_inputs(self.ledger, [Path(p) for p in inputs], self._context, self._original)
        mask_in = read_mask(Path(mask), ins[0]) if mask is not None else None
        all_inputs = [*ins, *([mask_in] if mask_in else [])]
        request = EditRequest(
            instruction=instruction,
            images=tuple(i.as_backend_input() for i in ins),
            mask=mask_in.as_backend_input() if mask_in else None,
            n=n,
            output_format=fmt,
            size=size,
            model=model,
            seed=seed,
            options=dict(options or {}),
            on_progress=self.on_progress,
        )
        self._progress(f"editing with {self.backend.name}", None)
        result = self._call_backend(
            lambda: self.backend.edit(request),
            "edit",
            instruction,
            model,
            actor,
            inputs=all_inputs,
        )
        return self._record(
            "edit",
            result,
            dests,
            all_inputs,
            prompt=instruction,
            params=request_params(request),
            actor=actor,
            overwrite=overwrite,
        )

    def session(self, **kwargs: Any) -> Session:
        """A conversational editing session: see :class:`provenance.record.session.Session`."""
        from provenance.record.session import Session

        return Session(self, **kwargs)

    @ledger_failures()
    def import_asset(
        self, path: str | os.PathLike[str], *, actor: str | None = None
    ) -> RecordedOutput:
        """Register an existing file (e.g. a camera original) as a lineage root; the file is untouched.

        Any C2PA manifest it carries is kept as it is. Importing the same bytes twice returns the
        existing entry.
        """
        inp = read_input(self.ledger, Path(path), "parent", self._original)
        for entry in self.ledger.find_by_output(inp.sha256):
            return RecordedOutput(Path(path), entry.id, entry.index, inp.sha256, inp.mime)
        body = ImportBody(
            actor=actor or self.actor,
            output=inp.record(role="output"),
            has_manifest=has_manifest(inp.data, inp.mime),
        )
        entry = self.ledger.append(  # a perceptual match is a parent: lineage, AI disclosure
            "import",
            body.to_json(),
            outputs=[inp.sha256],
            parents=[inp.entry_id] if inp.entry_id else [],
            fingerprints=[(inp.sha256, k, v) for k, v in inp.fingerprints.as_ledger()],
        )
        self._keep([(inp.sha256, inp.data)])  # an imported root is a recorded original too
        return RecordedOutput(Path(path), entry.id, entry.index, inp.sha256, inp.mime)

    @contextlib.contextmanager
    def step(
        self,
        inputs: Sequence[str | os.PathLike[str]],
        out: str | os.PathLike[str],
        *,
        actions: Sequence[Action],
        software_agent: str,
        overwrite: bool = False,
        actor: str | None = None,
    ) -> Iterator[Step]:
        """Record a custom pipeline step: the block sets ``step.image`` (or ``step.data``).

        Example::

            with rec.step(["in.png"], "out.png", actions=[Action("c2pa.filtered")],
                          software_agent="denoise 2.1") as step:
                step.image = my_denoise(Image.open("in.png"))
        """
        with ledger_failures():
            dests, fmt = plan_outputs(out, 1, overwrite)
            ins = read_inputs(self.ledger, [Path(p) for p in inputs], None, self._original)
        step = Step(actions=list(actions))
        yield step
        if step.data is None and step.image is None:
            raise InputError("step: the block produced no image (set step.image or step.data)")
        data = step.data if step.data is not None else imaging.encode(step.image, fmt)  # type: ignore[arg-type]
        mime = imaging.sniff_mime(data) or imaging.MIME_BY_FILE_FORMAT[fmt]
        result = BackendResult(
            outputs=(BackendOutput(data, mime, tuple(step.actions), facts=step.facts),),
            backend="custom",
            model=software_agent,
            digital_source_type="",
            software_agent=software_agent,
        )
        with ledger_failures():
            self._record(
                "edit" if ins else "generate",
                result,
                dests,
                ins,
                prompt=None,
                params={},
                actor=actor,
                overwrite=overwrite,
            )

    def _record(
        self,
        op: str,
        result: BackendResult,
        dests: list[Path],
        inputs: list[RecordInput],
        *,
        prompt: str | None,
        params: dict[str, Any],
        actor: str | None,
        overwrite: bool,
    ) -> list[RecordedOutput]:
        call = CallFacts.of(
            op,
            result,
            inputs,
            prompt=prompt,
            embed_prompt=self.embed_prompt,
            params=params,
            actor=actor or self.actor,
            count=len(dests),
            identity=self.identity,
            origin=self.ledger.origin,
        )
        return record_call(
            call, dests, self.ledger, self._sign, self._progress, overwrite, self._keep
        )

    def _keep(self, files: list[tuple[str, bytes]]) -> None:
        # every hash here was computed by this process from the same bytes (the output's for
        # the ledger, an import's on reading it): keep() need not hash them again
        keep_outputs(self.originals, files, hashed=True)

    def _sign(self, spec: ManifestSpec, data: bytes, mime: str) -> bytes:
        return sign_bytes(spec, data, mime, self._signer, self._context)

    def _call_backend(
        self,
        call: Callable[[], BackendResult],
        op: str,
        prompt: str,
        model: str | None,
        actor: str | None,
        inputs: Sequence[RecordInput] = (),
    ) -> BackendResult:
        try:
            return call()
        except BackendRefusedError as e:
            if self.record_refusals:
                self._record_refusal(e, op, prompt, model, actor, inputs)
            raise

    def _record_refusal(
        self,
        e: BackendRefusedError,
        op: str,
        prompt: str,
        model: str | None,
        actor: str | None,
        inputs: Sequence[RecordInput],
    ) -> None:
        salt = new_salt()
        body = RefusalBody(
            op=op,
            actor=actor or self.actor,
            backend=self.backend.name,
            model=model or getattr(self.backend, "model", None),
            prompt=PromptRecord(salted_hash(salt, prompt), False),
            reason=refusal_reason(self.backend.name, getattr(e, "code", None)),
            code=getattr(e, "code", None),
            request_id=getattr(e, "request_id", None),
            inputs=[i.record() for i in inputs],
        )
        self.ledger.append(
            "refusal",
            body.to_json(),
            inputs=[i.sha256 for i in inputs],
            secret=json.dumps({"prompt": prompt, "salt": salt, "refusal": e.diagnostics()}),
        )

    def _provider_options(
        self, options: dict[str, Any] | None, actor: str | None
    ) -> dict[str, Any]:
        """Give OpenAI a pseudonymous, stable safety identifier for the actor (never the name).

        OpenAI asks for a per-user identifier so abuse can be traced to one user without personal
        data; it is an HMAC of the actor under a secret kept in PROVENANCE_HOME.
        """
        opts = dict(options or {})
        if self.backend.name == "openai" and "user" not in opts and "safety_identifier" not in opts:
            opts["safety_identifier"] = actor_pseudonym(self.home, actor or self.actor)
        return opts

    def _progress(self, message: str, fraction: float | None) -> None:
        if self.on_progress is not None:
            self.on_progress(message, fraction)


__all__ = ["RecordedOutput", "Recorder", "Step"]
