"""The station page's words and colours (issue 16, items 4, 6 and 7), through HTTP: metric and
type labels from the pack, VN_AQI bands in their official colours, the display time zone named,
the chart range taken from the address."""

from __future__ import annotations

import html
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from taydo.console.station import aqi_bands, aqi_view, labels_of, zone_label
from taydo.core import clock
from taydo.core.runtime import runtime_of
from taydo.rules.choices import AQI_BANDS

CAN_THO = "urn:ngsi-ld:WaterObserved:can-tho"
HTML = {"Accept": "text/html"}
CSS = Path(__file__).resolve().parents[2] / "src/taydo/web/static/css/station.css"


def _visible(page: str) -> str:
    """The text a reader sees: no tags, attributes, scripts or styles."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_labels_come_from_the_pack(client: TestClient) -> None:
    labels = labels_of(runtime_of(client.app).plugins)
    assert labels.metric_label("WaterObserved", "height") == ("Mực nước", "Water level")
    assert labels.metric_label("AirQualityObserved", "pm25") == ("Bụi PM2.5", "PM2.5")
    assert labels.type_label("WaterObserved") == ("Trạm đo mực nước", "Water-level station")
    assert labels.metric_label("AirQualityObserved", "aqi")[0] == (
        "Chỉ số chất lượng không khí VN_AQI"
    )
    # A type no pack defines keeps its code rather than inventing words.
    assert labels.type_label("Nowhere") == ("Nowhere", "Nowhere")
    assert labels.metric_label("Nowhere", "pm25") == ("Bụi PM2.5", "PM2.5")


@pytest.mark.parametrize(
    ("value", "code", "name"),
    [(0, "good", "Tốt"), (50, "good", "Tốt"), (51, "moderate", "Trung bình"),
     (150, "poor", "Kém"), (151, "bad", "Xấu"), (300, "very_bad", "Rất xấu"),
     (301, "hazardous", "Nguy hại")],
)  # fmt: skip
def test_aqi_bands_follow_decision_1459(value: float, code: str, name: str) -> None:
    band = aqi_view(value)
    assert (band["code"], band["vi"]) == (code, name)


def test_aqi_colours_are_official_and_their_text_readable() -> None:
    css = CSS.read_text(encoding="utf-8")
    for band in aqi_bands():
        pattern = r" \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}"
        rule = re.search(r"\.badge\.aqi-" + band["code"] + pattern, css)
        assert rule is not None, band["code"]
        assert rule.group(1) == band["colour"] and rule.group(2) == band["ink"]
        assert _contrast(band["colour"], band["ink"]) >= 4.5  # WCAG AA for the band's name
    assert [b["colour"] for b in aqi_bands()] == [c.colour for _u, c in AQI_BANDS]


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_zone_label_names_the_zone_and_its_offset() -> None:
    now = clock.now()
    assert zone_label(ZoneInfo("Asia/Ho_Chi_Minh"), now) == ("giờ Việt Nam", "UTC+7")
    assert zone_label(ZoneInfo("Asia/Kolkata"), now) == ("Asia/Kolkata", "UTC+5:30")
    assert zone_label(ZoneInfo("America/Caracas"), now) == ("America/Caracas", "UTC-4")


def test_station_page_in_words_with_zone_and_range(client, headers_for, stations) -> None:  # type: ignore[no-untyped-def]
    from taydo.observations.service import Point, write_points

    write_points(runtime_of(client.app).db, [Point(stations["can-tho"], clock.now_ms(), 1.93)])
    viewer = {**HTML, **headers_for("viewer")}
    page = client.get(f"/entities/{CAN_THO}?range=7d", headers=viewer)
    assert page.status_code == 200
    # The identifier row shows the NGSI-LD id on purpose (labelled "Mã định danh").
    assert f"<code>{CAN_THO}</code>" in page.text
    text = _visible(page.text.replace(f"<code>{CAN_THO}</code>", ""))
    assert "Mực nước" in text and "Trạm đo mực nước" in text
    assert "Đài Khí tượng Thủy văn" in text  # the agency's name, not its code
    for code in ("height", "WaterObserved", "DKTTV"):
        assert code not in text, code
    assert "giờ Việt Nam (UTC+7)" in text
    assert "Báo động 1: 1,8 m" in text  # a Vietnamese decimal comma
    assert 'data-range="7d"' in page.text
    assert re.search(r'data-range="7d" aria-pressed="true"', page.text)
    client.cookies.set("taydo_lang", "en")
    english = client.get(f"/entities/{CAN_THO}", headers=viewer)
    client.cookies.delete("taydo_lang")
    english_text = _visible(english.text)
    assert "Water level" in english_text and "Vietnam time (UTC+7)" in english_text
    assert "Alarm level 1: 1.8 m" in english_text
    # An unknown range shows the default; a silly one is refused with a reason, not a 500.
    assert re.search(
        r'data-range="24h" aria-pressed="true"',
        client.get(f"/entities/{CAN_THO}?range=nope", headers=viewer).text,
    )
    assert client.get(f"/entities/{CAN_THO}?range={'x' * 50}", headers=viewer).status_code == 422


def test_aqi_card_shows_band_colour_and_name(client, headers_for, database) -> None:  # type: ignore[no-untyped-def]
    from taydo.catalog.models import Agency, Entity, Metric
    from taydo.observations.service import Point, write_points

    now = clock.now()
    with database.session() as session:
        agency = Agency(code="SNNMT", name="Sở Nông nghiệp và Môi trường", name_en="", kind="so")
        session.add(agency)
        session.flush()
        entity = Entity(
            entity_id="urn:ngsi-ld:AirQualityObserved:kk-test",
            type="AirQualityObserved",
            name="Trạm quan trắc không khí thử",
            agency_id=agency.id,
            attributes={},
            tags=[],
            created_at=now,
            updated_at=now,
        )
        session.add(entity)
        session.flush()
        pm25 = Metric(entity_pk=entity.id, name="pm25", unit="GQ")
        aqi = Metric(entity_pk=entity.id, name="aqi", unit="")
        session.add_all([pm25, aqi])
        session.flush()
        ids = (pm25.id, aqi.id)
    write_points(
        database, [Point(ids[0], clock.now_ms(), 40.0), Point(ids[1], clock.now_ms(), 163.0)]
    )
    page = client.get(
        "/entities/urn:ngsi-ld:AirQualityObserved:kk-test",
        headers={**HTML, **headers_for("viewer")},
    )
    assert page.status_code == 200
    assert 'class="badge aqi-band aqi-bad"' in page.text and "metric aqi aqi-bad" in page.text
    text = _visible(re.sub(r"<code>[^<]*</code>", "", page.text))
    assert "Chỉ số chất lượng không khí VN_AQI" in text and "Xấu" in text and "163" in text
    assert "Bụi PM2.5" in text
    assert "pm25" not in text and "aqi (" not in text
    assert text.index("Chỉ số chất lượng không khí VN_AQI") < text.index("Bụi PM2.5")
