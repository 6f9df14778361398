"""Shapes of the incidents domain: request bodies, and the data definitions (SOPs, SLA,
correlation rules) that the pack YAML and the API share, validated when saved."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from taydo.core.bounds import BodyId
from taydo.core.inputs import INPUT_CONFIG, Moment

__all__ = [
    "SEVERITY_CODES",
    "STATUSES",
    "AssignIn",
    "CorrelationDef",
    "IncidentIn",
    "LinkIn",
    "NoteIn",
    "SlaRow",
    "SopDef",
    "SopField",
    "SopStep",
    "StatusIn",
    "StepDoneIn",
    "TaskIn",
]

STATUSES = ("new", "dispatched", "in_progress", "resolved", "closed")
SEVERITY_CODES = ("info", "watch", "warning", "danger", "emergency")
Severity = Literal["info", "watch", "warning", "danger", "emergency"]
Code = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
Text = Field(min_length=1, max_length=400)
MAX_MINUTES = 10 * 366 * 24 * 60


class _Strict(BaseModel):
    model_config = ConfigDict(**INPUT_CONFIG, extra="forbid")


# -- data definitions --------------------------------------------------------------------------
class SopField(_Strict):
    """A datum the person completing a step records."""

    code: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    label: str = Text
    label_en: str = Field("", max_length=400)
    kind: Literal["text", "number", "yes_no"] = "text"
    required: bool = False


class StepCondition(_Strict):
    """A step applies only when every given condition holds (none: always)."""

    min_severity: Severity | None = None
    areas: list[str] | None = Field(None, max_length=500)


class SopStep(_Strict):
    code: str = Code
    title: str = Text
    title_en: str = Field("", max_length=400)
    role: Literal["operator", "leader", "agency_officer"] | None = None
    agency: str | None = Field(None, max_length=40)
    deadline_min: int | None = Field(None, ge=1, le=MAX_MINUTES)
    fields: list[SopField] = Field(default_factory=list, max_length=20)
    when: StepCondition = StepCondition()

    @model_validator(mode="after")
    def _someone(self) -> SopStep:
        if self.role is None and self.agency is None:
            raise ValueError("a step names a responsible role or agency")
        return self


class SopDef(_Strict):
    """The standard operating procedure of one incident type."""

    type: str = Code
    name: str = Text
    name_en: str = Field("", max_length=400)
    agency: str | None = Field(None, max_length=40)  # the usual responsible agency
    steps: list[SopStep] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique_steps(self) -> SopDef:
        codes = [s.code for s in self.steps]
        if len(codes) != len(set(codes)):
            raise ValueError("step codes repeat within the SOP")
        return self


class SlaRow(_Strict):
    type: str = Field(pattern=r"^(\*|[a-z0-9][a-z0-9_-]{0,59})$")
    severity: Severity | Literal["*"]
    hours: float = Field(gt=0, le=24 * 366)


class Signal(_Strict):
    """One kind of signal a correlation rule counts in a ward within its window."""

    alert_rules: list[str] = Field(default_factory=list, max_length=50)
    report_services: list[str] = Field(default_factory=list, max_length=50)
    min_count: int = Field(1, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_kind(self) -> Signal:
        if bool(self.alert_rules) == bool(self.report_services):
            raise ValueError("a signal names alert_rules or report_services (one of the two)")
        return self


class CorrelationDef(_Strict):
    """When all ``require`` signals occur in one ward within ``window_h`` hours, one incident
    of ``type`` opens; while it is open, every later signal of the rule in that ward joins it."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    type: str = Code
    title: str = Text
    title_en: str = Field("", max_length=400)
    severity: Severity = "warning"
    window_h: float = Field(3, gt=0, le=24 * 30)
    require: list[Signal] = Field(min_length=1, max_length=10)
    enabled: bool = True


# -- request bodies ----------------------------------------------------------------------------
class IncidentIn(_Strict):
    type: str = Code
    title: str | None = Field(None, min_length=1, max_length=400)
    description: str = Field("", max_length=10_000)
    severity: Severity | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    area_code: str | None = Field(None, max_length=16)
    agency_code: str | None = Field(None, max_length=40)
    started_at: Moment | None = None
    alert_id: BodyId | None = None
    report_ids: list[BodyId] = Field(default_factory=list, max_length=200)
    entity_ids: list[str] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _both_or_none(self) -> IncidentIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give lat and lon together")
        return self


class StatusIn(_Strict):
    status: Literal["dispatched", "in_progress", "resolved", "closed", "reopen"]
    note: str = Field("", max_length=2000)


Assignee = Annotated[str, Field(pattern=r"^(user|agency):[^\s]{1,80}$")]


class AssignIn(_Strict):
    """The responsible agency and the assignees (``user:<name>``, ``agency:<code>``)."""

    agency_code: str | None = Field(None, max_length=40)
    assignees: list[Assignee] = Field(default_factory=list, max_length=50)


class NoteIn(_Strict):
    body: str = Field(min_length=1, max_length=10_000)
    internal: bool = False
    attachment_name: str | None = Field(None, min_length=1, max_length=255)
    attachment_url: str | None = Field(None, pattern=r"^(https?://|/)\S{1,990}$")


class StepDoneIn(_Strict):
    data: dict[str, str | float | bool] = Field(default_factory=dict, max_length=20)
    note: str = Field("", max_length=2000)


class LinkIn(_Strict):
    alert_ids: list[BodyId] = Field(default_factory=list, max_length=200)
    report_ids: list[BodyId] = Field(default_factory=list, max_length=200)
    entity_ids: list[str] = Field(default_factory=list, max_length=200)


class TaskIn(_Strict):
    """A directive to one or more agencies, tied to this incident (``directives:incident``)."""

    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=10_000)
    agencies: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,40}$")]] = Field(
        min_length=1, max_length=100
    )
    due_at: Moment
    priority: str = Field("normal", pattern="^(low|normal|high|urgent)$")
