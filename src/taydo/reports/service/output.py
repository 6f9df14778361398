"""A report rendered to a file: its name, media type and bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from taydo.core.errors import Invalid
from taydo.reports.service.base import FORMATS, Report
from taydo.reports.service.pdf import render_pdf
from taydo.reports.service.xlsx import render_xlsx

__all__ = ["Rendered", "render"]


@dataclass(frozen=True)
class Rendered:
    filename: str
    media_type: str
    content: bytes


def render(report: Report, fmt: str, tz: ZoneInfo, now: datetime) -> Rendered:
    if fmt not in FORMATS:
        raise Invalid(f"định dạng không hợp lệ / unknown format {fmt!r}", formats=list(FORMATS))
    generated = now.astimezone(tz).strftime("%d/%m/%Y %H:%M")
    content = render_pdf(report, generated) if fmt == "pdf" else render_xlsx(report, generated)
    return Rendered(f"{report.stem}.{fmt}", FORMATS[fmt], content)
