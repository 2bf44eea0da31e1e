"""The one error family every caller catches.

Every failure a user can cause or meet is a :class:`ProvenanceError`; the CLI catches only this
base (and the ledger's own :class:`ledger.LedgerError`), prints :meth:`diagnostics` on one line and
exits with :attr:`exit_code`. Errors from dependencies are always wrapped with ``raise ... from e``.

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
