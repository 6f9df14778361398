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
        if kpi.target is not None:  # a target names its published source, or is proposed
            assert (
                kpi.target_proposed or "QĐ" in kpi.target_source or "QCVN" in kpi.target_source
            ), kpi.code
        # no English words left for the Vietnamese console: the flag says "proposed"
        assert "proposed" not in kpi.target_source, kpi.code
    codes = {k.code for k in kpis}
    for kpi in kpis:
        if kpi.source["kind"] == "ratio":
            assert {kpi.source["numerator"], kpi.source["denominator"]} <= codes
    assert Counter(k.source["kind"] for k in kpis)["observations"] >= 8  # the demo fills them


def test_proposed_targets_are_a_flag() -> None:
    _sectors, kpis = parse_kpis_yaml((DATA_DIR / "kpis.yaml").read_text(encoding="utf-8"))
    by_code = {k.code: k for k in kpis}
    proposed = {code for code, k in by_code.items() if k.target_proposed}
    assert len(proposed) == 31
    assert all(by_code[code].target is not None for code in proposed)
    assert "tthc-dung-han" in proposed and by_code["tthc-dung-han"].target_source == ""
    assert "bui-pm25" not in proposed  # QCVN 05:2013/BTNMT
    # a note of its own is kept in both languages ("vi / en", shown in the page's language)
    assert by_code["gio-man-tren-4"].target_proposed
    assert by_code["gio-man-tren-4"].target_source == (
        "4‰: độ mặn gây hại cho lúa / 4‰: the salinity that harms rice"
    )


def test_the_dti_frameworks() -> None:
    doc = yaml.safe_load((DATA_DIR / "dti.yaml").read_text(encoding="utf-8"))
    frameworks = {f["code"]: DtiFrameworkIn.model_validate(f) for f in doc["frameworks"]}
    dti922 = frameworks["dti-922"]
    assert dti922.total_points == 1000
    names = {i.name: (i.points, i.component_count) for g in dti922.groups for i in g.indices}
    assert names == {  # QĐ 922, Phụ lục 1, Bảng I.1
        "Nhận thức số": (100, 10),
        "Thể chế số": (100, 11),
        "Hạ tầng số": (100, 7),
        "Nhân lực số": (100, 13),
        "An toàn thông tin mạng": (100, 12),
        "Đô thị thông minh": (None, 3),
        "Hoạt động chính quyền số": (200, 22),
        "Hoạt động kinh tế số": (150, 12),
        "Hoạt động xã hội số": (150, 8),
    }
    assert dti922.component_count == 98
    dti405 = frameworks["dti-405"]
    assert dti405.component_count == 47
    assert [i.name for g in dti405.groups for i in g.indices] == [
        "Nhận thức số",
        "Thể chế số",
        "Hạ tầng số",
        "Nhân lực số",
        "An toàn thông tin mạng",
        "Hoạt động chính quyền số",
        "Hoạt động kinh tế số",
        "Hoạt động xã hội số",
    ]
    assert dti405.missing  # says what is not entered rather than inventing it

    # Cần Thơ 2022: the published total, and its eight main indices, whose points-weighted
    # mean is that total.
    published = {
        r.get("index", ""): r["score"]
        for r in doc["results"]
        if r["province"] == "cantho-cu" and r["year"] == 2022
    }
    assert published[""] == 0.6924
    points = {i.code: i.points for g in dti922.groups for i in g.indices if i.points}
    weighted = sum(published[code] * p for code, p in points.items()) / 1000
    assert weighted == pytest.approx(0.6924, abs=5e-5)

    # Every KPI an index is estimated from exists in the pack.
    _sectors, kpis = parse_kpis_yaml((DATA_DIR / "kpis.yaml").read_text(encoding="utf-8"))
    linked = {link.kpi for g in dti922.groups for i in g.indices for link in i.from_kpis}
    assert linked and linked <= {k.code for k in kpis}


def test_a_framework_checks_its_component_counts() -> None:
    index = {"code": "a", "name": "A", "points": 100, "component_count": 2}
    with pytest.raises(ValueError, match="3 components, not 4"):
        DtiFrameworkIn.model_validate(
            {
                "code": "x",
                "name": "X",
                "component_count": 4,
                "groups": [
                    {
                        "code": "g",
                        "name": "G",
                        "indices": [index, {**index, "code": "b", "component_count": 1}],
                    }
                ],
            }
        )
    with pytest.raises(ValueError, match="lists 1 components"):
        DtiFrameworkIn.model_validate(
            {
                "code": "x",
                "name": "X",
                "groups": [
                    {
                        "code": "g",
                        "name": "G",
                        "indices": [{**index, "components": [{"code": "c", "name": "C"}]}],
                    }
                ],
            }
        )
    with pytest.raises(ValueError, match="full and zero must differ"):
        DtiFrameworkIn.model_validate(
            {
                "code": "x",
                "name": "X",
                "groups": [
                    {
                        "code": "g",
                        "name": "G",
                        "indices": [{**index, "from_kpis": [{"kpi": "k", "full": 0}]}],
                    }
                ],
            }
        )


def test_a_bad_pack_file_names_the_entry() -> None:
    bad = "kpis:\n  - {code: x, name: X, pillar: xa-hoi-so, source: {kind: ratio, numerator: a}}\n"
    with pytest.raises(Invalid) as refused:
        parse_kpis_yaml(bad)
    assert "kpis[0] x" in refused.value.message
    with pytest.raises(Invalid):
        parse_kpis_yaml("kpis: [")
    with pytest.raises(Invalid):
        parse_kpis_yaml("- just a list")
