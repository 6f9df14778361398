"""The reports domain's services: reports built from a table of sections (``table``),
rendered as PDF or .xlsx (``output``), agency scorecards (``scorecards``) and scheduled
report jobs (``schedule``)."""

from taydo.reports.service.base import FORMATS, KINDS, Report, Scope, Section, SectionResult
from taydo.reports.service.build import build_report, default_day, make_scope, period
from taydo.reports.service.output import Rendered, render
from taydo.reports.service.schedule import (
    claim_due,
    create_job,
    delete_job,
    fail_interrupted,
    list_jobs,
    list_runs,
    run_claimed,
    slot_at,
)
from taydo.reports.service.scorecards import MEASURES, STATUSES, scorecards
from taydo.reports.service.table import SECTIONS

__all__ = [
    "FORMATS",
    "KINDS",
    "MEASURES",
    "SECTIONS",
    "STATUSES",
    "Rendered",
    "Report",
    "Scope",
    "Section",
    "SectionResult",
    "build_report",
    "claim_due",
    "create_job",
    "default_day",
    "delete_job",
    "fail_interrupted",
    "list_jobs",
    "list_runs",
    "make_scope",
    "period",
    "render",
    "run_claimed",
    "scorecards",
    "slot_at",
]
