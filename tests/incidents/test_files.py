"""Files attached to incidents (taydo.core.files): upload through the API and the incident
page, kind by content, size limit, metadata gone, on disk under the configured folder (a new
app reads them), served only to those who may read the incident (agency scope; internal files
only to the responsible agency and operators), recorded on the timeline. And directives
issued from an incident by the operator on duty."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from taydo.app import create_app
from taydo.catalog.models import Agency
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.settings import Settings
from tests.core.pdfs import SECRETS, page_texts, pdf_with_metadata

GPS_IFD = 0x8825
MAX_FILE = 64 * 1024
PDF = pdf_with_metadata()  # a real one, with an author and GPS in its XMP


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (48, 32), (20, 120, 200))
    exif = Image.Exif()
    exif[0x0110] = "Phone X"
    exif[GPS_IFD] = {1: "N", 2: (10.0, 2.0, 3.0), 3: "E", 4: (105.0, 47.0, 1.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        observations_pack_after_hours=0,
        incidents_files_dir=tmp_path / "incident-files",
        incidents_max_file_bytes=MAX_FILE,
        directives_files_dir=tmp_path / "directive-files",
        _env_file=None,
    )


@pytest.fixture
def client(settings: Settings, database: Database, pack: Database) -> Iterator[TestClient]:
    with database.session() as session:
        session.add_all(
            [
                Agency(code="SXD", name="Sở Xây dựng", name_en="DOC", kind="so"),
                Agency(code="CATP", name="Công an thành phố", name_en="Police", kind="ca"),
            ]
        )
    with TestClient(create_app(settings, database=database)) as test_client:
        yield test_client


@pytest.fixture
def incident(client: TestClient, headers_for: Any) -> dict[str, Any]:
    """An incident of SXD with CATP assigned to help, and who is who."""
    operator = headers_for("operator")
    created = client.post(
        "/api/v1/incidents",
        json={"type": "tidal-flooding", "title": "Ngập đường 30/4", "agency_code": "SXD"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    iid = created.json()["id"]
    assigned = client.post(
        f"/api/v1/incidents/{iid}/assign",
        json={"agency_code": "SXD", "assignees": ["agency:CATP"]},
        headers=operator,
    )
    assert assigned.status_code == 200, assigned.text
    return {
        "id": iid,
        "operator": operator,
        "responsible": headers_for("agency_officer", ["SXD"]),
        "helper": headers_for("agency_officer", ["CATP"]),
        "stranger": headers_for("agency_officer", ["SYT"]),
        "viewer": headers_for("viewer"),
    }


def _upload(
    client: TestClient, iid: int, headers: dict[str, str], name: str, data: bytes, **form: Any
) -> Any:
    return client.post(
        f"/api/v1/incidents/{iid}/files",
        files={"file": (name, data, "image/jpeg")},
        data=form,
        headers=headers,
    )


def _stored(settings: Settings) -> list[Path]:
    return [p for p in Path(settings.incidents_files_dir).rglob("*") if p.is_file()]


def test_a_file_is_attached_stored_clean_and_served_by_agency_scope(
    client: TestClient, incident: dict[str, Any], settings: Settings, database: Database
) -> None:
    iid = incident["id"]
    sent = _upload(
        client,
        iid,
        incident["responsible"],
        "../ảnh hiện trường.jpg",
        jpeg_with_gps(),
        body="Nước ngập 40 cm",
    )
    assert sent.status_code == 201, sent.text
    facts = sent.json()
    assert facts["media_type"] == "image/jpeg" and facts["name"] == "ảnh hiện trường.jpg"
    assert facts["url"] == f"/api/v1/incidents/{iid}/files/{facts['id']}"
    on_disk = _stored(settings)
    assert len(on_disk) == 1 and on_disk[0].parent.name == str(iid)

    served = client.get(facts["url"], headers=incident["operator"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.content == on_disk[0].read_bytes()
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (48, 32) and not image.getexif().get_ifd(GPS_IFD)
    assert b"Phone X" not in served.content

    # Who may read the incident reads the file; others are told it does not exist.
    for reader in ("responsible", "helper", "viewer"):
        assert client.get(facts["url"], headers=incident[reader]).status_code == 200, reader
    assert client.get(facts["url"], headers=incident["stranger"]).status_code == 404
    assert client.get(facts["url"]).status_code == 401
    # Another incident's id with this file's id: not found either.
    other = client.post(
        "/api/v1/incidents",
        json={"type": "tidal-flooding", "title": "Khác", "agency_code": "SXD"},
        headers=incident["operator"],
    ).json()
    wrong = f"/api/v1/incidents/{other['id']}/files/{facts['id']}"
    assert client.get(wrong, headers=incident["operator"]).status_code == 404
    # An officer of an agency without the incident cannot attach to it.
    assert _upload(client, iid, incident["stranger"], "x.jpg", jpeg_with_gps()).status_code == 404

    # The timeline says who attached what, and when.
    shown = client.get(f"/api/v1/incidents/{iid}", headers=incident["helper"]).json()
    entry = next(e for e in shown["timeline"] if e["action"] == "incident.file")
    assert entry["summary"]["name"] == "ảnh hiện trường.jpg" and entry["at"]
    assert entry["actor"] == shown["notes"][-1]["author"]
    assert shown["notes"][-1]["file"]["media_type"] == "image/jpeg"
    assert shown["notes"][-1]["body"] == "Nước ngập 40 cm"

    # A new app on the same database and folder (a restart) still serves it.
    with TestClient(create_app(settings, database=database)) as restarted:
        again = restarted.get(facts["url"], headers=incident["operator"])
        assert again.status_code == 200 and again.content == served.content


def test_internal_files_follow_the_internal_notes_rule(
    client: TestClient, incident: dict[str, Any]
) -> None:
    iid = incident["id"]
    secret = _upload(
        client, iid, incident["responsible"], "bien-ban-noi-bo.pdf", PDF, internal="true"
    )
    assert secret.status_code == 201, secret.text
    url = secret.json()["url"]
    assert secret.json()["media_type"] == "application/pdf"
    for reader in ("responsible", "operator"):
        got = client.get(url, headers=incident[reader])
        assert got.status_code == 200 and page_texts(got.content) == page_texts(PDF)
        assert [s for s in SECRETS if s in got.content] == []
        assert got.headers["content-disposition"].startswith("attachment")
    assert client.get(url, headers=incident["helper"]).status_code == 404
    seen = client.get(f"/api/v1/incidents/{iid}", headers=incident["helper"])
    assert "bien-ban-noi-bo" not in seen.text  # neither the note nor its timeline entry
    page = client.get(f"/incidents/{iid}", headers=incident["helper"])
    assert page.status_code == 200 and "bien-ban-noi-bo" not in page.text
    # The helper may not write an internal file at all.
    refused = _upload(client, iid, incident["helper"], "x.pdf", PDF, internal="true")
    assert refused.status_code == 422


def test_what_is_not_an_image_or_pdf_or_too_large_is_refused(
    client: TestClient, incident: dict[str, Any], settings: Settings
) -> None:
    iid, who = incident["id"], incident["responsible"]
    for name, data in (
        ("anh.jpg", b"<script>alert(1)</script>"),  # a script named like a photo
        ("anh.jpg", jpeg_with_gps()[:120]),  # a truncated JPEG
        ("bao-cao.docx", b"PK\x03\x04" + b"\x00" * 100),
    ):
        refused = _upload(client, iid, who, name, data)
        assert refused.status_code == 415, (name, refused.text)
    big = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(big, format="PNG")
    assert len(big.getvalue()) > MAX_FILE
    refused = _upload(client, iid, who, "to.png", big.getvalue())
    assert refused.status_code == 413
    assert _stored(settings) == []  # nothing kept on disk
    # Link attachments still work beside uploaded files.
    linked = client.post(
        f"/api/v1/incidents/{iid}/notes",
        json={
            "body": "Bản đồ ngập",
            "attachment_name": "ban-do",
            "attachment_url": "https://example.org/ngap",
        },
        headers=who,
    )
    assert linked.status_code == 201, linked.text
    notes = client.get(f"/api/v1/incidents/{iid}", headers=who).json()["notes"]
    assert notes[-1]["attachment_url"] == "https://example.org/ngap" and notes[-1]["file"] is None


def test_the_incident_page_has_an_upload_control(
    client: TestClient, incident: dict[str, Any], settings: Settings
) -> None:
    iid, who = incident["id"], incident["responsible"]
    page = client.get(f"/incidents/{iid}", headers=who)
    assert 'id="file-form"' in page.text and 'enctype="multipart/form-data"' in page.text
    sent = client.post(
        f"/incidents/{iid}/files",
        files={"file": ("hien-truong.png", _png(), "image/png")},
        data={"body": "Ảnh từ hiện trường"},
        headers=who,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    page = client.get(f"/incidents/{iid}", headers=incident["helper"]).text
    assert "hien-truong.png" in page and "Ảnh từ hiện trường" in page
    refused = client.post(
        f"/incidents/{iid}/files",
        files={"file": ("x.png", b"not an image", "image/png")},
        headers=who,
    )
    assert refused.status_code == 422 and "PDF" in refused.text
    assert len(_stored(settings)) == 1


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


def _task(hours: float = 4, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Bơm tiêu nước đường 30/4",
        "agencies": ["SXD"],
        "due_at": (clock.now() + timedelta(hours=hours)).isoformat(),
        **extra,
    }


def test_the_operator_on_duty_issues_a_directive_from_the_incident(
    client: TestClient, incident: dict[str, Any], headers_for: Any
) -> None:
    iid = incident["id"]
    issued = client.post(
        f"/api/v1/incidents/{iid}/directives",
        json=_task(priority="urgent"),
        headers=incident["operator"],
    )
    assert issued.status_code == 201, issued.text
    directive = issued.json()
    assert directive["incident_id"] == iid and directive["agency_codes"] == ["SXD"]
    # The assigned agency sees it in its tracker, tied to the incident.
    mine = client.get(
        "/api/v1/directives", params={"incident_id": iid}, headers=incident["responsible"]
    ).json()
    assert [d["id"] for d in mine] == [directive["id"]]
    listed = client.get(f"/api/v1/incidents/{iid}/directives", headers=incident["operator"])
    assert [d["id"] for d in listed.json()] == [directive["id"]]
    timeline = client.get(f"/api/v1/incidents/{iid}", headers=incident["operator"]).json()
    entry = next(e for e in timeline["timeline"] if e["action"] == "incident.directive")
    assert entry["summary"]["directive_id"] == directive["id"]
    # A leader may too; officers and viewers may not; the operator still may not issue a
    # directive that is not tied to an incident.
    leader = headers_for("leader")
    assert (
        client.post(f"/api/v1/incidents/{iid}/directives", json=_task(), headers=leader).status_code
        == 201
    )
    for who in ("responsible", "viewer"):
        refused = client.post(
            f"/api/v1/incidents/{iid}/directives", json=_task(), headers=incident[who]
        )
        assert refused.status_code == 403, who
    free = client.post("/api/v1/directives", json=_task(), headers=incident["operator"])
    assert free.status_code == 403
    # Bad input: a clear 422; an unknown agency is refused by the directives service.
    assert (
        client.post(
            f"/api/v1/incidents/{iid}/directives",
            json=_task(hours=-1),
            headers=incident["operator"],
        ).status_code
        == 422
    )
    unknown = client.post(
        f"/api/v1/incidents/{iid}/directives",
        json={**_task(), "agencies": ["KHONGCO"]},
        headers=incident["operator"],
    )
    assert unknown.status_code == 422
    # Once the incident is closed, no new tasks from it.
    for status in ("in_progress", "resolved", "closed"):
        moved = client.post(
            f"/api/v1/incidents/{iid}/status",
            json={"status": status},
            headers=incident["operator"],
        )
        assert moved.status_code == 200, moved.text
    late = client.post(
        f"/api/v1/incidents/{iid}/directives", json=_task(), headers=incident["operator"]
    )
    assert late.status_code == 422


def test_the_incident_page_assigns_a_task(client: TestClient, incident: dict[str, Any]) -> None:
    iid = incident["id"]
    page = client.get(f"/incidents/{iid}", headers=incident["operator"]).text
    assert 'id="task-form"' in page
    assert (
        'id="task-form"'
        not in client.get(f"/incidents/{iid}", headers=incident["responsible"]).text
    )
    sent = client.post(
        f"/incidents/{iid}/directives",
        data={"title": "Cắm biển cảnh báo ngập", "agencies": ["CATP"], "hours": "2"},
        headers=incident["operator"],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    page = client.get(f"/incidents/{iid}", headers=incident["operator"]).text
    assert "Cắm biển cảnh báo ngập" in page
    refused = client.post(
        f"/incidents/{iid}/directives",
        data={"title": "x", "agencies": ["CATP"], "hours": "abc"},
        headers=incident["operator"],
    )
    assert refused.status_code == 422
