"""Registers the Cần Thơ pack through the ``taydo`` entry point, as any third party would."""

from __future__ import annotations

from pathlib import Path

from taydo.core.plugins import Pack, hookimpl

DATA_DIR = Path(__file__).parent / "data"


@hookimpl
def taydo_packs() -> list[Pack]:
    return [Pack(name="cantho", title="Thành phố Cần Thơ", data_dir=DATA_DIR)]
