"""Words and colours of the station page: metric and type labels (from the catalog's one
label helper, ``taydo.catalog.service.labels``), VN_AQI band (Decision 1459/QĐ-TCMT) of a
value, and the display time zone named for people ("giờ Việt Nam (UTC+7)").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from taydo.catalog.service.labels import AQI_METRICS, Labels, labels_of
from taydo.rules.choices import AQI_BANDS, aqi_band
from taydo.web.i18n import N_

__all__ = [
    "AQI_METRICS",
    "Labels",
    "aqi_bands",
    "aqi_view",
    "labels_of",
    "zone_label",
]

# Zones named in words; any other zone is shown by its IANA name with its offset.
_ZONE_NAMES: dict[str, str] = {
    "Asia/Ho_Chi_Minh": N_("giờ Việt Nam"),
    "Asia/Saigon": N_("giờ Việt Nam"),
}


def _ink(colour: str) -> str:
    """Black or white text, whichever contrasts more with ``colour`` (WCAG luminance)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    # contrast with black (L+0.05)/0.05 against white 1.05/(L+0.05): equal at L ≈ 0.179
    return "#000000" if luminance > 0.179 else "#ffffff"


def aqi_view(value: float) -> dict[str, Any]:
    """The band of a VN_AQI value: code, names, official colour and a readable text colour."""
    band = aqi_band(value)
    return {
        "code": band.code,
        "vi": band.vi,
        "en": band.en,
        "colour": band.colour,
        "ink": _ink(band.colour),
    }


def aqi_bands() -> list[dict[str, Any]]:
    """The bands for the chart: lower and upper bound of each, its names and colour."""
    out: list[dict[str, Any]] = []
    lower = 0
    for upper, band in AQI_BANDS:
        out.append(
            {
                "code": band.code,
                "from": lower,
                "to": upper if upper < 10**9 else None,
                "vi": band.vi,
                "en": band.en,
                "colour": band.colour,
                "ink": _ink(band.colour),
            }
        )
        lower = upper
    return out


def zone_label(tz: ZoneInfo, now: datetime) -> tuple[str, str]:
    """(name msgid or IANA key, "UTC+7"): the zone a time is shown in, for people."""
    offset = now.astimezone(tz).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    text = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    return _ZONE_NAMES.get(tz.key, tz.key), text
