"""Scheduled reports: generated and emailed (a real SMTP server, aiosmtpd) once per slot —
with two schedulers on one database, after a restart, and after downtime (a missed run is
made once, at start)."""

from __future__ import annotations

import email
import io
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy import select

from taydo.alerts.models import Channel
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.reports.models import ReportRun
from taydo.reports.runtime import ReportScheduler
from taydo.reports.schemas import JobIn
from taydo.reports.service import claim_due, create_job, list_runs

from ..conftest import POSTGRES_ONLY
from .conftest import DAY, TZ, local

OPERATOR = Principal(username="op", role="operator")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox(database: Database) -> Iterator[Mailbox]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    with database.session() as session:
        session.add(
            Channel(
                code="mail",
                kind="email",
                name="SMTP",
                config={"host": "127.0.0.1", "port": port, "sender": "ioc@taydo.local", "to": []},
                enabled=True,
                max_attempts=3,
            )
        )
    try:
        yield box
    finally:
        controller.stop()


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
        self.at = at
        monkeypatch.setattr(clock, "now", lambda: self.at)


def _job(**fields: object) -> JobIn:
    body = {
        "code": "giao-ban",
        "kind": "daily",
        "format": "pdf",
        "cron": "0 7 * * *",
        "recipients": ["lanhdao@cantho.gov.vn", "vanphong@cantho.gov.vn"],
        "channel": "mail",
        **fields,
    }
    return JobIn.model_validate(body)


def _attachment(message: Message) -> tuple[str, bytes]:
    for part in message.walk():
        if part.get_filename():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return part.get_filename() or "", payload
    raise AssertionError("no attachment")


def test_runs_once_per_slot_survives_restart_and_catches_up(
    database: Database, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = Clock(monkeypatch, local(DAY, 6))
    create_job(database, OPERATOR, _job(), tz=TZ)
    scheduler = ReportScheduler(database, TZ, runner="a")
    now.at = local(DAY, 6, 30)
    assert scheduler.tick() == []  # 07:00 has not come
    now.at = local(DAY, 7, 0)
    assert len(scheduler.tick()) == 1
    assert scheduler.tick() == []  # the same slot, asked again
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert "Báo cáo giao ban hằng ngày" in str(email.header.make_header(
        email.header.decode_header(message["Subject"])))  # fmt: skip
    assert "lanhdao@cantho.gov.vn" in message["To"]
    name, content = _attachment(message)
    assert name == "taydo-daily-2026-11-19.pdf"  # the last complete day before 07:00 on the 20th
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split()
    )
    assert "Kỳ báo cáo / Period: 19/11/2026" in text

    # A restart: a new scheduler (a new process) sees the slot was run.
    now.at = local(DAY, 7, 5)
    assert ReportScheduler(database, TZ, runner="b").tick() == []

    # Down from the 20th to the 23rd at 09:00: the newest missed slot runs once, not three.
    now.at = local(DAY.replace(day=23), 9, 0)
    restarted = ReportScheduler(database, TZ, runner="c")
    assert len(restarted.tick()) == 1
    assert restarted.tick() == []
    assert len(mailbox.messages) == 2
    assert _attachment(mailbox.messages[1])[0] == "taydo-daily-2026-11-22.pdf"
    runs = list_runs(database)
    assert [r["status"] for r in runs] == ["sent", "sent"]


def test_a_new_job_does_not_run_for_a_time_before_it_existed(
    database: Database, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = Clock(monkeypatch, local(DAY, 8))  # created after today's 07:00
    create_job(database, OPERATOR, _job(), tz=TZ)
    assert ReportScheduler(database, TZ, runner="a").tick() == []
    now.at = local(DAY.replace(day=21), 7, 1)
    assert len(ReportScheduler(database, TZ, runner="a").tick()) == 1


def test_a_failed_delivery_is_recorded_and_tried_again(
    database: Database, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = Clock(monkeypatch, local(DAY, 6))
    create_job(database, OPERATOR, _job(channel="later", format="xlsx"), tz=TZ)
    create_job(database, OPERATOR, _job(code="never", channel="no-such-channel"), tz=TZ)
    scheduler = ReportScheduler(database, TZ, runner="a")
    now.at = local(DAY, 7)
    assert len(scheduler.tick()) == 2
    runs = {r["job"]: r for r in list_runs(database)}
    assert runs["giao-ban"]["status"] == "failed" and "later" in runs["giao-ban"]["error"]
    assert runs["giao-ban"]["filename"] == "taydo-daily-2026-11-19.xlsx"  # made, not delivered
    now.at = local(DAY, 7, 4)
    assert scheduler.tick() == []  # the first retry waits 5 minutes
    with database.session() as session:  # the channel is set up meanwhile
        mail = session.scalar(select(Channel).where(Channel.code == "mail"))
        assert mail is not None
        session.add(Channel(code="later", kind="email", name="", config=dict(mail.config)))
    now.at = local(DAY, 7, 6)
    assert sorted(ReportScheduler(database, TZ, runner="b").tick()) == sorted(
        r["id"] for r in runs.values()
    )
    runs = {r["job"]: r for r in list_runs(database)}
    assert (runs["giao-ban"]["status"], runs["giao-ban"]["attempts"]) == ("sent", 2)
    assert len(mailbox.messages) == 1
    assert (runs["never"]["status"], runs["never"]["attempts"]) == ("failed", 2)
    now.at = local(DAY, 7, 17)  # 10 minutes after the second attempt: the third and last
    assert scheduler.tick() == [runs["never"]["id"]]
    now.at = local(DAY, 9)
    assert scheduler.tick() == []
    runs = {r["job"]: r for r in list_runs(database)}
    assert (runs["never"]["status"], runs["never"]["attempts"]) == ("failed", 3)
    assert len(mailbox.messages) == 1


def _tick(
    scheduler: ReportScheduler, barrier: threading.Barrier, results: list[list[int]], i: int
) -> None:
    barrier.wait()  # both processes check the same slot at the same moment
    results[i] = scheduler.tick()


@POSTGRES_ONLY
def test_two_schedulers_on_one_database_run_each_slot_once(
    database: Database, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = Clock(monkeypatch, local(DAY, 6))
    create_job(database, OPERATOR, _job(), tz=TZ)
    create_job(database, OPERATOR, _job(code="thang", kind="monthly", cron="30 7 1 * *"), tz=TZ)
    other = Database(database.url)  # a second process: its own engine and connections
    try:
        schedulers = [
            ReportScheduler(database, TZ, runner="p1"),
            ReportScheduler(other, TZ, runner="p2"),
        ]
        made: list[list[int]] = []
        for at in (
            local(DAY, 7),
            local(DAY.replace(day=21), 7),
            local(DAY.replace(month=12, day=1), 8),
        ):
            now.at = at
            barrier = threading.Barrier(2)
            results: list[list[int]] = [[], []]
            threads = [
                threading.Thread(target=_tick, args=(schedulers[i], barrier, results, i))
                for i in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            made.append(results[0] + results[1])
        # 20th 07:00: the daily; 21st: the daily; 1 December 08:00: the daily and the monthly
        assert [len(m) for m in made] == [1, 1, 2]
    finally:
        other.dispose()
    with database.session() as session:
        slots = session.execute(select(ReportRun.job_id, ReportRun.slot)).all()
    assert len(slots) == len(set(slots)) == 4
    assert len(mailbox.messages) == 4


def test_job_input_is_checked() -> None:
    with pytest.raises(ValidationError):
        _job(cron="0 7 * *")  # four fields
    with pytest.raises(ValidationError):
        _job(cron="61 7 * * *")
    with pytest.raises(ValidationError):
        _job(recipients=["not an address"])
    with pytest.raises(ValidationError):
        _job(kind="weekly")
    assert _job(cron="  0   7 *  * 1-5 ").cron == "0 7 * * 1-5"


def test_the_server_catches_up_a_missed_run_when_it_starts(
    database: Database,
    mailbox: Mailbox,
    app,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from fastapi.testclient import TestClient

    now = Clock(monkeypatch, local(DAY, 6))  # created long ago, at 06:00 on 20 November
    create_job(database, OPERATOR, _job(), tz=TZ)
    monkeypatch.undo()  # the server runs on the real clock: every slot since then was missed
    with TestClient(app):
        deadline = time.monotonic() + 60
        while not (runs := list_runs(database)) or runs[0]["status"] == "running":
            assert time.monotonic() < deadline, "the missed run was not made"
            time.sleep(0.1)
    del now
    assert len(runs) == 1 and runs[0]["status"] == "sent"  # the newest slot, once
    assert runs[0]["runner"]  # this process's lease member name
    assert len(mailbox.messages) == 1


def _make_forever(url: str, started: Any) -> None:
    """A report process that hangs while making its report (killed by the test)."""
    from taydo.reports.service import schedule

    def hang(*_args: object, **_kwargs: object) -> None:
        started.set()
        time.sleep(3600)

    schedule.build_report = hang  # type: ignore[assignment]
    ReportScheduler(Database(url), TZ, runner="dead").tick()


def test_a_run_killed_mid_generation_is_failed_and_made_again(
    database: Database, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = Clock(monkeypatch, local(DAY, 6))
    create_job(database, OPERATOR, _job(), tz=TZ)
    now.at = local(DAY, 7)
    context = multiprocessing.get_context("fork")  # inherits the test's clock
    started = context.Event()
    process = context.Process(target=_make_forever, args=(database.url, started))
    process.start()
    try:
        assert started.wait(60), "the report process never began its report"
        os.kill(process.pid, signal.SIGKILL)  # kill -9 in the middle of the report
    finally:
        process.join(10)
    [run] = list_runs(database)
    assert (run["status"], run["runner"]) == ("running", "dead")

    # Another scheduler, on a normal check, leaves a fresh run alone: it may still be made.
    other = ReportScheduler(database, TZ, runner="alive")
    now.at = local(DAY, 7, 1)
    assert other.tick() == []
    assert list_runs(database)[0]["status"] == "running"

    # The process that gains the duty next knows nobody else is making reports.
    assert other.tick(gained=True) == []
    [run] = list_runs(database)
    assert run["status"] == "failed" and "interrupted" in run["error"]
    assert mailbox.messages == []
    now.at = local(DAY, 7, 7)  # the retry rule: 5 minutes after the failure
    assert other.tick() == [run["id"]]
    [run] = list_runs(database)
    assert (run["status"], run["attempts"]) == ("sent", 2)
    assert len(mailbox.messages) == 1
    assert _attachment(mailbox.messages[0])[0] == "taydo-daily-2026-11-19.pdf"


def test_a_run_stuck_for_half_an_hour_is_failed_by_any_scheduler(
    database: Database, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = Clock(monkeypatch, local(DAY, 6))
    create_job(database, OPERATOR, _job(), tz=TZ)
    now.at = local(DAY, 7)
    claimed = claim_due(database, tz=TZ, now=now.at, runner="dead")  # then the process died
    now.at = local(DAY, 7, 29)
    assert ReportScheduler(database, TZ, runner="b").tick() == []
    assert list_runs(database)[0]["status"] == "running"
    now.at = local(DAY, 7, 31)
    ReportScheduler(database, TZ, runner="b").tick()
    [run] = list_runs(database)
    assert run["id"] == claimed[0] and run["status"] == "failed"
