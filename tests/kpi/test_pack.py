"""The Cần Thơ pack's KPIs and DTI frameworks: a real starting set, each target sourced or
marked proposed, and every definition valid."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from taydo.core.errors import Invalid
from taydo.kpi.schemas import DtiFrameworkIn
from taydo.kpi.service import parse_kpis_yaml
from taydo.packs.cantho.plugin import DATA_DIR

PRIORITY = {
    "health",
    "education",
    "finance-banking",
    "agriculture",
    "transport-logistics",
    "energy",
    "natural-resources-environment",
    "industry",
    "tourism",
}


def test_the_pack_ships_at_least_40_kpis_over_pillars_and_sectors() -> None:
    sectors, kpis = parse_kpis_yaml((DATA_DIR / "kpis.yaml").read_text(encoding="utf-8"))
    assert len(kpis) >= 40
    pillars = Counter(k.pillar for k in kpis)
    assert all(pillars[p] >= 5 for p in ("chinh-quyen-so", "kinh-te-so", "xa-hoi-so"))
    assert {s.code for s in sectors} >= PRIORITY
    assert {k.sector for k in kpis} >= PRIORITY
    assert len({k.code for k in kpis}) == len(kpis)
    for kpi in kpis:
        if kpi.target is not None:  # a target names its published source, or says proposed
            assert (
                kpi.target_source.startswith("target: proposed")
                or "QĐ" in kpi.target_source
                or "QCVN" in kpi.target_source
            ), kpi.code
    codes = {k.code for k in kpis}
    for kpi in kpis:
        if kpi.source["kind"] == "ratio":
            assert {kpi.source["numerator"], kpi.source["denominator"]} <= codes
    assert Counter(k.source["kind"] for k in kpis)["observations"] >= 8  # the demo fills them


def test_the_dti_frameworks() -> None:
    doc = yaml.safe_load((DATA_DIR / "dti.yaml").read_text(encoding="utf-8"))
    frameworks = {f["code"]: DtiFrameworkIn.model_validate(f) for f in doc["frameworks"]}
    dti922 = frameworks["dti-922"]
    assert dti922.total_points == 1000
    names = {i.name: i.points for g in dti922.groups for i in g.indices}
    assert names == {
        "Nhận thức số": 100,
        "Thể chế số": 100,
        "Hạ tầng số": 100,
        "Nhân lực số": 100,
        "An toàn thông tin mạng": 100,
        "Chính quyền số": 200,
        "Kinh tế số": 150,
        "Xã hội số": 150,
        "Đô thị thông minh": None,
    }
    assert frameworks["dti-405"].missing  # says what is not entered rather than inventing it
    published = [r for r in doc["results"] if r["province"] == "cantho-cu" and r["year"] == 2022]
    assert published[0]["score"] == 0.6924 and published[0]["rank"] == 5


def test_a_bad_pack_file_names_the_entry() -> None:
    bad = "kpis:\n  - {code: x, name: X, pillar: xa-hoi-so, source: {kind: ratio, numerator: a}}\n"
    with pytest.raises(Invalid) as refused:
        parse_kpis_yaml(bad)
    assert "kpis[0] x" in refused.value.message
    with pytest.raises(Invalid):
        parse_kpis_yaml("kpis: [")
    with pytest.raises(Invalid):
        parse_kpis_yaml("- just a list")
