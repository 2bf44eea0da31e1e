"""A home's witnesses, both sides: the witnesses this log submits its checkpoints to
(``<home>/ledger/witnesses``) and the witness policy its verifications enforce
(``--witness-policy FILE``, ``PROVENANCE_WITNESS_POLICY``, or ``<home>/trust/witness.policy``).

Both are C2SP tlog-policy text. The log's list holds only ``witness NAME VKEY URL`` lines;
the policy may add ``log``, ``group`` and must end in a ``quorum`` line.

Example::

    from provenance.home import home_from_env
    from provenance.home.witnesses import LogWitnesses, witness_policy

    LogWitnesses(home_from_env()).add("w1", "witness.example/w1+1a2b3c4d+BA...", "http://w1:7381")
    found = witness_policy(home_from_env())   # None: no policy, proofs need no cosignatures
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import InputError
from provenance.home.files import write_private
from provenance.home.paths import Home

if TYPE_CHECKING:  # the ledger package (SQLAlchemy) loads only when a list or policy is read
    from ledger.witness.client import WitnessEndpoint
    from ledger.witness.policy import Policy

ENV_WITNESS_POLICY = "PROVENANCE_WITNESS_POLICY"


def witnesses_file(home: Home) -> Path:
    return home.root / "ledger" / "witnesses"


def policy_file(home: Home) -> Path:
    return home.trust_dir / "witness.policy"


@dataclass(frozen=True)
class ListedWitness:
    label: str
    vkey: str
    url: str


class LogWitnesses:
    """The witnesses this home's log submits to: ``<home>/ledger/witnesses``."""

    def __init__(self, home: Home) -> None:
        self.path = witnesses_file(home)

    def _text(self) -> str:
        try:
            return self.path.read_text("utf-8")
        except FileNotFoundError:
            return ""
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{self.path}: cannot read the witness list ({e})") from e

    def endpoints(self) -> list[WitnessEndpoint]:
        """The witnesses to submit to; a malformed file is one clear error naming it."""
        from ledger.errors import LedgerError
        from ledger.witness.logside import parse_witness_list

        text = self._text()
        if not text.strip():
            return []
        try:
            return parse_witness_list(text, what=str(self.path))
        except LedgerError as e:
            raise InputError(str(e)) from e

    def all(self) -> list[ListedWitness]:
        self.endpoints()  # refuse a malformed file before listing it
        out = []
        for line in self._text().splitlines():
            tok = line.split()
            if len(tok) == 4 and tok[0] == "witness":
                out.append(ListedWitness(tok[1], tok[2], tok[3]))
        return out

    def add(self, label: str, vkey: str, url: str) -> ListedWitness:
        """Append a witness (checked: the whole list must still parse); nothing changes on error."""
        from ledger.errors import LedgerError
        from ledger.witness.logside import parse_witness_list

        if any(w.label == label for w in self.all()):
            raise InputError(f"witness {label!r}: already in {self.path} (remove it first)")
        text = self._text()
        new = text + ("" if not text or text.endswith("\n") else "\n")
        new += f"witness {label} {vkey.strip()} {url.strip()}\n"
        try:
            parse_witness_list(new, what=f"witness {label!r}")
        except LedgerError as e:
            raise InputError(str(e)) from e
        write_private(self.path, new.encode("utf-8"))
        return ListedWitness(label, vkey.strip(), url.strip())

    def remove(self, label: str) -> ListedWitness:
        found = [w for w in self.all() if w.label == label]
        if not found:
            raise InputError(f"witness {label!r}: not in {self.path}")
        kept = [
            line
            for line in self._text().splitlines(keepends=True)
            if line.split()[:2] != ["witness", label]
        ]
        write_private(self.path, "".join(kept).encode("utf-8"))
        return found[0]


_cache: dict[tuple[str, int], Policy] = {}


def read_policy(path: Path) -> Policy:
    """A witness policy file, parsed once per version of the file; errors name the file."""
    from ledger.errors import LedgerError
    from ledger.witness.policy import Policy

    try:
        stamp = (str(path), path.stat().st_mtime_ns)
        if stamp not in _cache:
            _cache[stamp] = Policy.parse(path.read_text("utf-8"))
        return _cache[stamp]
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the witness policy ({e})") from e
    except LedgerError as e:
        raise InputError(f"{path}: {e}") from e


def witness_policy(home: Home) -> tuple[Policy, Path] | None:
    """The policy verification enforces: ``$PROVENANCE_WITNESS_POLICY`` (what
    ``--witness-policy`` sets), else ``<home>/trust/witness.policy`` if present, else None."""
    named = os.environ.get(ENV_WITNESS_POLICY)
    if named:
        return read_policy(Path(named)), Path(named)
    path = _policy_paths.get(home)
    if path is None:  # a ledger check asks once per file: the path is worked out once
        if len(_policy_paths) >= 16:
            _policy_paths.clear()
        path = _policy_paths[home] = policy_file(home)
    if not os.path.exists(path):  # still looked for every time: one added since counts
        return None
    return read_policy(path), path


_policy_paths: dict[Home, Path] = {}
