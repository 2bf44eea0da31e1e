"""Only the trust anchors a file's certificates could chain to, handed to c2pa for that file.

c2pa's reader weighs a signer against every anchor it was given, again for every file: with the
~70 certificates of the bundled lists that is ~0.3 ms a file, a sixth of reading a small PNG.
An anchor can vouch for a file only if it *is* one of the certificates the file's store carries,
or if it issued one: its subject is that certificate's issuer (or its key identifier that
certificate's authority key identifier). So, from the third file a process reads under the
same lists on, each list is cut to the anchors that pass that test against every certificate
in the store (every manifest's chain and every time-stamp's, read from the file as c2pa will
read it), and c2pa gets those.

Narrowing can only take anchors away, so it can never make a file more trusted than the full
lists would; the match is looser than chain building (names compared case- and space-folded,
attribute order ignored; a subject or key-identifier match is enough), so an anchor that could
vouch is never left out. Where that cannot be said, the full lists are used: a container whose
store is not isolated here (only PNG, JPEG and WebP are), a store with no certificate, more
than :data:`MAX_CERTS`, or more than :data:`MAX_TRIED` things that look like one, or no anchor
matching (the file is then judged against everything, exactly as before). A list that keeps
any anchor keeps its name and its place, so c2pa names the same list that vouched.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from provenance.verify.signer_cert import STORE_FORMATS, store_certificates

if TYPE_CHECKING:
    from cryptography import x509

Lists = tuple[tuple[str, str, str], ...]  # (c2pa trust kind, name, PEM text), as TrustGroups

NARROW_AFTER = 2  # files read under the same lists before narrowing starts (a one-file run
# never parses the ~70 anchors in Python, which costs more than it would save)
MAX_CERTS = 64
MAX_TRIED = 1024  # certificate-sized SEQUENCEs parsed (real stores hold a few dozen at most)
_ALWAYS: tuple[str, object] = ("all", None)  # a key every certificate has


def narrowed(lists: Lists, data: bytes, mime: str) -> Lists | None:
    """``lists`` cut to the anchors ``data``'s certificates could chain to; None: use them all."""
    if mime not in STORE_FORMATS or not lists:
        return None
    index = _Index.of(lists)
    hits: set[int] = set()
    count = 0
    for tried, der in enumerate(store_certificates(data, mime)):
        if tried >= MAX_TRIED:  # a store stuffed with look-alikes: not parsed one by one
            return None
        keys = _cert_keys(der)
        if keys:
            count += 1
            if count > MAX_CERTS:
                return None
            for key in keys:
                hits.update(index.by_key.get(key, ()))
    return index.cut(frozenset(hits)) if hits else None


class _Index:
    """The anchors of a set of lists, found by what they match: their own DER, their subject,
    their key identifier (an anchor that does not parse matches every certificate)."""

    def __init__(self, lists: Lists) -> None:
        from cryptography import x509

        from provenance.verify.anchors import pem_blocks

        self.lists = lists
        self.blocks: list[tuple[int, str]] = []  # (list position, PEM), in the lists' order
        self.by_key: dict[tuple[str, object], list[int]] = {}
        for at, (_, _, pem) in enumerate(lists):
            for block in pem_blocks(pem.encode()):
                try:
                    cert = x509.load_pem_x509_certificate(block.encode())
                except ValueError:  # c2pa will refuse or ignore it either way: keep it
                    keys = [_ALWAYS]
                else:
                    keys = [("der", _der_digest(cert)), ("name", _name_key(cert.subject))]
                    ski = _key_id(cert, x509.SubjectKeyIdentifier)
                    keys += [("kid", ski)] if ski else []
                for key in keys:
                    self.by_key.setdefault(key, []).append(len(self.blocks))
                self.blocks.append((at, block))
        self.cut = functools.lru_cache(maxsize=64)(self._cut)  # the same answer, the same object

    def _cut(self, hits: frozenset[int]) -> Lists | None:
        kept: dict[int, list[str]] = {}
        for i in sorted(hits):
            at, block = self.blocks[i]
            kept.setdefault(at, []).append(block)
        out = tuple(
            (k, n, "".join(kept[at])) for at, (k, n, _) in enumerate(self.lists) if at in kept
        )
        return out or None

    @staticmethod
    @functools.lru_cache(maxsize=4)
    def of(lists: Lists) -> _Index:
        return _Index(lists)


@functools.lru_cache(maxsize=256)  # a batch's files share their signers' certificates
def _cert_keys(der: bytes) -> frozenset[tuple[str, object]]:
    """What an anchor must match to have issued, or be, this certificate; empty if it is not
    one. :data:`_ALWAYS` is in every set, so an anchor that could not be parsed always stays."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        keys: set[tuple[str, object]] = {
            _ALWAYS,
            ("der", _der_digest(cert)),
            ("name", _name_key(cert.issuer)),
            ("name", _name_key(cert.subject)),
        }
        aki = _key_id(cert, x509.AuthorityKeyIdentifier)
    except ValueError:
        return frozenset()
    if aki:
        keys.add(("kid", aki))
    return frozenset(keys)


def _der_digest(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives import hashes

    return cert.fingerprint(hashes.SHA256())


def _name_key(name: x509.Name) -> frozenset[tuple[str, str]]:
    """A name, compared loosely: attribute order, case and runs of spaces do not matter."""
    return frozenset(
        (a.oid.dotted_string, " ".join(_text(a.value).casefold().split())) for a in name
    )


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _key_id(cert: x509.Certificate, ext: type[x509.ExtensionType]) -> bytes | None:
    from cryptography import x509

    try:
        value = cert.extensions.get_extension_for_class(ext).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    if isinstance(value, x509.SubjectKeyIdentifier):
        return value.digest
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return value.key_identifier
    return None
