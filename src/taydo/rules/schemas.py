"""Rule definitions: pydantic models validated when a rule is saved (YAML or API).

A rule is a small declaration read by generic code; nothing in it is ever evaluated as code.
Four kinds share one envelope (code, names, target, severity) and differ in their condition.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from taydo.core.bounds import MAX_DURATION_S, Seconds
from taydo.core.inputs import INPUT_CONFIG
from taydo.rules.choices import SEVERITIES

__all__ = [
    "AbsenceRule",
    "CompositeRule",
    "Level",
    "RateRule",
    "RuleDef",
    "RuleList",
    "Target",
    "ThresholdRule",
    "parse_duration",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SEVERITY_CODES = {choice.code for choice in SEVERITIES}
_CODE = r"^[A-Za-z0-9_.:-]{1,80}$"


def parse_duration(value: Any) -> float:
    """``"90s"``, ``"5m"``, ``"1h"``, ``"1d"`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 5m / 1h")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int past float's range: as refused as any too-long one
            seconds = math.inf
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"cannot read duration {value!r} (use e.g. 90s, 5m, 1h, 1d)")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if not seconds <= MAX_DURATION_S:  # NaN fails this too
        raise ValueError(f"a duration is at most ten years ({MAX_DURATION_S} s)")
    return seconds


Duration = Seconds


class _Strict(BaseModel):
    model_config = ConfigDict(**INPUT_CONFIG, extra="forbid", populate_by_name=True)


class Target(_Strict):
    """Which series a rule watches. Empty lists match everything; lists are ORed inside,
    ANDed across (type AND area AND agency ...)."""

    entities: list[str] = []
    types: list[str] = []
    areas: list[str] = []
    agencies: list[str] = []
    tags: list[str] = []


def _severity(value: str) -> str:
    if value not in _SEVERITY_CODES:
        raise ValueError(f"unknown severity {value!r}; use one of {sorted(_SEVERITY_CODES)}")
    return value


class Level(_Strict):
    """One ordered level of a threshold: a fixed value, or one read from the entity's
    attributes (``attribute: alarm_levels.3`` reads ``attributes["alarm_levels"]["3"]``)."""

    code: str = Field(pattern=_CODE)
    label: str
    label_en: str = ""
    value: float | None = None
    attribute: str | None = None
    severity: str = "warning"

    _check_severity = field_validator("severity")(classmethod(lambda cls, v: _severity(v)))

    @model_validator(mode="after")
    def _one_source(self) -> Level:
        if (self.value is None) == (self.attribute is None):
            raise ValueError("a level needs exactly one of value or attribute")
        return self


class _RuleBase(_Strict):
    code: str = Field(pattern=_CODE)
    name: str = Field(min_length=1, max_length=200)
    name_en: str = ""
    description: str = ""
    enabled: bool = True
    public: bool = False  # published as a CAP warning
    cap_category: Literal["Geo", "Met", "Safety", "Env", "Health", "Infra", "Other"] = "Env"
    instruction: str = ""
    instruction_en: str = ""
    target: Target = Target()
    severity: str = "warning"

    _check_severity = field_validator("severity")(classmethod(lambda cls, v: _severity(v)))


class ThresholdRule(_RuleBase):
    kind: Literal["threshold"] = "threshold"
    metric: str = Field(min_length=1)
    direction: Literal["above", "below"] = "above"
    levels: list[Level] = Field(min_length=1)
    hysteresis: float = Field(0.0, ge=0)  # clears only beyond the level by this margin
    for_s: Duration = Field(0.0, alias="for")  # the condition must hold this long first

    _dur = field_validator("for_s", mode="before")(classmethod(lambda cls, v: parse_duration(v)))

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdRule:
        fixed = [level.value for level in self.levels if level.value is not None]
        if len(fixed) == len(self.levels):
            ordered = sorted(fixed) if self.direction == "above" else sorted(fixed, reverse=True)
            if fixed != ordered:
                raise ValueError("levels must be ordered from the mildest to the most severe")
        codes = [level.code for level in self.levels]
        if len(set(codes)) != len(codes):
            raise ValueError("level codes must be unique")
        return self


class RateRule(_RuleBase):
    kind: Literal["rate"] = "rate"
    metric: str = Field(min_length=1)
    window_s: Duration = Field(3600.0, alias="window", gt=0)
    # Fires when the value changed by at least ``change`` within the window (a negative
    # change watches a fall).
    change: float

    _dur = field_validator("window_s", mode="before")(classmethod(lambda cls, v: parse_duration(v)))

    @field_validator("change")
    @classmethod
    def _non_zero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("change must not be 0")
        return value


class AbsenceRule(_RuleBase):
    kind: Literal["absence"] = "absence"
    metric: str | None = None  # None: any metric of the entity counts as a sign of life
    scope: Literal["series", "dataset"] = "series"
    factor: float = Field(3.0, gt=0)  # silent for factor × the expected interval
    interval_s: Duration | None = Field(None, alias="interval")  # default: dataset's interval

    _dur = field_validator("interval_s", mode="before")(
        classmethod(lambda cls, v: None if v is None else parse_duration(v))
    )


class CompositeRule(_RuleBase):
    kind: Literal["composite"] = "composite"
    rules: list[str] = Field(min_length=1)  # codes of other rules
    mode: Literal["all", "any"] = "all"
    window_s: Duration = Field(3600.0, alias="window")
    risk_level: int = Field(ge=1, le=5)  # Decision 18/2021/QĐ-TTg level raised

    _dur = field_validator("window_s", mode="before")(classmethod(lambda cls, v: parse_duration(v)))


RuleDef = Annotated[
    ThresholdRule | RateRule | AbsenceRule | CompositeRule, Field(discriminator="kind")
]


class RuleList(BaseModel):
    rules: list[RuleDef]
