"""Points accepted and refused per gateway since the server started (read by ``/metrics``).

The MQTT gateway keeps its own ``Stats``; this counts the doors that answer HTTP requests.
Plain counters bumped on the event loop: a scrape reads them, nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["GatewayCounts"]


@dataclass
class GatewayCounts:
    accepted: Counter[str] = field(default_factory=Counter)  # points stored (new)
    duplicates: Counter[str] = field(default_factory=Counter)  # points already stored
    rejected: Counter[str] = field(default_factory=Counter)  # items refused (quarantined)

    def add(self, gateway: str, *, accepted: int, duplicates: int, rejected: int) -> None:
        self.accepted[gateway] += accepted
        self.duplicates[gateway] += duplicates
        self.rejected[gateway] += rejected
