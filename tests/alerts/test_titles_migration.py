"""Titles stored before they were written for people are rewritten by the schema upgrade
(``al4_titles_for_people``): a ward or a dataset by name, no engine level code, and what no
name is known for left as it was."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from taydo.core import migrate
from taydo.core.db import Database

BEFORE = "al3_judged_marks"

# (rule kind, target, stored title, stored English title) → (title, English title) after.
CASES: list[tuple[tuple[str, str, str, str], tuple[str, str]]] = [
    (
        (
            "threshold",
            "area:31340",
            "Rủi ro ngập lụt cấp phường: Cấp 2 — area:31340",
            "Ward flood risk: Level 2 — area:31340",
        ),
        (
            "Rủi ro ngập lụt cấp phường: Cấp 2 — Phường Ngã Bảy",
            "Ward flood risk: Level 2 — Phường Ngã Bảy",
        ),
    ),
    (
        ("absence", "dataset:gia-lua", "Bộ dữ liệu ngừng cập nhật: absent — dataset:gia-lua", ""),
        ("Bộ dữ liệu ngừng cập nhật — Giá lúa hằng ngày", ""),
    ),
    (
        (
            "rate",
            "urn:ngsi-ld:WaterObserved:tran-de",
            "Mực nước lên nhanh: rate — Trạm thủy văn Trần Đề",
            "Water rising fast: rate — Trạm thủy văn Trần Đề",
        ),
        (
            "Mực nước lên nhanh — Trạm thủy văn Trần Đề",
            "Water rising fast — Trạm thủy văn Trần Đề",
        ),
    ),
    # No such area: the code stays (a title never loses what it is about).
    (
        ("threshold", "area:99999", "Rủi ro ngập lụt cấp phường — area:99999", ""),
        ("Rủi ro ngập lụt cấp phường — area:99999", ""),
    ),
    # Already for people: untouched.
    (
        ("threshold", "area:31340", "Nguy cơ ngập — Phường Ngã Bảy", "Flood risk — Phường Ngã Bảy"),
        ("Nguy cơ ngập — Phường Ngã Bảy", "Flood risk — Phường Ngã Bảy"),
    ),
]


def test_stored_titles_name_the_ward_and_the_dataset(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        # The areas and the datasets as they are now, the alerts as they were.
        for target in ("geo@head", "catalog@head", BEFORE):
            migrate.upgrade(database, target)
        assert "al4_titles_for_people" not in migrate.current_heads(database)
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO areas (code, name, kind, level) "
                    "VALUES ('31340', 'Phường Ngã Bảy', 'phuong', 2)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO agencies (id, code, name, name_en, kind) "
                    "VALUES (1, 'SNNMT', 'Sở Nông nghiệp và Môi trường', '', 'so')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO datasets (code, name, agency_id, pillar, sector, description, "
                    "update_interval_s, licence) VALUES ('gia-lua', 'Giá lúa hằng ngày', 1, "
                    "'economy', 'agriculture', '', 86400, '')"
                )
            )
            for number, ((kind, target, title, title_en), _after) in enumerate(CASES, 1):
                connection.execute(
                    text(
                        "INSERT INTO alerts (id, rule_code, rule_kind, target, state, severity, "
                        "public, silenced, title, title_en, started_at, updated_at, note, "
                        "escalation_step, revision) VALUES (:id, 'r', :kind, :target, 'firing', "
                        "'warning', 0, 0, :title, :title_en, '2026-12-01 00:00:00', "
                        "'2026-12-01 00:00:00', '', 0, 1)"
                    ),
                    {
                        "id": number,
                        "kind": kind,
                        "target": target,
                        "title": title,
                        "title_en": title_en,
                    },
                )
        migrate.upgrade(database)
        with database.engine.connect() as connection:
            found = {
                row.id: (row.title, row.title_en)
                for row in connection.execute(text("SELECT id, title, title_en FROM alerts"))
            }
        assert found == {number: after for number, (_before, after) in enumerate(CASES, 1)}
    finally:
        database.dispose()
