"""A witness's directory: its key, its public key, the logs it witnesses and its state.

Layout (``provenance witness init --dir D``)::

    D/witness.key     Ed25519 private key, PKCS#8 PEM, mode 0600
    D/witness.vkey    the public key as a cosignature/v1 vkey (its name is the witness name)
    D/logs.policy     one ``log <vkey> [<url>]`` line per log (C2SP tlog-policy syntax)
    D/state.sqlite    the latest cosigned tree per origin (see :mod:`ledger.witness.state`)

Example::

    >>> import tempfile, pathlib
    >>> from ledger.checkpoint import generate_log_key, verifier_key
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "w1"
    >>> init_witness(d, "witness.example/w1").startswith("witness.example/w1+")
    True
    >>> add_log(d, verifier_key(generate_log_key(), "example.org/log"))
    'example.org/log'
    >>> sorted(load_witness(d).logs)
    ['example.org/log']
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.checkpoint import Verifier, generate_log_key, key_from_pem, key_to_pem
from ledger.errors import LedgerError
from ledger.witness.cosignature import CosignerKey, check_key_name, witness_vkey
from ledger.witness.errors import WitnessConfigError
from ledger.witness.policy import Policy, PolicyLog
from ledger.witness.state import WitnessState
from ledger.witness.witness import Witness

KEY_FILE, VKEY_FILE, LOGS_FILE, STATE_FILE = (
    "witness.key",
    "witness.vkey",
    "logs.policy",
    "state.sqlite",
)
_LOGS_HEADER = "# Logs this witness cosigns: `log <vkey> [<url>]` (C2SP tlog-policy syntax).\n"


# The remedy, named as the library call; the CLI words it as its command (cli/messages.py).
NOT_INITIALISED = "make the witness directory with init_witness() first"


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def init_witness(directory: Path, name: str) -> str:
    """Create a witness with a fresh key; returns its vkey. Refuses a directory with a key."""
    try:
        check_key_name(name)
    except LedgerError as e:
        raise WitnessConfigError(f"witness name: {e}") from e
    if (directory / KEY_FILE).exists():
        raise WitnessConfigError(f"{directory / KEY_FILE}: a witness key already exists")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = generate_log_key()
    vkey = witness_vkey(key, name)
    _write_atomic(directory / KEY_FILE, key_to_pem(key), 0o600)
    _write_atomic(directory / VKEY_FILE, (vkey + "\n").encode())
    if not (directory / LOGS_FILE).exists():
        _write_atomic(directory / LOGS_FILE, _LOGS_HEADER.encode())
    WitnessState(directory / STATE_FILE)
    return vkey


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError as e:
        raise WitnessConfigError(f"{path}: missing; {NOT_INITIALISED}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise WitnessConfigError(f"{path}: unreadable ({e})") from e


def read_vkey(directory: Path) -> CosignerKey:
    try:
        return CosignerKey.parse(_read(directory / VKEY_FILE))
    except WitnessConfigError:
        raise
    except LedgerError as e:
        raise WitnessConfigError(f"{directory / VKEY_FILE}: {e}") from e


def list_logs(directory: Path) -> list[PolicyLog]:
    path = directory / LOGS_FILE
    try:
        policy = Policy.parse(_read(path), require_quorum=False)
    except WitnessConfigError:
        raise
    except LedgerError as e:
        raise WitnessConfigError(f"{path}: {e}") from e
    if policy.witnesses or policy.groups or policy.quorum:
        raise WitnessConfigError(f"{path}: only `log` lines belong here")
    return policy.logs


def add_log(directory: Path, vkey: str, url: str | None = None) -> str:
    """Add a log (its signed-note verifier key; its name is the origin); returns the origin."""
    try:
        verifier = Verifier.parse(vkey)
    except LedgerError as e:
        raise WitnessConfigError(f"log key: {e}") from e
    if url is not None and (not url or any(c.isspace() for c in url)):
        raise WitnessConfigError(f"log URL {url!r}: must be one word")
    logs = list_logs(directory)
    if any(log.verifier == verifier for log in logs):
        raise WitnessConfigError(f"log {verifier.name!r}: that key is already listed")
    text = _read(directory / LOGS_FILE)
    line = f"log {vkey.strip()}" + (f" {url}" if url else "") + "\n"
    text = text if not text or text.endswith("\n") else text + "\n"
    _write_atomic(directory / LOGS_FILE, (text + line).encode())
    return verifier.name


def load_witness(directory: Path) -> Witness:
    """The witness of ``directory``, ready to serve."""
    try:
        key = key_from_pem((directory / KEY_FILE).read_bytes())
    except FileNotFoundError as e:
        raise WitnessConfigError(f"{directory / KEY_FILE}: missing; {NOT_INITIALISED}") from e
    except LedgerError as e:
        raise WitnessConfigError(f"{directory / KEY_FILE}: {e}") from e
    public = read_vkey(directory)
    if public.vkey() != witness_vkey(key, public.name):
        raise WitnessConfigError(f"{directory / VKEY_FILE}: not the public key of {KEY_FILE}")
    logs: dict[str, list[Verifier]] = {}
    for log in list_logs(directory):
        logs.setdefault(log.origin, []).append(log.verifier)
    return Witness(key, public.name, logs, WitnessState(directory / STATE_FILE))
