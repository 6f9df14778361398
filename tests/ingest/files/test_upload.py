"""Uploading agency files: mapping, Vietnamese formats, both modes, report, scope, CLI."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import text, update
from typer.testing import CliRunner

from taydo.app import create_app
from taydo.catalog.models import Agency, Dataset, Entity
from taydo.core.db import Database
from tests.ingest.conftest import make_series

MAPPING = {
    "ts": "Thời gian",
    "entity": "Trạm",
    "metrics": {"Mực nước (m)": "height", "Nhiệt độ (°C)": "temperature"},
}
CSV = (
    "Thời gian;Trạm;Mực nước (m);Nhiệt độ (°C)\n"
    "01/02/2026 07:00;Trạm Ninh Kiều;1,25;28,5\n"  # row 2: good
    "01/02/2026 08:00;Trạm Ninh Kiều;1.234,5;29\n"  # row 3: 1234.5 m is above max 10
    "01/02/2026 09:00;Trạm Không Có;1,0;\n"  # row 4: unknown station
    "32/02/2026 10:00;Trạm Ninh Kiều;1,1;\n"  # row 5: no such date
    "01/02/2026 11:00;NK-01;abc;30\n"  # row 6: height not a number, temperature good
)
T0 = 1_769_904_000_000  # 01/02/2026 07:00 in Cần Thơ


def _dataset(database: Database) -> dict[str, int]:
    ids = make_series(database, "NK-01", {"height": (-5.0, 10.0), "temperature": (None, None)})
    with database.session() as session:
        agency = session.query(Agency).filter_by(code="SNNMT").one()
        dataset = Dataset(
            code="muc-nuoc-tay",
            name="Mực nước đo tay",
            agency_id=agency.id,
            pillar="government",
            sector="environment",
            description="",
            update_interval_s=3600,
            licence="",
        )
        session.add(dataset)
        session.flush()
        session.execute(
            update(Entity)
            .where(Entity.entity_id == "urn:ngsi-ld:WaterObserved:NK-01")
            .values(dataset_id=dataset.id, name="Trạm Ninh Kiều")
        )
    return ids


def _stored(database: Database) -> list[tuple[int, int, float]]:
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT series_id, ts, value FROM observations ORDER BY ts"))
        return [(int(a), int(b), float(c)) for a, b, c in rows]


def _upload(client, headers, data: bytes, name: str = "so-lieu.csv", mode: str = "accept_valid"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/datasets/muc-nuoc-tay/uploads",
        headers=headers,
        files={"file": (name, data)},
        data={"mode": mode},
    )


def test_mapping_then_accept_valid_rows_with_a_report(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    ids = _dataset(database)
    officer = headers_for("agency_officer", ["SNNMT"])
    default = client.get("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=officer)
    assert default.headers["X-Taydo-Mapping"] == "default"  # none saved: the template's
    assert default.json() == {
        "ts": "Thời gian",
        "entity": "Trạm",
        "metrics": {"height": "height", "temperature": "temperature"},
    }
    # The agency's own headers are not the template's: refused, naming what is missing.
    refused = _upload(client, officer, CSV.encode())
    assert refused.status_code == 422 and "'height'" in refused.text
    saved = client.put(
        "/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=officer, json=MAPPING
    )
    assert saved.status_code == 200
    explicit = client.get("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=officer)
    assert explicit.json() == MAPPING and explicit.headers["X-Taydo-Mapping"] == "saved"
    bad = client.put(
        "/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=officer, json={"ts": "x"}
    )
    assert bad.status_code == 422

    answer = _upload(client, officer, b"\xef\xbb\xbf" + CSV.encode())
    assert answer.status_code == 201, answer.text
    summary = answer.json()
    assert summary["status"] == "partial" and summary["encoding"] == "utf-8 (BOM)"
    assert summary["rows"] == 5 and summary["rows_rejected"] == 4
    assert summary["values_stored"] == 4  # a row's good cells are kept in accept_valid
    assert [(p["row"], p["column"]) for p in summary["problems"]] == [
        (3, "Mực nước (m)"),
        (4, "Trạm"),
        (5, "Thời gian"),
        (6, "Mực nước (m)"),
    ]
    assert _stored(database) == [
        (ids["height"], T0, 1.25),
        (ids["temperature"], T0, 28.5),
        (ids["temperature"], T0 + 3_600_000, 29.0),
        (ids["temperature"], T0 + 4 * 3_600_000, 30.0),
    ]
    report = client.get(summary["report"], headers=officer)
    assert report.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(report.content))
    lines = list(book["Lỗi theo dòng"].iter_rows(values_only=True))
    assert lines[0][0] == "Dòng / Row" and [line[0] for line in lines[1:]] == [3, 4, 5, 6]
    assert "Trạm Không Có" in lines[2][3]


def test_all_or_nothing_stores_nothing_when_a_row_is_bad(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    answer = _upload(client, operator, CSV.encode(), mode="all_or_nothing")
    assert answer.status_code == 201
    assert answer.json()["status"] == "rejected" and answer.json()["values_stored"] == 0
    assert _stored(database) == []
    # an .xlsx with only good rows is stored whole
    book = openpyxl.Workbook()
    book.active.append(["Thời gian", "Trạm", "Mực nước (m)", "Nhiệt độ (°C)"])
    book.active.append(["01/02/2026 07:00", "NK-01", 2.5, None])
    out = io.BytesIO()
    book.save(out)
    good = _upload(client, operator, out.getvalue(), name="bang.xlsx", mode="all_or_nothing")
    assert good.json()["status"] == "stored" and good.json()["values_stored"] == 1


def test_scope_size_and_bad_files(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    other = headers_for("agency_officer", ["SYT"])
    assert _upload(client, other, CSV.encode()).status_code == 403
    viewer = headers_for("viewer")
    assert _upload(client, viewer, CSV.encode()).status_code == 403
    broken = _upload(client, operator, b"PK\x03\x04garbage", name="x.xlsx")
    assert broken.status_code == 422 and "xlsx" in broken.json()["error"]
    missing = _upload(client, operator, b"A;B\n1;2\n")
    assert missing.status_code == 422 and "Thời gian" in missing.json()["error"]
    assert _upload(client, operator, b"x", mode="sometimes").status_code == 422


def test_upload_size_limit(settings, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    _dataset(database)
    app = create_app(settings.model_copy(update={"max_upload_bytes": 100}), database=database)
    with TestClient(app) as client:
        operator = headers_for("operator")
        client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
        assert _upload(client, operator, CSV.encode()).status_code == 413


def test_cli_import(database, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from taydo.cli import app as cli
    from taydo.ingest.files import service

    ids = _dataset(database)
    service.set_mapping(database, None, "muc-nuoc-tay", MAPPING)
    path = tmp_path / "so-lieu.csv"
    path.write_bytes(CSV.encode())
    monkeypatch.setenv("TAYDO_DATABASE_URL", database.url)
    report = tmp_path / "bao-cao.xlsx"
    result = CliRunner().invoke(
        cli, ["import", "file", "muc-nuoc-tay", str(path), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "partial" in result.output and "4 giá trị" in result.output
    assert (ids["height"], T0, 1.25) in _stored(database)
    assert openpyxl.load_workbook(report)["Tóm tắt"]["B4"].value == "partial"
    again = CliRunner().invoke(
        cli, ["import", "file", "muc-nuoc-tay", str(path), "--mode", "all_or_nothing"]
    )
    assert again.exit_code == 1 and "rejected" in again.output


def test_uploads_and_mappings_are_audited(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    _upload(client, operator, CSV.encode())
    with database.engine.connect() as connection:
        actions = [r[0] for r in connection.execute(text("SELECT action FROM audit_journal"))]
    assert {"dataset.column_mapping", "dataset.upload"} <= set(actions)


def test_malformed_uploads_answer_4xx_with_a_reason(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    import random

    _dataset(database)
    operator = headers_for("operator")
    client.put("/api/v1/datasets/muc-nuoc-tay/column-mapping", headers=operator, json=MAPPING)
    rng = random.Random(4)
    bodies = [
        ("rac.xlsx", bytes(rng.randrange(256) for _ in range(5000))),
        ("rac.csv", bytes(rng.randrange(256) for _ in range(5000))),
        ("sau.csv", b"\xff\xfe\x00" * 1000),
        (
            "dai.csv",
            ("Thời gian;Trạm;Mực nước (m)\n01/02/2026 07:00;" + "x" * 1_000_000 + ";1\n").encode(),
        ),
        ("so.csv", "Thời gian;Trạm;Mực nước (m)\n01/02/2026 07:00;NK-01;1e999\n".encode()),
        ("anh.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
    ]
    for name, data in bodies:
        answer = _upload(client, operator, data, name=name)
        assert answer.status_code in (201, 413, 422), (name, answer.status_code)
        if answer.status_code != 201:
            assert answer.json()["error"]
        else:
            assert answer.json()["values_stored"] == 0 and answer.json()["status"] == "rejected"
    png = _upload(client, operator, b"\x89PNG", name="anh.png")
    assert png.status_code == 422 and ".xlsx" in png.json()["error"]
    wrong_type = client.post(
        "/api/v1/datasets/muc-nuoc-tay/uploads", headers=operator, json={"file": "x"}
    )
    assert wrong_type.status_code == 422
    assert _stored(database) == []


def test_the_template_workbook_fills_in_and_uploads(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    """The officer downloads the dataset's template, types two rows into it in Excel's way
    (a date cell, a decimal comma, a station name from its list) and uploads it unchanged."""
    from datetime import datetime

    ids = _dataset(database)
    officer = headers_for("agency_officer", ["SNNMT"])
    url = "/api/v1/datasets/muc-nuoc-tay/upload-template.xlsx"
    default = openpyxl.load_workbook(io.BytesIO(client.get(url, headers=officer).content))
    assert [c.value for c in default.active[1]] == ["Thời gian", "Trạm", "height", "temperature"]
    client.put(
        "/api/v1/datasets/muc-nuoc-tay/column-mapping",
        headers=officer,
        json={**MAPPING, "sheet": "Số liệu"},
    )
    answer = client.get(url, headers=officer)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["Số liệu", "Trạm", "Hướng dẫn"]
    sheet = book["Số liệu"]
    assert [c.value for c in sheet[1]] == ["Thời gian", "Trạm", "Mực nước (m)", "Nhiệt độ (°C)"]
    assert sheet.max_row == 1  # headers only: nothing to upload by mistake
    stations = [tuple(c.value for c in row) for row in book["Trạm"].iter_rows(min_row=2)]
    assert stations == [("Trạm Ninh Kiều", "NK-01", "urn:ngsi-ld:WaterObserved:NK-01")]
    sheet.append([datetime(2026, 2, 1, 7, 0), stations[0][0], 1.25, "28,5"])
    sheet.append(["01/02/2026 08:00", stations[0][1], "1,3", None])
    filled = io.BytesIO()
    book.save(filled)
    stored = _upload(client, officer, filled.getvalue(), name="mau-da-dien.xlsx")
    assert stored.status_code == 201, stored.text
    assert stored.json()["status"] == "stored" and stored.json()["values_stored"] == 3
    assert sorted(_stored(database)) == sorted(
        [
            (ids["height"], T0, 1.25),
            (ids["temperature"], T0, 28.5),
            (ids["height"], T0 + 3_600_000, 1.3),
        ]
    )
    other = headers_for("agency_officer", ["SYT"])
    assert client.get(url, headers=other).status_code == 404
