"""The reports domain as the IOC's plugin: reports on demand and on schedule, scorecards."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.reports import api, cli, pages, runtime
from taydo.web.i18n import N_

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    root.add_typer(cli.report_app, name="report")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="reports",
            requires=("auth", "catalog", "observations", "ingest", "alerts"),
            routers=(api.router, pages.router),
            cli=_cli,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            navigation=(
                NavItem("reports", "/reports", N_("Báo cáo"), "reports:read", order=60),
                NavItem("scorecards", "/scorecards", N_("Bảng điểm"), "reports:read", order=61),
            ),
            start=runtime.start,
            stop=runtime.stop,
        )
    ]
