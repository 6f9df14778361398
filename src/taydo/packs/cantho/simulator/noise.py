"""Deterministic noise: the same (seed, key, time) always gives the same number.

No random-number generator state is kept anywhere, so a value at any instant can be computed
alone (live, backfill and tests agree), and two runs with the same seed are identical.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache

__all__ = ["gauss", "key_of", "smooth", "uniform"]

_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@lru_cache(maxsize=4096)
def key_of(seed: int, *parts: str) -> int:
    """A 64-bit key for one noise stream (e.g. seed, station id, metric, purpose)."""
    text = "|".join((str(seed), *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def uniform(key: int, n: int) -> float:
    """A number in [0, 1) for step ``n`` of stream ``key``."""
    return _mix(key ^ _mix(n & _MASK)) / 18446744073709551616.0


def gauss(key: int, n: int) -> float:
    """A standard normal number for step ``n`` of stream ``key`` (Box–Muller)."""
    u1 = uniform(key, 2 * n) or 1e-12
    u2 = uniform(key, 2 * n + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def smooth(key: int, t_s: float, period_s: float) -> float:
    """Slowly varying noise in [-1, 1]: random knots every ``period_s`` seconds joined by
    cosine interpolation, so neighbouring samples differ only a little (weather, wind set-up)."""
    x = t_s / period_s
    n = math.floor(x)
    frac = x - n
    a = 2.0 * uniform(key, n) - 1.0
    b = 2.0 * uniform(key, n + 1) - 1.0
    w = (1.0 - math.cos(math.pi * frac)) / 2.0
    return a + (b - a) * w
