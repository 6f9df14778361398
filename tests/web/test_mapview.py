"""The overview map's settings and page parts without a browser: the basemap settings are
checked at start-up, a tile server's origin is allowed as images only, and the overview page
names the basemap it draws."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from taydo.console.mapview import BASEMAP_PATH, map_context
from taydo.core.security import CONTENT_SECURITY_POLICY, content_security_policy
from taydo.core.settings import Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, dev=True, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://tiles.example.vn/{z}/{x}/{y}.png",
        "https://tiles.example.vn/{z}/{x}.png",
        "tiles/{z}/{x}/{y}.png",
        "javascript:alert(1)//{z}{x}{y}",
    ],
)
def test_a_tile_url_that_is_not_an_http_template_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValidationError, match="basemap_url"):
        _settings(basemap_url=url)


def test_a_tile_servers_origin_is_allowed_as_images_only() -> None:
    settings = _settings(basemap_url="https://tiles.ioc.cantho.gov.vn:8443/osm/{z}/{x}/{y}.png")
    assert settings.basemap_origin == "https://tiles.ioc.cantho.gov.vn:8443"
    policy = content_security_policy((settings.basemap_origin,))
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert "https://tiles.ioc.cantho.gov.vn:8443" in directives["img-src"]
    assert "tiles.ioc" not in directives["connect-src"] + directives["script-src"]
    assert content_security_policy(()) == CONTENT_SECURITY_POLICY
    assert _settings(basemap_url="/tiles/{z}/{x}/{y}.png").basemap_origin is None


def test_the_page_names_the_basemap_it_draws(tmp_path: Path) -> None:
    archive = tmp_path / "cantho.pmtiles"
    assert map_context(_settings())["basemap"]["kind"] == "none"
    chosen = map_context(_settings(basemap_pmtiles=archive, basemap_url="/t/{z}/{x}/{y}.png"))
    assert chosen["basemap"] == {"kind": "pmtiles", "url": BASEMAP_PATH, "attribution": ""}
    tiles = map_context(_settings(basemap_url="/t/{z}/{x}/{y}.png", basemap_attribution="© OSM"))
    assert tiles["basemap"] == {
        "kind": "tiles",
        "url": "/t/{z}/{x}/{y}.png",
        "attribution": "© OSM",
    }
