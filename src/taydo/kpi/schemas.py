"""API and pack shapes of KPIs and the DTI. Every definition is validated when saved: a source
is one of the declared kinds with its own parameter model (``sources.KINDS``); nothing is
evaluated."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from taydo.core.inputs import INPUT_CONFIG

__all__ = [
    "PILLARS",
    "DtiComponent",
    "DtiFrameworkIn",
    "DtiGroup",
    "DtiIndex",
    "DtiResultIn",
    "EntryIn",
    "KpiIn",
    "MergerIn",
    "SectorIn",
]

PILLARS: dict[str, tuple[str, str]] = {
    "chinh-quyen-so": ("Chính quyền số", "Digital government"),
    "kinh-te-so": ("Kinh tế số", "Digital economy"),
    "xa-hoi-so": ("Xã hội số", "Digital society"),
    "nen-tang": ("Nền tảng", "Foundations"),
}

_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
Code = Annotated[str, Field(min_length=1, max_length=80, pattern=_CODE.pattern)]
Finite = Annotated[float, Field(ge=-1e12, le=1e12)]
_STRICT = ConfigDict(**INPUT_CONFIG, extra="forbid")


class SectorIn(BaseModel):
    model_config = _STRICT

    code: Annotated[str, Field(min_length=1, max_length=60, pattern=_CODE.pattern)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    name_en: Annotated[str, Field(max_length=200)] = ""
    position: Annotated[int, Field(ge=0, le=10_000)] = 0


class KpiIn(BaseModel):
    """A KPI definition. ``source`` holds the kind's parameters (see docs/kpi.md)."""

    model_config = _STRICT

    code: Code
    name: Annotated[str, Field(min_length=1, max_length=300)]
    name_en: Annotated[str, Field(max_length=300)] = ""
    pillar: Literal["chinh-quyen-so", "kinh-te-so", "xa-hoi-so", "nen-tang"]
    sector: Annotated[str, Field(max_length=60)] | None = None
    unit: Annotated[str, Field(max_length=32)] = ""
    direction: Literal["higher", "lower"] = "higher"
    period: Literal["day", "week", "month", "quarter", "year"] = "month"
    target: Finite | None = None
    warn: Finite | None = None
    target_source: Annotated[str, Field(max_length=2000)] = ""
    # The target is a starting value the pack proposes, not yet confirmed by the city.
    target_proposed: bool = False
    agency: Annotated[str, Field(max_length=40)] | None = None
    source: dict[str, Any]
    description: Annotated[str, Field(max_length=4000)] = ""

    @field_validator("source")
    @classmethod
    def _kind_known(cls, source: dict[str, Any]) -> dict[str, Any]:
        from taydo.kpi.sources import KINDS

        kind = source.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"source.kind must be one of {sorted(KINDS)}, not {kind!r}")
        params = KINDS[kind].params.model_validate(
            {k: v for k, v in source.items() if k != "kind"}, strict=False
        )
        return {"kind": kind, **params.model_dump(exclude_none=True)}

    @model_validator(mode="after")
    def _thresholds(self) -> KpiIn:
        if self.warn is not None and self.target is None:
            raise ValueError("warn (the amber boundary) needs a target")
        if self.warn is not None and self.target is not None:
            wrong = (
                self.warn > self.target if self.direction == "higher" else self.warn < self.target
            )
            if wrong:
                side = "at or below" if self.direction == "higher" else "at or above"
                raise ValueError(f"warn must be {side} the target when {self.direction} is better")
        return self


class EntryIn(BaseModel):
    """A value an officer enters for a period (and ward), with its evidence."""

    model_config = _STRICT

    period: Annotated[str, Field(min_length=4, max_length=16)]
    area: Annotated[str, Field(max_length=16)] | None = None
    value: Finite
    evidence: Annotated[str, Field(min_length=3, max_length=2000)]


class DtiComponent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Annotated[str, Field(min_length=1, max_length=300)]
    name_en: Annotated[str, Field(max_length=300)] = ""
    points: Annotated[float, Field(ge=0, le=10_000)] | None = None


class DtiKpiLink(BaseModel):
    """One KPI an index is estimated from: its city value for the year scores 0 at ``zero``
    and 1 at ``full`` (linear between, clipped; ``zero`` above ``full`` for a lower-is-better
    KPI); an index's estimate is the weighted mean of its links' scores."""

    model_config = ConfigDict(extra="forbid")

    kpi: Code
    full: Finite
    zero: Finite = 0.0
    weight: Annotated[float, Field(gt=0, le=1000)] = 1.0

    @model_validator(mode="after")
    def _apart(self) -> DtiKpiLink:
        if self.full == self.zero:
            raise ValueError(f"{self.kpi}: full and zero must differ")
        return self


class DtiIndex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Annotated[str, Field(min_length=1, max_length=300)]
    name_en: Annotated[str, Field(max_length=300)] = ""
    points: Annotated[float, Field(ge=0, le=10_000)] | None = None  # None: unscored
    pillar: str | None = None  # the KPI pillar it reports on, when there is one
    # How many components (chỉ số thành phần) the decision sets, when their names are not
    # entered (the list below then stays empty).
    component_count: Annotated[int, Field(ge=0, le=500)] | None = None
    components: list[DtiComponent] = []
    from_kpis: list[DtiKpiLink] = []  # the IOC's own estimate, before the published result
    missing: Annotated[str, Field(max_length=2000)] = ""  # what the pack could not source


class DtiGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Annotated[str, Field(min_length=1, max_length=300)]
    name_en: Annotated[str, Field(max_length=300)] = ""
    indices: list[DtiIndex]


class DtiFrameworkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Annotated[str, Field(min_length=1, max_length=300)]
    name_en: Annotated[str, Field(max_length=300)] = ""
    source: Annotated[str, Field(max_length=4000)] = ""
    total_points: Annotated[float, Field(ge=0, le=100_000)] | None = None
    component_count: Annotated[int, Field(ge=0, le=5000)] | None = None
    groups: list[DtiGroup]
    missing: Annotated[str, Field(max_length=4000)] = ""

    @model_validator(mode="after")
    def _consistent(self) -> DtiFrameworkIn:
        codes = [i.code for g in self.groups for i in g.indices]
        if len(codes) != len(set(codes)):
            raise ValueError("main index codes must be unique within a framework")
        counts = [i.component_count for g in self.groups for i in g.indices]
        if (
            self.component_count is not None
            and codes
            and None not in counts
            and sum(c or 0 for c in counts) != self.component_count
        ):
            raise ValueError(
                f"the main indices have {sum(c or 0 for c in counts)} components, "
                f"not {self.component_count}"
            )
        for group in self.groups:
            for index in group.indices:
                if (
                    index.components
                    and index.component_count is not None
                    and len(index.components) != index.component_count
                ):
                    raise ValueError(
                        f"{index.code} lists {len(index.components)} components, "
                        f"not its {index.component_count}"
                    )
                parts = [c.points for c in index.components if c.points is not None]
                complete = parts and len(parts) == len(index.components)
                if index.points is not None and complete and abs(sum(parts) - index.points) > 1e-6:
                    raise ValueError(
                        f"the components of {index.code} add up to {sum(parts)}, "
                        f"not its {index.points} points"
                    )
        scored = [i.points for g in self.groups for i in g.indices if i.points is not None]
        if self.total_points is not None and abs(sum(scored) - self.total_points) > 1e-6:
            raise ValueError(
                f"the main indices add up to {sum(scored)} points, not {self.total_points}"
            )
        return self


class DtiResultIn(BaseModel):
    model_config = _STRICT

    province: Annotated[str, Field(min_length=1, max_length=40, pattern=_CODE.pattern)]
    year: Annotated[int, Field(ge=2000, le=2100)]
    index: Annotated[str, Field(max_length=60)] = ""  # "" is the total
    score: Annotated[float, Field(ge=0, le=1)] | None = None
    rank: Annotated[int, Field(ge=1, le=1000)] | None = None
    rank_of: Annotated[int, Field(ge=1, le=1000)] | None = None
    evidence: Annotated[str, Field(min_length=3, max_length=2000)]


class MergerIn(BaseModel):
    model_config = _STRICT

    province: Annotated[str, Field(min_length=1, max_length=40, pattern=_CODE.pattern)]
    year: Annotated[int, Field(ge=2000, le=2100)]
    parts: Annotated[list[str], Field(min_length=2, max_length=10)]
