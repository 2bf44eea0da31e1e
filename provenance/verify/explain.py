"""Plain-language explanations of C2PA validation status codes, for people at a desk.

Example::

    from provenance.verify.explain import explain_code
    explain_code("assertion.dataHash.mismatch")
    # 'the pixels (or other content) were changed after signing'
"""

from __future__ import annotations

_CODES: dict[str, str] = {
    # success
    "claimSignature.validated": "the signature over the claim is valid",
    "claimSignature.insideValidity": "the signing certificate was valid when the file was signed",
    "signingCredential.trusted": "the signer chains to a trusted certificate authority",
    "signingCredential.ocsp.notRevoked": "the signing certificate was not revoked",
    "timeStamp.trusted": "a trusted time-stamp authority vouches for the signing time",
    "timeStamp.validated": "the signing time-stamp is valid",
    "assertion.hashedURI.match": "a recorded statement is unchanged",
    "assertion.dataHash.match": "the content is unchanged since signing",
    "assertion.boxesHash.match": "the content is unchanged since signing",
    "assertion.bmffHash.match": "the content is unchanged since signing",
    "assertion.collectionHash.match": "the content is unchanged since signing",
    "ingredient.manifest.validated": "an ingredient's credentials are valid",
    "ingredient.claimSignature.validated": "an ingredient's signature is valid",
    # informational
    "signingCredential.ocsp.skipped": "the certificate revocation check was not done (offline)",
    "timeOfSigning.outsideValidity": "the signing time lies outside the certificate's validity",
    "timeStamp.untrusted": "the time-stamp authority is not trusted",
    # failure
    "assertion.dataHash.mismatch": "the pixels (or other content) were changed after signing",
    "assertion.boxesHash.mismatch": "the content was changed after signing",
    "assertion.bmffHash.mismatch": "the content was changed after signing",
    "assertion.collectionHash.mismatch": "the content was changed after signing",
    "assertion.hashedURI.mismatch": "a recorded statement (assertion) was altered after signing",
    "assertion.missing": "a statement the claim refers to is missing",
    "assertion.multipleHardBindings": "the file has conflicting content bindings",
    "assertion.undeclared": "the manifest contains a statement its claim does not declare",
    "assertion.inaccessible": "a statement the claim refers to cannot be read",
    "assertion.notRedacted": "a statement that should have been redacted is still there",
    "assertion.selfRedacted": "a statement redacts itself, which is not allowed",
    "assertion.action.ingredientMismatch": "an action names an ingredient that does not match",
    "assertion.action.malformed": "an edit action is malformed",
    "assertion.cbor.invalid": "a statement is not well-formed",
    "assertion.json.invalid": "a statement is not well-formed",
    "claim.missing": "the claim is missing",
    "claim.multiple": "there is more than one claim where one is allowed",
    "claim.hardBindings.missing": "nothing binds the credentials to the content",
    "claim.malformed": "the claim is malformed",
    "claimSignature.missing": "the claim has no signature",
    "claimSignature.mismatch": "the signature does not match the claim (it was altered or forged)",
    "claimSignature.outsideValidity": "the file was signed outside the certificate's validity period",
    "manifest.inaccessible": "the manifest cannot be read",
    "manifest.multipleParents": "the manifest names more than one parent",
    "manifest.update.invalid": "an update manifest is invalid",
    "manifest.update.wrongParents": "an update manifest has the wrong parents",
    "manifest.timestamp.invalid": "the manifest's time-stamp is invalid",
    "manifest.compressed.invalid": "the compressed manifest is invalid",
    "signingCredential.untrusted": "the signer is not on the trust list (the signature itself may be fine)",
    "signingCredential.invalid": "the signing certificate is not valid for signing content credentials",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.expired": "the signing certificate had expired and no trusted time-stamp proves it was signed in time",
    "signingCredential.ocsp.revoked": "the signing certificate was revoked",
    "signingCredential.ocsp.unknown": "the revocation status of the certificate is unknown",
    "timeStamp.mismatch": "the time-stamp does not match the signature",
    "timeStamp.outsideValidity": "the time-stamp lies outside its certificate's validity",
    "timeStamp.malformed": "the time-stamp is malformed",
    "ingredient.manifest.missing": "an ingredient's manifest is missing",
    "ingredient.manifest.mismatch": "an ingredient's manifest does not match what the claim recorded",
    "ingredient.claimSignature.missing": "an ingredient's signature is missing",
    "ingredient.claimSignature.mismatch": "an ingredient's signature does not match",
    "ingredient.hashedURI.mismatch": "an ingredient reference was altered",
    "algorithm.unsupported": "the file uses a signing or hashing algorithm that is not supported",
    "general.error": "the credentials could not be validated",
    "hashedURI.missing": "a referenced part of the manifest is missing",
    "hashedURI.mismatch": "a referenced part of the manifest was altered",
    "ingredient.unknownProvenance": "an ingredient has no credentials of its own (its origin is unknown)",
    "signingCredential.ocsp.inaccessible": "the revocation service could not be reached",
    "assertion.timestamp.malformed": "a time-stamp statement is malformed",
    # our own codes, for what c2pa does not check
    "provenance.ingredient.loop": "an ingredient refers back to a manifest already in the chain (a loop)",
}


def explain_code(code: str) -> str:
    """A plain-language reading of a C2PA status code (the code itself when unknown)."""
    if code in _CODES:
        return _CODES[code]
    if code.endswith(".mismatch"):
        return f"{code}: something was altered after signing"
    if code.endswith(".missing"):
        return f"{code}: something the credentials need is missing"
    return code


KNOWN_CODES = frozenset(_CODES)
