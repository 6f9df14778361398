"""`taydo import observations FILE`: real files with good and bad rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from taydo.cli import app as cli_app
from taydo.core.db import Database
from taydo.ingest.cli import UnreadableFile, import_observations_file
from taydo.ingest.models import QuarantineEntry
from taydo.observations.models import Observation
from tests.ingest.conftest import REQUEST_DEADLINE

ENTITY = "urn:ngsi-ld:WaterObserved:can-tho"


@pytest.fixture
def height(series_of) -> int:  # type: ignore[no-untyped-def]
    return series_of("can-tho", {"height": (-5.0, 10.0)})["height"]


def _stored(database: Database) -> list[tuple[int, float, int]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(Observation.ts, Observation.value, Observation.quality).order_by(Observation.ts)
        )
        return [tuple(row) for row in rows]


def _quarantined(database: Database) -> list[QuarantineEntry]:
    with database.session() as session:
        return list(session.scalars(select(QuarantineEntry).order_by(QuarantineEntry.id)))


def _run(database: Database, path: Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        cli_app, ["import", "observations", str(path)], env={"TAYDO_DATABASE_URL": database.url}
    )


def test_csv_good_and_bad_rows(database: Database, height: int, tmp_path: Path) -> None:
    path = tmp_path / "muc-nuoc.csv"
    path.write_text(
        "\ufeffentity_id,metric,ts,value,quality\n"
        f"{ENTITY},height,2026-10-15T06:00:00+07:00,1.95,\n"
        f"{ENTITY},height,1792000000000,2.04,1\n"
        f"{ENTITY},height,2026-10-15T07:00:00,1.90,\n"  # no offset
        f"{ENTITY},height,2026-10-15T08:00:00+07:00,abc,\n"  # not a number
        f"{ENTITY},height,2026-10-15T09:00:00+07:00,99,\n"  # outside valid range
        f"urn:ngsi-ld:WaterObserved:nowhere,height,2026-10-15T09:00:00+07:00,1.0,\n"
        "\n"
        f"{ENTITY},height,2026-10-15T10:00:00+07:00,NaN,\n",
        encoding="utf-8",
    )
    result = _run(database, path)
    assert result.exit_code == 1, result.output
    assert "accepted: 2" in result.output and "rejected: 5" in result.output
    assert sorted(value for _ts, value, _q in _stored(database)) == [1.95, 2.04]

    report = path.with_name("muc-nuoc.csv.rejected.csv")
    with report.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["line"] for row in rows] == ["4", "5", "6", "7", "9"]
    reasons = [row["reason"] for row in rows]
    assert "time zone" in reasons[0]
    assert "must be a number" in reasons[1]
    assert "valid range" in reasons[2]
    assert "unknown entity_id" in reasons[3]
    assert "finite" in reasons[4]
    assert rows[1]["value"] == "abc"  # the original columns, ready to fix and re-import

    quarantined = _quarantined(database)
    assert len(quarantined) == 5
    assert {q.source for q in quarantined} == {"file:muc-nuoc.csv"}
    assert "abc" in quarantined[1].raw

    # Importing the same file again stores nothing twice.
    again = _run(database, path)
    assert "duplicates: 2" in again.output
    assert len(_stored(database)) == 2


def test_jsonl_with_malformed_lines(database: Database, height: int, tmp_path: Path) -> None:
    path = tmp_path / "gateway.jsonl"
    lines = [
        json.dumps({"entity_id": ENTITY, "metric": "height", "ts": 1792000000000, "value": 1.5}),
        "{not json",
        json.dumps({"entity_id": ENTITY, "metric": "height", "value": 1.6}),  # no ts
        json.dumps(["a", "list"]),
        json.dumps(
            {"entity_id": ENTITY, "metric": "height", "ts": "2026-10-15T06:00:00Z", "value": 1.7}
        ),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run(database, path)
    assert result.exit_code == 1, result.output
    assert "accepted: 2" in result.output and "rejected: 3" in result.output
    with path.with_name("gateway.jsonl.rejected.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert (rows[0]["line"], rows[0]["raw"]) == ("2", "{not json")
    assert "malformed JSON" in rows[0]["reason"]
    assert "missing field 'ts'" in rows[1]["reason"]
    assert "JSON object" in rows[2]["reason"]
    assert len(_quarantined(database)) == 3


def test_clean_file_exits_zero_and_leaves_no_report(
    database: Database, height: int, tmp_path: Path
) -> None:
    path = tmp_path / "ok.csv"
    stale = tmp_path / "ok.csv.rejected.csv"
    stale.write_text("line,reason\n", encoding="utf-8")
    path.write_text(
        f"ts,value,metric,entity_id\n1792000000000,1.2,height,{ENTITY}\n", encoding="utf-8"
    )
    result = _run(database, path)
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert _stored(database) == [(1792000000000, 1.2, 0)]


def test_unreadable_files_get_a_clear_answer(database: Database, tmp_path: Path) -> None:
    missing_columns = tmp_path / "bad.csv"
    missing_columns.write_text("entity_id,value\nx,1\n", encoding="utf-8")
    result = _run(database, missing_columns)
    assert result.exit_code == 2
    assert "lacks columns metric, ts" in result.output
    wrong_kind = tmp_path / "data.xlsx"
    wrong_kind.write_bytes(b"PK\x03\x04")
    assert "unsupported format .xlsx" in _run(database, wrong_kind).output
    assert _run(database, tmp_path / "absent.csv").exit_code == 2


_cell = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([ENTITY, "urn:x", ""]),
            st.sampled_from(["height", "pm25", ""]),
            st.one_of(_cell, st.integers(0, 2_000_000_000_000).map(str)),
            st.one_of(_cell, st.floats(allow_nan=True).map(str)),
        ),
        max_size=30,
    ),
    tail=_cell,
)
@settings(
    max_examples=40,
    deadline=REQUEST_DEADLINE,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_fuzzed_csv_never_crashes_and_accounts_for_every_row(
    database: Database, height: int, tmp_path: Path, rows: list[tuple[str, ...]], tail: str
) -> None:
    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entity_id", "metric", "ts", "value"])
        writer.writerows(rows)
        handle.write(tail)
    try:
        report = import_observations_file(database, path)
    except UnreadableFile:
        pytest.fail("a file with the right header is always readable")
    assert report.rows == report.accepted + report.duplicates + report.rejected


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_unicode_files_with_a_byte_order_mark_are_read(
    database: Database, height: int, tmp_path: Path, encoding: str
) -> None:
    # Excel's "Unicode text" is UTF-16 with a byte order mark; it used to fail every row.
    text = f"entity_id,metric,ts,value\n{ENTITY},height,1792000000000,1.5\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "unicode.csv"
    path.write_bytes(data)
    result = _run(database, path)
    assert result.exit_code == 0, result.output
    lines = tmp_path / "unicode.jsonl"
    item = f'{{"entity_id": "{ENTITY}", "metric": "height", "ts": 1792000060000, "value": 2.5}}\n'
    lines.write_bytes(b"\xff\xfe" + item.encode("utf-16-le"))
    assert _run(database, lines).exit_code == 0
    assert _stored(database) == [(1792000000000, 1.5, 0), (1792000060000, 2.5, 0)]
