"""A small city for report tests: two agencies, a water-level station (alarm levels
1.80/1.90/2.00 m) and an air-quality station, a day of their values, alerts on that day and
others, and quarantined input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from taydo.alerts.models import Alert
from taydo.catalog.models import Agency, Dataset, Entity, Metric
from taydo.core import clock
from taydo.core.db import Database
from taydo.geo.models import Area
from taydo.ingest.models import QuarantineEntry
from taydo.observations.service import write_rows

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 20)  # the report's day (local)
WATER = "urn:ngsi-ld:WaterObserved:can-tho"
AIR = "urn:ngsi-ld:AirQualityObserved:ninh-kieu"
# A station whose name would be a live formula in a careless workbook.
TRICKY = "urn:ngsi-ld:WaterObserved:tricky"
TRICKY_NAME = '=HYPERLINK("http://evil.example","Trạm")'


NUMBERS = {1: "một", 2: "hai", 3: "ba", 4: "bốn"}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _alert(n: int, severity: str, agency: str, started: datetime, ack_min: int | None) -> Alert:
    return Alert(
        rule_code="water-level-alarm",
        rule_kind="threshold",
        target=f"t{n}",
        open_key=None,
        state="acknowledged" if ack_min is not None else "resolved",
        severity=severity,
        level="bd3" if severity == "danger" else "bd1",
        value=2.15,
        entity_id=WATER,
        metric="height",
        area_code="31117",
        agency_code=agency,
        sector="environment",
        title=f"Mực nước vượt ngưỡng — cảnh báo {NUMBERS[n]}",
        title_en=f"Water level above a threshold — alert {n}",
        started_at=started,
        updated_at=started,
        acked_at=started + timedelta(minutes=ack_min) if ack_min is not None else None,
        resolved_at=started + timedelta(hours=3) if ack_min is None else None,
    )


def make_city(database: Database) -> dict[str, int]:
    now = clock.now()
    with database.session() as s:
        s.add(Area(code="92", name="Thành phố Cần Thơ", kind="thành phố", level=1))
        s.flush()
        s.add(Area(code="31117", name="Phường Ninh Kiều", kind="phường", level=2, parent_code="92"))
        kttv = Agency(code="DKTTV", name="Đài Khí tượng Thủy văn", name_en="Hydromet", kind="dai")
        snn = Agency(code="SNNMT", name="Sở Nông nghiệp và Môi trường", name_en="DAE", kind="so")
        s.add_all([kttv, snn])
        s.flush()
        water = Dataset(
            code="water-level",
            name="Mực nước",
            agency_id=kttv.id,
            pillar="government",
            sector="environment",
            update_interval_s=600,  # hourly values: stale by the end of the day (> 5 × 10 min)
        )
        air = Dataset(
            code="air-quality",
            name="Chất lượng không khí",
            agency_id=snn.id,
            pillar="society",
            sector="environment",
            update_interval_s=3600,
        )
        s.add_all([water, air])
        s.flush()
        ids: dict[str, int] = {}
        for entity_id, type_, name, agency, dataset, metric, attributes in (
            (WATER, "WaterObserved", "Trạm thủy văn Cần Thơ", kttv, water, "height",
             {"alarm_levels": {"1": 1.80, "2": 1.90, "3": 2.00}}),
            (TRICKY, "WaterObserved", TRICKY_NAME, kttv, water, "height",
             {"alarm_levels": {"1": 1.0, "2": 1.1, "3": 1.2}}),
            (AIR, "AirQualityObserved", "Trạm quan trắc Ninh Kiều", snn, air, "aqi", {}),
        ):  # fmt: skip
            entity = Entity(
                entity_id=entity_id,
                type=type_,
                name=name,
                agency_id=agency.id,
                dataset_id=dataset.id,
                lon=105.78,
                lat=10.03,
                area_code="31117",
                attributes=attributes,
                tags=[],
                created_at=now,
                updated_at=now,
            )
            s.add(entity)
            s.flush()
            metric_row = Metric(entity_pk=entity.id, name=metric, unit="")
            s.add(metric_row)
            s.flush()
            ids[entity_id] = metric_row.id
        # Alerts: two on the day (the danger one acknowledged after 45 min: late), one the
        # day before (outside the daily report), one of the other agency on the day.
        s.add_all(
            [
                _alert(1, "danger", "DKTTV", local(DAY, 18), 45),
                _alert(2, "watch", "DKTTV", local(DAY, 9), 5),
                _alert(3, "warning", "DKTTV", local(DAY - timedelta(days=1), 10), 5),
                _alert(4, "warning", "SNNMT", local(DAY, 11), 10),
            ]
        )
        # Two rejected inputs of DKTTV in the last 24 hours of the day.
        for minute in (5, 6):
            s.add(
                QuarantineEntry(
                    source="http",
                    reason="value out of range",
                    raw="{}",
                    received_at=local(DAY, 12, minute),
                    agency_code="DKTTV",
                )
            )
    # Hourly values through the day: the water peaks at 2.15 m at 18:00, the VN_AQI at 162
    # at 08:00 (local).
    rows = []
    for hour in range(24):
        at = ms(local(DAY, hour))
        rows.append((ids[WATER], at, 2.15 if hour == 18 else 1.5 + hour / 100, 0))
        rows.append((ids[TRICKY], at, 0.9, 0))
        rows.append((ids[AIR], at, 162.0 if hour == 8 else 60.0 + hour, 0))
    write_rows(database, rows, timezone="Asia/Ho_Chi_Minh")
    return ids


@pytest.fixture
def city(database: Database) -> dict[str, int]:
    return make_city(database)
