"""The public report form and status page in real headless Chromium at a phone's viewport
(390×844): pick the place on the map, attach a photo, send; see the duplicate suggestion on the
way; then see the status change, without a reload, once an operator resolves the report
through the API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.citizen.conftest import prepare_citizen
from tests.citizen.test_photos import GPS_IFD, jpeg_with_gps
from tests.serving import serve_in_thread
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from taydo.app import create_app
    from taydo.auth.service import create_user, issue_token
    from taydo.core.db import Database
    from taydo.core.migrate import upgrade
    from taydo.core.settings import Settings

    folder = tmp_path_factory.mktemp("citizen-e2e")
    database = Database(f"sqlite:///{folder / 'taydo.db'}")
    upgrade(database)
    prepare_citizen(database)
    operator = create_user(database, "dieu-hanh", "operator")
    _row, token = issue_token(database, operator.id, "e2e")
    settings = Settings(  # type: ignore[call-arg]
        database_url=database.url, dev=True, citizen_photos_dir=folder / "photos", _env_file=None
    )
    app = create_app(settings, database=database)
    try:
        with serve_in_thread(app) as base:
            yield {"base": base, "db": database, "token": token, "folder": folder}
    finally:
        database.dispose()


def test_a_citizen_reports_from_a_phone_and_sees_it_resolved(
    server: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from taydo.citizen.service import NewReport, create_report, get_by_token

    base, database = server["base"], server["db"]
    # Someone reported the same pothole nearby an hour ago: the form suggests it.
    earlier, _event = create_report(
        database, NewReport(service_code="o-ga", lat=10.0341, lon=105.7880, description="ổ gà")
    )
    photo = tmp_path / "o-ga.jpg"
    photo.write_bytes(jpeg_with_gps((320, 240)))
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                locale="vi-VN",
                timezone_id="Asia/Ho_Chi_Minh",
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on("request", lambda request: requests.append(request.url))
            page.goto(base + "/citizen/report")
            assert page.locator("h1").inner_text() == "Gửi phản ánh hiện trường"
            page.select_option("#service_code", "o-ga")
            # a tap in the middle of the map: the map opens on central Ninh Kiều
            page.locator("#pick-map").click()
            page.wait_for_function("document.getElementById('lat').value !== ''")
            lat = float(page.input_value("#lat"))
            lon = float(page.input_value("#long"))
            assert abs(lat - 10.0341) < 0.01 and abs(lon - 105.7880) < 0.01
            page.locator("#duplicates").wait_for(state="visible")
            assert f"#{earlier['id']}" in page.locator("#duplicate-list").inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.locator("h1").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "citizen-form.png"))
            page.fill("textarea[name=description]", "Ổ gà sâu giữa đường, xe máy dễ té")
            page.set_input_files("#media", str(photo))
            page.fill("input[name=phone]", "0901234567")
            page.click("#submit-report")
            page.wait_for_url(f"{base}/citizen/r/**")
            token = page.url.rsplit("/", 1)[1]
            assert page.locator("#report-status").inner_text() == "Mới tiếp nhận"
            # the photo shows, and what the browser got has no GPS left
            page.wait_for_function("document.getElementById('report-photo').naturalWidth > 0")
            report = get_by_token(database, token)
            assert report["agency_code"] == "SXD" and report["area_code"] == "31135"
            served = httpx.get(f"{base}/citizen/photos/{report['id']}")
            with Image.open(io.BytesIO(served.content)) as image:
                assert not image.getexif().get_ifd(GPS_IFD)
            assert "0901234567" not in page.content()  # the contact is never shown
            page.screenshot(path=str(SHOTS / "citizen-status.png"), full_page=True)

            # The operator resolves it through the API; the reporter's page follows live,
            # without a reload or any other navigation.
            navigations: list[str] = []
            page.on("framenavigated", lambda frame: navigations.append(frame.url))
            answer = httpx.post(
                f"{base}/api/v1/citizen/reports/{report['id']}/status",
                json={"status": "closed", "note": "Đã vá ổ gà"},
                headers={"Authorization": f"Bearer {server['token']}"},
            )
            assert answer.status_code == 200, answer.text
            page.locator("#report-status[data-status='closed']").wait_for()
            assert navigations == []
            assert page.locator("#report-status").inner_text() == "Đã xử lý xong"
            assert page.locator("#status-notes").inner_text() == "Đã vá ổ gà"
            # … and rates the work
            page.click("button[name=rating][value='5']")
            page.wait_for_url(f"{base}/citizen/r/{token}")
            assert "5/5" in page.locator("#rated").inner_text()
            context.close()
        finally:
            browser.close()
    assert requests and all(url.startswith(base) for url in requests), [
        u for u in requests if not u.startswith(base)
    ]
