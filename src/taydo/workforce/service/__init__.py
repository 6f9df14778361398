"""Services of the digital workforce: importing its files (``imports``), the kinds of data
and their columns (``kinds``), and what the data adds up to (``figures``: the KPI functions
and the summary)."""

from taydo.workforce.service.figures import (
    Coverage,
    assessment_counts,
    staff_counts,
    summary,
    team_coverage,
    trained_share,
)
from taydo.workforce.service.imports import (
    MODES,
    get_import,
    import_file,
    list_imports,
    report_xlsx,
    template_xlsx,
)
from taydo.workforce.service.kinds import GROUPS, KINDS, MODES_OF_STUDY, STAFF_KINDS

__all__ = [
    "GROUPS",
    "KINDS",
    "MODES",
    "MODES_OF_STUDY",
    "STAFF_KINDS",
    "Coverage",
    "assessment_counts",
    "get_import",
    "import_file",
    "list_imports",
    "report_xlsx",
    "staff_counts",
    "summary",
    "team_coverage",
    "template_xlsx",
    "trained_share",
]
