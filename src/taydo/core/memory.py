"""Giving memory back to the system once a burst is over.

A burst of requests leaves its cyclic garbage waiting for the collector's next full pass,
and the freed request bodies and parsed objects in the C allocator's
heaps (glibc keeps one per thread that allocated, up to eight per core) instead of returning
them: after an overload the process stayed at its peak. ``malloc_trim(0)`` hands the free
pages back. The admission middleware calls ``give_back`` on a worker thread when the server
goes quiet (no request in flight) after a burst (``TRIM_AFTER_BYTES`` of request bodies
admitted since the last time), at most every ``TRIM_EVERY_S``.

Elsewhere than glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable

__all__ = ["TRIM_AFTER_BYTES", "TRIM_EVERY_S", "give_back"]

log = logging.getLogger(__name__)

TRIM_EVERY_S = 5.0
# Only after a burst: a full collection costs tens of milliseconds on a large heap, not worth
# paying after every quiet moment of a lightly used server.
TRIM_AFTER_BYTES = 64 * 1024 * 1024


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def give_back() -> bool:
    """Collect cyclic garbage, then return the allocator's free pages to the system;
    False where the allocator cannot."""
    # A quiet server allocates little, so the collector's oldest generation would wait long
    # for its next pass, keeping the burst's cycles (exceptions, futures) until then.
    gc.collect()
    if _TRIM is None:
        return False
    try:
        _TRIM(0)
    except Exception:  # never let housekeeping fail a request
        log.exception("malloc_trim failed")
        return False
    return True
