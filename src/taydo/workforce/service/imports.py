"""Importing workforce files (.xlsx or .csv): the file gateway's pipeline for tables that are
not time series.

The steps are those of an agency upload (``taydo.ingest.files``): the same reader
(``read_table``: size, zip-bomb, DTD and encoding checks, Vietnamese numbers), a per-row
report in the same shape (row, column, value, reason), the same two modes and the same
formula-safe workbooks. A file with any problem stores **nothing** unless the caller asks
for ``accept_valid`` (store the good rows, report the rest). Either way the import is kept
with its report, and a stored import is one audit-journal entry.

Rows are upserted by their kind's natural key (``kinds.Kind.key``), so importing a corrected
file again updates what it named and never duplicates it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taydo.auth import journal
from taydo.catalog.service import agency_id_of
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.geo.service import area_code_in
from taydo.ingest.files.output import append_row
from taydo.ingest.files.parse import ParsedFile, parse_number, read_table
from taydo.ingest.files.service import MODES
from taydo.ingest.quarantine import storable
from taydo.workforce.models import Course, Team, WorkforceImport
from taydo.workforce.service.kinds import KINDS, Column, Kind, choice_of

__all__ = [
    "MODES",
    "ImportPlan",
    "get_import",
    "import_file",
    "list_imports",
    "report_xlsx",
    "template_xlsx",
]

MAX_COUNT = 10_000_000  # more than Cần Thơ's population: a larger count is a typing error
MAX_HOURS = 10_000.0
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_MY = re.compile(r"^(\d{1,2})[/.-](\d{4})$")


def _kind(code: str) -> Kind:
    kind = KINDS.get(code)
    if kind is None:
        raise NotFound(
            f"không có loại dữ liệu / no workforce data kind {code[:40]!r}", kinds=list(KINDS)
        )
    return kind


def _text(value: Any, limit: int = 200) -> str:
    return "" if value is None else storable(str(value)[:limit])


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _date(raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    match = _DMY.match(text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"ngày không đọc được / unreadable date {text[:40]!r} (dd/mm/yyyy)"
        ) from None


def _month(raw: Any) -> date:
    match = _MY.match(str(raw).strip()) if isinstance(raw, str) else None
    if match:
        month, year = (int(g) for g in match.groups())
        if not 1 <= month <= 12:
            raise ValueError(f"tháng không tồn tại / no such month {raw[:40]!r}")
        return date(year, month, 1)
    return _date(raw).replace(day=1)


def _whole(raw: Any, low: int, high: int) -> int:
    number = parse_number(raw)
    if number != int(number):
        raise ValueError(f"cần số nguyên / a whole number is needed, not {number:g}")
    if not low <= number <= high:
        raise ValueError(f"ngoài khoảng / out of range {low}–{high}: {number:g}")
    return int(number)


@dataclass
class _Context:
    """What rows refer to, looked up once per file."""

    session: Session
    principal: Principal | None
    agencies: dict[str, bool] = field(default_factory=dict)  # code → exists
    areas: dict[str, str | None] = field(default_factory=dict)
    courses: dict[str, int | None] = field(default_factory=dict)
    teams: dict[str, tuple[int, str] | None] = field(default_factory=dict)


def _cell(column: Column, raw: Any, ctx: _Context) -> Any:
    """The stored value of one cell, or ``ValueError`` saying why it cannot be."""
    kind = column.type
    if kind in ("text", "agency", "area", "course", "team", "choice"):
        text = " ".join(str(raw).split())
        if len(text) > column.max_chars:
            raise ValueError(f"dài quá {column.max_chars} ký tự / longer than {column.max_chars}")
        if kind == "text":
            return storable(text)
        if kind == "choice":
            code = choice_of(column, text)
            if code is None:
                allowed = ", ".join(f"{c.code} ({c.vi})" for c in column.choices)
                raise ValueError(f"giá trị không hợp lệ / not one of: {allowed}")
            return code
        if kind == "agency":
            if text not in ctx.agencies:
                ctx.agencies[text] = agency_id_of(ctx.session.connection(), text) is not None
            if not ctx.agencies[text]:
                raise ValueError(f"không có cơ quan / no agency {text[:40]!r}")
            if ctx.principal is not None and not ctx.principal.may_write_agency(text):
                raise ValueError(
                    f"bạn không được nhập dữ liệu của cơ quan / you may not enter data of "
                    f"agency {text[:40]}"
                )
            return text
        if kind == "area":
            if text not in ctx.areas:
                ctx.areas[text] = area_code_in(ctx.session, text)
            found = ctx.areas[text]
            if found is None:
                raise ValueError(f"không có phường/xã mã / no ward or commune {text[:40]!r}")
            return found
        if kind == "course":
            if text not in ctx.courses:
                ctx.courses[text] = ctx.session.scalar(select(Course.id).where(Course.code == text))
            course_id = ctx.courses[text]
            if course_id is None:
                raise ValueError(f"chưa có khóa học / no course {text[:40]!r}: import it first")
            return course_id
        if text not in ctx.teams:
            row = ctx.session.execute(
                select(Team.id, Team.agency_code).where(Team.code == text)
            ).first()
            ctx.teams[text] = None if row is None else (int(row[0]), str(row[1]))
        team = ctx.teams[text]
        if team is None:
            raise ValueError(f"chưa có tổ / no team {text[:40]!r}: import the teams first")
        if ctx.principal is not None and not ctx.principal.may_write_agency(team[1]):
            raise ValueError(
                f"tổ thuộc cơ quan khác / the team belongs to agency {team[1]}, "
                "whose data you may not enter"
            )
        return team[0]
    if kind == "count":
        return _whole(raw, 0, MAX_COUNT)
    if kind == "year":
        return _whole(raw, 2000, 2100)
    if kind == "hours":
        hours = parse_number(raw)
        if not 0 < hours <= MAX_HOURS:
            raise ValueError(f"số giờ ngoài khoảng / hours out of range 0–{MAX_HOURS:g}")
        return hours
    if kind == "date":
        return _date(raw)
    if kind == "month":
        return _month(raw)
    raise AssertionError(f"column type {kind!r} is not handled")  # a mistake in KINDS


def _row_rules(kind: Kind, values: dict[str, Any]) -> list[tuple[str, str]]:
    """Checks across the cells of one row: (field, reason)."""
    problems = []
    if kind.code == "courses" and values["ends_on"] < values["starts_on"]:
        problems.append(("ends_on", "ngày kết thúc trước ngày bắt đầu / ends before it starts"))
    if kind.code == "training" and values["completed"] > values["enrolled"]:
        problems.append(
            ("completed", "số hoàn thành lớn hơn số đăng ký / more completed than enrolled")
        )
    return problems


@dataclass
class ImportPlan:
    kind: str
    filename: str
    mode: str
    encoding: str
    rows_total: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return len({p["row"] for p in self.problems})

    @property
    def status(self) -> str:
        if not self.problems:
            return "stored"
        return "rejected" if self.mode == "all_or_nothing" or not self.rows else "partial"


def _problem(number: int, column: str, value: Any, reason: str) -> dict[str, Any]:
    return {"row": number, "column": column, "value": _text(value), "reason": reason}


def _plan(ctx: _Context, kind: Kind, table: ParsedFile, filename: str, mode: str) -> ImportPlan:
    plan = ImportPlan(kind.code, filename, mode, table.encoding, len(table.rows))
    headers = {c.field: c.header for c in kind.columns}
    seen: dict[tuple[Any, ...], int] = {}
    for row in table.rows:
        values: dict[str, Any] = {}
        bad = False
        for column in kind.columns:
            raw = row.cells.get(column.header)
            if _blank(raw):
                if column.required:
                    plan.problems.append(
                        _problem(row.number, column.header, "", "thiếu giá trị / value missing")
                    )
                    bad = True
                values[column.field] = None
                continue
            try:
                values[column.field] = _cell(column, raw, ctx)
            except ValueError as exc:
                plan.problems.append(_problem(row.number, column.header, raw, str(exc)))
                bad = True
        if bad:
            continue
        crossed = _row_rules(kind, values)
        for name, reason in crossed:
            plan.problems.append(
                _problem(row.number, headers[name], row.cells.get(headers[name]), reason)
            )
        if crossed:
            continue
        key = tuple(values[name] for name in kind.key)
        if key in seen:
            plan.problems.append(
                _problem(
                    row.number,
                    ", ".join(headers[name] for name in kind.key),
                    " | ".join(_text(row.cells.get(headers[name])) for name in kind.key),
                    f"trùng dòng {seen[key]} / the same as row {seen[key]}",
                )
            )
            continue
        seen[key] = row.number
        plan.rows.append(values)
    plan.problems.sort(key=lambda p: (p["row"], p["column"]))
    if plan.problems and mode == "all_or_nothing":
        plan.rows = []
    return plan


def _store(session: Session, kind: Kind, rows: list[dict[str, Any]], who: str) -> None:
    """Upsert ``rows`` by the kind's key. The kind's rows are read once (workforce tables
    hold thousands of rows, not millions): one query, not one per row of the file."""
    model: Any = kind.model
    now = clock.now()
    existing = {
        tuple(getattr(row, name) for name in kind.key): row
        for row in session.scalars(select(model))
    }
    for values in rows:
        row = existing.get(tuple(values[name] for name in kind.key))
        if row is None:
            session.add(model(**values, updated_at=now, updated_by=who))
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at, row.updated_by = now, who
    session.flush()


def _summary(row: WorkforceImport, *, problems: bool = True) -> dict[str, Any]:
    summary = {
        "id": row.id,
        "kind": row.kind,
        "filename": row.filename,
        "mode": row.mode,
        "status": row.status,
        "encoding": row.encoding,
        "rows": row.rows_total,
        "rows_rejected": row.rows_rejected,
        "rows_stored": row.rows_stored,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "report": f"/api/v1/workforce/imports/{row.id}/report.xlsx",
    }
    if problems:
        summary["problems"] = row.report[:100]
    return summary


def import_file(
    database: Database,
    principal: Principal | None,
    kind_code: str,
    filename: str,
    data: bytes,
    *,
    mode: str = "all_or_nothing",
    address: str | None = None,
) -> dict[str, Any]:
    """Check a file of ``kind_code`` and store its rows (all, none, or the good ones when
    ``mode`` is ``accept_valid``), in one transaction with its report and journal entry."""
    if mode not in MODES:
        raise Invalid(f"chế độ không hợp lệ / mode must be one of {MODES}")
    kind = _kind(kind_code)
    try:
        table = read_table(filename, data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(str(exc)) from None
    missing = [c.header for c in kind.columns if c.required and c.header not in table.headers]
    if missing:
        raise Invalid(
            "thiếu cột / missing columns: " + ", ".join(repr(m) for m in missing),
            found=[_text(h, 80) for h in table.headers[:50]],
            template=f"/api/v1/workforce/templates/{kind.code}.xlsx",
        )
    who = journal.actor_of(principal)
    with database.session() as session:
        plan = _plan(_Context(session, principal), kind, table, filename, mode)
        if plan.rows:
            _store(session, kind, plan.rows, who)
        agencies = sorted(
            {str(r["agency_code"]) for r in plan.rows if r.get("agency_code")}
            | {str(p) for p in _ctx_agencies(table, kind)}
        )
        row = WorkforceImport(
            kind=kind.code,
            filename=storable(filename[:255]),
            mode=mode,
            status=plan.status,
            encoding=plan.encoding,
            rows_total=plan.rows_total,
            rows_rejected=plan.rows_rejected,
            rows_stored=len(plan.rows),
            agencies=agencies[:200],
            report=plan.problems[:10_000],
            created_at=clock.now(),
            created_by=who,
        )
        session.add(row)
        session.flush()
        summary = _summary(row)
        journal.record(
            session,
            actor=who,
            action="workforce.import",
            object_type="workforce_import",
            object_id=row.id,
            summary={
                k: v for k, v in summary.items() if k not in ("problems", "created_at", "report")
            },
            address=address,
        )
        return summary


def _ctx_agencies(table: ParsedFile, kind: Kind) -> set[str]:
    """The agency codes a file names (valid or not), bounded: who may see its report."""
    header = next((c.header for c in kind.columns if c.type == "agency"), None)
    if header is None:
        return set()
    found = {" ".join(str(r.cells.get(header) or "").split())[:40] for r in table.rows[:5000]}
    return {code for code in found if code}


def _visible(principal: Principal, row: WorkforceImport) -> bool:
    """An officer sees the imports they made and those holding their agencies' rows."""
    return (
        principal.sees_everything
        or row.created_by == principal.username
        or any(principal.may_see_agency(code) for code in row.agencies)
    )


def _one(session: Session, principal: Principal, import_id: int) -> WorkforceImport:
    row = session.get(WorkforceImport, import_id)
    if row is None or not _visible(principal, row):
        raise NotFound(f"không có lần nhập / no workforce import {import_id}")
    return row


def get_import(database: Database, principal: Principal, import_id: int) -> dict[str, Any]:
    with database.session() as session:
        return _summary(_one(session, principal, import_id))


def list_imports(
    database: Database, principal: Principal, *, kind: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    statement = select(WorkforceImport).order_by(WorkforceImport.id.desc())
    if kind:
        statement = statement.where(WorkforceImport.kind == _kind(kind).code)
    found: list[dict[str, Any]] = []
    with database.session() as session:
        # An officer's visibility depends on the JSON list of agencies, which neither
        # database filters alike: read newest first in batches until the page is full.
        for row in session.scalars(statement.execution_options(yield_per=200)):
            if _visible(principal, row):
                found.append(_summary(row, problems=False))
                if len(found) >= limit:
                    break
    return found


def report_xlsx(database: Database, principal: Principal, import_id: int) -> bytes:
    """The per-row report as a workbook: a summary sheet and one line per problem."""
    import openpyxl

    with database.session() as session:
        row = _one(session, principal, import_id)
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Tóm tắt"
        for label, value in (
            ("Loại dữ liệu / Kind", row.kind),
            ("Tệp / File", row.filename),
            ("Chế độ / Mode", row.mode),
            ("Kết quả / Status", row.status),
            ("Mã ký tự / Encoding", row.encoding),
            ("Số dòng / Rows", row.rows_total),
            ("Dòng lỗi / Rows with problems", row.rows_rejected),
            ("Dòng đã lưu / Rows stored", row.rows_stored),
        ):
            append_row(sheet, [label, value])  # user text (the file name) never a formula
        problems = book.create_sheet("Lỗi theo dòng")
        append_row(problems, ["Dòng / Row", "Cột / Column", "Giá trị / Value", "Lý do / Reason"])
        for problem in row.report:
            append_row(
                problems, [problem["row"], problem["column"], problem["value"], problem["reason"]]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_HOW = {
    "text": ("Chữ", "Text"),
    "count": ("Số nguyên ≥ 0", "A whole number ≥ 0"),
    "hours": ("Số giờ (được dùng dấu phẩy thập phân)", "Hours (a decimal comma is fine)"),
    "date": ("Ngày dd/mm/yyyy", "A date dd/mm/yyyy"),
    "month": ("Tháng mm/yyyy", "A month mm/yyyy"),
    "year": ("Năm, ví dụ 2026", "A year, e.g. 2026"),
    "choice": ("Một trong các giá trị ở trang 'Giá trị'", "One of the 'Giá trị' sheet"),
    "area": ("Mã phường/xã chính thức (5 chữ số)", "Official ward/commune code (5 digits)"),
    "agency": ("Mã cơ quan trong danh mục", "An agency code of the catalog"),
    "course": ("Mã khóa học đã nhập", "The code of a course already imported"),
    "team": ("Mã tổ đã nhập", "The code of a team already imported"),
}


def template_xlsx(kind_code: str) -> bytes:
    """A workbook to fill in: the data sheet with the Vietnamese headers, what each column
    takes, and the allowed values of the choice columns."""
    import openpyxl

    kind = _kind(kind_code)
    book = openpyxl.Workbook()
    data = book.active
    data.title = "Số liệu"
    append_row(data, [c.header for c in kind.columns])
    for index, column in enumerate(kind.columns, start=1):
        letter = openpyxl.utils.get_column_letter(index)
        data.column_dimensions[letter].width = max(16, len(column.header) + 4)
    guide = book.create_sheet("Hướng dẫn")
    append_row(guide, ["Cột / Column", "Bắt buộc / Required", "Cách ghi", "How to write it"])
    for column in kind.columns:
        vi, en = _HOW[column.type]
        append_row(guide, [column.header, "có / yes" if column.required else "không / no", vi, en])
    append_row(guide, [])
    append_row(
        guide,
        [
            "Tệp có dòng lỗi sẽ không được lưu, trừ khi chọn 'lưu các dòng hợp lệ'.",
            "A file with a bad row stores nothing unless 'store the valid rows' is chosen.",
        ],
    )
    append_row(
        guide,
        [
            "Không ghi họ tên hay thông tin cá nhân: chỉ số lượng.",
            "Write no names or personal data: counts only.",
        ],
    )
    choices = [c for c in kind.columns if c.choices]
    if choices:
        values = book.create_sheet("Giá trị")
        append_row(values, ["Cột / Column", "Mã / Code", "Tiếng Việt", "English"])
        for column in choices:
            for choice in column.choices:
                append_row(values, [column.header, choice.code, choice.vi, choice.en])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
