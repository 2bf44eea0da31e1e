"""Each pending row names its writer's backend (``waiter``, ``pg_backend_pid()``).

A batch notifies only the writers whose rows it integrated or refused, and the writer of the
first row still pending (which does the next batch), each on its own channel, instead of
waking every listener for every batch. Rows without a waiter (queued before this revision)
are announced on the ledger's shared channel, as before.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE ledger_pending ADD COLUMN waiter INTEGER")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE ledger_pending DROP COLUMN waiter")
