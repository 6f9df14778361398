"""The live parts of the overview: the alert feed and the headline counters.

Both read the alerts and data-health services; the page refreshes them (HTMX) when the live
stream (``/api/v1/stream``, Server-Sent Events) announces an alert transition.
"""

from __future__ import annotations

from typing import Any

from taydo.alerts.feed import feed_item
from taydo.alerts.service import list_alerts
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.datahealth import stale_count
from taydo.rules.choices import SEVERITIES
from taydo.web.i18n import N_

__all__ = ["FEED_SIZE", "STREAM_URL", "active_alerts", "counters", "feed"]

STREAM_URL = "/api/v1/stream"
FEED_SIZE = 30  # the feed never holds more items: a wall screen's page cannot grow


def _choices() -> dict[str, Any]:
    return {c.code: c for c in SEVERITIES}


def active_alerts(
    database: Database, principal: Principal, area: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Alerts not yet resolved that ``principal`` may see, newest first."""
    return list_alerts(database, principal, active=True, area=area, limit=limit)


def feed(database: Database, principal: Principal, area: str | None = None) -> list[dict[str, Any]]:
    """The newest active alerts, most recent first, at most FEED_SIZE."""
    return [feed_item(a) for a in active_alerts(database, principal, area, FEED_SIZE)]


def counters(database: Database, principal: Principal) -> list[dict[str, Any]]:
    """Headline numbers: active alerts by severity (most severe first), stale datasets."""
    severities = _choices()
    active = active_alerts(database, principal)
    by_severity: dict[str, int] = {}
    for alert in active:
        by_severity[alert.get("severity", "")] = by_severity.get(alert.get("severity", ""), 0) + 1
    out: list[dict[str, Any]] = [
        {
            "value": len(active),
            "label": N_("Cảnh báo đang hoạt động"),
            "label_en": "",
            "translate": True,
            "href": "/alerts",
            "css": "hot" if active else "",
        }
    ]
    for code, choice in sorted(severities.items(), key=lambda kv: -kv[1].rank):
        out.append(
            {
                "value": by_severity.get(code, 0),
                "label": choice.vi,
                "label_en": choice.en,
                "translate": False,
                "href": f"/alerts?severity={code}",
                "css": f"sev-{code}"
                + (" hot" if by_severity.get(code) and choice.rank >= 4 else ""),
            }
        )
    stale = stale_count(database, principal)
    if stale is not None:
        out.append(
            {
                "value": stale,
                "label": N_("Bộ dữ liệu quá hạn"),
                "label_en": "",
                "translate": True,
                "href": "/data",
                "css": "hot" if stale else "",
            }
        )
    return out
