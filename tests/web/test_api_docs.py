"""The interactive API docs come from the IOC's own assets, like the console."""

from __future__ import annotations

import re


def test_api_docs_load_only_local_assets(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert 'rel="icon" href="data:,"' in page.text  # an empty icon: no /favicon.ico 404
    sources.remove("data:,")
    assert len(sources) == 3
    for source in sources:
        assert source.startswith("/static/"), source  # nothing from another host
        assert client.get(source).status_code == 200, source
    assert "<script>" not in page.text  # no inline script: the CSP allows only 'self'
    assert client.get("/api/openapi.json").json()["info"]["title"] == "Tây Đô IOC"
