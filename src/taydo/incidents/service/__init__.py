"""The incidents service: incidents by hand (``incidents``), the data that drives them
(``definitions``: SOPs, SLA, correlation rules), correlation of alerts and citizen reports
(``correlation``), due times and the KPI counts (``due``), notifications (``notices``)."""

from taydo.incidents.service.common import STATUS_LABELS, incident_dict
from taydo.incidents.service.correlation import (
    catch_up,
    correlate,
    remember_report,
    take_reports,
)
from taydo.incidents.service.definitions import (
    delete_correlation,
    get_sop,
    list_correlations,
    list_sla,
    list_sops,
    load_incidents_pack,
    parse_pack,
    save_all,
    save_correlation,
    save_sla,
    save_sop,
)
from taydo.incidents.service.due import check_due, on_time_counts
from taydo.incidents.service.files import ACCEPTED_TYPES, add_file, open_file
from taydo.incidents.service.incidents import (
    add_links,
    add_note,
    assign,
    board_columns,
    change_status,
    complete_step,
    create,
    get_incident,
    list_incidents,
)
from taydo.incidents.service.tasks import issue_directive, linked_directives

__all__ = [
    "ACCEPTED_TYPES",
    "STATUS_LABELS",
    "add_file",
    "add_links",
    "add_note",
    "assign",
    "board_columns",
    "catch_up",
    "change_status",
    "check_due",
    "complete_step",
    "correlate",
    "create",
    "delete_correlation",
    "get_incident",
    "get_sop",
    "incident_dict",
    "issue_directive",
    "linked_directives",
    "list_correlations",
    "list_incidents",
    "list_sla",
    "list_sops",
    "load_incidents_pack",
    "on_time_counts",
    "open_file",
    "parse_pack",
    "remember_report",
    "save_all",
    "save_correlation",
    "save_sla",
    "save_sop",
    "take_reports",
]
