"""Recording: every generate or edit call hashed, signed and appended to the ledger.

Example::

    from provenance.record import Recorder

    with Recorder() as rec:
        [out] = rec.generate("A red circle on a white background", "circle.png")

Parts: ``recorder`` (the calls), ``call`` (one recorded call: sign, append, place), ``manifest``
(the C2PA manifest of one output), ``body`` (the typed ledger entry body), ``inputs`` (reading
inputs, checking outputs), ``tempfiles`` (temp file -> fsync -> no-clobber move) and ``doctor``
(what a crash left behind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provenance.record.recorder import RecordedOutput, Recorder

__all__ = ["RecordedOutput", "Recorder"]


def __getattr__(name: str) -> Any:  # lazy: the recorder loads c2pa, numpy and the ledger
    if name in __all__:
        from provenance.record import recorder

        return getattr(recorder, name)
    raise AttributeError(name)
