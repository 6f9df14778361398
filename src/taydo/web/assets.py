"""Front-end libraries: copied from ``node_modules`` (npm, with a lockfile) into ``static/vendor``.

The console never loads anything from another host (IOCs run on closed networks), so the
libraries are installed with npm at set-up (``make assets``, run by ``make demo`` and
``make test``) and served by the IOC itself. ``python -m taydo.web.assets`` does the copy; it
is idempotent and works offline once ``npm ci`` has run.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

__all__ = ["VENDOR_DIR", "VENDOR_FILES", "copy_vendor", "missing_vendor"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

# destination under static/vendor/  ←  source under node_modules/
VENDOR_FILES: dict[str, str] = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "echarts.min.js": "echarts/dist/echarts.min.js",
    # The offline basemap (an operator's PMTiles file): BSD-3-Clause, both.
    "pmtiles.js": "pmtiles/dist/pmtiles.js",
    "protomaps-leaflet.js": "protomaps-leaflet/dist/protomaps-leaflet.js",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
}


def missing_vendor() -> list[str]:
    """Vendor files the console needs that are not in place (empty when set up)."""
    return [name for name in VENDOR_FILES if not (VENDOR_DIR / name).is_file()]


def copy_vendor(node_modules: Path) -> list[str]:
    """Copy the libraries; returns the files copied (unchanged files are skipped)."""
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    copied = []
    for target, source in VENDOR_FILES.items():
        origin = node_modules / source
        if not origin.is_file():
            raise FileNotFoundError(f"{origin} is missing: run `npm ci` at the repository root")
        destination = VENDOR_DIR / target
        if destination.is_file() and destination.read_bytes() == origin.read_bytes():
            continue
        shutil.copyfile(origin, destination)
        copied.append(target)
    return copied


if __name__ == "__main__":  # pragma: no cover - the Makefile step
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd() / "node_modules"
    try:
        done = copy_vendor(root)
    except FileNotFoundError as exc:
        sys.exit(str(exc))
    sys.stderr.write(
        f"console assets: {len(done)} copied, {len(VENDOR_FILES) - len(done)} current\n"
    )
