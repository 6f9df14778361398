"""A person's browser gets refusals as console pages; programs keep the JSON shape; answers
worth compressing are compressed."""

from __future__ import annotations

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
