"""Console screens through HTTP: what each role sees and may do, in both languages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from taydo.app import create_app
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from tests.auth.conftest import form_login

CAN_THO = "urn:ngsi-ld:WaterObserved:can-tho"
HTML = {"Accept": "text/html"}
ALERT_LINK = re.compile(r'href="/alerts/\d+"')  # an alert's own page, not the export links


def _as(headers: dict[str, str]) -> dict[str, str]:
    return {**HTML, **headers}


def test_alerts_list_filters_and_links(client, headers_for, stations, open_alert) -> None:  # type: ignore[no-untyped-def]
    first = open_alert(CAN_THO, "danger")
    open_alert("urn:ngsi-ld:WaterObserved:cai-rang", "watch", agency="SXD")
    viewer = _as(headers_for("viewer"))
    page = client.get("/alerts", headers=viewer)
    assert page.status_code == 200
    assert len(ALERT_LINK.findall(page.text)) == 2
    only_danger = client.get("/alerts?severity=danger", headers=viewer).text
    assert f'href="/alerts/{first}"' in only_danger and len(ALERT_LINK.findall(only_danger)) == 1
    assert "Nguy hiểm" in only_danger
    by_agency = client.get("/alerts?agency=SXD", headers=viewer).text
    assert len(ALERT_LINK.findall(by_agency)) == 1 and f'href="/alerts/{first}"' not in by_agency
    no_sector = client.get("/alerts?sector=health", headers=viewer).text
    assert "Không có cảnh báo nào khớp bộ lọc" in no_sector


def test_operator_acts_on_an_alert_and_a_viewer_may_not(
    client, headers_for, stations, open_alert
) -> None:  # type: ignore[no-untyped-def]
    alert = open_alert(CAN_THO)
    viewer, operator = _as(headers_for("viewer")), _as(headers_for("operator"))
    seen_by_viewer = client.get(f"/alerts/{alert}", headers=viewer).text
    assert "/acknowledge" not in seen_by_viewer and "Đang cảnh báo" in seen_by_viewer
    assert client.post(f"/alerts/{alert}/acknowledge", headers=viewer).status_code == 403

    form = f'action="/alerts/{alert}/acknowledge"'
    assert form in client.get(f"/alerts/{alert}", headers=operator).text
    done = client.post(f"/alerts/{alert}/acknowledge", headers=operator, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/alerts/{alert}"
    page = client.get(f"/alerts/{alert}", headers=operator).text
    assert "Đã tiếp nhận" in page and "/acknowledge" not in page

    refused = client.post(f"/alerts/{alert}/resolve", data={"note": ""}, headers=operator)
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    # "Giao cho" is a choice among the agencies and people, not free text.
    unknown = client.post(f"/alerts/{alert}/assign", data={"assignee": "trucban"}, headers=operator)
    assert unknown.status_code == 422 and "không có trong danh sách" in unknown.text
    client.post(f"/alerts/{alert}/assign", data={"assignee": "SXD"}, headers=operator)
    assert '<option value="SXD" selected>' in client.get(f"/alerts/{alert}", headers=operator).text
    silenced = client.post(
        f"/alerts/{alert}/silence",
        data={"hours": "4", "reason": "đang bảo trì trạm"},
        headers=operator,
        follow_redirects=False,
    )
    assert silenced.status_code == 303
    client.post(
        f"/alerts/{alert}/resolve",
        data={"note": "nước đã rút", "confirmed": "true"},
        headers=operator,
    )
    resolved = client.get(f"/alerts/{alert}", headers=operator).text
    assert "Đã kết thúc" in resolved and "nước đã rút" in resolved


def test_silence_creates_a_silence(
    client, database: Database, headers_for, stations, open_alert
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from taydo.alerts.models import Silence

    alert = open_alert(CAN_THO)
    client.post(
        f"/alerts/{alert}/silence",
        data={"hours": "12", "reason": "bảo trì"},
        headers=_as(headers_for("operator")),
    )
    with database.session() as session:
        row = session.scalars(select(Silence)).one()
    assert row.matchers["entities"] == [CAN_THO] and row.reason == "bảo trì"
    bad = client.post(
        f"/alerts/{alert}/silence", data={"hours": "999"}, headers=_as(headers_for("operator"))
    )
    assert bad.status_code == 422


def test_an_officer_cannot_see_another_agencys_alert_or_entity(
    client, headers_for, stations, open_alert
) -> None:  # type: ignore[no-untyped-def]
    alert = open_alert(CAN_THO, agency="DKTTV")
    officer = _as(headers_for("agency_officer", ["SXD"]))
    assert client.get(f"/alerts/{alert}", headers=officer).status_code == 404
    assert client.get("/alerts/999999", headers=officer).status_code == 404
    assert client.get(f"/entities/{CAN_THO}", headers=officer).status_code == 404
    assert (
        client.get("/entities/urn:ngsi-ld:WaterObserved:cai-rang", headers=officer).status_code
        == 200
    )


def test_entity_page_shows_latest_value_and_alarm_levels(client, headers_for, stations) -> None:  # type: ignore[no-untyped-def]
    from taydo.core import clock
    from taydo.observations.service import Point, write_points

    write_points(runtime_of(client.app).db, [Point(stations["can-tho"], clock.now_ms(), 1.93)])
    page = client.get(f"/entities/{CAN_THO}", headers=_as(headers_for("viewer")))
    assert page.status_code == 200
    assert "1.93" in page.text and "Báo động 3" in page.text
    assert 'data-metric="height"' in page.text
    levels = re.search(r'data-levels="([^"]*)"', page.text)
    assert levels is not None and "2.0" in levels.group(1)


def test_areas_page_lists_the_103_wards_and_communes(
    client, database: Database, headers_for, stations
) -> None:  # type: ignore[no-untyped-def]
    from taydo.geo.service import load_areas

    load_areas(database)
    page = client.get("/areas", headers=_as(headers_for("viewer")))
    assert page.status_code == 200
    assert page.text.count('href="/?area=') == 103
    assert "Phường Ninh Kiều" in page.text
    found = client.get("/areas?q=ninh kieu", headers=_as(headers_for("viewer"))).text
    assert found.count('href="/?area=') == 1
    overview = client.get("/?area=31135", headers=_as(headers_for("viewer")))
    assert overview.status_code == 200 and "Phường Ninh Kiều" in overview.text
    assert "/console/entities.json?area=31135" in overview.text


def test_data_page_lists_agencies_and_datasets(
    client, database: Database, headers_for, stations
) -> None:  # type: ignore[no-untyped-def]
    from taydo.catalog.models import Dataset

    with database.session() as session:
        session.add(
            Dataset(
                code="water-level",
                name="Mực nước sông",
                agency_id=stations["DKTTV"],
                pillar="government",
                sector="natural-resources-environment",
                update_interval_s=300,
            )
        )
    english = {**_as(headers_for("viewer")), "Cookie": "taydo_lang=en"}
    page = client.get("/data", headers=english)
    assert page.status_code == 200
    assert "Mực nước sông" in page.text and "Digital government" in page.text
    assert "Đài Khí tượng Thủy văn" in page.text


def test_data_page_shows_pull_connectors_without_their_configuration(
    settings, database: Database, headers_for, stations
) -> None:  # type: ignore[no-untyped-def]
    from taydo.core import clock
    from taydo.ingest.files.models import Connector

    # The scheduler would run the never-run connector within a second and change what the
    # page shows: this test reads the page, so no scheduler.
    quiet = settings.model_copy(update={"connectors_enabled": False})
    with TestClient(create_app(quiet, database=database)) as client:
        with database.session() as session:
            for name, agency, error, ran in (
                ("kttv-mucnuoc", "DKTTV", "HTTP 503 từ máy chủ nguồn / from the source", True),
                ("snnmt-doman", "SNNMT", None, True),
                ("snnmt-moi", "SNNMT", None, False),
            ):
                session.add(
                    Connector(
                        name=name,
                        kind="http_json",
                        agency_code=agency,
                        config={"url": f"http://10.0.0.5/{name}?token=bi-mat-trong-url"},
                        secret="fernet1:không-bao-giờ-hiện",
                        interval_s=300,
                        enabled=True,
                        last_run_at=clock.now() if ran else None,
                        last_error=error,
                        rows_ingested=1234 if ran else 0,
                        created_at=clock.now(),
                    )
                )
        page = client.get("/data", headers=_as(headers_for("operator"))).text
        connectors = page.split('id="connectors"')[1].split("</section>")[0]
        assert "kttv-mucnuoc" in connectors and "HTTP 503" in connectors and "Lỗi" in connectors
        assert "Hoạt động" in connectors and "Chưa chạy" in connectors and "1234" in connectors
        assert "bi-mat" not in page and "không-bao-giờ-hiện" not in page and "10.0.0.5" not in page
        officer = client.get("/data", headers=_as(headers_for("agency_officer", ["SNNMT"]))).text
        assert "snnmt-doman" in officer and "kttv-mucnuoc" not in officer


def test_console_forms_need_the_session_csrf_token(
    client, database: Database, stations, open_alert
) -> None:  # type: ignore[no-untyped-def]
    from taydo.auth.service import ensure_demo_users

    accounts = {role: (user, password) for user, password, role in ensure_demo_users(database)}
    user, password = accounts["operator"]
    login = form_login(client, user, password, next="/alerts", follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/alerts"
    alert = open_alert(CAN_THO)
    page = client.get(f"/alerts/{alert}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    assert client.post(f"/alerts/{alert}/acknowledge").status_code == 403
    done = client.post(
        f"/alerts/{alert}/acknowledge", data={"csrf_token": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303
    out = client.post("/logout", data={"csrf_token": token.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303
    wrong = form_login(client, user, "nope")
    assert wrong.status_code == 400 and "Sai tên đăng nhập hoặc mật khẩu" in wrong.text


def test_data_page_shows_health_and_replays_quarantined_input(
    client, database: Database, headers_for, stations
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from taydo.catalog.models import Dataset, Entity
    from taydo.core import clock
    from taydo.ingest.models import QuarantineEntry
    from taydo.ingest.quarantine import put
    from taydo.observations.service import Point, write_points

    with database.session() as session:
        dataset = Dataset(
            code="water-level",
            name="Mực nước sông",
            agency_id=stations["DKTTV"],
            pillar="government",
            sector="natural-resources-environment",
            update_interval_s=300,
        )
        session.add(dataset)
        session.flush()
        for entity in session.scalars(select(Entity)):
            entity.dataset_id = dataset.id
    write_points(database, [Point(stations["can-tho"], clock.now_ms(), 1.5)])
    item = {"entity_id": CAN_THO, "metric": "height", "ts": clock.now_ms() - 60_000, "value": 1.6}
    put(database, "http", "storage was briefly unavailable", [item], agency_code="DKTTV")

    operator = _as(headers_for("operator"))
    page = client.get("/data", headers=operator).text
    assert "health-fresh" in page and "Kịp thời" in page
    assert "storage was briefly unavailable" in page and "/replay" in page
    assert "/replay" not in client.get("/data", headers=_as(headers_for("viewer"))).text

    with database.session() as session:
        entry_id = session.scalars(select(QuarantineEntry.id)).one()
    done = client.post(
        f"/data/quarantine/{entry_id}/replay", headers=operator, follow_redirects=False
    )
    assert done.status_code == 303
    with database.session() as session:
        assert session.get(QuarantineEntry, entry_id).status == "replayed"
    again = client.post(f"/data/quarantine/{entry_id}/replay", headers=operator)
    assert again.status_code == 409 and 'role="alert"' in again.text


def test_a_quarantined_input_is_fixed_and_replayed_or_discarded_on_its_page(
    client, database: Database, headers_for, stations
) -> None:  # type: ignore[no-untyped-def]
    """A typo in a metric name: the operator opens the entry, fixes the JSON and replays it;
    a second entry is discarded with a note. Viewers see the entry but no forms."""
    import html
    import json

    from sqlalchemy import select, text

    from taydo.core import clock
    from taydo.ingest.models import QuarantineEntry
    from taydo.ingest.quarantine import put

    ts = clock.now_ms() - 60_000
    typo = {"entity_id": CAN_THO, "metric": "heigth", "ts": ts, "value": 1.72}
    put(database, "http", "không có chuỗi số liệu / unknown series", [typo], agency_code="DKTTV")
    put(database, "http", "giá trị không phải số", [{"x": 1}], agency_code="DKTTV")
    with database.session() as session:
        first, second = session.scalars(select(QuarantineEntry.id).order_by(QuarantineEntry.id))
    operator = _as(headers_for("operator"))
    assert f"/data/quarantine/{first}" in client.get("/data", headers=operator).text
    page = client.get(f"/data/quarantine/{first}", headers=operator)
    shown = re.search(r'<textarea name="raw"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert page.status_code == 200 and shown is not None and "/discard" in page.text
    raw = html.unescape(shown.group(1))
    assert json.loads(raw) == [typo]  # the whole input, as JSON to edit

    # Replayed unchanged it is still invalid: the page says why and keeps the text.
    same = client.post(f"/data/quarantine/{first}/replay", headers=operator, data={"raw": raw})
    assert same.status_code == 422 and "heigth" in same.text and 'role="alert"' in same.text
    fixed = client.post(
        f"/data/quarantine/{first}/replay",
        headers=operator,
        data={
            "raw": f'[{{"entity_id": "{CAN_THO}", "metric": "height", "ts": {ts}, "value": 1.72}}]'
        },
        follow_redirects=False,
    )
    assert fixed.status_code == 303, fixed.text
    with database.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT value FROM observations WHERE ts = :ts"), {"ts": ts}
        )
        assert [row[0] for row in stored] == [1.72]
    done = client.post(
        f"/data/quarantine/{second}/discard",
        headers=operator,
        data={"note": "thiết bị thử nghiệm gửi nhầm"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with database.session() as session:
        assert session.get(QuarantineEntry, first).status == "replayed"
        assert session.get(QuarantineEntry, second).status == "discarded"
    again = client.post(f"/data/quarantine/{second}/discard", headers=operator, data={"note": "x"})
    assert again.status_code == 409 and "discarded" in again.text
    journal = client.get(
        "/api/v1/audit", params={"object_type": "quarantine"}, headers=headers_for("admin")
    ).json()["items"]
    assert {e["action"] for e in journal} >= {"quarantine.replay", "quarantine.discard"}

    viewer = _as(headers_for("viewer"))
    seen = client.get(f"/data/quarantine/{second}", headers=viewer)
    assert seen.status_code == 200 and 'name="raw"' not in seen.text and "/discard" not in seen.text
    refused = client.post(f"/data/quarantine/{second}/discard", headers=viewer, data={"note": "x"})
    assert refused.status_code == 403
    assert client.get("/data/quarantine/999999", headers=operator).status_code == 404
