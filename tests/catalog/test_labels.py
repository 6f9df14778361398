"""Words for codes (``taydo.catalog.service.labels``): the one helper the console names codes
with — packs' labels, tables' names, both languages, and the code itself when nothing names
it."""

from __future__ import annotations

import shutil
from pathlib import Path

from taydo.catalog.service.labels import Words, _labels, _tables
from taydo.core.db import Database
from taydo.packs.cantho.plugin import DATA_DIR


def test_words_name_every_kind_of_code_in_both_languages(loaded: Database, pack_dir: Path) -> None:
    shutil.copy(DATA_DIR / "kpis.yaml", pack_dir / "kpis.yaml")  # the sectors
    words = Words(_labels((pack_dir,)), *_tables(loaded), database=loaded)
    assert words.word("metric", "height") == "Mực nước"
    assert words.word("metric", "pm25", "en", "AirQualityObserved").startswith("PM2.5")
    assert words.word("type", "WaterObserved") != "WaterObserved"
    assert words.word("agency", "DKTTV") == "Đài Khí tượng Thủy văn khu vực Nam Bộ"
    assert words.word("agency", "DKTTV", "en") == "Southern Regional Hydro-Meteorological Centre"
    assert words.word("sector", "natural-resources-environment") == "Tài nguyên – môi trường"
    assert words.word("sector", "agriculture", "en") == "Agriculture"
    assert words.word("rule_kind", "rate") == "Tốc độ thay đổi"
    assert words.word("pillar", "government", "en") == "Digital government"
    assert words.word("area", "area:31135").startswith("Phường")
    assert words.word("dataset", "water-level") == "Mực nước sông"
    # Nothing names it: the code itself (a label never hides data); no code: a dash.
    assert words.word("agency", "NOPE") == "NOPE"
    assert words.word("area", "99999") == "99999"
    assert words.word("metric", None) == "—"
    assert words.word("nonsense-kind", "x") == "x"
