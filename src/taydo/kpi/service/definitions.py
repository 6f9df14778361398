"""KPI definitions and sectors (API and packs) and the values officers enter.

Every change is validated by ``KpiIn`` (its source by the kind's own model) and written to
the audit journal in the same transaction. An agency officer may enter values only for the
KPIs of their agencies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Conflict, Forbidden, Invalid, NotFound
from taydo.geo.service import area_code_in
from taydo.ingest.files.parse import parse_number
from taydo.kpi.models import CITY, Kpi, KpiEntry, KpiSector
from taydo.kpi.periods import parse_key
from taydo.kpi.schemas import EntryIn, KpiIn, SectorIn

__all__ = [
    "delete_kpi",
    "enter_value",
    "get_kpi",
    "import_entries",
    "kpi_dict",
    "list_kpis",
    "list_sectors",
    "load_kpis",
    "parse_kpis_yaml",
    "save_kpi",
    "save_sector",
]

_FIELDS = (
    "name",
    "name_en",
    "pillar",
    "sector",
    "unit",
    "direction",
    "period",
    "target",
    "warn",
    "target_source",
    "target_proposed",
    "description",
)


def kpi_dict(kpi: Kpi) -> dict[str, Any]:
    return {
        "code": kpi.code,
        **{name: getattr(kpi, name) for name in _FIELDS},
        "agency": kpi.agency_code,
        "source": kpi.source,
        "version": kpi.version,
        "origin": kpi.origin,
        "updated_at": kpi.updated_at.isoformat(),
    }


def _invalid(error: ValidationError, where: str) -> Invalid:
    problems = [
        {"at": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in error.errors()
    ]
    return Invalid(f"định nghĩa không hợp lệ / invalid definition ({where})", problems=problems)


def _check_sector(session: Any, code: str | None) -> None:
    if (
        code is not None
        and session.scalar(select(KpiSector.id).where(KpiSector.code == code)) is None
    ):
        known = list(session.scalars(select(KpiSector.code).order_by(KpiSector.position)))
        raise Invalid(f"không có lĩnh vực / unknown sector {code!r}", sectors=known)


def save_kpi(
    database: Database,
    data: KpiIn,
    principal: Principal | None,
    *,
    origin: str = "api",
    address: str | None = None,
) -> dict[str, Any]:
    """Create or replace a KPI; its formula version goes up when its source changes, so the
    engine recomputes its history."""
    with database.session() as session:
        _check_sector(session, data.sector)
        row = session.scalar(select(Kpi).where(Kpi.code == data.code))
        before = kpi_dict(row) if row is not None else None
        if row is None:
            row = Kpi(code=data.code, version=1)
            session.add(row)
        elif row.source != data.source or (row.target, row.warn, row.direction) != (
            data.target,
            data.warn,
            data.direction,
        ):
            row.version += 1
        for name in _FIELDS:
            setattr(row, name, getattr(data, name))
        row.agency_code = data.agency
        row.source_kind = str(data.source["kind"])
        row.source = data.source
        row.origin = origin
        row.updated_at = clock.now()
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(f"chỉ số {data.code!r} vừa được tạo / created at the same time") from exc
        after = kpi_dict(row)
        if before is None or {k: v for k, v in before.items() if k != "updated_at"} != {
            k: v for k, v in after.items() if k != "updated_at"
        }:
            journal.record(
                session,
                actor=journal.actor_of(principal) if origin == "api" else origin,
                action="kpi.save",
                object_type="kpi",
                object_id=data.code,
                summary={"before": before, "after": after},
                address=address,
            )
        return after


def delete_kpi(
    database: Database, code: str, principal: Principal | None, address: str | None = None
) -> None:
    with database.session() as session:
        row = session.scalar(select(Kpi).where(Kpi.code == code))
        if row is None:
            raise NotFound(f"không có chỉ số / no KPI {code!r}")
        users = [
            k.code
            for k in session.scalars(select(Kpi).where(Kpi.source_kind == "ratio"))
            if code in (k.source.get("numerator"), k.source.get("denominator"))
        ]
        if users:
            raise Invalid(f"chỉ số đang được dùng bởi / KPI is used by: {', '.join(users)}")
        summary = kpi_dict(row)
        session.delete(row)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="kpi.delete",
            object_type="kpi",
            object_id=code,
            summary=summary,
            address=address,
        )


def get_kpi(database: Database, code: str) -> dict[str, Any]:
    with database.session() as session:
        row = session.scalar(select(Kpi).where(Kpi.code == code))
        if row is None:
            raise NotFound(f"không có chỉ số / no KPI {code!r}")
        return kpi_dict(row)


def list_kpis(
    database: Database,
    *,
    pillar: str | None = None,
    sector: str | None = None,
    principal: Principal | None = None,
) -> list[dict[str, Any]]:
    """The definitions; an agency officer's list holds the city's shared KPIs (no agency) and
    their own agencies'."""
    statement = select(Kpi).order_by(Kpi.pillar, Kpi.sector, Kpi.code)
    if principal is not None and not principal.sees_everything:
        statement = statement.where(
            or_(Kpi.agency_code.is_(None), Kpi.agency_code.in_(sorted(principal.agencies)))
        )
    if pillar:
        statement = statement.where(Kpi.pillar == pillar)
    if sector:
        statement = statement.where(Kpi.sector == sector)
    with database.session() as session:
        return [kpi_dict(k) for k in session.scalars(statement)]


def save_sector(
    database: Database,
    data: SectorIn,
    principal: Principal | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """Create or rename a sector (the packs' and the administrators' table)."""
    with database.session() as session:
        row = session.scalar(select(KpiSector).where(KpiSector.code == data.code))
        before = None if row is None else {"name": row.name, "name_en": row.name_en}
        if row is None:
            row = KpiSector(code=data.code)
            session.add(row)
        row.name, row.name_en, row.position = data.name, data.name_en, data.position
        if principal is not None:
            journal.record(
                session,
                actor=principal.username,
                action="kpi.sector",
                object_type="kpi_sector",
                object_id=data.code,
                summary={"before": before, "after": data.model_dump()},
                address=address,
            )
        return data.model_dump()


def list_sectors(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        return [
            {"code": s.code, "name": s.name, "name_en": s.name_en, "position": s.position}
            for s in session.scalars(select(KpiSector).order_by(KpiSector.position, KpiSector.code))
        ]


def _entry_kpi(session: Session, code: str, principal: Principal) -> Kpi:
    """The KPI a principal may enter values for (404 for another agency's, as when reading)."""
    kpi = session.scalar(select(Kpi).where(Kpi.code == code))
    if kpi is None or not principal.may_see_agency(kpi.agency_code):
        raise NotFound(f"không có chỉ số / no KPI {code!r}")
    if kpi.source_kind != "records":
        raise Invalid(
            f"chỉ số {code} được tính từ nguồn {kpi.source_kind}, không nhập tay / "
            "this KPI is computed, not entered"
        )
    if principal.role == "agency_officer" and not principal.may_write_agency(kpi.agency_code):
        raise Forbidden("chỉ cơ quan phụ trách được nhập / only the KPI's agency may enter it")
    return kpi


def _checked(session: Session, kpi: Kpi, data: EntryIn, zone: str) -> tuple[str, str]:
    """(period key, area code) of an entry; ``Invalid`` saying what is wrong."""
    try:
        period = parse_key(kpi.period, data.period, zone)
    except ValueError as error:
        raise Invalid(f"kỳ không hợp lệ / bad period: {error}") from None
    area = (data.area or "").strip()
    if area:
        found = area_code_in(session, area)
        if found is None:
            raise Invalid(f"không có phường, xã / no ward or commune {area!r}")
        area = found
    return period.key, area or CITY


def _put(
    session: Session, kpi: Kpi, key: str, area: str, data: EntryIn, principal: Principal
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    row = session.scalar(
        select(KpiEntry).where(
            KpiEntry.kpi_id == kpi.id, KpiEntry.period_key == key, KpiEntry.area_code == area
        )
    )
    before = None if row is None else {"value": row.value, "evidence": row.evidence}
    if row is None:
        row = KpiEntry(kpi_id=kpi.id, period_key=key, area_code=area)
        session.add(row)
    row.value, row.evidence = data.value, data.evidence
    row.entered_by, row.entered_at = principal.username, clock.now()
    after = {
        "kpi": kpi.code,
        "period": key,
        "area": area or None,
        "value": data.value,
        "evidence": data.evidence,
    }
    return before, after


def enter_value(
    database: Database,
    code: str,
    data: EntryIn,
    principal: Principal,
    *,
    zone: str,
    address: str | None = None,
) -> dict[str, Any]:
    """Enter (or correct) a KPI's value for a period and ward, with its evidence."""
    with database.session() as session:
        kpi = _entry_kpi(session, code, principal)
        key, area = _checked(session, kpi, data, zone)
        before, out = _put(session, kpi, key, area, data, principal)
        journal.record(
            session,
            actor=principal.username,
            action="kpi.enter",
            object_type="kpi",
            object_id=code,
            summary={"before": before, "after": out},
            address=address,
        )
        return out


_COLUMNS = {
    "period": ("period", "kỳ", "ky"),
    "area": ("area", "phường, xã", "phường/xã", "mã phường, xã", "mã phường/xã", "ward"),
    "value": ("value", "giá trị", "gia tri"),
    "evidence": ("evidence", "minh chứng", "minh chung"),
}


def _cell(cells: dict[str, Any], name: str) -> Any:
    wanted = _COLUMNS[name]
    for header, value in cells.items():
        if str(header).strip().lower() in wanted:
            return value
    return None


def import_entries(
    database: Database,
    code: str,
    rows: list[tuple[int, dict[str, Any]]],
    principal: Principal,
    *,
    zone: str,
    all_or_nothing: bool = True,
    address: str | None = None,
) -> dict[str, Any]:
    """Entries from a spreadsheet's rows (number, cells by header): a report per row. With
    ``all_or_nothing`` (the default) one bad row imports nothing; otherwise the good rows are
    imported and the bad ones reported. One transaction, one journal entry."""
    with database.session() as session:
        kpi = _entry_kpi(session, code, principal)
        good: list[tuple[int, str, str, EntryIn]] = []
        problems: list[dict[str, Any]] = []
        for number, cells in rows:
            try:
                raw = _cell(cells, "value")
                data = EntryIn(
                    period=str(_cell(cells, "period") or "").strip(),
                    area=str(_cell(cells, "area") or "").strip() or None,
                    value=parse_number(raw) if raw is not None else float("nan"),
                    evidence=str(_cell(cells, "evidence") or "").strip(),
                )
                key, area = _checked(session, kpi, data, zone)
            except ValidationError as error:
                fields = ", ".join(str(e["loc"][0]) for e in error.errors())
                problems.append(
                    {"row": number, "problem": f"thiếu hoặc sai / missing or bad: {fields}"}
                )
                continue
            except (Invalid, ValueError) as error:
                problems.append({"row": number, "problem": getattr(error, "message", str(error))})
                continue
            good.append((number, key, area, data))
        seen: set[tuple[str, str]] = set()
        for number, key, area, _data in good:
            if (key, area) in seen:
                problems.append(
                    {
                        "row": number,
                        "problem": f"trùng kỳ và phường, xã / repeats {key} {area or 'city'}",
                    }
                )
            seen.add((key, area))
        report: dict[str, Any] = {
            "rows": len(rows),
            "rejected": len({p["row"] for p in problems}),
            "problems": sorted(problems, key=lambda p: p["row"]),
            "mode": "all_or_nothing" if all_or_nothing else "accept_valid",
            "imported": 0,
        }
        bad_rows = {p["row"] for p in problems}
        if not rows or (all_or_nothing and problems):
            return report
        written = []
        for number, key, area, data in good:
            if number not in bad_rows:
                written.append(_put(session, kpi, key, area, data, principal)[1])
        report["imported"] = len(written)
        if written:
            journal.record(
                session,
                actor=principal.username,
                action="kpi.import",
                object_type="kpi",
                object_id=code,
                summary={"rows": len(rows), "imported": len(written), "entries": written[:200]},
                address=address,
            )
        return report


def _mapping(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise Invalid(f"kpis.yaml: each entry is a mapping, not {type(item).__name__}")
    return item


def parse_kpis_yaml(text: str) -> tuple[list[SectorIn], list[KpiIn]]:
    """The sectors and KPIs of a pack's ``kpis.yaml``; ``Invalid`` naming the entry at fault."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise Invalid(f"YAML không hợp lệ / invalid YAML: {error}") from None
    if not isinstance(doc, dict):
        raise Invalid("kpis.yaml: expected a mapping with sectors and kpis")
    sectors, kpis = [], []
    for name in ("sectors", "kpis"):
        if not isinstance(doc.get(name) or [], list):
            raise Invalid(f"kpis.yaml: {name} must be a list")
    for n, item in enumerate(doc.get("sectors") or []):
        try:
            sectors.append(SectorIn.model_validate({"position": n, **_mapping(item)}, strict=False))
        except ValidationError as error:
            raise _invalid(error, f"sectors[{n}]") from None
    for n, item in enumerate(doc.get("kpis") or []):
        try:
            kpis.append(KpiIn.model_validate(_mapping(item), strict=False))
        except ValidationError as error:
            code = item.get("code", "") if isinstance(item, dict) else ""
            raise _invalid(error, f"kpis[{n}] {code}") from None
    return sectors, kpis


def load_kpis(database: Database, pack: Any) -> int:
    """Load ``kpis.yaml`` of a pack; idempotent (versions move only when a formula changes)."""
    path = Path(pack.data_dir) / "kpis.yaml"
    if not path.exists():
        return 0
    sectors, kpis = parse_kpis_yaml(path.read_text(encoding="utf-8"))
    for sector in sectors:
        save_sector(database, sector)
    for kpi in kpis:
        save_kpi(database, kpi, None, origin=f"pack:{pack.name}")
    return len(kpis)
