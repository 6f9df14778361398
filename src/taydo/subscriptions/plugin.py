"""The NGSI-LD subscriptions domain as the IOC's plugin: its API under ``/ngsi-ld/v1``, its
table, and the matcher that runs beside ingest."""

from __future__ import annotations

from pathlib import Path

from taydo.core.plugins import Domain, hookimpl
from taydo.subscriptions import api, runtime

HERE = Path(__file__).parent


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="subscriptions",
            requires=("auth", "catalog", "observations", "ingest", "alerts"),
            routers=(api.router,),
            migrations=HERE / "migrations",
            start=runtime.start,
            stop=runtime.stop,
        )
    ]
