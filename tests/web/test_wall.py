"""The wall's data (issue 16, item 2): its clock text, the alert cards by severity then time,
the counters per sector. The wall itself, in Chromium, is ``test_wall_browser.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from taydo.console.live import sector_counters, wall_clock, wall_feed
from taydo.core.access import Principal

OPERATOR = Principal("op", "operator")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_clock_is_written_in_vietnamese_in_the_display_zone() -> None:
    moment = datetime(2026, 12, 3, 8, 42, 59, tzinfo=UTC)  # 15:42 in Vietnam
    assert wall_clock(moment, VIETNAM) == "Thứ Năm, 03/12/2026 15:42"
    assert wall_clock(moment, VIETNAM, "en") == "Thursday, 03/12/2026 15:42"
    assert wall_clock(moment, ZoneInfo("UTC")) == "Thứ Năm, 03/12/2026 08:42"
    late = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)  # Sunday 00:00 in Vietnam
    assert wall_clock(late, VIETNAM) == "Chủ Nhật, 06/12/2026 00:00"


def test_cards_go_by_severity_then_newest_and_sectors_are_counted(  # type: ignore[no-untyped-def]
    database, stations, open_alert
) -> None:
    watch = open_alert("urn:ngsi-ld:WaterObserved:quiet", "watch")
    danger = open_alert("urn:ngsi-ld:WaterObserved:can-tho", "danger")
    newer_watch = open_alert("urn:ngsi-ld:WaterObserved:cai-rang", "watch", "SXD")
    cards = wall_feed(database, OPERATOR)
    assert [c["id"] for c in cards] == [danger, newer_watch, watch]
    assert [c["rank"] for c in cards] == [4, 2, 2]

    names = {"natural-resources-environment": ("Tài nguyên – môi trường", "Environment")}
    counted = sector_counters(database, OPERATOR, names)
    assert counted == [
        {
            "code": "natural-resources-environment",
            "value": 3,
            "label": "Tài nguyên – môi trường",
            "label_en": "Environment",
            "href": "/alerts?sector=natural-resources-environment",
            "worst": "danger",
        }
    ]
    # Agency scope applies: an officer of SXD sees only SXD's alert.
    officer = Principal("sxd", "agency_officer", agencies=frozenset({"SXD"}))
    assert [c["id"] for c in wall_feed(database, officer)] == [newer_watch]
    assert sector_counters(database, officer, names)[0]["value"] == 1
