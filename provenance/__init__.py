"""Accountable AI image generation and editing.

Every generate or edit call goes through a :class:`Recorder` that hashes inputs and outputs,
signs C2PA content credentials into the output file, and appends the lineage to a tamper-evident
ledger. :func:`verify_path` tells anyone later what can be proven about a file.

Example::

    from provenance import Recorder, default_policy, verify_path

    with Recorder() as rec:                      # identity + ledger from PROVENANCE_HOME
        [out] = rec.generate("A red circle on a white background", "circle.png")
    print(verify_path("circle.png", default_policy(rec.home)).verdict)   # trusted
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ProvenanceError",
    "RecordedOutput",
    "Recorder",
    "TrustPolicy",
    "VerificationReport",
    "__version__",
    "default_policy",
    "verify_path",
]

if TYPE_CHECKING:
    from provenance.errors import ProvenanceError
    from provenance.record.recorder import RecordedOutput, Recorder
    from provenance.verify.core import VerificationReport, verify_path
    from provenance.verify.policy import TrustPolicy, default_policy

_LAZY = {
    "ProvenanceError": "provenance.errors",
    "RecordedOutput": "provenance.record.recorder",
    "Recorder": "provenance.record.recorder",
    "TrustPolicy": "provenance.verify.policy",
    "default_policy": "provenance.verify.policy",
    "VerificationReport": "provenance.verify.report",
    "verify_path": "provenance.verify.core",
}


def __getattr__(name: str) -> Any:  # lazy, so `provenance --help` does not load c2pa or numpy
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
