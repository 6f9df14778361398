"""Importing agency files into a dataset: column mappings, per-row checks, reports.

The steps are the import pipeline's (``taydo.ingest.pipeline``): ``load_target`` (the
dataset and its mapping) → ``parse_file`` → ``map_columns`` → validate → commit →
``record_upload``; ``prepare_import`` chains those before the commit, ``run_import`` all.

Two modes: ``all_or_nothing`` stores nothing when any row has a problem; ``accept_valid``
stores the good values and reports the rest. Either way the per-row report is kept with the
upload and can be downloaded as .xlsx. Values go through the one ingest validator (numbers
written as text are accepted, as a spreadsheet holds them).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select

from taydo.auth import journal
from taydo.catalog.series import SeriesIndex
from taydo.catalog.service import (
    DatasetRef,
    dataset_metric_names,
    dataset_ref,
    dataset_stations,
)
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Forbidden, Invalid, NotFound
from taydo.core.runtime import Runtime
from taydo.ingest import pipeline
from taydo.ingest.files.models import ColumnMapping, Upload
from taydo.ingest.files.output import append_row
from taydo.ingest.files.parse import Mapping, ParsedFile, parse_number, parse_time, read_table
from taydo.ingest.quarantine import storable
from taydo.ingest.resolve import EntityResolver
from taydo.ingest.validate import SeriesLookup
from taydo.observations.service import ObservationWriter

__all__ = [
    "DEFAULT_ENTITY",
    "DEFAULT_TS",
    "MODES",
    "ImportPlan",
    "ImportTarget",
    "Mapped",
    "dataset_metrics",
    "default_mapping",
    "effective_mapping",
    "get_mapping",
    "get_upload",
    "import_file",
    "list_uploads",
    "load_target",
    "map_columns",
    "parse_file",
    "prepare_import",
    "record_upload",
    "report_xlsx",
    "run_import",
    "set_mapping",
    "template_xlsx",
]

MODES = ("accept_valid", "all_or_nothing")


def _visible_dataset(session: Any, principal: Principal, code: str) -> DatasetRef:
    """The dataset, as NotFound when the principal may not see its agency's data."""
    dataset = dataset_ref(session, code)
    if not principal.may_see_agency(dataset.agency):
        raise NotFound(f"không tìm thấy bộ dữ liệu / no dataset {code!r}")
    return dataset


def _check_write(principal: Principal | None, agency: str) -> None:
    if principal is not None and not principal.may_write_agency(agency):
        raise Forbidden(
            f"bạn không được ghi dữ liệu của cơ quan / you may not write data of agency {agency}"
        )


# The headers of the template the IOC hands out: the default mapping reads exactly these.
DEFAULT_TS = "Thời gian"
DEFAULT_ENTITY = "Trạm"


def default_mapping(session: Any, dataset_id: int) -> Mapping | None:
    """The mapping a dataset's own template defines: time, station, and one column per
    metric of its stations, headed by the metric's name; None when it has no metric yet."""
    metrics = dataset_metric_names(session, dataset_id)
    if not metrics:
        return None
    return Mapping(ts=DEFAULT_TS, entity=DEFAULT_ENTITY, metrics={m: m for m in metrics})


def _effective(session: Any, code: str, dataset: DatasetRef) -> tuple[Mapping, bool]:
    """(mapping, is_default): the saved mapping wins; otherwise the template's."""
    saved = session.get(ColumnMapping, dataset.id)
    if saved is not None:
        return Mapping.model_validate(saved.mapping), False
    derived = default_mapping(session, dataset.id)
    if derived is None:
        raise NotFound(
            f"bộ dữ liệu chưa có trạm có chỉ số nào, cũng chưa có ánh xạ cột / dataset {code!r} "
            "has neither stations with metrics nor a column mapping"
        )
    return derived, True


def effective_mapping(database: Database, code: str) -> tuple[dict[str, Any], bool]:
    """The mapping an upload of this dataset is read with, and whether it is the default one
    (derived from the template) rather than one someone saved."""
    with database.session() as session:
        mapping, is_default = _effective(session, code, dataset_ref(session, code))
        return mapping.model_dump(exclude_none=True), is_default


def get_mapping(database: Database, code: str) -> dict[str, Any]:
    """The mapping uploads are read with: the saved one, else the template's default."""
    return effective_mapping(database, code)[0]


def set_mapping(
    database: Database,
    principal: Principal | None,
    code: str,
    mapping: dict[str, Any],
    address: str | None = None,
) -> dict[str, Any]:
    try:
        valid = Mapping.model_validate(mapping)
    except ValidationError as exc:
        raise Invalid(
            "ánh xạ cột không hợp lệ / invalid column mapping",
            problems=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()],
        ) from None
    data = valid.model_dump(exclude_none=True)
    with database.session() as session:
        dataset = dataset_ref(session, code)
        _check_write(principal, dataset.agency)
        row = session.get(ColumnMapping, dataset.id)
        who = principal.username if principal else "system"
        if row is None:
            row = ColumnMapping(
                dataset_id=dataset.id, mapping=data, updated_at=clock.now(), updated_by=who
            )
            session.add(row)
        else:
            row.mapping, row.updated_at, row.updated_by = data, clock.now(), who
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="dataset.column_mapping",
            object_type="dataset",
            object_id=code,
            summary=data,
            address=address,
        )
    return data


@dataclass
class ImportPlan:
    dataset_id: int
    dataset: str
    filename: str
    mode: str
    encoding: str
    rows_total: int
    default_mapping: bool = False
    rows: list[tuple[int, int, float, int]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return len({p["row"] for p in self.problems})

    @property
    def status(self) -> str:
        if not self.problems:
            return "stored"
        return "rejected" if self.mode == "all_or_nothing" or not self.rows else "partial"


FOUND_CHARS = 80  # characters shown of each header in a "missing columns" answer


def _text(value: Any, limit: int = 200) -> str:
    """A cell as report text: bounded, and storable on every backend (no NUL)."""
    return "" if value is None else storable(str(value)[:limit])


def _problem(number: int, column: str, value: Any, reason: str) -> dict[str, Any]:
    """One line of an upload's per-row report."""
    return {"row": number, "column": column, "value": value, "reason": reason}


def prepare_import(
    database: Database,
    principal: Principal | None,
    code: str,
    filename: str,
    data: bytes,
    *,
    mode: str,
    series: SeriesLookup,
    resolver: EntityResolver,
    zone: ZoneInfo,
) -> ImportPlan:
    """Read and check a file; the plan holds the rows to store and every row's problems.

    The pipeline's steps up to the commit (``taydo.ingest.pipeline``): the dataset's mapping,
    parse, map columns, validate, then the mode decides what is kept."""
    if mode not in MODES:
        raise Invalid(f"chế độ không hợp lệ / mode must be one of {MODES}")
    target = load_target(database, principal, code)
    table = parse_file(filename, data, target.mapping, every_metric=not target.default)
    plan = ImportPlan(
        target.dataset_id,
        code,
        filename,
        mode,
        table.encoding,
        len(table.rows),
        default_mapping=target.default,
    )
    mapped = map_columns(table, target, resolver, zone)
    plan.problems.extend(mapped.problems)
    checked = pipeline.validate(
        mapped.items,
        mapped.where,
        series,
        may_write=principal.may_write_agency if principal is not None else None,
    )
    for (number, header, cell), reason, _agency in checked.rejected:
        plan.problems.append(_problem(number, header, _text(cell), reason))
    plan.problems.sort(key=lambda p: (p["row"], p["column"]))
    if plan.problems and mode == "all_or_nothing":
        plan.rows = []
    else:
        # accept_valid keeps a row's good values even when another of its cells is bad
        plan.rows = checked.rows
    return plan


@dataclass(frozen=True)
class ImportTarget:
    """The dataset a file goes into: its agency and its column mapping (``default``: the
    one its template defines, no mapping having been saved)."""

    dataset_id: int
    agency: str
    mapping: Mapping
    default: bool = False


def load_target(database: Database, principal: Principal | None, code: str) -> ImportTarget:
    """The dataset, when the principal may write its agency's data, with the mapping its
    files are read with: the saved one, else the one its template defines."""
    with database.session() as session:
        dataset = dataset_ref(session, code)
        _check_write(principal, dataset.agency)
        try:
            mapping, is_default = _effective(session, code, dataset)
        except NotFound as exc:  # the dataset exists: what is missing is a way to read files
            raise Invalid(
                f"{exc.message}: PUT /api/v1/datasets/{code}/column-mapping first"
            ) from None
        return ImportTarget(dataset.id, dataset.agency, mapping, is_default)


def parse_file(
    filename: str, data: bytes, mapping: Mapping, *, every_metric: bool = True
) -> ParsedFile:
    """Parse: the file's table, which must hold the time and station columns and every metric
    column the mapping names (``every_metric=False``, for a template's default mapping: at
    least one — an agency deletes the columns of what it does not measure)."""
    try:
        table = read_table(filename, data, mapping.sheet)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(str(exc)) from None
    wanted = [mapping.ts, mapping.entity, *mapping.metrics]
    missing = [header for header in wanted if header not in table.headers]
    if not every_metric and any(header in table.headers for header in mapping.metrics):
        missing = [header for header in missing if header not in mapping.metrics]
    if missing:
        raise Invalid(
            "thiếu cột / missing columns: " + ", ".join(repr(m) for m in missing),
            # The file's headers, bounded: an answer never echoes unbounded input.
            found=[_text(header, FOUND_CHARS) for header in table.headers[:50]],
        )
    return table


@dataclass
class Mapped:
    """Map columns: the items to validate, where each came from (row number, header, cell),
    and the problems found on the way (a bad time, an unknown station, a cell not a number)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    where: list[tuple[int, str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)


def map_columns(
    table: ParsedFile, target: ImportTarget, resolver: EntityResolver, zone: ZoneInfo
) -> Mapped:
    """Each row's time, station and metric cells as items ``{entity_id, metric, ts, value}``."""
    mapping, agency = target.mapping, target.agency
    out = Mapped()
    for row in table.rows:
        try:
            ts = parse_time(row.cells.get(mapping.ts), zone)
        except ValueError as exc:
            shown = _text(row.cells.get(mapping.ts))
            out.problems.append(_problem(row.number, mapping.ts, shown, str(exc)))
            continue
        station = _text(row.cells.get(mapping.entity)).strip()
        entity_id, reason = pipeline.resolve_station(resolver, agency, station)
        if entity_id is None:
            reason = reason or f"không có trạm / no station {station!r} in agency {agency}"
            out.problems.append(_problem(row.number, mapping.entity, station, reason))
            continue
        for header, metric in mapping.metrics.items():
            cell = row.cells.get(header)
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue  # an empty cell is no value, not an error
            try:
                value = parse_number(cell)
            except ValueError as exc:
                out.problems.append(_problem(row.number, header, _text(cell), str(exc)))
                continue
            out.items.append({"entity_id": entity_id, "metric": metric, "ts": ts, "value": value})
            out.where.append((row.number, header, cell))
    return out


def run_import(
    database: Database,
    principal: Principal | None,
    code: str,
    filename: str,
    data: bytes,
    *,
    mode: str,
    series: SeriesLookup,
    resolver: EntityResolver,
    zone: ZoneInfo,
    store: pipeline.Store,
    address: str | None = None,
) -> dict[str, Any]:
    """The whole file import, for an upload and ``taydo import file`` alike: check the file,
    commit its good values through ``store``, record the upload with its per-row report.
    Synchronous (the server runs it in a worker thread)."""
    plan = prepare_import(
        database,
        principal,
        code,
        filename,
        data,
        mode=mode,
        series=series,
        resolver=resolver,
        zone=zone,
    )
    stored = pipeline.commit(plan.rows, store)
    # The store keeps the first value of a series at a time and ignores a re-sent one
    # (ON CONFLICT DO NOTHING): what it did not take new was already there.
    return record_upload(database, principal, plan, stored, address, len(plan.rows) - stored)


def record_upload(
    database: Database,
    principal: Principal | None,
    plan: ImportPlan,
    stored: int,
    address: str | None = None,
    duplicates: int = 0,
) -> dict[str, Any]:
    """Keep the upload with its per-row report: ``stored`` values were new, ``duplicates``
    were valid but already stored for the same series and time (or repeated in the file)."""
    with database.session() as session:
        upload = Upload(
            dataset_id=plan.dataset_id,
            filename=storable(plan.filename[:255]),
            mode=plan.mode,
            status=plan.status,
            encoding=plan.encoding,
            rows_total=plan.rows_total,
            rows_rejected=plan.rows_rejected,
            values_stored=stored,
            values_duplicate=duplicates,
            report=plan.problems[:10_000],
            created_at=clock.now(),
            created_by=principal.username if principal else "system",
        )
        session.add(upload)
        session.flush()
        summary = _summary(upload, plan.dataset)
        journal.record(
            session,
            actor=journal.actor_of(principal),
            action="dataset.upload",
            object_type="dataset",
            object_id=plan.dataset,
            summary={k: v for k, v in summary.items() if k != "problems"},
            address=address,
        )
        return summary


async def import_file(
    runtime: Runtime,
    principal: Principal,
    code: str,
    filename: str,
    data: bytes,
    *,
    mode: str,
    address: str | None = None,
) -> dict[str, Any]:
    """``run_import`` for the API and the console: the good values go through the app's
    observation writer (answered once committed)."""
    return await asyncio.to_thread(
        run_import,
        runtime.db,
        principal,
        code,
        filename,
        data,
        mode=mode,
        series=runtime.get(SeriesIndex),
        resolver=runtime.get(EntityResolver),
        zone=runtime.settings.tz,
        store=pipeline.writer_store(runtime.get(ObservationWriter), asyncio.get_running_loop()),
        address=address,
    )


def list_uploads(
    database: Database, principal: Principal, code: str, limit: int = 10
) -> list[dict[str, Any]]:
    """The newest uploads of a dataset (without their problems)."""
    with database.session() as session:
        dataset = _visible_dataset(session, principal, code)
        rows = session.scalars(
            select(Upload)
            .where(Upload.dataset_id == dataset.id)
            .order_by(Upload.id.desc())
            .limit(limit)
        ).all()
        listed = []
        for row in rows:
            summary = _summary(row, code)
            del summary["problems"]
            summary["created_at"] = row.created_at
            summary["created_by"] = row.created_by
            listed.append(summary)
        return listed


def dataset_metrics(database: Database, code: str) -> list[str]:
    """The metric names of the dataset's entities: what a mapping's columns may name."""
    with database.session() as session:
        return dataset_metric_names(session, dataset_ref(session, code).id)


def _summary(upload: Upload, code: str) -> dict[str, Any]:
    return {
        "id": upload.id,
        "dataset": code,
        "filename": upload.filename,
        "mode": upload.mode,
        "status": upload.status,
        "encoding": upload.encoding,
        "rows": upload.rows_total,
        "rows_rejected": upload.rows_rejected,
        "values_stored": upload.values_stored,
        "values_new": upload.values_stored,
        "values_duplicate": upload.values_duplicate,
        "problems": upload.report[:100],
        "report": f"/api/v1/datasets/{code}/uploads/{upload.id}/report.xlsx",
    }


def _upload(session: Any, principal: Principal, code: str, upload_id: int) -> Upload:
    dataset = dataset_ref(session, code)
    upload: Upload | None = session.get(Upload, upload_id)
    if (
        upload is None
        or upload.dataset_id != dataset.id
        or not principal.may_see_agency(dataset.agency)
    ):
        raise NotFound(f"không có lần tải lên / no upload {upload_id} of dataset {code!r}")
    return upload


def get_upload(
    database: Database, principal: Principal, code: str, upload_id: int
) -> dict[str, Any]:
    with database.session() as session:
        return _summary(_upload(session, principal, code, upload_id), code)


def report_xlsx(database: Database, principal: Principal, code: str, upload_id: int) -> bytes:
    """The per-row report as a workbook: a summary sheet and one line per problem."""
    import openpyxl

    with database.session() as session:
        upload = _upload(session, principal, code, upload_id)
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Tóm tắt"
        for label, value in (
            ("Bộ dữ liệu / Dataset", code),
            ("Tệp / File", upload.filename),
            ("Chế độ / Mode", upload.mode),
            ("Kết quả / Status", upload.status),
            ("Mã ký tự / Encoding", upload.encoding),
            ("Số dòng / Rows", upload.rows_total),
            ("Dòng lỗi / Rows with problems", upload.rows_rejected),
            ("Giá trị mới đã lưu / New values stored", upload.values_stored),
            ("Giá trị trùng đã có / Duplicates of stored values", upload.values_duplicate),
        ):
            append_row(sheet, [label, value])  # the file name is user text: never a formula
        problems = book.create_sheet("Lỗi theo dòng")
        append_row(problems, ["Dòng / Row", "Cột / Column", "Giá trị / Value", "Lý do / Reason"])
        for problem in upload.report:
            append_row(
                problems, [problem["row"], problem["column"], problem["value"], problem["reason"]]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GUIDE = (
    ("Mỗi dòng: một thời điểm của một trạm.", "Each row: one time at one station."),
    (
        "Thời gian: dd/mm/yyyy HH:MM (ví dụ 27/11/2026 07:00), giờ Việt Nam nếu không ghi múi.",
        "Time: dd/mm/yyyy HH:MM (e.g. 27/11/2026 07:00), Vietnam time unless a zone is given.",
    ),
    (
        "Trạm: tên hoặc mã trong trang 'Trạm'.",
        "Station: a name or code from the 'Trạm' sheet.",
    ),
    (
        "Số: dấu phẩy thập phân được (12,5); ô trống là không có giá trị.",
        "Numbers: a decimal comma is fine (12,5); an empty cell is no value.",
    ),
)


def template_xlsx(database: Database, principal: Principal, code: str) -> bytes:
    """A workbook to fill in for this dataset: its data sheet with the mapped column headers
    (the saved mapping's, else the default mapping's, which reads this very template back),
    the stations a row may name, and how to write times and numbers — so that what an agency
    sends matches the mapping the first time."""
    import openpyxl

    with database.session() as session:
        dataset = _visible_dataset(session, principal, code)
        mapping, _default = _effective(session, code, dataset)
        stations = dataset_stations(session, dataset.id)
    book = openpyxl.Workbook()
    data = book.active
    try:
        data.title = mapping.sheet or "Số liệu"
    except ValueError as exc:  # a name Excel itself would refuse
        raise Invalid(f"tên trang tính không hợp lệ / invalid worksheet name: {exc}") from None
    headers = [mapping.ts, mapping.entity, *mapping.metrics]
    append_row(data, headers)
    for index, header in enumerate(headers, start=1):
        data.column_dimensions[openpyxl.utils.get_column_letter(index)].width = max(
            16, len(header) + 4
        )
    listed = book.create_sheet("Trạm")
    append_row(listed, ["Tên trạm / Station name", "Mã / Code", "Mã định danh / Entity id"])
    for name, entity_id in stations:
        append_row(listed, [name, entity_id.rsplit(":", 1)[-1], entity_id])
    guide = book.create_sheet("Hướng dẫn")
    for line in GUIDE:
        append_row(guide, list(line))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
