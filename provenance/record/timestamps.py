"""The recorder's signer, and the one warning about signing without a time-stamp authority.

Without an RFC 3161 time-stamp, a signature stops validating for every C2PA validator once the
signer certificate expires (about three years after ``provenance init``); a time-stamp proves it
was made while the certificate was valid. Said once per process, on stderr.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from provenance.credentials import make_signer

if TYPE_CHECKING:
    import c2pa

    from provenance.home.identity import Identity

_warned = False


def signer_for(identity: Identity, tsa_url: str | None) -> c2pa.Signer:
    """A c2pa signer for ``identity``; without ``tsa_url``, a warning says until when it holds."""
    global _warned
    signer = make_signer(identity, tsa_url=tsa_url)
    if tsa_url is None and not _warned:
        _warned = True
        until = identity.certificate.not_valid_after_utc.date().isoformat()
        print(
            f"warning: signing without a time-stamp authority: the files signed now verify only "
            f"until {until}, when the signer certificate expires (set PROVENANCE_TSA_URL or "
            "pass a TSA to keep them valid)",
            file=sys.stderr,
        )
    return signer
