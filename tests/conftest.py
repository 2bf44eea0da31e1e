"""Shared fixtures: an initialised PROVENANCE_HOME, test assets, third-party C2PA files."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from provenance.home.paths import ENV_HOME, ENV_LEDGER_URL, Home

PG_URL = os.environ.get(
    "PROVENANCE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's real home, ledger, API key or passphrase."""
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "unset-home"))
    for var in (
        ENV_LEDGER_URL,
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "PROVENANCE_KEY_PASSPHRASE",
        "PROVENANCE_ACTOR",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """A PROVENANCE_HOME with a local identity and an empty SQLite ledger (`provenance init`)."""
    from provenance.home.identity import create_local_identity
    from provenance.home.ledger import create_ledger

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


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    from provenance.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def reports(out: str) -> list[dict[str, Any]]:
    """The JSON objects of a ``--json`` run, one per line."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]


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


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema, dropped afterwards; skips without a server."""
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:
        pytest.skip(
            f"no PostgreSQL at {PG_URL} ({type(e).__name__}); start one or set "
            "PROVENANCE_TEST_PG_URL=postgresql+psycopg://user@host:port/db"
        )
    schema = f"prov_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
