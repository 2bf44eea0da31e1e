"""A ``PROVENANCE_HOME``: where the identity, the log key, trust anchors and the ledger live.

Parts: ``paths`` (the files of a home, nothing read or created), ``identity`` (the signing
identity), ``ledger`` (opening the home's ledger and making its log key).
"""

from provenance.home.paths import Home, home_from_env

__all__ = ["Home", "home_from_env"]
