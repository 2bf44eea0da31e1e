"""The identity of a model's weights: a digest over its files, cached by size and mtime.

The digest is SHA-256 over ``"<sha256 hex>  <relative path>\\n"`` lines (``sha256sum`` format)
for every file, sorted by relative POSIX path. Hashing a 7 GB model takes a minute, so each file's
hash is cached under its absolute path with its size, mtime, change time and inode; a file whose
stat changed in any of them is hashed again (a write with the mtime put back still moves the change
time). ``provenance reproduce`` hashes without the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.errors import InputError

CHUNK = 1 << 20


@dataclass(frozen=True)
class WeightFile:
    path: str  # relative, POSIX
    sha256: str  # hex
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class WeightsDigest:
    digest: str  # "sha256:<hex>"
    files: tuple[WeightFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "files": [f.to_json() for f in self.files],
            "bytes": self.total_bytes,
        }


def model_files(model: Path) -> list[tuple[str, Path]]:
    """``(relative path, absolute path)`` of every file of a model folder or single checkpoint.

    Hidden entries (``.cache``, ``.git``, ``.DS_Store``) are skipped: tools write them beside
    the weights and they do not determine any pixel.
    """
    if model.is_file():
        return [(model.name, model.resolve())]
    if not model.is_dir():
        raise InputError(f"model {model}: no such folder or file")
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(model):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                p = Path(root) / name
                found.append((p.relative_to(model).as_posix(), p.resolve()))
    if not found:
        raise InputError(f"model {model}: the folder is empty")
    return sorted(found)


def digest_of(files: list[WeightFile]) -> str:
    lines = "".join(f"{f.sha256}  {f.path}\n" for f in sorted(files, key=lambda f: f.path))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


def weights_digest(model: Path, cache_file: Path | None = None) -> WeightsDigest:
    """The weights digest of ``model``; ``cache_file`` (JSON) skips files unchanged since hashed."""
    cache = _load_cache(cache_file)
    changed = False
    out: list[WeightFile] = []
    for rel, path in model_files(model):
        st = path.stat()
        key, stamp = str(path), _stamp(st)
        hit = cache.get(key)
        if hit and all(hit.get(k) == v for k, v in stamp.items()):
            sha = str(hit["sha256"])
        else:
            sha = _sha256_file(path)
            cache[key] = {**stamp, "sha256": sha}
            changed = True
        out.append(WeightFile(rel, sha, st.st_size))
    if cache_file is not None and changed:
        _save_cache(cache_file, cache)
    return WeightsDigest(digest_of(out), tuple(out))


def compare(recorded: dict[str, Any], now: WeightsDigest) -> list[str]:
    """What differs between a recorded ``to_json()`` and the weights now: one phrase per file."""
    before = {f["path"]: f["sha256"] for f in recorded.get("files", [])}
    after = {f.path: f.sha256 for f in now.files}
    problems = [f"{p} changed" for p in sorted(before) if p in after and after[p] != before[p]]
    problems += [f"{p} missing" for p in sorted(before) if p not in after]
    problems += [f"{p} added" for p in sorted(after) if p not in before]
    return problems


def _stamp(st: os.stat_result) -> dict[str, int]:
    """What must be unchanged for a cached hash to stand: size and mtime (which a copy or
    ``touch`` can put back), and the inode and change time (which nothing can put back)."""
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "ino": st.st_ino,
    }


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
    except OSError as e:
        raise InputError(f"model file {path}: cannot read ({e.strerror})") from e
    return h.hexdigest()


def _load_cache(cache_file: Path | None) -> dict[str, dict[str, Any]]:
    if cache_file is None:
        return {}
    try:
        data = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return {}  # a missing or damaged cache only costs a rehash
    return data if isinstance(data, dict) else {}


def _save_cache(cache_file: Path, cache: dict[str, dict[str, Any]]) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, sort_keys=True))
        os.replace(tmp, cache_file)  # atomic: a concurrent reader sees the old or the new cache
    except OSError:
        pass  # the cache is an optimisation; failing to write it must not fail the call
