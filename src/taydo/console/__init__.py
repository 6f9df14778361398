"""The console: the cross-domain screens (overview, wall, areas, station page)."""
