"""The KPI domain's logic: definitions and entered values, the engine, reads, the DTI."""

from taydo.kpi.service.definitions import (
    delete_kpi,
    enter_value,
    get_kpi,
    import_entries,
    kpi_dict,
    list_kpis,
    list_sectors,
    load_kpis,
    parse_kpis_yaml,
    save_kpi,
    save_sector,
)
from taydo.kpi.service.dti import (
    baseline,
    dti_provinces,
    dti_view,
    enter_result,
    list_frameworks,
    load_dti,
    save_framework,
    save_merger,
    totals,
)
from taydo.kpi.service.engine import ComputeRun, compute, compute_period, judge
from taydo.kpi.service.reads import dashboard, kpi_detail, kpi_values

__all__ = [
    "ComputeRun",
    "baseline",
    "compute",
    "compute_period",
    "dashboard",
    "delete_kpi",
    "dti_provinces",
    "dti_view",
    "enter_result",
    "enter_value",
    "get_kpi",
    "import_entries",
    "judge",
    "kpi_detail",
    "kpi_dict",
    "kpi_values",
    "list_frameworks",
    "list_kpis",
    "list_sectors",
    "load_dti",
    "load_kpis",
    "parse_kpis_yaml",
    "save_framework",
    "save_kpi",
    "save_merger",
    "save_sector",
    "totals",
]
