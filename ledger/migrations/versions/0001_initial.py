"""Initial ledger schema: entries, perfect-subtree nodes, head, checkpoints, links, secrets.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _tree_tables()
    _index_tables()


def _tree_tables() -> None:
    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("entry_id", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("leaf", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_ledger_entry_ts", "ledger_entry", ["ts"])
    op.create_table(
        "ledger_node",
        sa.Column("pos", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )


def _index_tables() -> None:
    op.create_table(
        "ledger_artifact",
        sa.Column("entry_idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
    )
    op.create_index("ix_ledger_artifact_sha", "ledger_artifact", ["sha256", "role"])
    op.create_table(
        "ledger_parent",
        sa.Column("child_idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("parent_id", sa.String(36), primary_key=True),
    )
    op.create_index("ix_ledger_parent_parent_id", "ledger_parent", ["parent_id"])
    op.create_table(
        "ledger_secret",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_fingerprint",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.String(36), nullable=False),
        sa.Column("output", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ledger_fingerprint_output", "ledger_fingerprint", ["output"])
    op.create_index("ix_ledger_fingerprint_kind", "ledger_fingerprint", ["kind", "id"])
    op.create_table(
        "ledger_checkpoint",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for t in (
        "ledger_checkpoint",
        "ledger_fingerprint",
        "ledger_secret",
        "ledger_parent",
        "ledger_artifact",
        "ledger_node",
        "ledger_entry",
        "ledger_head",
        "ledger_meta",
    ):
        op.drop_table(t)
