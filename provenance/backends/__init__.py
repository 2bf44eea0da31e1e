"""Image backends: where pixels come from. ``get_backend(name)`` returns one by name."""

from __future__ import annotations

from typing import Any

from provenance.backends.base import Backend
from provenance.errors import InputError

BACKENDS = ("local", "openai", "diffusers")


def get_backend(name: str, **kwargs: Any) -> Backend:
    """Return a backend instance by name: ``local`` (embedded default) or ``openai``."""
    if name == "local":
        from provenance.backends.local import LocalBackend

        return LocalBackend(**kwargs)
    if name == "openai":
        from provenance.backends.openai import OpenAIBackend

        return OpenAIBackend(**kwargs)
    if name == "diffusers":
        from provenance.backends.diffusers import DiffusersBackend

        return DiffusersBackend(**kwargs)
    raise InputError(f"backend {name!r}: unknown backend (choose one of: {', '.join(BACKENDS)})")
