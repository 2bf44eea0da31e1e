"""Witness policies in the C2SP tlog-policy text form, and the quorum check they define.

A checkpoint counts as witnessed only when it is signed by one of the policy's logs (if any are
listed) and carries valid ``cosignature/v1`` cosignatures from witnesses that satisfy the quorum.

Example::

    >>> from ledger.checkpoint import Checkpoint, generate_log_key, verifier_key
    >>> from ledger.witness.cosignature import cosign, witness_vkey
    >>> log, w1, w2 = generate_log_key(), generate_log_key(), generate_log_key()
    >>> policy = Policy.parse(
    ...     f"log {verifier_key(log, 'example.org/log')}\\n"
    ...     f"witness A {witness_vkey(w1, 'w1.example')}\\n"
    ...     f"witness B {witness_vkey(w2, 'w2.example')}\\n"
    ...     "group both all A B\\nquorum both\\n"
    ... )
    >>> note = Checkpoint("example.org/log", 7, bytes(32)).sign(log)
    >>> policy.evaluate(note + cosign(w1, "w1.example", note)).satisfied
    False
    >>> report = policy.evaluate(note + cosign(w1, "w1.example", note) + cosign(w2, "w2.example", note))
    >>> report.satisfied, sorted(report.cosigned), report.size
    (True, ['A', 'B'], 7)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ledger.checkpoint import Verifier, open_checkpoint, parse_checkpoint_body, parse_note
from ledger.errors import LedgerError
from ledger.witness.cosignature import CosignerKey
from ledger.witness.errors import PolicyError

NONE = "none"
_WS = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class PolicyLog:
    verifier: Verifier
    url: str | None = None

    @property
    def origin(self) -> str:
        return self.verifier.name


@dataclass(frozen=True)
class PolicyWitness:
    name: str
    key: CosignerKey
    url: str | None = None


@dataclass(frozen=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass
class QuorumReport:
    """What a checkpoint carries under a policy: who cosigned which size, and the verdict."""

    origin: str
    size: int
    root: bytes
    quorum: str
    log_verified: bool | None  # None: the policy lists no logs, so the log was not checked
    cosigned: dict[str, int] = field(default_factory=dict)  # witness name -> timestamp
    invalid: list[str] = field(default_factory=list)  # known witness, signature did not verify
    quorum_met: bool = False
    required: int = 0  # the fewest cosigning witnesses that can meet the quorum

    @property
    def satisfied(self) -> bool:
        return self.quorum_met and self.log_verified is not False and not self.invalid

    def to_dict(self) -> dict[str, object]:
        """For JSON reports: who cosigned which size, how many were required, the verdict."""
        return {
            "quorum": self.quorum,
            "required": self.required,
            "cosigned": sorted(self.cosigned),
            "size": self.size,
            "satisfied": self.satisfied,
            "summary": self.verdict(),
        }

    def verdict(self) -> str:
        """``witnessed: ...`` or ``not witnessed: N of M required cosigned ...``, one line."""
        names = ", ".join(sorted(self.cosigned)) or "none"
        if self.log_verified is False:
            return f"not witnessed: the witness policy lists no log {self.origin} that signed it"
        if self.invalid:
            return f"not witnessed: bad cosignature by {', '.join(sorted(self.invalid))}"
        head = "witnessed" if self.quorum_met else "not witnessed"
        return (
            f"{head}: {len(self.cosigned)} of {self.required} required cosigned size "
            f"{self.size} ({names}; quorum {self.quorum})"
        )

    def summary(self, n_witnesses: int) -> str:
        verdict = "met" if self.satisfied else "not met"
        names = ", ".join(sorted(self.cosigned)) or "none"
        return (
            f"{len(self.cosigned)} of {n_witnesses} witnesses cosigned {self.origin} at size "
            f"{self.size} ({names}); quorum {self.quorum}: {verdict}"
        )


def _check_chars(text: str) -> None:
    for n, c in enumerate(text):
        if (ord(c) < 0x20 and c not in "\t\n") or ord(c) == 0x7F:
            line = text.count("\n", 0, n) + 1
            raise PolicyError(f"policy line {line}: control character 0x{ord(c):02x}")


@dataclass
class Policy:
    logs: list[PolicyLog] = field(default_factory=list)
    witnesses: dict[str, PolicyWitness] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str | None = None

    @classmethod
    def parse(cls, text: str, *, require_quorum: bool = True) -> Policy:
        """Parse policy text; :class:`PolicyError` names the line and the problem."""
        _check_chars(text)
        policy = cls()
        for n, raw in enumerate(text.split("\n"), 1):
            line = raw.strip(" \t")
            if not line or line.startswith("#"):
                continue
            try:
                policy._line(_WS.split(line))
            except (PolicyError, LedgerError) as e:
                raise PolicyError(f"policy line {n}: {e}") from e
        if require_quorum and policy.quorum is None:
            raise PolicyError("policy: no quorum line (use `quorum none` to require no witnesses)")
        return policy

    def _line(self, tok: list[str]) -> None:
        kw, args = tok[0], tok[1:]
        if kw == "log" and len(args) in (1, 2):
            self._add_log(PolicyLog(Verifier.parse(args[0]), args[1] if len(args) == 2 else None))
        elif kw == "witness" and len(args) in (2, 3):
            key = CosignerKey.parse(args[1])
            self._add_witness(PolicyWitness(args[0], key, args[2] if len(args) == 3 else None))
        elif kw == "group" and len(args) >= 3:
            self._add_group(args[0], args[1], args[2:])
        elif kw == "quorum" and len(args) == 1:
            if self.quorum is not None:
                raise PolicyError("a second quorum line")
            if args[0] != NONE and not self._defined(args[0]):
                raise PolicyError(f"quorum {args[0]!r}: not defined on an earlier line")
            self.quorum = args[0]
        elif kw in ("log", "witness", "group", "quorum"):
            raise PolicyError(f"{kw}: wrong number of fields")
        else:
            raise PolicyError(f"unknown keyword {kw!r}")

    def _defined(self, name: str) -> bool:
        return name in self.witnesses or name in self.groups

    def _add_log(self, log: PolicyLog) -> None:
        raw = log.verifier.public.public_bytes_raw()
        if any(other.verifier.public.public_bytes_raw() == raw for other in self.logs):
            raise PolicyError(f"log {log.origin!r}: the same public key is listed twice")
        self.logs.append(log)

    def _add_witness(self, w: PolicyWitness) -> None:
        if w.name == NONE or self._defined(w.name):
            raise PolicyError(f"witness name {w.name!r}: reserved or already defined")
        if any(o.key.raw_public == w.key.raw_public for o in self.witnesses.values()):
            raise PolicyError(f"witness {w.name!r}: the same public key is listed twice")
        self.witnesses[w.name] = w

    def _add_group(self, name: str, k_text: str, members: list[str]) -> None:
        if name == NONE or self._defined(name):
            raise PolicyError(f"group name {name!r}: reserved or already defined")
        for m in members:
            if m == NONE or not self._defined(m):
                raise PolicyError(f"group {name!r}: member {m!r} is not defined on an earlier line")
        if len(set(members)) != len(members):
            raise PolicyError(f"group {name!r}: a member is listed twice")
        if k_text in ("all", "any"):
            k = len(members) if k_text == "all" else 1
        elif k_text.isdigit() and k_text.isascii() and 1 <= int(k_text) <= len(members):
            k = int(k_text)
        else:
            raise PolicyError(f"group {name!r}: threshold {k_text!r} must be all, any or 1..n")
        self.groups[name] = Group(name, k, tuple(members))

    def log_for(self, origin: str) -> list[PolicyLog]:
        return [log for log in self.logs if log.origin == origin]

    def witnessed(self, name: str, cosigned: set[str]) -> bool:
        """Whether witness or group ``name`` witnessed, given the witnesses that cosigned."""
        if name == NONE:
            return True
        if name in self.witnesses:
            return name in cosigned
        group = self.groups[name]
        return sum(self.witnessed(m, cosigned) for m in group.members) >= group.threshold

    def required(self, name: str | None = None) -> int:
        """The fewest witnesses whose cosignatures can meet ``name`` (default: the quorum)."""
        name = (self.quorum or NONE) if name is None else name
        if name == NONE:
            return 0
        if name in self.witnesses:
            return 1
        group = self.groups[name]
        return sum(sorted(self.required(m) for m in group.members)[: group.threshold])

    def evaluate(self, note: str) -> QuorumReport:
        """Check a checkpoint note with its cosignatures against this policy (never raises for
        bad signatures: they are reported; a malformed note raises :class:`MalformedNoteError`)."""
        body, _ = parse_note(note)
        cp = parse_checkpoint_body(body)
        report = QuorumReport(cp.origin, cp.size, cp.root, self.quorum or NONE, None)
        report.required = self.required()
        if self.logs:
            report.log_verified = any(
                self._log_signed(note, log) for log in self.log_for(cp.origin)
            )
        for w in self.witnesses.values():
            try:
                found = w.key.find(note)
            except LedgerError:
                report.invalid.append(w.name)
                continue
            if found:
                report.cosigned[w.name] = max(c.timestamp for c in found)
        report.quorum_met = self.witnessed(report.quorum, set(report.cosigned))
        return report

    @staticmethod
    def _log_signed(note: str, log: PolicyLog) -> bool:
        try:
            open_checkpoint(note, log.verifier)
        except LedgerError:
            return False
        return True
