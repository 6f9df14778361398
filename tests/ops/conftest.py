from __future__ import annotations

from tests.observations.conftest import MakeSeries, make_series, series_of

__all__ = ["MakeSeries", "make_series", "series_of"]
