"""The ingest domain as the IOC's plugin: gateways (HTTP, MQTT, NGSI-LD, files), pull
connectors, the quarantine and data health, and the Data console screens."""

from __future__ import annotations

from pathlib import Path

import typer

from taydo.core.plugins import Domain, NavItem, hookimpl
from taydo.ingest import api, contexts_cli, health_api, pages, quarantine_api, runtime
from taydo.ingest import cli as observations_cli
from taydo.ingest.connectors import api as connectors_api
from taydo.ingest.connectors import cli as connectors_cli
from taydo.ingest.files import api as files_api
from taydo.ingest.files import cli as files_cli
from taydo.ingest.ngsild import api as ngsild_api
from taydo.ingest.ngsild import contexts_api as ngsild_contexts
from taydo.ingest.ngsild import fallback as ngsild_fallback
from taydo.ingest.ngsild import temporal_api as ngsild_temporal
from taydo.web.i18n import N_

HERE = Path(__file__).parent


def _cli(root: typer.Typer) -> None:
    if not any(c.name == "observations" for c in files_cli.import_app.registered_commands):
        files_cli.import_app.command("observations")(observations_cli.import_observations)
    root.add_typer(files_cli.import_app, name="import")
    root.add_typer(connectors_cli.connector_app, name="connector")
    root.add_typer(contexts_cli.app, name="contexts")


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="ingest",
            requires=("auth", "geo", "catalog", "observations"),
            routers=(
                api.router,
                quarantine_api.router,
                health_api.router,
                files_api.router,
                connectors_api.router,
                ngsild_temporal.router,  # before ngsild_api: the temporal routes
                ngsild_api.router,
                ngsild_contexts.router,
                pages.router,
                ngsild_fallback.router,  # last: answers what no NGSI-LD route above serves
            ),
            cli=_cli,
            migrations=HERE / "migrations",
            templates=HERE / "templates",
            navigation=(NavItem("data", "/data", N_("Dữ liệu"), "catalog:read", order=40),),
            start=runtime.start,
            open=runtime.open_gateways,
            stop=runtime.stop,
        )
    ]
