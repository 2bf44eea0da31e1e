"""SQLite: cluster entries and nodes on their keys, and link tables WITHOUT ROWID.

In SQLite a ``BIGINT PRIMARY KEY`` is a separate index beside the hidden rowid, so every append
wrote two b-trees per table (and the audit read both). ``INTEGER PRIMARY KEY`` makes ``idx`` and
``pos`` the rowid itself; composite-key link tables become WITHOUT ROWID. Fewer pages per durable
commit, sequential scans for the audit. PostgreSQL is unchanged.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TABLES = [
    (
        "ledger_entry",
        "idx INTEGER PRIMARY KEY, entry_id VARCHAR(36) NOT NULL UNIQUE, kind VARCHAR(64) NOT NULL, "
        "ts BIGINT NOT NULL, leaf BLOB NOT NULL",
        "",
        "idx, entry_id, kind, ts, leaf",
        ["CREATE INDEX ix_ledger_entry_ts ON ledger_entry (ts)"],
    ),
    ("ledger_node", "pos INTEGER PRIMARY KEY, hash BLOB NOT NULL", "", "pos, hash", []),
    (
        "ledger_artifact",
        "entry_idx BIGINT NOT NULL, role VARCHAR(8) NOT NULL, sha256 VARCHAR(64) NOT NULL, "
        "PRIMARY KEY (entry_idx, role, sha256)",
        " WITHOUT ROWID",
        "entry_idx, role, sha256",
        ["CREATE INDEX ix_ledger_artifact_sha ON ledger_artifact (sha256, role)"],
    ),
    (
        "ledger_parent",
        "child_idx BIGINT NOT NULL, parent_id VARCHAR(36) NOT NULL, PRIMARY KEY (child_idx, parent_id)",
        " WITHOUT ROWID",
        "child_idx, parent_id",
        ["CREATE INDEX ix_ledger_parent_parent_id ON ledger_parent (parent_id)"],
    ),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, columns, suffix, names, indexes in _TABLES:
        op.execute(f"CREATE TABLE _new_{name} ({columns}){suffix}")
        op.execute(f"INSERT INTO _new_{name} ({names}) SELECT {names} FROM {name} ORDER BY 1")
        op.execute(f"DROP TABLE {name}")
        op.execute(f"ALTER TABLE _new_{name} RENAME TO {name}")
        for statement in indexes:
            op.execute(statement)


def downgrade() -> None:
    # The 0001 layout holds the same rows; nothing is lost by keeping the clustered form.
    pass
