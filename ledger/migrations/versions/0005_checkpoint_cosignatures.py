"""Witness cosignatures (C2SP tlog-cosignature v1) of signed checkpoints, one row per witness.

A separate table, like the timestamps of 0003: cosignatures arrive after their checkpoint is
committed (witnesses are asked outside the write lock), some witnesses may never answer, and a
later checkpoint is cosigned without touching the earlier rows.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_cosignature",
        sa.Column("checkpoint_id", sa.BigInteger, primary_key=True, autoincrement=False),
        # The witness's key name (the signed-note name of its vkey) and key id (hex).
        sa.Column("witness", sa.String(255), primary_key=True),
        sa.Column("key_id", sa.String(8), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),  # the checkpoint's tree size
        sa.Column("timestamp", sa.BigInteger, nullable=False),  # the cosignature's own time
        sa.Column("line", sa.Text, nullable=False),  # the whole `— name sig` line
    )
    # The next submission starts from each witness's newest cosigned size.
    op.create_index("ix_ledger_cosignature_witness", "ledger_cosignature", ["witness", "size"])


def downgrade() -> None:
    op.drop_index("ix_ledger_cosignature_witness", table_name="ledger_cosignature")
    op.drop_table("ledger_cosignature")
