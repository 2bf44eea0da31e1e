"""Finding, opening and creating the ledger of a ``PROVENANCE_HOME`` (URL and checkpoint key).

Example::

    from provenance.home.paths import home_from_env
    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env()) as ledger:
        print(ledger.size, ledger.origin)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import (
    NoLogKeyError,
    ledger_failures,
)
from provenance.home.files import (
    ensure_private_dir,
    secure_sqlite_files,
    write_private,
    write_public,
)
from provenance.home.keyfiles import check_private, load_log_key, log_key_pem
from provenance.home.paths import ENV_KEY_PASSPHRASE, ENV_LEDGER_URL, Home

if TYPE_CHECKING:  # the ledger (SQLAlchemy) loads only when a ledger is opened or made
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger import Ledger
    from ledger.witness.client import WitnessEndpoint


def log_origin(public_raw: bytes) -> str:
    """A checkpoint origin unique to this log: host name plus a short hash of its key."""
    import socket  # only a new ledger needs it (~3 ms of every command's start-up)

    host = "".join(c for c in socket.gethostname().lower() if c.isalnum() or c in "-.") or "host"
    return f"provenance.local/{host}/{hashlib.sha256(public_raw).hexdigest()[:12]}"


def create_ledger(home: Home, *, passphrase: bytes | None = None) -> str:
    """Make the log key and the ledger for ``home``; return the origin. See ``init_home``.

    ``passphrase`` encrypts the log key (as ``init --encrypt`` does the signer key).
    """
    from cryptography.hazmat.primitives import serialization

    from ledger import Ledger
    from ledger.checkpoint import generate_log_key, verifier_key

    key = generate_log_key()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    origin = log_origin(raw)
    url = home.ledger_url()
    made_dir = not home.ledger_db.parent.exists()  # holds the key and the signer's memory
    if made_dir:
        ensure_private_dir(home.ledger_db.parent)
    try:
        with ledger_failures():
            Ledger.create(url, origin=origin, log_key=key, signer_memory=home.log_signed).close()
        secure_sqlite_files(home.ledger_db)  # it holds the prompts: 0600
    except BaseException:
        if made_dir:  # leave nothing behind, so creating the home can simply be tried again
            shutil.rmtree(home.ledger_db.parent, ignore_errors=True)
        else:
            home.log_signed.unlink(missing_ok=True)
        raise
    write_private(home.log_key, log_key_pem(key, passphrase))
    write_public(home.log_pub, (verifier_key(key, origin) + "\n").encode())
    return origin


@dataclass(frozen=True)
class LedgerSource:
    """Where a ledger is, for a reader (e.g. a verify worker): its URL and the log's public key."""

    url: str
    log_verifier: str | None = None  # signed-note verifier key; None when unknown


def find_ledger(home: Home, log_key: str | None = None) -> LedgerSource | None:
    """The home's ledger, or None when there is none (a desk that only verifies).

    ``log_key`` is a verifier key the user gave; without it the verifier pins the key itself
    (this home's ``log.pub`` or a known log, by the ledger's origin: ``home.log_keys``), never
    taking the key the database names.
    """
    url = os.environ.get(ENV_LEDGER_URL)
    if not url and not home.ledger_db.exists():
        return None
    return LedgerSource(home.ledger_url(), log_key)


def ledger_exists(home: Home) -> bool:
    """Whether the home's ledger is known to exist (only an SQLite file can be checked cheaply)."""
    url = home.ledger_url()
    return url.startswith("sqlite:///") and Path(url.removeprefix("sqlite:///")).exists()


def open_ledger(
    where: Home | LedgerSource,
    *,
    read_only: bool = False,
    require_key: bool = False,
    checkpoint_every: int | None = 1,
    tsa_url: str | None = None,
) -> Ledger:
    """The one way to open a ledger: a home's (with its log key unless ``read_only``) or a source's.

    ``checkpoint_every=1`` (the default) signs a checkpoint after every recorded call, so receipts
    and verification proofs are available at once (an Ed25519 signature costs ~0.1 ms); ``None``
    signs none. ``require_key`` refuses a home without its log key (needed to sign checkpoints).
    ``tsa_url`` (default: ``PROVENANCE_TSA_URL``) time-stamps the checkpoints too; with the log
    key, new checkpoints go to the witnesses in ``<home>/ledger/witnesses`` (a witness that is
    down never stops recording: the checkpoint waits, unwitnessed, for the next one). A
    :class:`LedgerSource` is always opened without a key. Ledger errors become
    :class:`~provenance.errors.LedgerFailure`.
    """
    from ledger import Ledger

    with ledger_failures():
        if isinstance(where, LedgerSource):
            return Ledger.open(where.url, log_key=None, checkpoint_every=checkpoint_every)
        if where.ledger_url() == f"sqlite:///{where.ledger_db}" and where.ledger_db.exists():
            check_private(where.ledger_db, "ledger (it holds the prompts)")
        key = None if read_only else _log_key(where, require_key)
        return Ledger.open(
            where.ledger_url(),
            log_key=key,
            checkpoint_every=checkpoint_every,
            tsa_url=tsa_url,
            signer_memory=where.log_signed if key is not None else None,
            witnesses=_witnesses(where) if key is not None else (),
        )


def _witnesses(home: Home) -> list[WitnessEndpoint]:
    """The witnesses the log submits new checkpoints to (``provenance ledger witnesses``)."""
    from provenance.home.witnesses import LogWitnesses

    return LogWitnesses(home).endpoints()


def _log_key(home: Home, required: bool) -> Ed25519PrivateKey | None:
    if not home.log_key.exists():
        if required:
            raise NoLogKeyError(home.log_key)
        return None
    return load_log_key(home.log_key, _env_passphrase())


def _env_passphrase() -> bytes | None:
    value = os.environ.get(ENV_KEY_PASSPHRASE)
    return value.encode() if value else None
