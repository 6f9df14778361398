"""Agencies, a file store in the test's folder, and helpers to issue and move a directive."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from taydo.app import create_app
from taydo.catalog.models import Agency
from taydo.core import clock
from taydo.core.db import Database
from taydo.core.settings import Settings
from tests.core.pdfs import pdf_with_metadata

MAX_FILE = 64 * 1024  # small, so the oversize test sends little


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=database.url,
        dev=True,
        observations_pack_after_hours=0,
        directives_files_dir=tmp_path / "files",
        directives_max_file_bytes=MAX_FILE,
        directives_check_s=3600,  # the tests run the check themselves, with a moved clock
        _env_file=None,
    )


@pytest.fixture
def agencies(database: Database) -> list[str]:
    with database.session() as session:
        session.add_all(
            [
                Agency(code="SNNMT", name="Sở Nông nghiệp và Môi trường", name_en="DAE", kind="so"),
                Agency(code="SXD", name="Sở Xây dựng", name_en="DOC", kind="so"),
                Agency(
                    code="UBND-NINHKIEU",
                    name="UBND phường Ninh Kiều",
                    name_en="Ninh Kiều Ward",
                    kind="ubnd",
                    area_code=None,
                ),
            ]
        )
    return ["SNNMT", "SXD", "UBND-NINHKIEU"]


@pytest.fixture
def client(settings: Settings, database: Database, agencies: list[str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database=database)) as test_client:
        yield test_client


class Clock:
    """Moves ``taydo.core.clock.now`` (every service reads the time there)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        real = clock.now
        monkeypatch.setattr(clock, "now", lambda: real() + self.offset)

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def moved_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def due_in(hours: float) -> str:
    return (clock.now() + timedelta(hours=hours)).isoformat()


def png(size: tuple[int, int] = (8, 8), exif: bool = False) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


# A real PDF with an author, a producer and GPS in its XMP: stored, it keeps its pages only.
PDF = pdf_with_metadata()


@pytest.fixture
def issue(client: TestClient, headers_for: Callable[..., dict[str, str]]) -> Callable[..., Any]:
    """``issue(["SNNMT"], hours=48, **fields)``: a directive from a new leader account."""
    leader = headers_for("leader")

    def make(agencies: list[str], hours: float = 48, **fields: Any) -> dict[str, Any]:
        body = {"title": "Khơi thông cống Cái Khế", "agencies": agencies, "due_at": due_in(hours)}
        answer = client.post("/api/v1/directives", json={**body, **fields}, headers=leader)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    make.headers = leader  # type: ignore[attr-defined]
    return make


def part(directive: dict[str, Any], agency: str) -> dict[str, Any]:
    return next(p for p in directive["assignments"] if p["agency_code"] == agency)


__all__ = ["MAX_FILE", "PDF", "Clock", "datetime", "due_in", "jpeg", "part", "png"]
