"""The process's one background thread, for work that overlaps what its main thread does.

Native code that releases the GIL (hashlib, OpenCV, numpy, a file's fsync) submitted here runs
on a second core while the caller's own native work goes on: the recorder fingerprints an output
while it signs it, the verifier hashes a file while c2pa reads it. A caller always waits for what
it submitted before it moves on, so nothing here outlives the call that started it.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor


@functools.cache
def pool() -> ThreadPoolExecutor:
    """One worker per process (tasks never wait on one another, so one cannot deadlock)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="provenance-background")


# A forked child has no worker thread: it must start its own pool, not wait on the parent's.
os.register_at_fork(after_in_child=pool.cache_clear)
