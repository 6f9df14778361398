"""Loading a pack: each domain loads its own part of the pack's data files, in order.

The catalog comes first (agencies, datasets, types, stations), then what refers to it
(retention policies, rules, then alert routes). Every step is idempotent, so loading again
updates and never duplicates.
"""

from __future__ import annotations

from taydo.alerts.routing import load_routing
from taydo.catalog.service import load_pack as load_catalog
from taydo.citizen.service import load_catalogue
from taydo.core.db import Database
from taydo.core.plugins import Pack
from taydo.incidents.service import load_incidents_pack
from taydo.kpi.service import load_dti, load_kpis
from taydo.observations.policies import load_retention
from taydo.rules.service import load_rules

__all__ = ["load_pack"]


def load_pack(database: Database, pack: Pack) -> dict[str, int]:
    """Load every part of ``pack``; returns counts by kind (catalog counts, rules, routes)."""
    counts = dict(load_catalog(database, pack))
    counts["retention"] = load_retention(database, pack)
    counts["rules"] = load_rules(database, pack)
    counts["routes"] = load_routing(database, pack)
    counts["citizen_services"] = load_catalogue(database, pack)
    counts["incidents"] = load_incidents_pack(database, pack)
    counts["kpis"] = load_kpis(database, pack)
    counts["dti"] = load_dti(database, pack)
    return counts
