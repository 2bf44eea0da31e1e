"""Creating a home: a signing identity and an empty ledger, all or nothing.

Example::

    from provenance.home.init import init_home
    from provenance.home.paths import Home

    made = init_home(Home(Path("./desk")), actor="photo desk <desk@example.org>")
    print(made.identity.subject, made.ledger_origin)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provenance.errors import IdentityExistsError, InputError
from provenance.home.files import ensure_private_dir
from provenance.home.identity import (
    Identity,
    create_local_identity,
    has_identity,
    import_identity,
)
from provenance.home.ledger import create_ledger, ledger_exists
from provenance.home.paths import Home

Passphrase = bytes | Callable[[], bytes] | None


class CertKeyPairError(InputError):
    """Only one of ``cert`` and ``key`` was given."""


@dataclass(frozen=True)
class HomeCreated:
    """What :func:`init_home` made: the identity, and the ledger's origin if one was created."""

    home: Home
    identity: Identity
    ledger_origin: str | None  # None: an existing ledger was kept


def init_home(
    home: Home,
    *,
    actor: str | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    passphrase: Passphrase = None,
    force: bool = False,
) -> HomeCreated:
    """Make ``home``'s identity (a local CA and signer, or ``cert``/``key`` brought by the user)
    and, unless one exists, its ledger and log key.

    ``passphrase`` encrypts the signer key; a callable is asked only once the checks passed (so a
    refused call never prompts). An existing identity is replaced only with ``force``. A failure
    while creating the ledger removes a freshly made identity, so the call can simply be repeated.
    """
    if has_identity(home) and not force:
        raise IdentityExistsError(home.identity_dir)
    if (cert is None) != (key is None):
        raise CertKeyPairError("cert, key: give both or neither")
    secret = passphrase() if callable(passphrase) else passphrase
    ensure_private_dir(home.root)
    fresh = not home.identity_dir.exists()
    if cert is not None and key is not None:
        ident = import_identity(home, cert, key, actor=actor, passphrase=secret, force=force)
    else:
        ident = create_local_identity(home, actor=actor, passphrase=secret, force=force)
    origin = None
    if not home.log_key.exists() and not ledger_exists(home):
        try:
            origin = create_ledger(home, passphrase=secret)  # the log key encrypted alike
        except BaseException:
            if fresh:
                shutil.rmtree(home.identity_dir, ignore_errors=True)
            raise
    return HomeCreated(home, ident, origin)
