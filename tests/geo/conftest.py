"""Geo tests place catalog entities too: they share the catalog's test pack."""

from tests.catalog.conftest import loaded, pack_dir

__all__ = ["loaded", "pack_dir"]
