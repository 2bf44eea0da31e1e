"""The project's words, defined once: verdicts, our assertion labels, the digital source types that
mean AI, the entry kinds that record a file, and the environment variables.

Example::

    from provenance.vocab import Verdict, is_ai_source_type

    Verdict("trusted") is Verdict.TRUSTED                                 # True
    is_ai_source_type("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")

Imports nothing, so the CLI's start-up and the ledger-free paths pay nothing for it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Verdict(StrEnum):
    """What verification concludes about one file (DESIGN.md); serialises as its value."""

    TRUSTED = "trusted"
    VALID_UNTRUSTED = "valid_untrusted"
    INVALID = "invalid"
    NO_CREDENTIALS = "no_credentials"
    RECOVERED = "recovered"
    ERROR = "error"


VERDICTS: Final[tuple[str, ...]] = tuple(v.value for v in Verdict)

# -- manifest assertions of our own ---------------------------------------------------------------
# Names the ledger entry that records a file: {origin, entry}.
LEDGER_ASSERTION: Final = "org.provenance.ledger"
# The latent disclosure (SB 942): {backend, model, operation, time, id, provider, prompt_hash}.
REQUEST_ASSERTION: Final = "org.provenance.request"

# -- digital source types --------------------------------------------------------------------------
IPTC_SOURCE_TYPE_PREFIX: Final = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# The (short) digital source types that disclose AI-made or AI-edited content: the IPTC terms for
# media from a trained model, alone or in a composite, and C2PA's term for data from one.
AI_SOURCE_TYPES: Final = frozenset(
    {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "compositeSynthetic",
        "trainedAlgorithmicData",
    }
)


def short_source_type(dst: str) -> str:
    """The term without its vocabulary URL (``.../trainedAlgorithmicMedia`` -> the last part)."""
    return dst.rsplit("/", 1)[-1]


def is_ai_source_type(dst: str) -> bool:
    """Whether a digital source type (URL or short term) says a trained model made the content."""
    return short_source_type(dst) in AI_SOURCE_TYPES


# -- ledger entry kinds ----------------------------------------------------------------------------
# The kinds whose entries record a file (an output with its hash); reviews, refusals and erasures
# are about other entries.
ASSET_KINDS: Final = ("generate", "edit", "import")

# -- environment variables -------------------------------------------------------------------------
ENV_HOME: Final = "PROVENANCE_HOME"
ENV_LEDGER_URL: Final = "PROVENANCE_LEDGER_URL"
ENV_ACTOR: Final = "PROVENANCE_ACTOR"
ENV_KEY_PASSPHRASE: Final = "PROVENANCE_KEY_PASSPHRASE"
ENV_TSA_URL: Final = "PROVENANCE_TSA_URL"  # the ledger reads the same name (ledger.timestamp)
ENV_MAX_PIXELS: Final = "PROVENANCE_MAX_PIXELS"
ENV_STATE_DIR: Final = "PROVENANCE_STATE_DIR"  # the verifier's memory of checkpoints seen
ENV_OPENAI_MODEL: Final = "PROVENANCE_OPENAI_MODEL"  # the OpenAI backend's default model
ENV_ORIGINALS: Final = "PROVENANCE_ORIGINALS"  # "off": the recorder keeps no copies of outputs
ENV_ORIGINALS_BUDGET: Final = "PROVENANCE_ORIGINALS_BUDGET"  # the store's size limit, e.g. 5G
