"""How the CLI words library errors: the library speaks of parameters, the CLI of flags/commands.

Example::

    >>> from pathlib import Path
    >>> from provenance.errors import OutputExistsError
    >>> cli_message(OutputExistsError(Path("out.png")))
    'out.png: already exists; use --force to overwrite it'
"""

from __future__ import annotations

import sys

from provenance.errors import (
    IdentityExistsError,
    LedgerMissingError,
    MaskRequiredError,
    MissingAPIKeyError,
    NoIdentityError,
    NoLogKeyError,
    NotLocalIdentityError,
    OutputExistsError,
    ProvenanceError,
    UnsupportedParameterError,
)

_INIT = "run `provenance init` first"


def cli_message(e: ProvenanceError) -> str:
    """The one line the CLI prints for ``e`` (after ``provenance: error: ``)."""
    from provenance.home.init import CertKeyPairError

    if isinstance(e, OutputExistsError):
        return f"{e.path}: already exists; use --force to overwrite it"
    if isinstance(e, IdentityExistsError):
        return f"{e.identity_dir}: an identity already exists; use --force to replace it{e.note}"
    if isinstance(e, NoIdentityError):
        return (
            f"no signing identity in {e.root}: {_INIT} "
            "(or set PROVENANCE_HOME to the folder that holds one)"
        )
    if isinstance(e, NoLogKeyError):
        return f"no log key at {e.path}: {_INIT}"
    if isinstance(e, NotLocalIdentityError):
        return (
            f"{e.identity_dir}: only a local identity made by `provenance init` can be rotated "
            "here; bring the new certificate with `provenance init --cert ... --key ... --force`"
        )
    if isinstance(e, MissingAPIKeyError):
        return (
            f"{e.variable} is not set: export your {e.provider} API key "
            f"(or pass api_key=...) to use --backend {e.backend}"
        )
    if isinstance(e, UnsupportedParameterError):
        return f"{e.param}: {e.why}; leave --{e.param} out with --backend {e.backend}"
    if isinstance(e, MaskRequiredError):
        return f"{e.operation} needs a mask (--mask) marking the region to {e.operation}"
    if isinstance(e, CertKeyPairError):
        return "--cert and --key go together"
    message = e.diagnostics()
    if "(Ledger.adopt_checkpoint)" in message:  # the signer's memory is missing
        return message.replace(
            "(Ledger.adopt_checkpoint)", "with `provenance ledger adopt-checkpoint`"
        )
    if isinstance(e, LedgerMissingError) and "provenance init" not in message:
        return f"{message}; {_INIT}"
    return _ledger_words(message)


def _ledger_words(message: str) -> str:
    """The ledger names its own calls as remedies (it knows no CLI): say our commands instead."""
    errors = sys.modules.get("ledger.errors")
    if errors is None:  # never loaded (nor SQLAlchemy loaded for it): no ledger words in here
        return message
    words = {
        errors.AUDIT_REMEDY: "run `provenance ledger audit`",
        errors.CHECKPOINT_REMEDY: "run `provenance ledger checkpoint`",
    }
    witness = sys.modules.get("ledger.witness.home")
    if witness is not None:
        words[witness.NOT_INITIALISED] = "run `provenance witness init` first"
    for library, cli in words.items():
        message = message.replace(library, cli)
    return message
