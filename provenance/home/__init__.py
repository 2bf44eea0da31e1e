"""A ``PROVENANCE_HOME``: where the identity, the log key, trust anchors and the ledger live.

Parts: ``paths`` (the files of a home, nothing read or created), ``init`` (``init_home``:
identity and ledger, all or nothing), ``identity`` and ``certs`` (the signing identity),
``ledger`` (finding, opening and creating the home's ledger), ``files`` (atomic writes) and
``actor`` (the default actor and its pseudonym).
"""

from provenance.home.paths import Home, home_from_env

__all__ = ["Home", "home_from_env"]
