"""Observations: the time-series store, rollups, series queries, latest values."""
