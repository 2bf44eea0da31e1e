"""The recorder: every generate or edit call hashed, signed and appended to the ledger.

Example::

    from provenance import Recorder

    rec = Recorder()                      # identity and ledger from PROVENANCE_HOME
    [card] = rec.generate("A red circle on a white background", "circle.png")
    [gray] = rec.edit(["circle.png"], "grayscale; brightness 1.1", "gray.png")
    print(gray.entry_id, gray.sha256)

One recorded call (DESIGN.md): hash every input -> run the backend -> allocate the ledger entry
ids -> build and sign the manifest into a temporary file beside the destination (fsynced) -> hash
the signed file -> append the ledger entries in one transaction -> rename into place. A failure at
any step leaves no file at the destination and no ledger entry; an existing destination is never
overwritten unless ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from ledger import AppendRequest, Ledger
from provenance.backends import get_backend
from provenance.backends.base import (
    PRIVATE_FACTS,
    Action,
    Backend,
    BackendOutput,
    BackendResult,
    EditRequest,
    GenerateRequest,
    ImageInput,
    OutputFormat,
    Role,
)
from provenance.credentials import (
    LEDGER_ASSERTION,
    IngredientSpec,
    ManifestSpec,
    has_manifest,
    make_context,
    make_signer,
    sign_bytes,
)
from provenance.credentials.sign import ENV_TSA_URL
from provenance.errors import BackendRefusedError, InputError, ProvenanceError
from provenance.home.identity import Identity, load_identity, read_meta, write_private
from provenance.home.ledger import open_ledger
from provenance.home.paths import ENV_ACTOR, Home, home_from_env
from provenance.media import imaging
from provenance.media.hashing import new_salt, salted_hash, sha256_bytes
from provenance.record.tempfiles import fsync_dir, place, write_temp
from provenance.recovery import fingerprint

REQUEST_ASSERTION = "org.provenance.request"
ENTRY_SCHEMA = 1
MAX_N = 10

Progress = Callable[[str, float | None], None]


@dataclass(frozen=True)
class RecordedOutput:
    """One file the recorder wrote, and the ledger entry that vouches for it."""

    path: Path
    entry_id: str
    index: int
    sha256: str
    mime: str


@dataclass(frozen=True)
class _Input:
    path: Path | None
    data: bytes
    mime: str
    role: Role
    sha256: str
    image: Image.Image
    fingerprints: fingerprint.Fingerprints
    entry_id: str | None  # the ledger entry that produced it, when known

    @property
    def name(self) -> str:
        return self.path.name if self.path else self.role

    def as_backend_input(self) -> ImageInput:
        return ImageInput(self.data, self.role, self.mime, self.name)

    def record(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "sha256": self.sha256,
            "mime": self.mime,
            "name": self.name,
            "entry": self.entry_id,
            "width": self.image.width,
            "height": self.image.height,
            # Inputs are never searched for, so the ~3 KB detail grid stays out of their records;
            # a recorded input's own entry holds its full fingerprints.
            "fingerprints": {k: v for k, v in self.fingerprints.to_json().items() if k != "detail"},
        }


@dataclass
class _Pending:
    """An output that is signed into a temp file and waits for its ledger append and rename."""

    dest: Path
    tmp: Path
    entry_id: str
    sha256: str
    mime: str
    body: dict[str, Any]
    fingerprints: list[tuple[str, str, int]]
    private: dict[str, Any]  # prompt-derived facts, stored with the prompt outside the leaf


@dataclass
class Step:
    """A custom pipeline step being recorded; set :attr:`image` (or :attr:`data`) inside the block."""

    actions: list[Action]
    image: Image.Image | None = None
    data: bytes | None = None
    facts: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Wraps image backends so that every call is hashed, signed and recorded.

    ``home`` defaults to ``PROVENANCE_HOME``; the identity must exist (``provenance init``).
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
        # RFC 3161 timestamps keep signatures verifiable after the signer certificate expires.
        self._signer = make_signer(
            self.identity, tsa_url=tsa_url or os.environ.get(ENV_TSA_URL) or None
        )
        anchors = self.identity.ca_pem.decode() if self.identity.ca_pem else None
        self._context = make_context(trust_anchors=anchors)

    def close(self) -> None:
        self._signer.close()
        self.ledger.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public calls -------------------------------------------------------------------------

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
        dests, fmt = self._plan_outputs(out, n, overwrite)
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
            request.options,
        )
        return self._record(
            "generate",
            result,
            dests,
            [],
            prompt=prompt,
            params=_params(request),
            actor=actor,
            overwrite=overwrite,
        )

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
        dests, fmt = self._plan_outputs(out, n, overwrite)
        options = self._provider_options(options, actor)
        ins = [
            self._read_input(Path(p), "parent" if i == 0 else "reference")
            for i, p in enumerate(inputs)
        ]
        mask_in = self._read_mask(Path(mask), ins[0]) if mask is not None else None
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
            request.options,
            inputs=all_inputs,
        )
        return self._record(
            "edit",
            result,
            dests,
            all_inputs,
            prompt=instruction,
            params=_params(request),
            actor=actor,
            overwrite=overwrite,
        )

    def import_asset(
        self, path: str | os.PathLike[str], *, actor: str | None = None
    ) -> RecordedOutput:
        """Register an existing file (e.g. a camera original) as a lineage root; the file is untouched.

        Any C2PA manifest it carries is kept as it is. Importing the same bytes twice returns the
        existing entry.
        """
        inp = self._read_input(Path(path), "parent")
        for entry in self.ledger.find_by_output(inp.sha256):
            return RecordedOutput(Path(path), entry.id, entry.index, inp.sha256, inp.mime)
        body = {
            "schema": ENTRY_SCHEMA,
            "op": "import",
            "actor": actor or self.actor,
            "output": {
                **inp.record(),
                "role": "output",
                "has_manifest": has_manifest(inp.data, inp.mime),
            },
            "inputs": [],
        }
        entry = self.ledger.append(
            "import",
            body,
            outputs=[inp.sha256],
            fingerprints=[(inp.sha256, k, v) for k, v in inp.fingerprints.as_ledger()],
        )
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
        dests, fmt = self._plan_outputs(out, 1, overwrite)
        ins = [
            self._read_input(Path(p), "parent" if i == 0 else "reference")
            for i, p in enumerate(inputs)
        ]
        step = Step(actions=list(actions))
        yield step
        if step.data is None and step.image is None:
            raise InputError("step: the block produced no image (set step.image or step.data)")
        data = step.data if step.data is not None else imaging.encode(step.image, fmt)  # type: ignore[arg-type]
        mime = imaging.sniff_mime(data) or imaging.MIME_BY_FORMAT[fmt]
        result = BackendResult(
            outputs=(BackendOutput(data, mime, tuple(step.actions), facts=step.facts),),
            backend="custom",
            model=software_agent,
            digital_source_type="",
            software_agent=software_agent,
        )
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

    # -- the recorded call ----------------------------------------------------------------------

    def _record(
        self,
        op: str,
        result: BackendResult,
        dests: list[Path],
        inputs: list[_Input],
        *,
        prompt: str | None,
        params: dict[str, Any],
        actor: str | None,
        overwrite: bool,
    ) -> list[RecordedOutput]:
        if len(result.outputs) != len(dests):
            raise ProvenanceError(
                f"backend {result.backend}: returned {len(result.outputs)} images for {len(dests)} requested"
            )
        salt = new_salt()
        prompt_record = (
            {"hash": salted_hash(salt, prompt), "embedded": self.embed_prompt}
            if prompt is not None
            else None
        )
        group = str(uuid.uuid4())
        request_facts, request_private = _split_private(result.facts)
        pending: list[_Pending] = []
        try:
            for i, (output, dest) in enumerate(zip(result.outputs, dests, strict=True)):
                self._progress(f"signing {dest.name}", (i + 1) / (len(dests) + 1))
                pending.append(
                    self._sign_one(
                        op,
                        result,
                        output,
                        dest,
                        inputs,
                        prompt,
                        prompt_record,
                        params,
                        actor,
                        group,
                        i,
                        len(dests),
                        request_facts,
                    )
                )
            parents = sorted({i.entry_id for i in inputs if i.entry_id})
            in_hashes = [i.sha256 for i in inputs]
            requests = [
                AppendRequest(
                    op,
                    p.body,
                    entry_id=p.entry_id,
                    outputs=[p.sha256],
                    inputs=in_hashes,
                    parents=parents,
                    fingerprints=p.fingerprints,
                    secret=_secret(prompt, salt, {**request_private, **p.private}),
                )
                for p in pending
            ]
            self._progress("appending to the ledger", None)
            entries = self.ledger.append_many(requests)
        except BaseException:
            for p in pending:
                p.tmp.unlink(missing_ok=True)
            raise
        recorded = []
        for p, entry in zip(pending, entries, strict=True):
            place(p.tmp, p.dest, overwrite)
            recorded.append(RecordedOutput(p.dest, entry.id, entry.index, p.sha256, p.mime))
        fsync_dir(dests[0].parent)
        return recorded

    def _sign_one(
        self,
        op: str,
        result: BackendResult,
        output: BackendOutput,
        dest: Path,
        inputs: list[_Input],
        prompt: str | None,
        prompt_record: dict[str, Any] | None,
        params: dict[str, Any],
        actor: str | None,
        group: str,
        index: int,
        count: int,
        request_facts: dict[str, Any],
    ) -> _Pending:
        image = imaging.open_image(output.data, name=f"{result.backend} output")
        output_facts, private = _split_private(output.facts)
        if output.revised_prompt is not None:
            private["revised_prompt"] = output.revised_prompt
        fps = fingerprint.compute(image)
        entry_id = self.ledger.new_entry_id()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        provider_signed = has_manifest(output.data, output.mime)
        spec = self._manifest(
            op, result, output, dest, inputs, entry_id, prompt, prompt_record, now, provider_signed
        )
        signed = sign_bytes(spec, output.data, output.mime, self._signer, self._context)
        tmp = write_temp(dest, signed)
        digest = sha256_bytes(signed)
        body: dict[str, Any] = {
            "schema": ENTRY_SCHEMA,
            "op": op,
            "actor": actor or self.actor,
            "backend": result.backend,
            "model": result.model,
            "software_agent": result.software_agent,
            "digital_source_type": result.digital_source_type or None,
            "actions": [a["action"] for a in spec.actions],
            "request": {
                "group": group,
                "index": index,
                "count": count,
                "params": params,
                "facts": request_facts,
            },
            "output": {
                "sha256": digest,
                "mime": output.mime,
                "name": dest.name,
                "width": image.width,
                "height": image.height,
                "fingerprints": fps.to_json(),
                "facts": output_facts,
                "provider_signed": provider_signed,
            },
            "inputs": [i.record() for i in inputs],
            "prompt": prompt_record,
            "signer": {
                "subject": self.identity.subject,
                "cert_sha256": self.identity.cert_sha256,
                "local_identity": self.identity.is_local,
            },
            "signed_at": now,
        }
        return _Pending(
            dest,
            tmp,
            entry_id,
            digest,
            output.mime,
            body,
            [(digest, k, v) for k, v in fps.as_ledger()],
            private,
        )

    def _manifest(
        self,
        op: str,
        result: BackendResult,
        output: BackendOutput,
        dest: Path,
        inputs: list[_Input],
        entry_id: str,
        prompt: str | None,
        prompt_record: dict[str, Any] | None,
        now: str,
        provider_signed: bool,
    ) -> ManifestSpec:
        agent = {"name": result.software_agent}
        ingredients: list[IngredientSpec] = []
        actions: list[dict[str, Any]] = []
        dst = result.digital_source_type or None
        if provider_signed:
            # The provider's signed file is our parent: its manifest is carried over, never stripped.
            ingredients.append(
                IngredientSpec(
                    output.data, output.mime, f"{result.backend} output", "parentOf", "provider"
                )
            )
            actions.append(
                _action(
                    "c2pa.opened",
                    agent,
                    ["provider"],
                    dst,
                    f"{op} by {result.model}; the provider's signed file is the parent",
                )
            )
        elif op == "generate":
            actions.append(
                _action(
                    "c2pa.created",
                    agent,
                    [],
                    dst or "algorithmicMedia",
                    f"generated by {result.model}",
                )
            )
        for inp in inputs:
            label = f"{inp.role}{len(ingredients)}" if inp.role != "parent" else "parent"
            relationship: Literal["parentOf", "inputTo"] = (
                "parentOf" if inp.role == "parent" and not provider_signed else "inputTo"
            )
            ingredients.append(IngredientSpec(inp.data, inp.mime, inp.name, relationship, label))
            if relationship == "parentOf":
                actions.insert(0, _action("c2pa.opened", agent, [label], None, None))
        references = [i.label for i in ingredients if i.label.startswith("reference")]
        for a in output.actions:
            ids = _placed_ids(a, references) if a.action == "c2pa.placed" else []
            actions.append(
                _action(a.action, agent, ids, a.digital_source_type, a.description, a.parameters)
            )
        if not actions:
            raise ProvenanceError(f"{dest.name}: nothing to record (no action)")
        request: dict[str, Any] = {
            "backend": result.backend,
            "model": result.model,
            "operation": op,
            "time": now,
            "id": entry_id,
            "provider": _provider(result.backend),
        }
        if prompt_record is not None:
            request["prompt_hash"] = prompt_record["hash"]
            if self.embed_prompt and prompt is not None:
                request["prompt"] = prompt
        return ManifestSpec(
            title=dest.name,
            actions=actions,
            ingredients=ingredients,
            assertions=[
                {
                    "label": LEDGER_ASSERTION,
                    "kind": "Json",
                    "data": {"origin": self.ledger.origin, "entry": entry_id},
                },
                {"label": REQUEST_ASSERTION, "kind": "Json", "data": request},
                *result.assertions,
            ],
        )

    # -- helpers --------------------------------------------------------------------------------

    def _call_backend(
        self,
        call: Callable[[], BackendResult],
        op: str,
        prompt: str,
        model: str | None,
        actor: str | None,
        options: dict[str, Any],
        inputs: Sequence[_Input] = (),
    ) -> BackendResult:
        try:
            return call()
        except BackendRefusedError as e:
            if self.record_refusals:
                salt = new_salt()
                self.ledger.append(
                    "refusal",
                    {
                        "schema": ENTRY_SCHEMA,
                        "op": op,
                        "refused": True,
                        "actor": actor or self.actor,
                        "backend": self.backend.name,
                        "model": model or getattr(self.backend, "model", None),
                        "prompt": {"hash": salted_hash(salt, prompt), "embedded": False},
                        "reason": e.diagnostics(),
                        "code": getattr(e, "code", None),
                        "request_id": getattr(e, "request_id", None),
                        "inputs": [i.record() for i in inputs],
                    },
                    inputs=[i.sha256 for i in inputs],
                    secret=json.dumps({"prompt": prompt, "salt": salt}),
                )
            raise

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

    def _plan_outputs(
        self, out: str | os.PathLike[str], n: int, overwrite: bool
    ) -> tuple[list[Path], OutputFormat]:
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
                raise InputError(f"{d}: already exists; use --force to overwrite it")
        return dests, fmt

    def _read_input(self, path: Path, role: Role) -> _Input:
        data = _read(path)
        image = imaging.open_image(data, name=str(path))
        mime = imaging.sniff_mime(data) or "application/octet-stream"
        digest = sha256_bytes(data)
        found = self.ledger.find_by_output(digest)
        return _Input(
            path,
            data,
            mime,
            role,
            digest,
            image,
            fingerprint.compute(image),
            found[-1].id if found else None,
        )

    def _read_mask(self, path: Path, parent: _Input) -> _Input:
        data = _read(path)
        mask = imaging.load_mask(data, parent.image.size, name=str(path))
        png = imaging.encode(mask, "png")
        return _Input(
            path,
            png,
            "image/png",
            "mask",
            sha256_bytes(data),
            mask,
            fingerprint.compute(mask),
            None,
        )

    def _progress(self, message: str, fraction: float | None) -> None:
        if self.on_progress is not None:
            self.on_progress(message, fraction)


def _action(
    name: str,
    agent: dict[str, str],
    ingredient_ids: list[str],
    dst: str | None,
    description: str | None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    action: dict[str, Any] = {"action": name, "softwareAgent": agent}
    params = dict(parameters or {})
    if ingredient_ids:
        params["ingredientIds"] = ingredient_ids
    if params:
        action["parameters"] = params
    if dst:
        action["digitalSourceType"] = dst
    if description:
        action["description"] = description
    return action


def actor_pseudonym(home: Home, actor: str) -> str:
    """A stable pseudonym for ``actor``: HMAC-SHA256 under this home's secret actor salt."""
    path = home.identity_dir / "actor.salt"
    if not path.exists():
        write_private(path, new_salt().encode())
    return salted_hash(path.read_text().strip(), actor).removeprefix("sha256:")[:32]


def _placed_ids(action: Action, references: list[str]) -> list[str]:
    """The ingredient a ``c2pa.placed`` action placed: ``parameters.reference`` counts from 1."""
    k = action.parameters.get("reference")
    if isinstance(k, int) and 1 <= k <= len(references):
        return [references[k - 1]]
    return references


def _provider(backend: str) -> str:
    return {"openai": "OpenAI", "local": "provenance (local renderer)"}.get(backend, backend)


def _params(request: GenerateRequest | EditRequest) -> dict[str, Any]:
    params: dict[str, Any] = _jsonable(
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


def _jsonable(value: Any) -> Any:
    """A JSON-safe copy (RFC 8785 refuses floats like NaN and non-str keys)."""
    return json.loads(json.dumps(value, default=str, allow_nan=False))


def _split_private(facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split backend facts into public ones (for the leaf) and prompt-derived ones (secret)."""
    public = {k: v for k, v in facts.items() if k not in PRIVATE_FACTS}
    private = {k: v for k, v in facts.items() if k in PRIVATE_FACTS}
    return _jsonable(public), _jsonable(private)


def _secret(prompt: str | None, salt: str, private: dict[str, Any]) -> str | None:
    """What is kept outside the tree and erased on request: the prompt, its salt, echoes of it."""
    if prompt is None and not private:
        return None
    return json.dumps({"prompt": prompt, "salt": salt, **private}, sort_keys=True)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise InputError(f"{path}: is a directory, not an image") from e
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from e


__all__ = ["RecordedOutput", "Recorder", "Step"]
