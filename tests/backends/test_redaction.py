"""Issue 13: every configured secret is redacted wherever text leaves the process.

Before the fix only the exact key and ``sk-``-shaped strings were removed: a compatible server's
masked echo of a key of another shape, or an ``Authorization`` value, survived into messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance.backends.base import GenerateRequest
from provenance.backends.openai import OpenAIBackend
from provenance.cli import main
from provenance.errors import BackendAuthError, BackendError
from tests.openai_server import OpenAIServer

KEYS = [
    "ak_live_0123456789ABCDEFwxyz",  # a compatible provider's own shape
    "AIzaSyD-abcdefghijklmnopQRST",  # Google-style
    "0123456789abcdef0123456789abcdef",  # bare hex (Azure-style)
    "sk-proj-SECRETkey0123456789abcdefXYZ",  # OpenAI's own, still covered
]


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key="the-right-key-0000000000") as s:
        yield s


def _leaks(text: str, key: str) -> list[str]:
    pieces = [key, key[:6], key[-4:], key[:3] + "******" + key[-4:]]
    return [p for p in pieces if p in text]


@pytest.mark.parametrize("key", KEYS)
def test_masked_echo_of_any_key_shape_is_redacted(server: OpenAIServer, key: str) -> None:
    backend = OpenAIBackend(api_key=key, base_url=server.base_url, max_retries=0)
    with pytest.raises(BackendAuthError) as info:
        backend.generate(GenerateRequest(prompt="x", size="16x16"))
    assert "Incorrect API key" in str(info.value)
    assert _leaks(str(info.value), key) == []


HEADERS = [  # (what a proxy or compatible server echoes, the credential in it)
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("authorization=Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "eyJhbGciOiJIUzI1NiJ9.e30.abc"),
    ('{"Authorization": "Token 9f8e7d6c5b4a39281706"}', "9f8e7d6c5b4a39281706"),
    ("bearer ZZtop-session-cafebabe1234", "ZZtop-session-cafebabe1234"),
]


@pytest.mark.parametrize(("echo", "credential"), HEADERS)
def test_authorization_values_echoed_by_a_server_are_redacted(echo: str, credential: str) -> None:
    key = KEYS[0]
    with OpenAIServer(api_key=key) as s:
        backend = OpenAIBackend(api_key=key, base_url=s.base_url, max_retries=0)
        s.fail_next(400, message=f"bad request; headers were {echo}")
        with pytest.raises(BackendError) as info:
            backend.generate(GenerateRequest(prompt="x", size="16x16"))
    assert "[redacted]" in str(info.value) and credential not in str(info.value)


@pytest.mark.parametrize("key", KEYS)
def test_cli_error_line_never_shows_the_key(
    key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    home: object,
    tmp_path: Path,
) -> None:
    with OpenAIServer(api_key="the-right-key-0000000000") as s:
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_BASE_URL", s.base_url)
        code = main(
            ["generate", "a red circle", "--backend", "openai", "-o", str(tmp_path / "x.png")]
        )
    err = capsys.readouterr().err
    assert code == 4 and "Incorrect API key" in err
    assert _leaks(err, key) == []
