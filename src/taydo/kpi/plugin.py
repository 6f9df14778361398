"""The KPI domain as the IOC's plugin: KPIs, their engine, the DTI and the executive
dashboard."""

from __future__ import annotations

from pathlib import Path

from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.kpi import api, cli, pages, runtime
from taydo.web.i18n import N_

HERE = Path(__file__).parent


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="kpi",
            requires=("auth", "geo", "catalog", "observations"),
            routers=(api.router, pages.router),
            cli=cli.register,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            navigation=(
                NavItem("kpi", "/kpi", N_("Điều hành"), "kpi:read", order=15),
                NavItem("dti", "/dti", N_("Chỉ số DTI"), "kpi:read", order=16),
            ),
            start=runtime.start,
            stop=runtime.stop,
        )
    ]
