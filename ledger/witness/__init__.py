"""Witnesses for the ledger: C2SP tlog-witness v1.0 with tlog-cosignature v1 (Ed25519).

- :mod:`ledger.witness.cosignature`: sign and verify ``cosignature/v1`` note signatures.
- :mod:`ledger.witness.wire`: the add-checkpoint request and 409 bodies.
- :mod:`ledger.witness.witness`, :mod:`~ledger.witness.state`, :mod:`~ledger.witness.home`:
  the witness (its checks, its compare-and-swap SQLite memory, its directory).
- :mod:`ledger.witness.server`: the witness over HTTP (Starlette on uvicorn).
- :mod:`ledger.witness.client`: the log side, submitting checkpoints to witnesses.
- :mod:`ledger.witness.logside`: a ledger's configured witnesses, its stored cosignatures and
  witnessed notes (used by :mod:`ledger.checkpointer` after each new checkpoint).
- :mod:`ledger.witness.policy`: C2SP tlog-policy parsing and the quorum check.

This package imports Starlette and uvicorn only from :mod:`ledger.witness.server`.
"""
