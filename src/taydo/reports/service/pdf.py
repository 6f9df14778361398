"""A report as a PDF (fpdf2): A4 landscape, Vietnamese text set in DejaVu Sans — a TTF with
full Vietnamese coverage, embedded (subset) in the file — and charts drawn by matplotlib
(Agg, no display) as PNG images.

The font is the DejaVu Sans that matplotlib ships in its package data (found through its
public ``font_manager``), so neither a Debian font package nor the internet is needed."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as PlotFigure
from matplotlib.ticker import MaxNLocator

from taydo.reports.service.base import Chart, Column, Report, SectionResult

__all__ = ["cell_text", "render_pdf"]

FAMILY = "DejaVu"
_HEADER = FontFace(emphasis="BOLD", fill_color=(221, 231, 240))


@cache
def _font_files() -> tuple[str, str]:
    regular = font_manager.findfont(
        font_manager.FontProperties(family="DejaVu Sans"), fallback_to_default=False
    )
    bold = font_manager.findfont(
        font_manager.FontProperties(family="DejaVu Sans", weight="bold"),
        fallback_to_default=False,
    )
    return regular, bold


def _number(value: float, digits: int) -> str:
    # Vietnamese writes a decimal comma and groups thousands with a dot.
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def cell_text(column: Column, value: Any) -> str:
    """A value as the PDF shows it (Vietnamese number format; — for none)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, int | float):
        if column.kind == "percent":
            return _number(float(value) * 100, 1) + " %"
        if column.kind == "int" or isinstance(value, int):
            return _number(float(value), 0)
        return _number(float(value), 2)
    return str(value)


class _Document(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.cell(0, 6, f"{self.footer_text} — trang {self.page_no()}/{{nb}}", align="C")


def _chart_png(chart: Chart) -> bytes:
    figure = PlotFigure(figsize=(10, 3.6), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    count = len(chart.series)
    width = 0.8 / max(count, 1)
    positions = list(range(len(chart.labels)))
    for index, (legend, values) in enumerate(chart.series):
        shifted = [p + (index - (count - 1) / 2) * width for p in positions]
        heights = [v if v is not None else 0.0 for v in values]
        colours: Any = chart.colours if chart.colours and count == 1 else None
        axes.bar(shifted, heights, width=width, label=legend, color=colours)
    if chart.reference is not None:
        legend, marks = chart.reference
        xs = [p for p, v in zip(positions, marks, strict=True) if v is not None]
        ys = [v for v in marks if v is not None]
        axes.scatter(
            xs, ys, marker="_", s=900, linewidths=3, color="#c0392b", label=legend, zorder=3
        )
    axes.set_xticks(positions)
    axes.set_xticklabels(chart.labels, rotation=20, ha="right", fontsize=8)
    axes.set_title(chart.title_vi, fontsize=11)
    if count > 1 or chart.reference is not None or not chart.colours:
        axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    counted = [v for _legend, values in chart.series for v in values if v is not None]
    if counted and all(float(v).is_integer() for v in counted):
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 alert
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _section(pdf: _Document, result: SectionResult) -> None:
    # A heading is never left alone at the foot of a page: with a chart, keep room for it.
    if pdf.will_page_break(95 if result.chart is not None else 30):
        pdf.add_page()
    pdf.set_font(FAMILY, "B", 13)
    pdf.multi_cell(0, 7, result.title_vi, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(0, 5, result.title_en, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    if result.note_vi:
        pdf.set_font(FAMILY, size=10)
        pdf.multi_cell(0, 6, f"{result.note_vi} / {result.note_en}", new_x="LMARGIN", new_y="NEXT")
    if result.figures:
        pdf.set_font(FAMILY, size=10)
        for figure in result.figures:
            value = figure.value if figure.value is not None else "—"
            pdf.multi_cell(
                0, 6, f"• {figure.vi} ({figure.en}): {value}", new_x="LMARGIN", new_y="NEXT"
            )
    if result.chart is not None and result.chart.labels:
        pdf.ln(1)
        pdf.image(io.BytesIO(_chart_png(result.chart)), w=230)
    if result.columns and result.rows:
        pdf.ln(2)
        pdf.set_font(FAMILY, size=8)
        texts = [[cell_text(c, v) for c, v in zip(result.columns, values, strict=False)]
                 for values in result.rows]  # fmt: skip
        # Columns as wide as what they hold (within bounds), not all alike.
        widths = [
            min(
                max([len(c.vi) * 0.6, len(c.en) * 0.6] + [len(t[i]) for t in texts if i < len(t)]),
                45,
            )
            + 4
            for i, c in enumerate(result.columns)
        ]
        with pdf.table(
            headings_style=_HEADER,
            line_height=5,
            first_row_as_headings=True,
            col_widths=tuple(widths),
            text_align="LEFT",
        ) as table:
            header = table.row()
            for column in result.columns:
                header.cell(f"{column.vi}\n{column.en}")
            for shown in texts:
                row = table.row()
                for text in shown:
                    row.cell(text)
    pdf.ln(6)


def render_pdf(report: Report, generated_at: str) -> bytes:
    regular, bold = _font_files()
    pdf = _Document(orientation="L", unit="mm", format="A4")
    pdf.add_font(FAMILY, "", regular)
    pdf.add_font(FAMILY, "B", bold)
    pdf.set_title(f"{report.title_vi} — {report.period_label}")
    pdf.set_creator("Tây Đô IOC")
    pdf.set_lang("vi")
    pdf.footer_text = f"Tây Đô IOC — {report.title_vi} — {report.period_label}"
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 18)
    pdf.multi_cell(0, 10, report.title_vi, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=11)
    pdf.multi_cell(0, 6, report.title_en, new_x="LMARGIN", new_y="NEXT")
    for line in (
        f"Kỳ báo cáo / Period: {report.period_label}",
        f"Phạm vi / Scope: {report.scope_label}",
        f"Lập lúc / Generated: {generated_at}",
    ):
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for result in report.sections:
        _section(pdf, result)
    return bytes(pdf.output())
