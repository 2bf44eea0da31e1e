"""A tiny diffusers model, built once per session and copied for each test that damages it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.diffusers.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture
def tiny_model(tiny_model_master: Path, tmp_path: Path) -> Path:
    """A private copy, so a test may damage its model without touching the others'."""
    dest = tmp_path / "models" / "tiny-sd"
    shutil.copytree(tiny_model_master, dest)
    return dest
