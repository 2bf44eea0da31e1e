"""The verifier: a file in, a :class:`VerificationReport` out.

Example::

    from provenance.verify import default_policy, verify_path

    report = verify_path("photo.jpg", default_policy(None, trust=["anchors.pem"]))
    print(report.verdict, report.reasons)

Parts: ``core`` (one file), ``policy`` (what is accepted), ``report`` (the result types),
``chain`` (the ingredient walk), ``container`` (format checks), ``explain`` (status codes in
words), ``ledger_check`` (the cross-check against the ledger), ``lookup`` (a file or an entry id
-> its entry), ``batch`` (many files), ``text`` and ``html`` (rendering a report). The verdicts
are :class:`provenance.vocab.Verdict`; recovery of stripped copies is :mod:`provenance.recovery`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provenance.verify.core import require_accepted, verify_bytes, verify_path
    from provenance.verify.policy import TrustPolicy, default_policy
    from provenance.verify.report import VerificationReport

__all__ = [
    "TrustPolicy",
    "VerificationReport",
    "default_policy",
    "require_accepted",
    "verify_bytes",
    "verify_path",
]

_LAZY = {
    "require_accepted": "provenance.verify.core",
    "verify_bytes": "provenance.verify.core",
    "verify_path": "provenance.verify.core",
    "TrustPolicy": "provenance.verify.policy",
    "default_policy": "provenance.verify.policy",
    "VerificationReport": "provenance.verify.report",
}


def __getattr__(name: str) -> Any:  # lazy: importing a submodule does not load the core
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
