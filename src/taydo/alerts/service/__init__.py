"""Alert episodes: turning engine transitions into persisted alerts (``episodes``), and the
hand actions (``actions``: acknowledge, resolve, assign; ``silences``), all journalled and
scoped to the caller's agencies; journal entries of rule and channel changes (``changes``);
the notification outbox as people see it, and dead letters sent again (``deliveries``).
"""

from taydo.alerts.service.actions import (
    LIST_SORTS,
    acknowledge,
    acknowledge_many,
    assign,
    condition_holds,
    get_alert,
    list_alerts,
    resolve,
)
from taydo.alerts.service.changes import save_channel
from taydo.alerts.service.common import alert_dict
from taydo.alerts.service.deliveries import list_deliveries, retry_deliveries
from taydo.alerts.service.episodes import apply_transitions, judged_marks, open_alerts
from taydo.alerts.service.gauges import open_by_severity, outbox_by_channel
from taydo.alerts.service.periods import period_summary
from taydo.alerts.service.silences import create_silence, remove_silence, silence_alert

__all__ = [
    "LIST_SORTS",
    "acknowledge",
    "acknowledge_many",
    "alert_dict",
    "apply_transitions",
    "assign",
    "condition_holds",
    "create_silence",
    "get_alert",
    "judged_marks",
    "list_alerts",
    "list_deliveries",
    "open_alerts",
    "open_by_severity",
    "outbox_by_channel",
    "period_summary",
    "remove_silence",
    "resolve",
    "retry_deliveries",
    "save_channel",
    "silence_alert",
]
