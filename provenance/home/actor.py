"""Who records: the default actor name and the pseudonym given to providers in its place."""

from __future__ import annotations

from provenance.home.files import write_private
from provenance.home.paths import Home
from provenance.media.hashing import new_salt, salted_hash


def default_actor() -> str:
    """``user@host``, for a home made without an explicit actor."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "user"
    return f"{user}@{socket.gethostname()}"


def actor_pseudonym(home: Home, actor: str) -> str:
    """A stable pseudonym for ``actor``: HMAC-SHA256 under this home's secret actor salt."""
    path = home.identity_dir / "actor.salt"
    if not path.exists():
        write_private(path, new_salt().encode())
    return salted_hash(path.read_text().strip(), actor).removeprefix("sha256:")[:32]
