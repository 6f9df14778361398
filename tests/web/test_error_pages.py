"""A person's browser gets refusals as console pages; programs keep the JSON shape; answers
worth compressing are compressed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.testclient import TestClient

from taydo.auth.service import create_user
from taydo.core.access import public
from taydo.core.files import TooLarge

PAGE = {"Accept": "text/html,application/xhtml+xml"}


def test_a_missing_page_is_a_console_page_for_a_browser_and_json_for_a_program(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/khong-co-trang-nay", headers=PAGE)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy trang" in page.text and 'href="/"' in page.text
    assert "Content-Security-Policy" in page.headers  # the console's headers, as on every page

    english = client.get("/khong-co-trang-nay", headers={**PAGE, "Cookie": "taydo_lang=en"})
    assert "Page not found" in english.text

    program = client.get("/khong-co-trang-nay", headers={"Accept": "application/json"})
    assert program.status_code == 404 and program.json()["error"].startswith("không tìm thấy")
    # the machine interfaces answer JSON even to a browser's Accept header
    api = client.get("/api/v1/khong-co", headers=PAGE)
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")


def test_a_refused_page_says_so_in_the_console_look(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    viewer = {**PAGE, **headers_for("viewer")}
    refused = client.get("/data/upload", headers=viewer)
    assert refused.status_code == 403
    assert "Không được phép truy cập" in refused.text and "<html" in refused.text
    wrong_method = client.delete("/", headers=viewer)  # not a navigation: the JSON shape
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["allow"]


def test_pages_and_scripts_are_compressed_and_small_answers_are_not(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    script = client.get("/static/js/console.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200 and script.headers["content-encoding"] == "gzip"
    # httpx decodes: compare what went over the wire with what arrived
    assert int(script.headers["content-length"]) < len(script.content)
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 200 and "content-encoding" not in small.headers


def test_a_refused_form_post_is_a_page_for_a_browser(app, database) -> None:  # type: ignore[no-untyped-def]
    """A console form refused before its route answers (CSRF 403, size 413, a field out of
    bounds 422) is a page for the browser that posted it; programs keep the JSON shape."""

    @app.post("/test-upload")
    def upload(size: Annotated[int, Form(ge=0, le=10)], _p: object = public()) -> dict[str, int]:
        raise TooLarge("tệp quá lớn / the file is too large")

    create_user(database, "op-form", "operator", password="mat-khau-dai-du-12")
    with TestClient(app) as client:
        form = {"size": "3"}
        large = client.post("/test-upload", data=form, headers=PAGE)
        assert large.status_code == 413 and large.headers["content-type"].startswith("text/html")
        assert "tệp quá lớn" in large.text and "<html" in large.text
        upload_form = client.post(
            "/test-upload", files={"f": ("a.txt", b"x")}, data=form, headers=PAGE
        )
        assert upload_form.status_code == 413 and "<html" in upload_form.text, upload_form.text
        bounds = client.post("/test-upload", data={"size": "99"}, headers=PAGE)
        assert bounds.status_code == 422 and "<html" in bounds.text and "size" in bounds.text
        # programs: JSON, whatever they accept or send
        program = client.post("/test-upload", data=form)
        assert program.status_code == 413 and program.json()["error"].startswith("tệp quá lớn")
        as_json = client.post("/test-upload", json={"size": 3}, headers=PAGE)
        assert as_json.headers["content-type"].startswith("application/json")

        # CSRF: a logged-in browser's form without its token
        logged_in = client.post(
            "/api/v1/auth/login", json={"username": "op-form", "password": "mat-khau-dai-du-12"}
        )
        assert logged_in.status_code == 200, logged_in.text
        refused = client.post("/citizen/report", data={"service_code": "o-ga"}, headers=PAGE)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "CSRF" in refused.text and "<html" in refused.text
        program = client.post("/citizen/report", data={"service_code": "o-ga"})
        assert program.status_code == 403 and "CSRF" in program.json()["error"]
