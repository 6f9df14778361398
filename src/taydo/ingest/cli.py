"""``taydo import observations FILE.csv|FILE.jsonl``: load a file of observations.

(The command joins the ``taydo import`` group of the file gateway, ``taydo.ingest.files``.)

Rows go through the import pipeline (``taydo.ingest.pipeline``: the same validation as
``POST /api/v1/observations`` and as uploads); accepted rows are stored, rejected rows go to
``<FILE>.rejected.csv`` with their reasons (the CSV report keeps the original columns, so it
can be fixed and imported again) and into the quarantine, and the counts are printed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from taydo.core.db import Database
from taydo.core.settings import Settings
from taydo.ingest.files.output import csv_cell

__all__ = ["ImportReport", "UnreadableFile", "import_observations", "import_observations_file"]

console = Console()

REQUIRED = ("entity_id", "metric", "ts", "value")
CHUNK = 10_000
REASON_BAD_JSON = "dòng JSON không hợp lệ / malformed JSON line"


class UnreadableFile(Exception):
    """The file cannot be imported at all (unknown format, missing columns)."""


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    report_path: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Row:
    line: int
    item: Any  # what the validator sees (a dict, or None for an unreadable line)
    raw: Any  # what goes to the report: the CSV cells or the JSON line's text
    error: str | None = None  # a reason found while reading (malformed JSON)


def _encoding(path: Path) -> str:
    """The file's encoding by its byte order mark (Excel's "Unicode text" is UTF-16 LE with
    one); without a mark, UTF-8."""
    with path.open("rb") as handle:
        start = handle.read(4)
    if start.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"  # the codec reads the mark and the byte order from it
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return "utf-8-sig"


def _csv_rows(path: Path) -> tuple[list[str], Iterator[_Row]]:
    handle = path.open(encoding=_encoding(path), errors="replace", newline="")
    reader = csv.reader(handle)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        handle.close()
        return [], iter(())
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        handle.close()
        raise UnreadableFile(
            f"tệp CSV thiếu cột {', '.join(missing)} / the CSV file lacks columns "
            f"{', '.join(missing)} (needs {', '.join(REQUIRED)}, quality optional)"
        )

    def rows() -> Iterator[_Row]:
        with handle:
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue  # blank line
                item: dict[str, Any] = {
                    name: cells[i] for i, name in enumerate(header) if i < len(cells)
                }
                if item.get("quality") == "":
                    del item["quality"]  # an empty optional cell means "not given"
                yield _Row(reader.line_num, item, cells)

    return header, rows()


def _jsonl_rows(path: Path) -> Iterator[_Row]:
    with path.open(encoding=_encoding(path), errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except (ValueError, RecursionError):
                yield _Row(number, None, text.rstrip("\n"), REASON_BAD_JSON)
                continue
            yield _Row(number, item, text.rstrip("\n"))


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def import_observations_file(
    database: Database,
    path: Path,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
) -> ImportReport:
    """Validate, store and report one file; see the module docstring."""
    from taydo.catalog.series import SeriesIndex
    from taydo.ingest import pipeline

    suffix = path.suffix.lower()
    header: list[str] = []
    if suffix == ".csv":
        header, rows = _csv_rows(path)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    else:
        raise UnreadableFile(
            f"định dạng không hỗ trợ {suffix or '(none)'}: dùng .csv hoặc .jsonl / "
            f"unsupported format {suffix or '(none)'}: use .csv or .jsonl"
        )
    total_lines = _count_lines(path)
    index = SeriesIndex(database)
    index.load()
    source = f"file:{path.name}"
    store = pipeline.direct_store(database)
    report = ImportReport()
    report_path = path.with_name(path.name + ".rejected.csv")
    writer: Any = None
    report_file = None

    def reject(batch: list[tuple[_Row, str, str | None]]) -> None:
        nonlocal writer, report_file
        if not batch:
            return
        if writer is None:
            report_file = report_path.open("w", encoding="utf-8", newline="")
            writer = csv.writer(report_file)
            names = ["line", "reason", *header] if header else ["line", "reason", "raw"]
            writer.writerow([csv_cell(name) for name in names])
        for row, reason, _agency in batch:
            # The file's text is written so that a spreadsheet shows it, never evaluates it.
            cells = [*row.raw] if header else [row.raw]
            writer.writerow([row.line, csv_cell(reason), *(csv_cell(c) for c in cells)])
            report.reasons[reason] = report.reasons.get(reason, 0) + 1
        pipeline.quarantine_rejected(
            database,
            source,
            [(_raw_for_quarantine(row, header), reason, agency) for row, reason, agency in batch],
        )
        report.rejected += len(batch)

    def flush(pending: list[_Row]) -> None:
        readable = [row for row in pending if row.error is None]
        checked = pipeline.validate(
            [row.item for row in readable], readable, index, coerce_strings=True
        )
        accepted = pipeline.commit(checked.rows, store)
        report.accepted += accepted
        report.duplicates += len(checked.rows) - accepted
        failures: list[tuple[_Row, str, str | None]] = [
            (row, row.error, None) for row in pending if row.error is not None
        ]
        failures += checked.rejected
        failures.sort(key=lambda entry: entry[0].line)
        reject(failures)
        report.rows += len(pending)
        if on_progress is not None:
            on_progress(pending[-1].line, total_lines)

    try:
        pending: list[_Row] = []
        for row in rows:
            pending.append(row)
            if len(pending) >= chunk:
                flush(pending)
                pending = []
        if pending:
            flush(pending)
    finally:
        if report_file is not None:
            report_file.close()
    if report.rejected:
        report.report_path = report_path
    elif report_path.exists():
        report_path.unlink()  # an old report would describe rows that are now fine
    return report


def _raw_for_quarantine(row: _Row, header: list[str]) -> Any:
    if header:
        return {name: row.raw[i] for i, name in enumerate(header) if i < len(row.raw)}
    return row.raw


def import_observations(
    file: Annotated[Path, typer.Argument(help="A .csv (with a header) or .jsonl file.")],
) -> None:
    """Nhập quan trắc từ tệp / Import observations: entity_id, metric, ts, value, quality?

    Exit status: 0 when every row was stored, 1 when some rows were rejected (see the
    report), 2 when the file could not be read at all.
    """
    if not file.is_file():
        console.print(f"[red]Không tìm thấy tệp / no such file: {file}[/red]")
        raise typer.Exit(2)
    database = Database(Settings().database_url)
    try:
        with Progress(
            TextColumn(f"[bold]Nhập / importing {file.name}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} dòng / lines"),
            console=console,
        ) as progress:
            task = progress.add_task("import", total=None)
            report = import_observations_file(
                database,
                file,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    except UnreadableFile as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    finally:
        database.dispose()
    console.print(
        f"Dòng / rows: {report.rows} · nhận / accepted: {report.accepted} · "
        f"trùng / duplicates: {report.duplicates} · từ chối / rejected: {report.rejected}"
    )
    if report.report_path is not None:
        for reason, count in sorted(report.reasons.items(), key=lambda kv: -kv[1])[:5]:
            console.print(f"  {count} × {reason}")
        console.print(
            f"[yellow]Các dòng bị từ chối / rejected rows: {report.report_path} "
            "(cũng đã đưa vào khu cách ly / also quarantined)[/yellow]"
        )
        raise typer.Exit(1)
