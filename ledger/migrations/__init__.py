"""Alembic migrations of the ledger schema, run programmatically by :mod:`ledger.schema`."""
