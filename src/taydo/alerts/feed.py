"""An alert as the console's feed and the alerts pages show it (labels in both languages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["feed_item"]


def _ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    try:
        return int(datetime.fromisoformat(str(value)).timestamp() * 1000)
    except ValueError:
        return None


def _label(alert: dict[str, Any], key: str, language: str) -> str:
    label = alert.get(key)
    if isinstance(label, dict):
        return str(label.get(language) or label.get("vi") or "")
    return str(alert.get(key.removesuffix("_label"), ""))


# Titles stored before alert titles were written for people carried the engine's level code
# of a rate or an absence ("Mực nước lên nhanh: rate — Trạm …"); shown without it.
_LEVEL_CODES = {"rate": (": rate — ", " — "), "absence": (": absent — ", " — ")}


def _title(alert: dict[str, Any], key: str) -> str:
    title = str(alert.get(key) or "")
    found = _LEVEL_CODES.get(str(alert.get("kind") or ""))
    return title.replace(*found, 1) if found else title


def feed_item(alert: dict[str, Any]) -> dict[str, Any]:
    """One alert as the feed and the alerts pages show it (labels in both languages)."""
    return {
        **alert,
        "severity_text": _label(alert, "severity_label", "vi"),
        "severity_text_en": _label(alert, "severity_label", "en"),
        "state_text": _label(alert, "state_label", "vi"),
        "state_text_en": _label(alert, "state_label", "en"),
        "title": _title(alert, "title") or alert.get("rule", ""),
        "title_en": _title(alert, "title_en"),
        "started_ms": _ms(alert.get("started_at")),
        # Cleared by itself before anyone acknowledged it: the list keeps it until someone does.
        "unseen": alert.get("state") == "resolved"
        and alert.get("resolved_by") == "system"
        and not alert.get("acked_at"),
    }
