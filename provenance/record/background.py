"""The recorder's one background thread, for work that overlaps what its main thread does.

Fingerprinting an output, the fsync of a directory: native code that releases the GIL, so on two
cores it runs beside the thumbnail, the signing or a file's own fsync. The caller always waits for
what it submitted before it moves on, so nothing here outlives the call that started it.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor


@functools.cache
def pool() -> ThreadPoolExecutor:
    """One worker per process (tasks never wait on one another, so one cannot deadlock)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="provenance-record")


# A forked child has no worker thread: it must start its own pool, not wait on the parent's.
os.register_at_fork(after_in_child=pool.cache_clear)
