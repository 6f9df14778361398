"""Shared pieces of the catalog services: scope checks and lookups."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taydo.catalog.models import Agency, Dataset
from taydo.core.access import Principal
from taydo.core.errors import Conflict, Forbidden, Invalid, NotFound
from taydo.geo.service import area_code_in

__all__ = [
    "UNIT_SYMBOLS",
    "agency_by_code",
    "check_write",
    "checked_area_code",
    "dataset_by_code",
    "flush_new",
    "utc",
]

# UN/CEFACT Recommendation 20 codes (as Smart Data Models use them) and how to show them.
UNIT_SYMBOLS: dict[str, str] = {
    "MTR": "m",
    "CMT": "cm",
    "NX": "‰",  # part per thousand: salinity
    "P1": "%",
    "CEL": "°C",
    "Q30": "pH",
    "GQ": "µg/m³",
    "59": "ppm",
    "MTS": "m/s",
    "MMT": "mm",
    "KMH": "km/h",
    "C62": "",  # a plain count (vehicles, files)
}


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC): make them aware again."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_write(principal: Principal | None, agency_code: str | None) -> None:
    """Creating something for an agency outside the caller's scope: 403 with the reason.

    (Changing an existing object outside scope answers 404 instead, in the callers, so an
    officer cannot probe which objects exist.)
    """
    if principal is not None and not principal.may_write_agency(agency_code):
        raise Forbidden(
            f"bạn không được ghi dữ liệu của cơ quan / you may not write data of agency "
            f"{agency_code!r}",
            your_agencies=sorted(principal.agencies),
        )


def may_write(principal: Principal | None, agency_code: str | None) -> bool:
    return principal is None or principal.may_write_agency(agency_code)


def agency_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise Invalid(f"không có cơ quan / no agency with code {code!r}")
    return agency


def dataset_by_code(session: Session, code: str) -> Dataset:
    dataset = session.scalar(select(Dataset).where(Dataset.code == code))
    if dataset is None:
        raise Invalid(f"không có bộ dữ liệu / no dataset with code {code!r}")
    return dataset


def checked_area_code(session: Session, code: str) -> str:
    """The official code of an existing area (normalised), or a clear Invalid."""
    found = area_code_in(session, code)
    if found is None:
        raise Invalid(
            f"không có đơn vị hành chính / no area with code {code!r} "
            "(load them with `taydo geo load`)"
        )
    return found


def flush_new(session: Session, kind: str, key: str) -> None:
    """Flush an insert; a concurrent insert of the same key becomes a clear 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{kind} {key!r} exists (created at the same time)") from exc


def not_found(kind: str, key: str) -> NotFound:
    labels = {"agency": "cơ quan", "dataset": "bộ dữ liệu", "entity": "thực thể"}
    return NotFound(f"không tìm thấy {labels.get(kind, kind)} / no {kind} {key!r}")
