"""SQLModel tables of the ledger. The leaf bytes are the truth; other columns index them.

Example::

    >>> from ledger.models import LedgerEntry
    >>> LedgerEntry.__tablename__
    'ledger_entry'
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Table, Text
from sqlmodel import Field, SQLModel


class LedgerMeta(SQLModel, table=True):
    __tablename__ = "ledger_meta"
    key: str = Field(sa_column=Column(String(64), primary_key=True))
    value: str = Field(sa_column=Column(Text, nullable=False))


class LedgerHead(SQLModel, table=True):
    """One row (id=1): appends lock it, so writers are serialised and the tree never forks."""

    __tablename__ = "ledger_head"
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Hashes of the perfect subtrees covering [0, size), largest first: enough to append in O(log n).
    frontier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The newest entry time (us): appends stamp max(now, last_ts), so times follow the index.
    last_ts: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    entry_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    # Microseconds UTC, non-decreasing with idx from meta ts_ordered_from on (no index: 0004).
    ts: int = Field(sa_column=Column(BigInteger, nullable=False))
    leaf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerNode(SQLModel, table=True):
    """Perfect subtree hashes; ``pos`` is :func:`ledger.merkle.node_key` (level 0 = leaf hashes)."""

    __tablename__ = "ledger_node"
    pos: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerArtifact(SQLModel, table=True):
    __tablename__ = "ledger_artifact"
    __table_args__ = (Index("ix_ledger_artifact_sha", "sha256", "role"),)
    entry_idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    role: str = Field(sa_column=Column(String(8), primary_key=True))
    sha256: str = Field(sa_column=Column(String(64), primary_key=True))


class LedgerParent(SQLModel, table=True):
    __tablename__ = "ledger_parent"
    child_idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    parent_id: str = Field(sa_column=Column(String(36), primary_key=True, index=True))


class LedgerSecret(SQLModel, table=True):
    """Prompt text, outside the leaf so that erasing it leaves the tree intact."""

    __tablename__ = "ledger_secret"
    entry_id: str = Field(sa_column=Column(String(36), primary_key=True))
    salt: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))


class LedgerFingerprint(SQLModel, table=True):
    __tablename__ = "ledger_fingerprint"
    __table_args__ = (Index("ix_ledger_fingerprint_kind", "kind", "id"),)
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    entry_id: str = Field(sa_column=Column(String(36), nullable=False))
    output: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))  # signed 64-bit


class LedgerCheckpointRow(SQLModel, table=True):
    __tablename__ = "ledger_checkpoint"
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    ts: int = Field(sa_column=Column(BigInteger, nullable=False))


class LedgerCheckpointTimestamp(SQLModel, table=True):
    """An RFC 3161 token over a checkpoint's signed note (schema 0003); absent when none was had."""

    __tablename__ = "ledger_checkpoint_timestamp"
    checkpoint_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    tsa_url: str = Field(sa_column=Column(Text, nullable=False))
    token: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # DER CMS ContentInfo


class LedgerCosignature(SQLModel, table=True):
    """A witness's verified cosignature of a checkpoint (schema 0005); absent until it answered."""

    __tablename__ = "ledger_cosignature"
    __table_args__ = (Index("ix_ledger_cosignature_witness", "witness", "size"),)
    checkpoint_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    witness: str = Field(sa_column=Column(String(255), primary_key=True))
    key_id: str = Field(sa_column=Column(String(8), primary_key=True))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    line: str = Field(sa_column=Column(Text, nullable=False))


def _t(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


# The Core tables, for the hot paths that skip the ORM.
META, HEAD, ENTRY, NODE = _t(LedgerMeta), _t(LedgerHead), _t(LedgerEntry), _t(LedgerNode)
ARTIFACT, PARENT, SECRET = _t(LedgerArtifact), _t(LedgerParent), _t(LedgerSecret)
FINGERPRINT, CHECKPOINT = _t(LedgerFingerprint), _t(LedgerCheckpointRow)
CHECKPOINT_TIMESTAMP, COSIGNATURE = _t(LedgerCheckpointTimestamp), _t(LedgerCosignature)
