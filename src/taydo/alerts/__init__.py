"""Alerts: episodes and their lifecycle, silences, notifications, the live stream and CAP."""
