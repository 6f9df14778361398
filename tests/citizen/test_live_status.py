"""The live channel of a report's public status page (``/citizen/r/{token}/live``, SSE) on a
real server: keyed by the report's secret token, filtered to that one report, carrying public
fields only, bounded per client address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.citizen.conftest import IN_CAI_RANG, IN_NINH_KIEU, prepare_citizen
from tests.serving import serve_in_thread

PUBLIC_FIELDS = {"id", "status", "status_label", "status_notes", "closed_at", "updated_at"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from taydo.app import create_app
    from taydo.auth.service import create_user, issue_token
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.core.settings import Settings

    folder: Path = tmp_path_factory.mktemp("citizen-live")
    database = Database(f"sqlite:///{folder / 'taydo.db'}")
    upgrade(database)
    prepare_citizen(database)
    operator = create_user(database, "truc-ban", "operator")
    _row, token = issue_token(database, operator.id, "live")
    settings = Settings(  # type: ignore[call-arg]
        database_url=database.url, dev=True, citizen_photos_dir=folder / "photos", _env_file=None
    )
    app = create_app(settings, database=database)
    try:
        with serve_in_thread(app) as base:
            yield {"base": base, "db": database, "token": token}
    finally:
        database.dispose()


def _events(response: httpx.Response) -> Iterator[tuple[str, bytes]]:
    """(event name, raw data) of each SSE event; comments (keep-alives) skipped."""
    name, data = "message", b""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:].encode()
        elif line == "" and data:
            yield name, data
            name, data = "message", b""


def _report(database: Any, lat_lon: tuple[float, float], phone: str) -> dict[str, Any]:
    from taydo.citizen.service import NewReport, create_report

    report, _event = create_report(
        database,
        NewReport(
            service_code="o-ga",
            lat=lat_lon[0],
            lon=lat_lon[1],
            description="Ổ gà",
            contact_phone=phone,
            contact_name="Nguyễn Văn A",
        ),
    )
    return report


def test_the_status_page_hears_its_own_report_and_only_public_fields(
    server: dict[str, Any],
) -> None:
    base, database = server["base"], server["db"]
    operator = {"Authorization": f"Bearer {server['token']}"}
    mine = _report(database, IN_NINH_KIEU, "0901111111")
    other = _report(database, IN_CAI_RANG, "0902222222")
    assert httpx.get(f"{base}/citizen/r/khong-co-token/live").status_code == 404
    with (
        httpx.Client(timeout=httpx.Timeout(15.0)) as client,
        client.stream("GET", f"{base}/citizen/r/{mine['token']}/live") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream)
        name, raw = next(events)
        first = orjson.loads(raw)
        assert name == "status" and set(first) == PUBLIC_FIELDS
        assert first["id"] == mine["id"] and first["status"] == "open"
        # Another report changes first: nothing is sent for it (the next event is ours).
        changed = httpx.post(
            f"{base}/api/v1/citizen/reports/{other['id']}/status",
            json={"status": "acknowledged"},
            headers=operator,
        )
        assert changed.status_code == 200, changed.text
        closed = httpx.post(
            f"{base}/api/v1/citizen/reports/{mine['id']}/status",
            json={"status": "closed", "note": "Đã vá ổ gà"},
            headers=operator,
        )
        assert closed.status_code == 200, closed.text
        name, raw = next(events)
        update = orjson.loads(raw)
        assert name == "status" and set(update) == PUBLIC_FIELDS
        assert update["id"] == mine["id"] and update["status"] == "closed"
        assert update["status_notes"] == "Đã vá ổ gà" and update["closed_at"]
        assert update["status_label"] == {"vi": "Đã xử lý xong", "en": "Resolved"}
        for secret in (b"0901111111", b"Nguy", b"truc-ban", b"0902222222"):
            assert secret not in raw


def test_live_pages_are_bounded_per_client_address(server: dict[str, Any]) -> None:
    base = server["base"]
    report = _report(server["db"], IN_NINH_KIEU, "0903333333")
    url = f"{base}/citizen/r/{report['token']}/live"
    with httpx.Client(timeout=httpx.Timeout(15.0)) as client, ExitStack() as stack:
        readers = []  # kept: a reader dropped half-way closes its stream
        for _ in range(4):
            opened = stack.enter_context(client.stream("GET", url))
            assert opened.status_code == 200
            readers.append(_events(opened))
            next(readers[-1])  # connected and counted
        refused = client.get(url)
        assert refused.status_code == 429
        assert "quá nhiều" in refused.json()["error"]
    # once they are closed, the page may follow the report again
    deadline = time.monotonic() + 10
    while True:
        with (
            httpx.Client(timeout=httpx.Timeout(15.0)) as client,
            client.stream("GET", url) as again,
        ):
            if again.status_code == 200:
                break
        assert time.monotonic() < deadline, "the closed streams were never released"
        time.sleep(0.2)
