"""The incident page names people and agencies in words (issue 16): who acted on the timeline,
who wrote a note, who did a step, who the incident is given to; the stored code (username,
``agency:CODE``) only in a tooltip. The assign form picks them by name."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from taydo.app import create_app
from taydo.auth.service import create_user, issue_token
from taydo.catalog.models import Agency
from taydo.core.db import Database
from taydo.core.settings import Settings

HTML = {"Accept": "text/html"}
VALUES: dict[str, str | float | bool] = {"number": 2.1, "yes_no": True}


@pytest.fixture
def client(database: Database, pack: Database, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        incidents_files_dir=tmp_path / "incident-files",
        directives_files_dir=tmp_path / "directive-files",
        _env_file=None,
    )
    with database.session() as session:
        session.add_all(
            [
                Agency(
                    code="SXD", name="Sở Xây dựng", name_en="Department of Construction", kind="so"
                ),
                Agency(code="CATP", name="Công an thành phố", name_en="City Police", kind="ca"),
            ]
        )
    with TestClient(create_app(settings, database=database)) as test_client:
        yield test_client


def _person(database: Database, username: str, full_name: str = "") -> dict[str, str]:
    user = create_user(database, username, "operator", full_name=full_name)
    _row, token = issue_token(database, user.id, "test")
    return {**HTML, "Authorization": f"Bearer {token}"}


def _visible(page: str) -> str:
    """The text a person reads: tags (and so their attributes, the tooltips) and form
    fields' values out."""
    page = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_incident_page_names_people_and_agencies(client: TestClient, database: Database) -> None:
    an = _person(database, "nva", "Nguyễn Văn An")
    _person(database, "ttb", "Trần Thị Bình")
    created = client.post(
        "/api/v1/incidents",
        json={"type": "tidal-flooding", "title": "Ngập đường 30/4", "agency_code": "SXD"},
        headers=an,
    )
    assert created.status_code == 201, created.text
    iid = created.json()["id"]
    page = client.get(f"/incidents/{iid}", headers=an).text
    # The picker offers people and agencies by name; the value is what is stored.
    assert '<option value="user:ttb" title="ttb">Trần Thị Bình</option>' in page
    assert '<option value="agency:CATP" title="CATP">Công an thành phố</option>' in page
    assigned = client.post(
        f"/incidents/{iid}/assign",
        data={"agency_code": "SXD", "assignees": ["agency:CATP", "user:ttb"]},
        headers=an,
        follow_redirects=False,
    )
    assert assigned.status_code == 303, assigned.text
    noted = client.post(f"/incidents/{iid}/notes", data={"body": "Đã tới hiện trường"}, headers=an)
    assert noted.status_code in (200, 303), noted.text
    incident = client.get(f"/api/v1/incidents/{iid}", headers=an).json()
    assert incident["assignees"] == ["agency:CATP", "user:ttb"]
    step = incident["steps"][0]
    done = client.post(
        f"/api/v1/incidents/{iid}/steps/{step['id']}/complete",
        json={"data": {f["code"]: VALUES.get(f["kind"], "x") for f in step["fields"]}},
        headers=an,
    )
    assert done.status_code == 200, done.text

    page = client.get(f"/incidents/{iid}", headers=an).text
    text = _visible(page.split("<main")[1].split("</main>")[0])  # the header names who is in
    assigned_to = re.search(r'<dd id="assignees">(.*?)</dd>', page, re.S)
    assert assigned_to is not None
    assert " ".join(_visible(assigned_to.group(1)).split()) == "Công an thành phố , Trần Thị Bình"
    assert '<span class="who" title="agency:CATP">Công an thành phố</span>' in page
    assert '<span class="who" title="nva">Nguyễn Văn An</span>' in page
    timeline = page.split('id="timeline"')[1]
    assert _visible(timeline).count("Nguyễn Văn An") >= 3  # created, assigned, noted, step
    notes = page.split('id="notes"')[1].split('id="timeline"')[0]
    assert "Nguyễn Văn An" in _visible(notes)
    sop = page.split('id="sop"')[1].split('id="links"')[0]
    assert "✓ Nguyễn Văn An" in " ".join(_visible(sop).split())
    for code in ("nva", "ttb", "agency:", "user:"):
        assert re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text) is None, code
    # In English, the agency's English name.
    client.cookies.set("taydo_lang", "en")
    english = client.get(f"/incidents/{iid}", headers=an).text
    assert '<span class="who" title="agency:CATP">City Police</span>' in english


def test_assign_form_refuses_what_names_nobody(client: TestClient, database: Database) -> None:
    an = _person(database, "nva", "Nguyễn Văn An")
    created = client.post(
        "/api/v1/incidents",
        json={"type": "tidal-flooding", "title": "Ngập", "agency_code": "SXD"},
        headers=an,
    )
    iid = created.json()["id"]
    refused = client.post(f"/incidents/{iid}/assign", data={"assignees": ["ai đó"]}, headers=an)
    assert refused.status_code == 422
    assert "Dữ liệu không hợp lệ" in refused.text
    # One text of comma-separated codes (a script's post) is still understood.
    assigned = client.post(
        f"/incidents/{iid}/assign",
        data={"agency_code": "SXD", "assignees": "agency:CATP, user:nva"},
        headers=an,
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    incident = client.get(f"/api/v1/incidents/{iid}", headers=an).json()
    assert incident["assignees"] == ["agency:CATP", "user:nva"]
