"""Issue 13: a moderation refusal's message stays with the prompt, outside the Merkle leaf.

Providers' refusal messages may echo the prompt; in the leaf it could never be erased. Before
the fix the whole message was the leaf's ``reason``, so each echo below was in the leaf.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance.backends.openai import OpenAIBackend
from provenance.errors import BackendRefusedError
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from tests.openai_server import OpenAIServer

KEY = "sk-test-refusal-0123456789"
SECRET_PROMPT = "the private launch of Project Nightjar"
ECHOES = [
    f"Your request was rejected: '{SECRET_PROMPT}' violates the policy.",
    f"Blocked. Prompt: {SECRET_PROMPT}",
    f'{{"flagged": "{SECRET_PROMPT}"}}',
]


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY) as s:
        yield s


@pytest.mark.parametrize("echo", ECHOES)
def test_refusal_message_is_kept_with_the_prompt_and_erased_with_it(
    home: Home, workdir: Path, server: OpenAIServer, echo: str
) -> None:
    server.fail_next(400, "moderation_blocked", echo)
    backend = OpenAIBackend(api_key=KEY, base_url=server.base_url, max_retries=0)
    with Recorder(home, backend=backend) as rec, pytest.raises(BackendRefusedError):
        rec.generate(SECRET_PROMPT, workdir / "x.png")
    with open_ledger(home) as ledger:
        [entry] = list(ledger.iter_entries())
        assert entry.kind == "refusal"
        assert SECRET_PROMPT.encode() not in entry.leaf
        assert entry.body["reason"] == "openai refused the request (moderation_blocked)"
        secret = json.loads(ledger.secret(entry.id) or "{}")
        assert SECRET_PROMPT in secret["refusal"] and secret["prompt"] == SECRET_PROMPT
        ledger.erase_secret(entry.id, reason="request", actor="dpo@example.org")
        assert ledger.secret(entry.id) is None
        assert all(SECRET_PROMPT.encode() not in e.leaf for e in ledger.iter_entries())
