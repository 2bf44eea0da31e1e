"""Entry times kept in append order, so the ``ts`` index can go.

Every append updated three b-trees for its entry row (rows, unique ``entry_id``, ``ts``); the
``ts`` index served only time-range reads. Appends now stamp ``max(now, head.last_ts)`` under the
head lock, so from ``ts_ordered_from`` (ledger_meta) on, times never decrease with the index and
a time range is an index range found by binary search. Entries before it (written by older
versions, whose clock may have stepped back) are filtered by a scan of that prefix.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ledger_entry_ts", table_name="ledger_entry")
    op.add_column(
        "ledger_head", sa.Column("last_ts", sa.BigInteger, nullable=False, server_default="0")
    )
    bind = op.get_bind()
    op.execute("UPDATE ledger_head SET last_ts = (SELECT coalesce(max(ts), 0) FROM ledger_entry)")
    # The last index where time stepped back; from there on, times are in order.
    last_drop = bind.execute(
        sa.text(
            "SELECT max(b.idx) FROM ledger_entry a JOIN ledger_entry b ON b.idx = a.idx + 1 "
            "WHERE b.ts < a.ts"
        )
    ).scalar()
    if bind.execute(sa.text("SELECT count(*) FROM ledger_meta")).scalar():
        op.execute(
            sa.text(
                "INSERT INTO ledger_meta (key, value) VALUES ('ts_ordered_from', :v)"
            ).bindparams(v=str(int(last_drop or 0)))
        )


def downgrade() -> None:
    op.execute("DELETE FROM ledger_meta WHERE key = 'ts_ordered_from'")
    op.drop_column("ledger_head", "last_ts")
    op.create_index("ix_ledger_entry_ts", "ledger_entry", ["ts"])
