"""Opening the ledger of a ``PROVENANCE_HOME``: its database URL and its checkpoint key.

Example::

    from provenance.home.paths import home_from_env
    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env()) as ledger:
        print(ledger.size, ledger.origin)
"""

from __future__ import annotations

import hashlib
import shutil
import socket

from ledger import Ledger
from ledger.checkpoint import generate_log_key, key_from_pem, key_to_pem, verifier_key
from ledger.errors import LedgerNotFoundError
from provenance.errors import IdentityError
from provenance.home.identity import write_private, write_public
from provenance.home.paths import Home


def log_origin(public_raw: bytes) -> str:
    """A checkpoint origin unique to this log: host name plus a short hash of its key."""
    host = "".join(c for c in socket.gethostname().lower() if c.isalnum() or c in "-.") or "host"
    return f"provenance.local/{host}/{hashlib.sha256(public_raw).hexdigest()[:12]}"


def create_ledger(home: Home) -> str:
    """Make the log key and the ledger for ``home`` (``provenance init``); return the origin."""
    from cryptography.hazmat.primitives import serialization

    key = generate_log_key()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    origin = log_origin(raw)
    url = home.ledger_url()
    made_dir = url == f"sqlite:///{home.ledger_db}" and not home.ledger_db.parent.exists()
    if made_dir:
        home.ledger_db.parent.mkdir(parents=True)
    try:
        Ledger.create(url, origin=origin, log_key=key).close()
    except BaseException:
        if made_dir:  # leave nothing behind, so `provenance init` can simply be run again
            shutil.rmtree(home.ledger_db.parent, ignore_errors=True)
        raise
    write_private(home.log_key, key_to_pem(key))
    write_public(home.log_pub, (verifier_key(key, origin) + "\n").encode())
    return origin


def open_ledger(
    home: Home,
    *,
    read_only: bool = False,
    checkpoint_every: int | None = 1,
    tsa_url: str | None = None,
) -> Ledger:
    """Open ``home``'s ledger; with its log key unless ``read_only`` (then no checkpoints).

    By default a checkpoint is signed after every recorded call, so receipts and verification
    proofs are available at once (an Ed25519 signature costs ~0.1 ms). ``tsa_url`` (default:
    ``PROVENANCE_TSA_URL``) time-stamps those checkpoints too.
    """
    key = None
    if not read_only and home.log_key.exists():
        try:
            key = key_from_pem(home.log_key.read_bytes())
        except OSError as e:
            raise IdentityError(
                f"{home.log_key}: cannot read the ledger's log key ({e.strerror})"
            ) from e
    try:
        return Ledger.open(
            home.ledger_url(), log_key=key, checkpoint_every=checkpoint_every, tsa_url=tsa_url
        )
    except LedgerNotFoundError as e:
        raise LedgerNotFoundError(f"{e.diagnostics()}; run `provenance init` first") from e
