"""Citizen field reports (phản ánh hiện trường) over Open311 GeoReport v2: the service catalogue
and routing table as data, the report lifecycle, photos, the public form and the operators'
queue. Other domains use the counting functions below and the ``citizen.report.*`` bus events."""

from taydo.citizen.service import on_time_counts, satisfaction

__all__ = ["on_time_counts", "satisfaction"]
