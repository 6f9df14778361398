"""The Digital Transformation Index: frameworks as data, results entered with evidence or
estimated from KPIs, totals, year-on-year trends, and a merged province's baseline (the
average of its parts).

A score is 0–1 per main index (the published DTI values). A framework's total for a year is
the published total when one is entered; otherwise it is computed from the main indices,
weighted by their maximum points, once every scored main index has a value (before that the
page says how many are entered).

An index may name the KPIs it is estimated from (``from_kpis``): ``compute_from_kpis`` scores
each KPI's newest city value of the year linearly between its ``zero`` and ``full`` values and
stores the weighted mean as a ``computed`` result, with every input. It is the IOC's own
estimate while the year runs, never the ministry's method: an entered (published) result of
the same index and year always wins and is never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select

from taydo.auth import journal
from taydo.core import clock
from taydo.core.access import Principal
from taydo.core.db import Database
from taydo.core.errors import Invalid, NotFound
from taydo.kpi.models import CITY, DtiFramework, DtiMerger, DtiResult, Kpi, KpiValue
from taydo.kpi.schemas import DtiFrameworkIn, DtiResultIn, MergerIn

__all__ = [
    "baseline",
    "compute_from_kpis",
    "dti_provinces",
    "dti_view",
    "enter_result",
    "list_frameworks",
    "load_dti",
    "save_framework",
    "save_merger",
    "totals",
]


def save_framework(
    database: Database, data: DtiFrameworkIn, *, origin: str = "api", actor: str = "system"
) -> dict[str, Any]:
    with database.session() as session:
        row = session.scalar(select(DtiFramework).where(DtiFramework.code == data.code))
        if row is None:
            row = DtiFramework(code=data.code)
            session.add(row)
        structure = data.model_dump(exclude={"code", "name", "name_en", "source"})
        changed = (row.name, row.name_en, row.source, row.structure) != (
            data.name,
            data.name_en,
            data.source,
            structure,
        )
        row.name, row.name_en, row.source, row.structure, row.origin = (
            data.name,
            data.name_en,
            data.source,
            structure,
            origin,
        )
        if changed:
            journal.record(
                session,
                actor=actor,
                action="dti.framework",
                object_type="dti",
                object_id=data.code,
                summary={"name": data.name, "indices": sum(len(g.indices) for g in data.groups)},
            )
        return {"code": data.code, "name": data.name}


def list_frameworks(database: Database) -> list[dict[str, Any]]:
    with database.session() as session:
        return [
            {
                "code": f.code,
                "name": f.name,
                "name_en": f.name_en,
                "source": f.source,
                **f.structure,
            }
            for f in session.scalars(select(DtiFramework).order_by(DtiFramework.code))
        ]


def _framework(session: Any, code: str) -> DtiFramework:
    row = session.scalar(select(DtiFramework).where(DtiFramework.code == code))
    if row is None:
        raise NotFound(f"không có bộ chỉ số / no DTI framework {code!r}")
    return row


def _indices(structure: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        dict(i, group=g["code"]) for g in structure.get("groups", []) for i in g.get("indices", [])
    ]


def enter_result(
    database: Database,
    framework: str,
    data: DtiResultIn,
    principal: Principal | None,
    *,
    actor: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    with database.session() as session:
        row_fw = _framework(session, framework)
        codes = {i["code"] for i in _indices(row_fw.structure)}
        if data.index and data.index not in codes:
            raise Invalid(
                f"bộ chỉ số {framework} không có chỉ số / no main index {data.index!r}",
                indices=sorted(codes),
            )
        row = session.scalar(
            select(DtiResult).where(
                DtiResult.framework == framework,
                DtiResult.province == data.province,
                DtiResult.year == data.year,
                DtiResult.index_code == data.index,
            )
        )
        before = (
            None
            if row is None
            else {"score": row.score, "rank": row.rank, "evidence": row.evidence}
        )
        if row is None:
            row = DtiResult(
                framework=framework, province=data.province, year=data.year, index_code=data.index
            )
            session.add(row)
        row.score, row.rank, row.rank_of, row.evidence = (
            data.score,
            data.rank,
            data.rank_of,
            data.evidence,
        )
        row.method, row.inputs = "entered", {}
        who = actor or journal.actor_of(principal)
        row.entered_by, row.entered_at = who, clock.now()
        out = data.model_dump()
        if before != {"score": data.score, "rank": data.rank, "evidence": data.evidence}:
            journal.record(
                session,
                actor=who,
                action="dti.enter",
                object_type="dti",
                object_id=framework,
                summary={"before": before, "after": out},
                address=address,
            )
        return out


def _year_values(session: Any, codes: set[str], year: int) -> dict[str, KpiValue]:
    """Each KPI's newest city value in a period of ``year`` (period keys begin with it)."""
    rows = session.execute(
        select(Kpi.code, KpiValue)
        .join(Kpi, Kpi.id == KpiValue.kpi_id)
        .where(
            Kpi.code.in_(codes),
            KpiValue.area_code == CITY,
            KpiValue.value.is_not(None),
            KpiValue.period_key.startswith(str(year)),
        )
        .order_by(KpiValue.period_start)
    ).all()
    return {code: value for code, value in rows}  # the newest period last, so it wins


def _link_score(value: float, full: float, zero: float) -> float:
    return min(1.0, max(0.0, (value - zero) / (full - zero)))


def compute_from_kpis(
    database: Database, framework: str, province: str, year: int, *, actor: str = "system"
) -> dict[str, Any]:
    """Estimate the indices of ``framework`` that name KPIs, for the IOC's own ``province``
    (KPI values are its city's) and ``year``. Returns what was computed and why the others
    were not."""
    computed: dict[str, float] = {}
    skipped: dict[str, str] = {}
    with database.session() as session:
        fw = _framework(session, framework)
        linked = [i for i in _indices(fw.structure) if i.get("from_kpis")]
        codes = {link["kpi"] for i in linked for link in i["from_kpis"]}
        values = _year_values(session, codes, year)
        found = _results(session, framework, [province])
        for index in linked:
            code = index["code"]
            own = found.get((province, year, code))
            if own is not None and own.method == "entered":
                skipped[code] = "đã có kết quả nhập / an entered result exists"
                continue
            missing = [link["kpi"] for link in index["from_kpis"] if link["kpi"] not in values]
            if missing:
                skipped[code] = (
                    f"chưa có giá trị năm {year} / no {year} value: {', '.join(missing)}"
                )
                continue
            inputs: dict[str, Any] = {}
            weighted = total_weight = 0.0
            for link in index["from_kpis"]:
                row = values[link["kpi"]]
                assert row.value is not None
                score = _link_score(row.value, link["full"], link.get("zero", 0.0))
                weight = float(link.get("weight", 1.0))
                weighted, total_weight = weighted + score * weight, total_weight + weight
                inputs[link["kpi"]] = {
                    "period": row.period_key,
                    "value": row.value,
                    "full": link["full"],
                    "zero": link.get("zero", 0.0),
                    "weight": weight,
                    "score": round(score, 6),
                }
            score = round(weighted / total_weight, 4)
            if own is None:
                own = DtiResult(framework=framework, province=province, year=year, index_code=code)
                session.add(own)
            changed = (own.score, own.inputs) != (score, inputs)
            own.score, own.rank, own.rank_of = score, None, None
            own.method, own.inputs = "computed", inputs
            own.evidence = "Ước tính từ KPI / estimated from KPIs: " + "; ".join(
                f"{k} {v['period']} = {v['value']:g}" for k, v in inputs.items()
            )
            own.entered_by, own.entered_at = actor, clock.now()
            computed[code] = score
            if changed:
                journal.record(
                    session,
                    actor=actor,
                    action="dti.compute",
                    object_type="dti",
                    object_id=framework,
                    summary={"province": province, "year": year, "index": code, "score": score},
                )
    return {
        "framework": framework,
        "province": province,
        "year": year,
        "computed": computed,
        "skipped": skipped,
    }


def save_merger(database: Database, data: MergerIn) -> dict[str, Any]:
    with database.session() as session:
        row = session.scalar(select(DtiMerger).where(DtiMerger.province == data.province))
        if row is None:
            row = DtiMerger(province=data.province)
            session.add(row)
        row.year, row.parts = data.year, list(data.parts)
        return data.model_dump()


def _results(
    session: Any, framework: str, provinces: list[str]
) -> dict[tuple[str, int, str], DtiResult]:
    rows = session.scalars(
        select(DtiResult).where(DtiResult.framework == framework, DtiResult.province.in_(provinces))
    )
    return {(r.province, r.year, r.index_code): r for r in rows}


def totals(structure: dict[str, Any], scores: dict[str, float | None]) -> dict[str, Any]:
    """The weighted total of the main index scores (0–1), and how many of the scored main
    indices have one; the total is None until all have."""
    scored = [i for i in _indices(structure) if i.get("points")]
    have = [i for i in scored if scores.get(i["code"]) is not None]
    points = sum(float(i["points"]) for i in scored)
    total = None
    if scored and len(have) == len(scored):
        total = sum(float(scores[i["code"]] or 0) * float(i["points"]) for i in scored) / points
    return {"computed": total, "entered": len(have), "of": len(scored), "max_points": points}


def _score(
    found: dict[tuple[str, int, str], DtiResult],
    structure: dict[str, Any],
    province: str,
    year: int,
    code: str,
) -> float | None:
    """A province's score on one index in a year; for the total (""), the published total or,
    without one, the total computed from its main indices."""
    row = found.get((province, year, code))
    if row is not None and row.score is not None:
        return row.score
    if code:
        return None
    scores = {c: r.score for (p, y, c), r in found.items() if p == province and y == year}
    computed: float | None = totals(structure, scores)["computed"]
    return computed


def baseline(database: Database, framework: str, province: str, year: int) -> dict[str, Any]:
    """A merged province's scores for a year before its merger: the average of its parts'
    (per main index and for the total), with which parts had a value."""
    with database.session() as session:
        merger = session.scalar(select(DtiMerger).where(DtiMerger.province == province))
        if merger is None:
            raise NotFound(
                f"{province} không phải tỉnh sáp nhập / no merger recorded for {province!r}"
            )
        fw = _framework(session, framework)
        found = _results(session, framework, list(merger.parts))
        out: dict[str, Any] = {
            "province": province,
            "year": year,
            "parts": merger.parts,
            "indices": {},
        }
        for code in ["", *(i["code"] for i in _indices(fw.structure))]:
            found_values = {p: _score(found, fw.structure, p, year, code) for p in merger.parts}
            values = {p: v for p, v in found_values.items() if v is not None}
            present = [v for v in values.values() if v is not None]
            out["indices"][code] = {
                "average": sum(present) / len(present) if present else None,
                "from": values,
            }
        return out


def dti_view(database: Database, framework: str, province: str) -> dict[str, Any]:
    """The framework's structure with the province's scores per year, totals and the change
    from the previous year; a merged province's years before its merger come from the
    average of its parts (marked as such)."""
    with database.session() as session:
        fw = _framework(session, framework)
        merger = session.scalar(select(DtiMerger).where(DtiMerger.province == province))
        parts = list(merger.parts) if merger is not None else []
        found = _results(session, framework, [province, *parts])
        structure = fw.structure
        info = {
            "code": fw.code,
            "name": fw.name,
            "name_en": fw.name_en,
            "source": fw.source,
            **structure,
        }
    years = sorted({y for (_p, y, _c) in found})
    codes = ["", *(i["code"] for i in _indices(structure))]
    table: list[dict[str, Any]] = []
    previous: dict[str, float | None] = {}
    for year in years:
        scores: dict[str, float | None] = {}
        evidence: dict[str, str] = {}
        computed: dict[str, dict[str, Any]] = {}
        averaged = False
        present_parts: set[str] = set()
        for code in codes:
            own = found.get((province, year, code))
            if own is not None:
                scores[code], evidence[code] = own.score, own.evidence
                if own.method == "computed":
                    computed[code] = own.inputs
            elif merger is not None and year < merger.year:
                pairs = [(p, _score(found, structure, p, year, code)) for p in parts]
                present = [v for _p, v in pairs if v is not None]
                present_parts.update(p for p, v in pairs if v is not None)
                if present:
                    scores[code] = sum(present) / len(present)
                    averaged = True
        total = totals(structure, scores)
        own_total = found.get((province, year, ""))
        table.append(
            {
                "year": year,
                "scores": scores,
                "evidence": evidence,
                "computed": computed,  # the estimated indices, with what each came from
                "total": scores.get("") if scores.get("") is not None else total["computed"],
                "computed_total": total,
                "rank": own_total.rank if own_total is not None else None,
                "rank_of": own_total.rank_of if own_total is not None else None,
                "averaged_from_parts": averaged,
                "parts_present": sorted(present_parts),
                "change": {c: _change(scores.get(c), previous.get(c)) for c in codes},
            }
        )
        previous = scores
    return {"framework": info, "province": province, "parts": parts, "years": table}


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def dti_provinces(database: Database, framework: str) -> list[str]:
    """The provinces with results in a framework, and the merged ones and their parts."""
    with database.session() as session:
        found = set(
            session.scalars(select(DtiResult.province).where(DtiResult.framework == framework))
        )
        for merger in session.scalars(select(DtiMerger)):
            found.add(merger.province)
            found.update(merger.parts)
    return sorted(found)


def load_dti(database: Database, pack: Any) -> int:
    """Load ``dti.yaml`` of a pack: frameworks, published results, mergers; idempotent."""
    path = Path(pack.data_dir) / "dti.yaml"
    if not path.exists():
        return 0
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    actor = f"pack:{pack.name}"
    try:
        frameworks = [DtiFrameworkIn.model_validate(f) for f in doc.get("frameworks") or []]
        mergers = [MergerIn.model_validate(m, strict=False) for m in doc.get("mergers") or []]
        results = [
            (r.pop("framework"), DtiResultIn.model_validate(r, strict=False))
            for r in doc.get("results") or []
        ]
    except (ValidationError, AttributeError, KeyError, TypeError) as error:
        raise Invalid(f"dti.yaml không hợp lệ / invalid: {error}") from None
    for framework in frameworks:
        save_framework(database, framework, origin=actor, actor=actor)
    for merger in mergers:
        save_merger(database, merger)
    for code, result in results:
        enter_result(database, code, result, None, actor=actor)
    return len(frameworks)
