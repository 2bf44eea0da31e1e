"""Where things live: ``PROVENANCE_HOME`` and the ledger URL.

``PROVENANCE_HOME`` (default: the user's data directory) holds the signing identity, the ledger's
log key, extra trust anchors and the default SQLite ledger. ``PROVENANCE_LEDGER_URL`` points the
ledger at another database (any SQLAlchemy URL, e.g. ``postgresql+psycopg://host/db``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from provenance.vocab import ENV_ACTOR as ENV_ACTOR  # the names live in vocab; re-exported
from provenance.vocab import ENV_HOME as ENV_HOME
from provenance.vocab import ENV_KEY_PASSPHRASE as ENV_KEY_PASSPHRASE
from provenance.vocab import ENV_LEDGER_URL as ENV_LEDGER_URL


@dataclass(frozen=True)
class Home:
    """The files of one ``PROVENANCE_HOME``. Paths only; nothing is read or created here."""

    root: Path

    @property
    def identity_dir(self) -> Path:
        return self.root / "identity"

    @property
    def ca_cert(self) -> Path:
        """The local root CA certificate (PEM) made by ``provenance init``."""
        return self.identity_dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.identity_dir / "ca.key.pem"

    @property
    def signer_chain(self) -> Path:
        """Signer certificate followed by its issuers (PEM), as c2pa wants it."""
        return self.identity_dir / "signer.chain.pem"

    @property
    def signer_key(self) -> Path:
        """The signer's private key (PKCS#8 PEM, mode 0600, optionally encrypted)."""
        return self.identity_dir / "signer.key.pem"

    @property
    def identity_meta(self) -> Path:
        """JSON: how the identity was made (local CA or brought by the user), actor name."""
        return self.identity_dir / "identity.json"

    @property
    def log_key(self) -> Path:
        """The ledger's Ed25519 checkpoint-signing key (PKCS#8 PEM, mode 0600)."""
        return self.root / "ledger" / "log.key.pem"

    @property
    def log_signed(self) -> Path:
        """The log signer's memory: the last checkpoint this key signed (``ledger.signer_memory``),
        kept beside the key and outside the database."""
        return self.root / "ledger" / "log.signed"

    @property
    def log_pub(self) -> Path:
        """The ledger's public key in signed-note verifier-key form (one line)."""
        return self.root / "ledger" / "log.pub"

    @property
    def ledger_db(self) -> Path:
        return self.root / "ledger" / "ledger.db"

    @property
    def originals_dir(self) -> Path:
        """Content-addressed copies of every recorded output (``originals/ab/abcd...``), the
        pixels a stripped copy is confirmed against (``provenance.home.originals``)."""
        return self.root / "originals"

    @property
    def trust_dir(self) -> Path:
        """Extra trust-anchor PEM bundles that ``verify`` always uses."""
        return self.root / "trust"

    @property
    def tsa_trust_dir(self) -> Path:
        """Extra time-stamping authority anchors (PEM) whose time-stamps ``verify`` counts."""
        return self.root / "trust-tsa"

    def ledger_url(self) -> str:
        """``PROVENANCE_LEDGER_URL`` if set, else the SQLite file in this home."""
        url = os.environ.get(ENV_LEDGER_URL)
        if url:
            return url
        return f"sqlite:///{self.ledger_db}"


# The variables the answer depends on: a cached home is found again only while they hold.
_HOME_VARS = (ENV_HOME, "HOME", "XDG_DATA_HOME", "USERPROFILE")
_homes: dict[tuple[str | None, ...], Home] = {}


def home_from_env() -> Home:
    """The active home: ``$PROVENANCE_HOME`` or the platform's user data directory.

    Cached per value of the variables it reads (a ledger check asks once per file, and
    platformdirs' answer costs ~10 us).
    """
    key = tuple(os.environ.get(v) for v in _HOME_VARS)
    found = _homes.get(key)
    if found is None:
        found = _home_now()
        if len(_homes) >= 16:
            _homes.clear()
        _homes[key] = found
    return found


def _home_now() -> Home:
    root = os.environ.get(ENV_HOME)
    if root:
        return Home(Path(root).expanduser())
    import platformdirs  # here: ~7 ms of start-up that a set $PROVENANCE_HOME does not need

    return Home(Path(platformdirs.user_data_dir("provenance", appauthor=False)))
