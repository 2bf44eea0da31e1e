"""The one error family every caller catches.

Every failure a user can cause or meet is a :class:`ProvenanceError`. The ledger keeps its own
:class:`ledger.errors.LedgerError` (it never imports ``provenance``); :func:`ledger_failures`
maps it to :class:`LedgerFailure` where provenance calls the ledger. Messages name parameters,
not CLI flags: the CLI words typed errors as flags (``provenance.cli.messages``), prints one
line and exits with :attr:`exit_code`. Errors from dependencies are wrapped with ``raise ... from e``.

Exit codes (a contract: scripts rely on them):

====  ==========================================================
0     success; every verified file accepted by the policy
1     verification or a check ran and did not pass
2     bad input or usage: nothing was written
3     the backend refused the request (e.g. moderation)
4     the backend rejected our credentials (authentication/permission)
5     the backend is rate-limiting us
6     the backend failed or could not be reached (server error, timeout)
7     signing failed (identity, key or certificate problem)
====  ==========================================================
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXIT_OK = 0
EXIT_NOT_ACCEPTED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_AUTH = 4
EXIT_RATE_LIMITED = 5
EXIT_BACKEND = 6
EXIT_SIGNING = 7


class ProvenanceError(Exception):
    """Base of every error this library raises on purpose."""

    exit_code: int = EXIT_USAGE

    def diagnostics(self) -> str:
        """One line for a human: what went wrong and, where known, what to do."""
        return str(self)


class InputError(ProvenanceError):
    """A file, argument or instruction given by the user cannot be used."""


class IdentityError(ProvenanceError):
    """No usable signing identity (missing, unreadable, wrong passphrase, unsafe permissions)."""


class SigningError(ProvenanceError):
    """Building or signing content credentials failed."""

    exit_code = EXIT_SIGNING


class VerificationError(ProvenanceError):
    """A verification result was not acceptable to the policy (raised by the strict wrapper)."""

    exit_code = EXIT_NOT_ACCEPTED


class PolicyError(ProvenanceError):
    """A trust or publish policy is malformed or would accept everything without saying so."""


class BackendError(ProvenanceError):
    """The image backend failed; nothing was written and no success was recorded.

    ``code``, ``request_id``, ``status`` and ``retry_after`` carry what the provider said, where
    known, so a refusal can be recorded with its reason.
    """

    exit_code = EXIT_BACKEND

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        status: int | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id
        self.status = status
        self.retry_after = retry_after


class BackendRefusedError(BackendError):
    """The backend refused the request (e.g. a safety system blocked it)."""

    exit_code = EXIT_REFUSED


class BackendAuthError(BackendError):
    """The backend rejected the API key or the key lacks permission."""

    exit_code = EXIT_AUTH


class BackendRateLimitError(BackendError):
    """The backend is rate-limiting; retry later."""

    exit_code = EXIT_RATE_LIMITED


class BackendUnavailableError(BackendError):
    """Server error, timeout or connection failure at the backend."""

    exit_code = EXIT_BACKEND


class OutputExistsError(InputError):
    """An output file already exists and ``overwrite`` was not given; nothing was written."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: already exists; pass overwrite=True to replace it")
        self.path = path


class IdentityExistsError(IdentityError):
    """``home`` already holds a signing identity and ``force`` was not given."""

    def __init__(self, identity_dir: Path, note: str = "") -> None:
        super().__init__(
            f"{identity_dir}: an identity already exists; pass force=True to replace it{note}"
        )
        self.identity_dir = identity_dir
        self.note = note


class NoIdentityError(IdentityError):
    """``home`` holds no signing identity yet (make one with ``provenance.home.init.init_home``)."""

    def __init__(self, root: Path) -> None:
        super().__init__(
            f"no signing identity in {root}: create one with init_home() first "
            "(or set PROVENANCE_HOME to the folder that holds one)"
        )
        self.root = root


class LedgerFailure(ProvenanceError):
    """The ledger failed (cannot open, database error, integrity problem, unknown entry, ...).

    The ledger package keeps its own :class:`ledger.errors.LedgerError` (it never imports
    ``provenance``); :func:`ledger_failures` maps it to this at the boundary, raised ``from`` the
    original (``ledger_error``), with the same message and exit code.
    """

    def __init__(self, message: str, *, exit_code: int, ledger_error: Exception) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.ledger_error = ledger_error


class LedgerMissingError(LedgerFailure):
    """The home has no ledger yet (make one with ``provenance.home.init.init_home``)."""


@contextmanager
def ledger_failures() -> Iterator[None]:
    """Map a :class:`ledger.errors.LedgerError` raised inside the block to :class:`LedgerFailure`.

    Usable as a decorator too. ``ledger`` is imported only when something failed, so callers
    that never touch the ledger do not pay for loading it.
    """
    try:
        yield
    except ProvenanceError:
        raise
    except Exception as e:
        # If ledger.errors was never imported, no ledger error can have been raised: checked
        # without importing the ledger (and SQLAlchemy) for code that never opened one.
        errors = sys.modules.get("ledger.errors")
        if errors is None or not isinstance(e, errors.LedgerError):
            raise
        kind = LedgerMissingError if isinstance(e, errors.LedgerNotFoundError) else LedgerFailure
        raise kind(e.diagnostics(), exit_code=e.exit_code, ledger_error=e) from e


class NoLogKeyError(IdentityError):
    """The home has no ledger log key, which signing a checkpoint needs."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no log key at {path}: create the home with init_home() first")
        self.path = path


class NotLocalIdentityError(IdentityError):
    """Only a local identity (a CA made by ``init_home``) can rotate its signer here."""

    def __init__(self, identity_dir: Path) -> None:
        super().__init__(
            f"{identity_dir}: only a local identity made by init_home() can be rotated here; "
            "bring the new certificate with init_home(cert=..., key=..., force=True)"
        )
        self.identity_dir = identity_dir


class MissingAPIKeyError(InputError):
    """A backend needs an API key that is neither passed nor in the environment."""

    def __init__(self, variable: str, provider: str, backend: str) -> None:
        super().__init__(
            f"{variable} is not set: export your {provider} API key "
            f"(or pass api_key=...) to use the {backend} backend"
        )
        self.variable, self.provider, self.backend = variable, provider, backend


class UnsupportedParameterError(InputError):
    """A parameter the chosen backend cannot honour (refused rather than silently dropped)."""

    def __init__(self, param: str, backend: str, why: str) -> None:
        super().__init__(f"{param}: {why}; leave {param} out for the {backend} backend")
        self.param, self.backend, self.why = param, backend, why


class MaskRequiredError(InputError):
    """An edit operation works only inside a mask, and no mask was given."""

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"{operation} needs a mask (the mask parameter) marking the region to {operation}"
        )
        self.operation = operation
