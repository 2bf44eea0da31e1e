"""The project imports, and lists the diffusers backend, without loading torch or diffusers."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import provenance.cli, provenance.record.recorder, provenance.record.reproduce
import provenance.backends.diffusers
from provenance.backends import BACKENDS
assert "diffusers" in BACKENDS
heavy = [m for m in ("torch", "diffusers", "transformers") if m in sys.modules]
assert not heavy, heavy
"""


def test_importing_the_project_loads_no_torch() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
