"""The pending queue of PostgreSQL appends (ledger.sequencer).

A writer makes its entries durable here (one row per ``append_many``: ids and salts fixed, leaf
not yet built, since the leaf holds the index and time given at integration); the integrating
batch deletes the row in the transaction that adds its entries to the tree. ``error`` is set on
a row a batch refused (an id already used, a parent missing), for its writer to read. SQLite
appends have one writer lock and no queue: the table exists only on PostgreSQL.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE ledger_pending ("
        "seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "ids TEXT[] NOT NULL, "
        "payload BYTEA NOT NULL, "
        "error TEXT)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE ledger_pending")
