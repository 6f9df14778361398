from __future__ import annotations

from datetime import timedelta

# One helper for both domains' tests: an entity with metrics, returning their series ids.
from tests.observations.conftest import MakeSeries, make_series, series_of

__all__ = ["PARSER_DEADLINE", "REQUEST_DEADLINE", "MakeSeries", "make_series", "series_of"]

# Hypothesis deadlines for the parser fuzz tests: far above what one example takes on a
# loaded 2-core CI machine (so never flaky), far below the seconds a parser stuck on a
# hostile input would take (the zip bomb took 37 s). A pure parser call, and an HTTP round
# trip with its commit.
PARSER_DEADLINE = timedelta(seconds=3)
REQUEST_DEADLINE = timedelta(seconds=10)
