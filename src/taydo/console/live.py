"""The live parts of the overview: the alert feed and the headline counters.

Both read the alerts and data-health services; the page refreshes them (HTMX) when the live
stream (``/api/v1/stream``, Server-Sent Events) announces an alert transition.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from taydo.alerts.feed import feed_item
from taydo.alerts.service import list_alerts
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.ingest.datahealth import stale_count
from taydo.rules.choices import SEVERITIES, severity_rank
from taydo.web.i18n import N_

__all__ = [
    "FEED_SIZE",
    "STREAM_URL",
    "active_alerts",
    "counters",
    "feed",
    "sector_counters",
    "wall_clock",
    "wall_feed",
]

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


# ---------------------------------------------------------------- the wall (issue 16, item 2)

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def wall_clock(moment: datetime, tz: tzinfo, locale: str = "vi") -> str:
    """The wall's clock: "Thứ Năm, 03/12/2026 15:42" in the display time zone (js/wall.js
    writes the same text each second)."""
    local = moment.astimezone(tz)
    names = WEEKDAYS_EN if locale == "en" else WEEKDAYS
    return f"{names[local.weekday()]}, {local:%d/%m/%Y %H:%M}"


def _wall_item(alert: dict[str, Any]) -> dict[str, Any]:
    return {**feed_item(alert), "rank": severity_rank(str(alert.get("severity", "")))}


def wall_feed(
    database: Database, principal: Principal, area: str | None = None
) -> list[dict[str, Any]]:
    """The wall's alert cards: the most severe first, the newest first within a severity, at
    most FEED_SIZE."""
    items = [_wall_item(a) for a in active_alerts(database, principal, area)]
    items.sort(key=lambda a: (-a["rank"], -(a["started_ms"] or 0), -int(a.get("id") or 0)))
    return items[:FEED_SIZE]


def sector_counters(
    database: Database, principal: Principal, names: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    """Active alerts per sector, most first; ``names`` maps a sector's code to its (vi, en)
    name. An alert with no sector counts under "Khác" (other)."""
    by_sector: dict[str, list[dict[str, Any]]] = {}
    for alert in active_alerts(database, principal):
        by_sector.setdefault(str(alert.get("sector") or ""), []).append(alert)
    out: list[dict[str, Any]] = []
    for code, alerts in by_sector.items():
        worst = max(alerts, key=lambda a: severity_rank(str(a.get("severity", ""))))
        vi, en = names.get(code) or ((code, code) if code else ("Khác", "Other"))
        out.append(
            {
                "code": code,
                "value": len(alerts),
                "label": vi,
                "label_en": en,
                "href": f"/alerts?sector={code}" if code else "/alerts",
                "worst": str(worst.get("severity", "")),
            }
        )
    out.sort(key=lambda c: (-c["value"], c["label"]))
    return out
