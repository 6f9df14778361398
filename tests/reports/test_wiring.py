"""The sections and scorecard measures over incidents, KPIs, directives and citizen reports,
on the demo's own data of those domains (seeded through their services)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from taydo.core import clock
from taydo.core.db import Database
from taydo.core.migrate import upgrade
from taydo.core.plugins import make_plugin_manager, packs
from taydo.reports.service import build_report, make_scope, render, scorecards

from .conftest import TZ


def _seed(database: Database) -> None:
    from taydo.demo import kpi as kpi_demo
    from taydo.demo.citizen import seed_reports
    from taydo.demo.directives import seed_directives
    from taydo.demo.incidents import seed_incidents
    from taydo.packs.loading import load_pack

    upgrade(database)
    load_pack(database, packs(make_plugin_manager())["cantho"])
    kpi_demo.fill(database, now=clock.now(), zone="Asia/Ho_Chi_Minh")
    incident = seed_incidents(database)
    seed_reports(database)
    seed_directives(database, king_tide_incident=incident)


def test_every_section_is_installed_and_filled(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Noon in Vietnam today: the demo opens its king-tide incident 50 minutes before "now",
    # which in the first 50 minutes after local midnight would fall on the day before.
    noon = datetime.now(TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(clock, "now", lambda: noon.astimezone(UTC))
    _seed(database)
    today = clock.now().astimezone(TZ).date()
    # The province of TAYDO_CONSOLE_AREA: the new Cần Thơ's official code, as the kpi pack keys it.
    monthly = build_report(database, kind="monthly", tz=TZ, day=today, province="92")
    by_code = {s.code: s for s in monthly.sections}
    assert [s.code for s in monthly.sections if not s.installed] == []
    assert by_code["kpi"].rows and by_code["kpi"].chart is not None
    assert by_code["directives"].rows  # the demo's four directives' agencies
    dti = [r for r in by_code["dti"].rows if r[1] == 2022]
    # 2022 of the merged city: the average of its parts before the merger (only the old Cần
    # Thơ's 0.6924 is in the pack)
    assert [(r[2], r[5]) for r in dti] == [(0.6924, "trung bình các tỉnh trước sáp nhập")]
    assert by_code["citizen"].figures[0].value >= 0
    daily = build_report(database, kind="daily", tz=TZ, day=today)
    incidents = next(s for s in daily.sections if s.code == "incidents")
    assert incidents.figures[0].value >= 1  # the demo's king-tide incident, opened today
    text = " ".join(
        " ".join(
            p.extract_text()
            for p in PdfReader(io.BytesIO(render(monthly, "pdf", TZ, clock.now()).content)).pages
        ).split()
    )
    assert "KPI theo trụ cột và lĩnh vực" in text and "Chỉ đạo và tiến độ" in text


def test_scorecards_carry_the_siblings_measures(database: Database) -> None:
    _seed(database)
    scope = make_scope(database, kind="monthly", tz=TZ, day=clock.now().astimezone(TZ).date())
    rows = scorecards(scope)
    statuses = {m["status"] for r in rows for m in r["measures"].values()}
    assert "not-installed" not in statuses
    judged = [
        (r["code"], code)
        for r in rows
        for code in ("incidents", "directives", "citizen", "satisfaction")
        if r["measures"][code]["value"] is not None
    ]
    assert judged, "no agency has a value from incidents, directives or citizen reports"
