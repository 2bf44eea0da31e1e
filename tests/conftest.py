"""Shared fixtures: an initialised PROVENANCE_HOME, test assets, third-party C2PA files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from provenance.config import ENV_HOME, ENV_LEDGER_URL, Home

SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's real home, ledger, API key or passphrase."""
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "unset-home"))
    for var in (ENV_LEDGER_URL, "OPENAI_API_KEY", "OPENAI_BASE_URL", "PROVENANCE_KEY_PASSPHRASE",
                "PROVENANCE_ACTOR"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """A PROVENANCE_HOME with a local identity and an empty SQLite ledger (`provenance init`)."""
    from provenance.identity import create_local_identity
    from provenance.ledger_access import create_ledger

    h = Home(tmp_path / "home")
    monkeypatch.setenv(ENV_HOME, str(h.root))
    create_local_identity(h, actor="tester@example.org")
    create_ledger(h)
    yield h


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d


def png_bytes(size: tuple[int, int] = (256, 256), color: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def files_in(directory: Path) -> list[str]:
    """Every file below ``directory`` (temp files included), for 'nothing was written' checks."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


@pytest.fixture
def c2pa_fixtures() -> Path:
    d = SHARED_FIXTURES / "c2pa"
    if not d.is_dir():
        pytest.skip(f"third-party C2PA fixtures not found at {d}")
    return d


def pytest_report_header() -> str:
    return f"provenance tests; shared fixtures at {SHARED_FIXTURES} ({'found' if SHARED_FIXTURES.is_dir() else 'missing'})"


