"""RFC 3161 timestamp tokens of signed checkpoints, one row per timestamped checkpoint.

A separate table, not a column: a token arrives after its checkpoint is committed (the TSA is
asked outside the write lock), and a checkpoint without one is normal.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_checkpoint_timestamp",
        sa.Column("checkpoint_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("tsa_url", sa.Text, nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_checkpoint_timestamp")
