"""Directives (chỉ đạo, giao nhiệm vụ): a leader assigns a task to agencies with a deadline;
each agency acknowledges, reports progress and completion with evidence; the leader accepts
or returns it; overdue parts are flagged and reminded; each agency's on-time rate is kept."""

from taydo.directives.service import list_directives, on_time_counts

__all__ = ["list_directives", "on_time_counts"]
