"""The ledger's shape: no import cycles inside it, never an import of ``provenance``."""

from __future__ import annotations

import grimp


def test_ledger_has_no_import_cycles_and_never_imports_provenance() -> None:
    graph = grimp.build_graph("ledger", "provenance")
    mods = sorted(m for m in graph.modules if m == "ledger" or m.startswith("ledger."))
    cycles = [
        (a, b)
        for i, a in enumerate(mods)
        for b in mods[i + 1 :]
        if graph.chain_exists(a, b) and graph.chain_exists(b, a)
    ]
    assert cycles == []
    assert not graph.chain_exists("ledger", "provenance", as_packages=True)
