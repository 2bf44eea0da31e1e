"""Shared fixtures: an initialised PROVENANCE_HOME, test assets, third-party C2PA files.

Nothing here skips silently: with ``CI=true`` a missing service (PostgreSQL, Chromium) fails the
test, elsewhere it skips with a message saying how to get it. Test files live in
``tests/assets/`` and are reached through :func:`asset`, which fails when one is missing.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from provenance.home.paths import ENV_HOME, ENV_LEDGER_URL, Home

PG_URL = os.environ.get(
    "PROVENANCE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ASSETS = Path(__file__).resolve().parent / "assets"


def in_ci() -> bool:
    """CI sets ``CI=true``; there every service the tests need must be present."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def service_missing(message: str) -> NoReturn:
    """Skip for lack of a service, or fail under CI, where a skip would hide untested code."""
    if in_ci():
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def asset(name: str) -> Path:
    """The path of a file in ``tests/assets/``; fails (never skips) when it is not there."""
    path = ASSETS / name
    if not path.exists():
        pytest.fail(f"test asset {name} not found under {ASSETS}", pytrace=False)
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's real home, ledger, API key or passphrase."""
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "unset-home"))
    # the verifier's memory of checkpoints seen: per test, never the developer's own
    monkeypatch.setenv("PROVENANCE_STATE_DIR", str(tmp_path / "verifier-state"))
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


@pytest.fixture(name="asset")
def asset_fixture() -> Callable[[str], Path]:
    """``asset("c2pa/test-trust-anchors.pem")``: a path under ``tests/assets/``."""
    return asset


@pytest.fixture
def c2pa_fixtures() -> Path:
    """The public C2PA test files and their anchors (``tests/assets/c2pa``)."""
    return asset("c2pa")


def pytest_report_header() -> str:
    return f"provenance tests; assets at {ASSETS}; CI={'true' if in_ci() else 'false'} (missing services {'fail' if in_ci() else 'skip'})"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema, dropped afterwards; skips without a server."""
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:
        service_missing(
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI, a test that needs a service and skipped anyway (whatever skipped it) fails."""
    report = yield
    needs_service = any(item.get_closest_marker(m) is not None for m in _SERVICE_MARKERS)
    expected_failure = hasattr(report, "wasxfail")  # xfail reports as skipped; it is no skip
    if in_ci() and report.skipped and needs_service and not expected_failure:
        report.outcome = "failed"
        report.longrepr = (
            f"CI=true and a test marked {'/'.join(_SERVICE_MARKERS)} skipped: {report.longrepr}"
        )
    return report


_SERVICE_MARKERS = ("postgres", "browser")
