"""Conversational editing: a session of turns, each a recorded edit of the previous turn's output.

Example (offline; with ``Recorder(backend="openai")`` each turn is a Responses API call chained
by ``previous_response_id``)::

    from provenance import Recorder

    with Recorder() as rec, rec.session() as chat:
        chat.turn("poster 800x600, dark blue, title 'Open day'", "v1.png")
        chat.turn("brightness 1.2", "v2.png")
        chat.turn("redact", "v3.png", mask="faces.png")
        print([t.output.entry_id for t in chat.turns if t.output])

The first turn generates (or, with ``start=``, edits that file); every later turn edits the
previous turn's output, which becomes the new file's ``parentOf`` ingredient and its ledger
parent, so ``provenance lineage`` walks the whole conversation. Each entry's request facts hold
``session`` (session id, turn number, the previous turn's entry) and, with OpenAI, the response id
chain. A turn the model answers in words only is kept as a :class:`Turn` without an output.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.backends.base import Backend, BackendResult, EditRequest, GenerateRequest
from provenance.errors import BackendError, BackendRefusedError, InputError

if TYPE_CHECKING:
    from provenance.record.call import RecordedOutput
    from provenance.record.recorder import Recorder

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Turn:
    """One turn: what was asked, the recorded output (None when no image came) and the reply."""

    number: int
    instruction: str
    output: RecordedOutput | None
    text: str | None = None  # what the model said, when it said anything
    response_id: str | None = None
    refused: str | None = None  # the backend's refusal (recorded as a refusal entry), re-raised


class _Tagged:
    """The session's backend, adding the session facts to every result it returns."""

    def __init__(self, inner: Any, tag: dict[str, Any]) -> None:
        self._inner = inner
        self.name = inner.name
        self.model = getattr(inner, "model", None)
        self._tag = tag

    def generate(self, request: GenerateRequest) -> BackendResult:
        return self._tagged(self._inner.generate(request))

    def edit(self, request: EditRequest) -> BackendResult:
        return self._tagged(self._inner.edit(request))

    def _tagged(self, result: BackendResult) -> BackendResult:
        return dataclasses.replace(result, facts={**result.facts, "session": self._tag})


class Session:
    """Turns recorded through one :class:`Recorder`; use as a context manager or call close()."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        start: PathLike | None = None,
        chat_model: str | None = None,
        model: str | None = None,
        options: dict[str, Any] | None = None,
        actor: str | None = None,
        overwrite: bool = False,
    ) -> None:
        self._rec = recorder
        inner = recorder.backend
        make = getattr(inner, "conversation", None)  # a backend with its own multi-turn API
        self.backend: Backend = make(chat_model=chat_model) if callable(make) else inner
        self.id = uuid.uuid4().hex
        self.model = model
        self.options = dict(options or {})
        self.actor = actor
        self.overwrite = overwrite
        self.turns: list[Turn] = []
        self._parent: Path | None = Path(start) if start is not None else None
        self._parent_entry: str | None = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: the recorder stays open for its owner."""

    @property
    def last_output(self) -> Path | None:
        return self._parent

    def turn(
        self,
        instruction: str,
        out: PathLike,
        *,
        mask: PathLike | None = None,
        references: Sequence[PathLike] = (),
        size: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> Turn:
        """Record one turn into ``out``: a generation first, then edits of the last output."""
        if not instruction.strip():
            raise InputError("turn: empty instruction; say what to change")
        number = len(self.turns) + 1
        tag = {"id": self.id, "turn": number, "previous_entry": self._parent_entry}
        saved, self._rec.backend = self._rec.backend, _Tagged(self.backend, tag)
        try:
            outputs = self._record(instruction, out, mask, references, size, options)
        except BackendRefusedError as e:
            self.turns.append(Turn(number, instruction, None, refused=str(e)))
            raise
        except BackendError as e:
            text = getattr(e, "text", None)  # a words-only answer (openai_chat.NoImageError)
            if not isinstance(text, str):
                raise
            turn = Turn(number, instruction, None, text, getattr(e, "response_id", None))
            self.turns.append(turn)
            return turn
        finally:
            self._rec.backend = saved
        recorded = outputs[0]
        self._parent, self._parent_entry = recorded.path, recorded.entry_id
        chain = getattr(self.backend, "chain", None)
        turn = Turn(number, instruction, recorded, None, chain[-1] if chain else None)
        self.turns.append(turn)
        return turn

    def _record(
        self,
        instruction: str,
        out: PathLike,
        mask: PathLike | None,
        references: Sequence[PathLike],
        size: str | None,
        options: dict[str, Any] | None,
    ) -> list[RecordedOutput]:
        opts = {**self.options, **(options or {})}
        common: dict[str, Any] = {
            "size": size,
            "model": self.model,
            "options": opts,
            "overwrite": self.overwrite,
            "actor": self.actor,
        }
        if self._parent is None:
            if mask is not None or references:
                raise InputError(
                    "turn 1: a mask or reference images need an image to edit "
                    "(start the session from one with start=...)"
                )
            return self._rec.generate(instruction, out, **common)
        inputs = [self._parent, *map(Path, references)]
        return self._rec.edit(inputs, instruction, out, mask=mask, **common)
