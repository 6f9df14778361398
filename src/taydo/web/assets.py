"""Front-end libraries: copied from ``node_modules`` (npm, with a lockfile) into ``static/vendor``.

The console never loads anything from another host (IOCs run on closed networks), so the
libraries are installed with npm at set-up (``make assets``, run by ``make demo`` and
``make test``) and served by the IOC itself. ``python -m taydo.web.assets`` does the copy; it
is idempotent and works offline once ``npm ci`` has run.

ECharts is not copied but built: esbuild (an npm dev dependency, in the lockfile) bundles
``echarts.entry.js`` — only the chart and components the console draws with — into
``vendor/echarts-console.min.js``. The full build is ≈ 365 KB gzipped, which alone nearly
fills a page's 400 KB budget (docs/console.md, "Page weight"); the console's own is ≈ 195 KB.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = [
    "BUILT_FILES",
    "VENDOR_DIR",
    "VENDOR_FILES",
    "build_vendor",
    "copy_vendor",
    "missing_vendor",
]

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
    # The offline basemap (an operator's PMTiles file): BSD-3-Clause, both.
    "pmtiles.js": "pmtiles/dist/pmtiles.js",
    "protomaps-leaflet.js": "protomaps-leaflet/dist/protomaps-leaflet.js",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
}


# destination under static/vendor/  ←  the entry file (beside this module) esbuild bundles
BUILT_FILES: dict[str, str] = {
    "echarts-console.min.js": "echarts.entry.js",
}


def missing_vendor() -> list[str]:
    """Vendor files the console needs that are not in place (empty when set up)."""
    needed = [*VENDOR_FILES, *BUILT_FILES]
    return [name for name in needed if not (VENDOR_DIR / name).is_file()]


def copy_vendor(node_modules: Path) -> list[str]:
    """Copy the libraries; returns the files copied (unchanged files are skipped)."""
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    copied = []
    for target, source in VENDOR_FILES.items():
        origin = node_modules / source
        if not origin.is_file():
            raise FileNotFoundError(f"{origin} is missing: run `npm ci` at the repository root")
        if _replace(origin, VENDOR_DIR / target):
            copied.append(target)
    return copied


def _replace(origin: Path, destination: Path) -> bool:
    """Copy ``origin`` over ``destination`` unless it holds the same bytes (an unchanged file
    keeps its time stamp, so make sees nothing new); returns whether it copied."""
    if destination.is_file() and destination.read_bytes() == origin.read_bytes():
        return False
    shutil.copyfile(origin, destination)
    return True


def build_vendor(node_modules: Path) -> list[str]:
    """Bundle the built files with esbuild; returns the files that changed (esbuild's output
    is deterministic, so an unchanged bundle is left alone and keeps its time stamp)."""
    # The platform's own binary first: ``.bin/esbuild`` is a Node.js script until esbuild's
    # install script has replaced it, and the image's build stage has no Node.js.
    native = sorted(node_modules.glob("@esbuild/*/bin/esbuild"))
    esbuild = native[0] if native else node_modules / ".bin" / "esbuild"
    if not esbuild.is_file():
        raise FileNotFoundError(f"{esbuild} is missing: run `npm ci` at the repository root")
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    built = []
    for target, entry in BUILT_FILES.items():
        with tempfile.TemporaryDirectory() as tmp:
            output = Path(tmp) / target
            subprocess.run(  # noqa: S603 - our own entry file and the lockfile's esbuild
                [
                    str(esbuild),
                    str(Path(__file__).resolve().parent / entry),
                    "--bundle",
                    "--minify",  # also sets process.env.NODE_ENV to "production"
                    "--format=iife",
                    "--global-name=echarts",  # the global the console's scripts call
                    "--log-level=warning",
                    f"--outfile={output}",
                ],
                check=True,
                # The entry lives in the package, not beside node_modules: tell esbuild where.
                env={**os.environ, "NODE_PATH": str(node_modules.resolve())},
            )
            if _replace(output, VENDOR_DIR / target):
                built.append(target)
    return built


if __name__ == "__main__":  # pragma: no cover - the Makefile step
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd() / "node_modules"
    try:
        done = copy_vendor(root)
        made = build_vendor(root)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        sys.exit(str(exc))
    sys.stderr.write(
        f"console assets: {len(done)} copied, {len(VENDOR_FILES) - len(done)} current; "
        f"{len(made)} built, {len(BUILT_FILES) - len(made)} current\n"
    )
