"""Incidents: coordinated work from an alert, citizen reports, correlation or by hand, with
standard operating procedures (SOPs), an SLA, a timeline, notifications and live pages."""

from taydo.incidents.service import incident_dict, list_incidents, on_time_counts

__all__ = ["incident_dict", "list_incidents", "on_time_counts"]
