"""Directive services: plain functions taking the database (or the caller's session) and the
calling ``Principal``; agency scope and the audit journal are enforced here, so the API, the
console and the CLI obey the same rules."""

from taydo.directives.service.common import (
    ASSIGNMENT_STATES,
    DIRECTIVE_STATES,
    PRIORITIES,
    bus_event,
    may_follow_up,
)
from taydo.directives.service.deadlines import agency_rates, check_deadlines, on_time_counts
from taydo.directives.service.files import ACCEPTED_TYPES, FileStore, TooLarge, UnsupportedType
from taydo.directives.service.lifecycle import (
    accept,
    acknowledge,
    cancel,
    catalog_agencies,
    check_follow_up,
    complete,
    issue,
    reject,
    report_progress,
    return_completion,
)
from taydo.directives.service.queries import get_directive, list_directives
from taydo.directives.service.uploads import add_file, open_file

__all__ = [
    "ACCEPTED_TYPES",
    "ASSIGNMENT_STATES",
    "DIRECTIVE_STATES",
    "PRIORITIES",
    "FileStore",
    "TooLarge",
    "UnsupportedType",
    "accept",
    "acknowledge",
    "add_file",
    "agency_rates",
    "bus_event",
    "cancel",
    "catalog_agencies",
    "check_deadlines",
    "check_follow_up",
    "complete",
    "get_directive",
    "issue",
    "list_directives",
    "may_follow_up",
    "on_time_counts",
    "open_file",
    "reject",
    "report_progress",
    "return_completion",
]
