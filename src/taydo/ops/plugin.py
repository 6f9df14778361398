"""The operations domain as the IOC's plugin: health probes and Prometheus metrics."""

from __future__ import annotations

from taydo.core.plugins import Domain, hookimpl
from taydo.core.runtime import Runtime
from taydo.ops import api
from taydo.ops.metrics import HttpTimings, Metrics
from taydo.ops.readiness import Readiness


def _setup(runtime: Runtime) -> None:
    http = HttpTimings()
    runtime.request_observers.append(http.observe)
    runtime.provide(Metrics(runtime, http))
    runtime.provide(Readiness(runtime))


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="ops",
            requires=("auth", "alerts", "ingest", "observations"),
            routers=(api.router,),
            setup=_setup,
        )
    ]
