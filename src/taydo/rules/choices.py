"""Choice sets shared by the API, the console and reports: code, Vietnamese and English labels,
colour. Official scales keep their official colours (VN_AQI bands of Decision 1459/QĐ-TCMT,
disaster-risk levels of Decision 18/2021/QĐ-TTg)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = [
    "ALERT_STATES",
    "AQI_BANDS",
    "RISK_LEVELS",
    "SEVERITIES",
    "Choice",
    "aqi_band",
    "choice_sets",
    "severity_rank",
]


@dataclass(frozen=True, slots=True)
class Choice:
    code: str
    vi: str
    en: str
    colour: str
    rank: int = 0


SEVERITIES: tuple[Choice, ...] = (
    Choice("info", "Thông tin", "Information", "#2f80ed", 1),
    Choice("watch", "Theo dõi", "Watch", "#f2c94c", 2),
    Choice("warning", "Cảnh báo", "Warning", "#f2994a", 3),
    Choice("danger", "Nguy hiểm", "Danger", "#eb5757", 4),
    Choice("emergency", "Khẩn cấp", "Emergency", "#7e0023", 5),
)

ALERT_STATES: tuple[Choice, ...] = (
    Choice("firing", "Đang cảnh báo", "Firing", "#eb5757", 1),
    Choice("acknowledged", "Đã tiếp nhận", "Acknowledged", "#f2994a", 2),
    Choice("resolved", "Đã kết thúc", "Resolved", "#27ae60", 3),
)

# Decision 18/2021/QĐ-TTg art. 4(3): level 1 light blue, 2 light yellow, 3 orange, 4 red,
# 5 purple. The decision names the colours; the hex values are our rendering of those names.
RISK_LEVELS: tuple[Choice, ...] = (
    Choice("1", "Cấp độ 1 — rủi ro thấp", "Level 1 — low risk", "#9fd5f5", 1),
    Choice("2", "Cấp độ 2 — rủi ro trung bình", "Level 2 — medium risk", "#fff59d", 2),
    Choice("3", "Cấp độ 3 — rủi ro lớn", "Level 3 — high risk", "#ff9800", 3),
    Choice("4", "Cấp độ 4 — rủi ro rất lớn", "Level 4 — very high risk", "#f44336", 4),
    Choice("5", "Cấp độ 5 — thảm họa", "Level 5 — disaster", "#8e24aa", 5),
)

# Decision 1459/QĐ-TCMT, Table 1: AQI ranges and their official RGB colours.
AQI_BANDS: tuple[tuple[int, Choice], ...] = (
    (50, Choice("good", "Tốt", "Good", "#00e400", 1)),  # 0;228;0
    (100, Choice("moderate", "Trung bình", "Moderate", "#ffff00", 2)),  # 255;255;0
    (150, Choice("poor", "Kém", "Poor", "#ff7e00", 3)),  # 255;126;0
    (200, Choice("bad", "Xấu", "Bad", "#ff0000", 4)),  # 255;0;0
    (300, Choice("very_bad", "Rất xấu", "Very bad", "#8f3f97", 5)),  # 143;63;151
    (10**9, Choice("hazardous", "Nguy hại", "Hazardous", "#7e0023", 6)),  # 126;0;35
)

_SEVERITY_RANK = {choice.code: choice.rank for choice in SEVERITIES}


def severity_rank(code: str) -> int:
    return _SEVERITY_RANK.get(code, 0)


def aqi_band(aqi: float) -> Choice:
    for upper, choice in AQI_BANDS:
        if aqi <= upper:
            return choice
    return AQI_BANDS[-1][1]


def choice_sets() -> dict[str, list[dict[str, object]]]:
    """Every choice set, as the API serves it."""
    return {
        "severity": [asdict(c) for c in SEVERITIES],
        "state": [asdict(c) for c in ALERT_STATES],
        "risk_level": [asdict(c) for c in RISK_LEVELS],
        "aqi_band": [dict(asdict(c), upper=upper) for upper, c in AQI_BANDS],
    }
