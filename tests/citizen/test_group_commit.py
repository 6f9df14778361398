"""Posted reports are written in batches (group commit): one transaction files many reports,
each refused alone when its own input is bad, none acknowledged before the commit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from taydo.auth import journal
from taydo.auth.models import AuditEntry
from taydo.citizen import runtime as citizen_runtime
from taydo.citizen.models import CitizenReport
from taydo.citizen.runtime import ReportWriter
from taydo.citizen.service import NewReport, create_key, create_reports, revoke_key
from taydo.core.db import Database
from taydo.core.errors import Forbidden, Invalid, NotFound
from tests.citizen.conftest import CAI_RANG, IN_CAI_RANG, IN_NINH_KIEU, NINH_KIEU

FLOOD = {"do-sau": "bap-chan"}


def _new(service: str, where: tuple[float, float], **fields: Any) -> NewReport:
    return NewReport(service_code=service, lat=where[0], lon=where[1], **fields)


def _stored(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(CitizenReport)) or 0)


def test_one_batch_files_each_report_and_refuses_the_bad_one_alone(citizen_db: Database) -> None:
    answers = create_reports(
        citizen_db,
        [
            (_new("ngap-nuoc", IN_NINH_KIEU, attributes=FLOOD), "10.0.0.1"),
            (_new("khong-co", IN_NINH_KIEU), "10.0.0.2"),
            (_new("ngap-nuoc", IN_CAI_RANG, attributes=FLOOD), None),
            (_new("ngap-nuoc", IN_CAI_RANG), None),  # a required attribute missing
            (_new("ngap-nuoc", IN_NINH_KIEU, attributes=FLOOD), None),
        ],
    )
    assert isinstance(answers[1], NotFound) and isinstance(answers[3], Invalid)
    filed = [a for a in answers if isinstance(a, tuple)]
    assert [(r["area_code"], r["agency_code"]) for r, _event in filed] == [
        (NINH_KIEU, "UBND-NINHKIEU"),
        (CAI_RANG, "UBND-CAIRANG"),
        (NINH_KIEU, "UBND-NINHKIEU"),
    ]
    assert len({r["id"] for r, _e in filed}) == 3 and all(r["token"] for r, _e in filed)
    assert all(event["id"] == report["id"] for report, event in filed)
    assert _stored(citizen_db) == 3
    # one journal entry per filed report, the hash chain intact
    result = journal.verify(citizen_db)
    assert result.ok
    with citizen_db.session() as session:
        rows = session.execute(
            select(AuditEntry.object_id, AuditEntry.address).where(
                AuditEntry.action == "citizen.report_created"
            )
        ).all()
    assert sorted(rows) == sorted(
        (str(r["id"]), a) for (r, _e), a in zip(filed, ["10.0.0.1", None, None], strict=True)
    )


def test_concurrent_posts_share_commits_and_each_gets_its_own_answer(
    citizen_db: Database,
) -> None:
    writer = ReportWriter()
    sizes: list[int] = []
    real = citizen_runtime.create_reports

    def counting(database: Database, batch: list[Any]) -> list[Any]:
        sizes.append(len(batch))
        return real(database, batch)

    async def run() -> list[Any]:
        citizen_runtime.create_reports = counting  # type: ignore[assignment]
        try:
            posts = [
                writer.file(citizen_db, _new("o-ga", IN_NINH_KIEU, description=f"n{n}"), None)
                for n in range(40)
            ]
            posts.append(writer.file(citizen_db, _new("khong-co", IN_NINH_KIEU), None))
            answers = await asyncio.gather(*posts, return_exceptions=True)
            await writer.close()
            return answers
        finally:
            citizen_runtime.create_reports = real  # type: ignore[assignment]

    answers = asyncio.run(run())
    assert isinstance(answers[-1], NotFound)
    reports = [a[0] for a in answers[:-1]]
    assert [r["description"] for r in reports] == [f"n{n}" for n in range(40)]
    assert _stored(citizen_db) == 40
    assert sum(sizes) == 41 and max(sizes) > 1  # posts waiting behind a commit went together


def test_a_failed_commit_acknowledges_nobody(
    citizen_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(database: Database, batch: list[Any]) -> list[Any]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(citizen_runtime, "create_reports", failing)
    writer = ReportWriter()

    async def run() -> list[Any]:
        posts = [writer.file(citizen_db, _new("o-ga", IN_NINH_KIEU), None) for _ in range(5)]
        answers = await asyncio.gather(*posts, return_exceptions=True)
        await writer.close()
        return answers

    answers = asyncio.run(run())
    assert all(isinstance(a, RuntimeError) for a in answers)
    assert _stored(citizen_db) == 0


def test_keys_are_checked_in_the_batch(citizen_db: Database) -> None:
    good_record, good = create_key(citizen_db, "app", actor="admin")
    revoked_record, revoked = create_key(citizen_db, "old app", actor="admin")
    revoke_key(citizen_db, revoked_record["id"], actor="admin")
    answers = create_reports(
        citizen_db,
        [
            (_new("o-ga", IN_NINH_KIEU, api_key=good), None),
            (_new("o-ga", IN_NINH_KIEU, api_key=revoked), None),
            (_new("o-ga", IN_NINH_KIEU, api_key="o311_made-up"), None),
            (_new("o-ga", IN_NINH_KIEU, api_key=good), None),
        ],
    )
    assert isinstance(answers[1], Forbidden) and isinstance(answers[2], Forbidden)
    assert isinstance(answers[0], tuple) and isinstance(answers[3], tuple)
    with citizen_db.session() as session:
        rows = session.execute(select(CitizenReport.api_key_id)).scalars().all()
        actors = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "citizen.report_created")
        ).all()
    assert rows == [good_record["id"]] * 2
    assert actors == [f"app:{good_record['id']}"] * 2
