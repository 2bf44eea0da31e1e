"""The trust lists the C2PA ecosystem uses, shipped with the package and used by default.

Example::

    from provenance.verify.trust_lists import default_anchors

    for anchor in default_anchors(home):
        print(anchor.source)   # "C2PA Trust List, issued 2026-08-05", "interim trust list ..."

The official C2PA Trust List (``trustlists/C2PA-TRUST-LIST.pem``, dated by its JSON's
``ListIssueDateTime``) and the frozen Interim Trust List used by Content Credentials Verify
(``trustlists/interim/anchors.pem``) are the default anchors; the C2PA TSA Trust List
(``trustlists/C2PA-TSA-TRUST-LIST.pem``) is the default list of time-stamping authorities. :func:`load_official_list` installs
a newer official list from downloaded files into the home (offline): the JSON's issue date must be
newer than the list in force, and every certificate must parse, before anything is replaced.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from provenance.errors import PolicyError
from provenance.home.paths import Home
from provenance.verify.anchors import TSA, Anchor, check_anchors, load_anchors

BUNDLED = Path(__file__).resolve().parent / "trustlists"
OFFICIAL_PEM = "C2PA-TRUST-LIST.pem"
OFFICIAL_JSON = "C2PA-TRUST-LIST.json"
TSA_PEM = "C2PA-TSA-TRUST-LIST.pem"
TSA_JSON = "C2PA-TSA-TRUST-LIST.json"
INTERIM_SOURCE = "interim trust list (legacy, frozen 2026-01-01)"


def issue_date(json_path: Path) -> str:
    """The list's ``ListIssueDateTime`` (ISO 8601), or a clear error naming the file."""
    try:
        data = json.loads(json_path.read_text())
        when = data["LoTE"]["ListAndSchemeInformation"]["ListIssueDateTime"]
    except OSError as e:
        raise PolicyError(f"{json_path}: cannot read the trust list ({e.strerror})") from e
    except (ValueError, KeyError, TypeError) as e:
        raise PolicyError(f"{json_path}: not a C2PA trust list (no LoTE ListIssueDateTime)") from e
    if not isinstance(when, str) or len(when) < 10:
        raise PolicyError(f"{json_path}: the trust list's issue date is not a date")
    return when


def official_dir(home: Home | None) -> Path:
    """Where the official list in force lives: the home's newer copy, else the bundled one."""
    if home is not None:
        loaded = home.root / "trust-lists"
        if (loaded / OFFICIAL_PEM).is_file() and (loaded / OFFICIAL_JSON).is_file():
            return loaded
    return BUNDLED


def default_anchors(home: Home | None) -> list[Anchor]:
    """The official list in force and the interim list, each anchor naming its source."""
    where = official_dir(home)
    return [*_official(where), *_interim()]


def default_tsa_anchors() -> list[Anchor]:
    """The C2PA TSA Trust List: the time-stamping authorities whose time-stamps count."""
    return list(_tsa_list())


@functools.cache
def _official(where: Path) -> tuple[Anchor, ...]:
    source = f"C2PA Trust List, issued {issue_date(where / OFFICIAL_JSON)[:10]}"
    return tuple(load_anchors(where / OFFICIAL_PEM, source=source))


@functools.cache
def _interim() -> tuple[Anchor, ...]:
    return tuple(load_anchors(BUNDLED / "interim" / "anchors.pem", source=INTERIM_SOURCE))


@functools.cache
def _tsa_list() -> tuple[Anchor, ...]:
    source = f"C2PA TSA Trust List, issued {issue_date(BUNDLED / TSA_JSON)[:10]}"
    return tuple(load_anchors(BUNDLED / TSA_PEM, kind=TSA, source=source))


def load_official_list(home: Home, pem: Path, json_path: Path) -> str:
    """Install a newer official list (PEM + its JSON) into ``home``; returns its issue date."""
    new = issue_date(json_path)
    current = issue_date(official_dir(home) / OFFICIAL_JSON)
    if new <= current:
        raise PolicyError(
            f"{json_path}: issued {new[:10]}, not newer than the list in force ({current[:10]})"
        )
    check_anchors(pem)  # every certificate parses, or nothing is replaced
    dest = home.root / "trust-lists"
    dest.mkdir(parents=True, exist_ok=True)
    for src, name in ((pem, OFFICIAL_PEM), (json_path, OFFICIAL_JSON)):
        tmp = dest / f".{name}.tmp"
        tmp.write_bytes(src.read_bytes())
        os.replace(tmp, dest / name)
    _official.cache_clear()
    return new
