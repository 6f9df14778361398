"""Counting what the server does, for the operators' metrics, without a metrics library.

The domains time their own work (the writer its commits, the rules engine its evaluations)
into a ``Timings``; the operations domain (``taydo.ops``) reads them when Prometheus scrapes
and turns them into histograms. So no domain depends on the exporter, and a scrape costs a
copy of a few counters, never a walk over data.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

__all__ = ["DEFAULT_BUCKETS_S", "Snapshot", "Timings"]

# Seconds: from a fast commit (~1 ms) to an overloaded request (~10 s).
DEFAULT_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Snapshot:
    """Cumulative counts per upper bound (the last bound is +Inf), and the sum."""

    buckets: tuple[tuple[float, int], ...]
    total: float
    count: int


class Timings:
    """A thread-safe histogram of durations in seconds (writer thread, event loop alike)."""

    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS_S) -> None:
        self._bounds = tuple(sorted(buckets))
        self._counts = [0] * (len(self._bounds) + 1)  # the last one: above every bound
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        index = bisect.bisect_left(self._bounds, seconds)
        with self._lock:
            self._counts[index] += 1
            self._sum += seconds

    def snapshot(self) -> Snapshot:
        with self._lock:
            counts = list(self._counts)
            total = self._sum
        cumulative: list[tuple[float, int]] = []
        running = 0
        for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return Snapshot(tuple(cumulative), total, running)
