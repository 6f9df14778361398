"""The console shell: assets served by the IOC, login redirects, language switch, navigation."""

from __future__ import annotations

from taydo.web.assets import missing_vendor


def test_front_end_libraries_are_installed() -> None:
    assert missing_vendor() == [], "run `make assets` (npm ci + copy into static/vendor)"


def test_static_assets_are_served_and_paths_cannot_escape(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/static/vendor/leaflet.js?v=1")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "immutable" in response.headers["cache-control"]
    assert client.get("/static/../pages.py").status_code == 404
    assert client.get("/static/%2e%2e/pages.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


def test_a_browser_that_is_not_logged_in_is_sent_to_login(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/areas?q=ninh", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/areas%3Fq%3Dninh"
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 401


def test_login_page_is_vietnamese_first_then_english(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    assert page.status_code == 200
    assert "Tên đăng nhập" in page.text and "Mật khẩu" in page.text
    assert '<html lang="vi">' in page.text
    switched = client.get("/lang/en?next=/login", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    english = client.get("/login")
    assert '<html lang="en">' in english.text
    assert "Username" in english.text and "Tên đăng nhập" not in english.text


def test_language_switch_only_follows_local_paths(client) -> None:  # type: ignore[no-untyped-def]
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.get("/lang/en", params={"next": target}, follow_redirects=False)
        assert response.headers["location"] == "/"


def test_navigation_follows_the_role(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/", headers=headers_for("viewer"))
    assert page.status_code == 200
    for label in ("Tổng quan", "Cảnh báo", "Địa bàn", "Dữ liệu"):
        assert f">{label}</a>" in page.text
    assert 'id="map"' in page.text
