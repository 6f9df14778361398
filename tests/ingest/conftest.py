from __future__ import annotations

# One helper for both domains' tests: an entity with metrics, returning their series ids.
from tests.observations.conftest import MakeSeries, make_series, series_of

__all__ = ["MakeSeries", "make_series", "series_of"]
