"""The reporter's rating: once per resolution, through the service, the API and the status
page; a refused rating on the page is the page again with the reason, an unknown token the
console's 404 page."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from taydo.citizen.service import NewReport, act, create_report, get_report, rate, reopen
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict
from tests.citizen.conftest import IN_NINH_KIEU

OPERATOR = Principal(username="op", role="operator")
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


def _resolved(database: Database) -> dict[str, Any]:
    report, _event = create_report(
        database, NewReport(service_code="o-ga", lat=IN_NINH_KIEU[0], lon=IN_NINH_KIEU[1])
    )
    act(database, OPERATOR, report["id"], "closed", note="đã vá")
    return report


def test_one_rating_per_resolution(citizen_db: Database) -> None:
    report = _resolved(citizen_db)
    assert rate(citizen_db, report["token"], 4)[0]["rating"] == 4
    with pytest.raises(Conflict, match="đã được đánh giá"):
        rate(citizen_db, report["token"], 1)
    assert get_report(citizen_db, OPERATOR, report["id"])["rating"] == 4  # the first stays
    # reopened, then resolved again: a new resolution, rated once more
    reopen(citizen_db, report["token"], days=7, note="lại bể")
    with pytest.raises(Conflict):  # not resolved now
        rate(citizen_db, report["token"], 2)
    act(citizen_db, OPERATOR, report["id"], "closed", note="đã vá lại")
    assert rate(citizen_db, report["token"], 2)[0]["rating"] == 2
    with pytest.raises(Conflict):
        rate(citizen_db, report["token"], 5)
    history = [e["action"] for e in get_report(citizen_db, OPERATOR, report["id"])["history"]]
    assert history.count("citizen.rated") == 2


def test_the_api_rates_once_and_answers_409_after(
    citizen_client: TestClient, citizen_db: Database
) -> None:
    report = _resolved(citizen_db)
    url = f"/api/v1/citizen/tracked/{report['token']}/rating"
    first = citizen_client.post(url, json={"rating": 5})
    assert first.status_code == 200, first.text
    assert first.json()["rating"] == 5 and "contact" not in first.json()
    again = citizen_client.post(url, json={"rating": 1})
    assert again.status_code == 409 and "đã được đánh giá" in again.json()["error"]
    assert citizen_client.post(url, json={"rating": 9}).status_code == 422
    unknown = citizen_client.post("/api/v1/citizen/tracked/khong-co/rating", json={"rating": 3})
    assert unknown.status_code == 404


def test_the_status_page_rates_once_and_shows_why_it_refuses(
    citizen_client: TestClient, citizen_db: Database
) -> None:
    report = _resolved(citizen_db)
    page = f"/citizen/r/{report['token']}"
    assert 'id="rate"' in citizen_client.get(page, headers=BROWSER).text

    # Out of range (a form edited by hand): the page again, with the reason, not JSON.
    for bad in ("9", "0", "abc", ""):
        refused = citizen_client.post(f"{page}/rate", data={"rating": bad}, headers=BROWSER)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("text/html")
        assert "từ 1 đến 5 sao" in refused.text and 'role="alert"' in refused.text

    done = citizen_client.post(
        f"{page}/rate", data={"rating": "4"}, headers=BROWSER, follow_redirects=False
    )
    assert done.status_code == 303
    shown = citizen_client.get(page, headers=BROWSER).text
    assert 'id="rated"' in shown and 'id="rate"' not in shown  # no buttons once rated

    again = citizen_client.post(f"{page}/rate", data={"rating": "1"}, headers=BROWSER)
    assert again.status_code == 409 and again.headers["content-type"].startswith("text/html")
    assert "chỉ đánh giá một lần" in again.text
    assert get_report(citizen_db, OPERATOR, report["id"])["rating"] == 4

    english = citizen_client.post(
        f"{page}/rate", data={"rating": "1"}, headers=BROWSER, cookies={"taydo_lang": "en"}
    )
    assert "only once" in english.text


def test_an_unknown_token_is_the_console_404_page(citizen_client: TestClient) -> None:
    for answer in (
        citizen_client.get("/citizen/r/khong-co-token", headers=BROWSER),
        citizen_client.get("/citizen/r/", headers=BROWSER),
        citizen_client.post(
            "/citizen/r/khong-co-token/rate", data={"rating": "3"}, headers=BROWSER
        ),
        citizen_client.post("/citizen/r/khong-co-token/reopen", data={"note": ""}, headers=BROWSER),
    ):
        assert answer.status_code == 404, answer.request.url
        assert answer.headers["content-type"].startswith("text/html"), answer.request.url
        assert "<html" in answer.text
