"""The observations domain as the IOC's plugin: the time-series store, its writer and queries.

Its command, ``taydo db compact``, sits in the ``db`` group of the ``taydo`` command itself.
"""

from __future__ import annotations

from pathlib import Path

from taydo.core.plugins import Domain, hookimpl
from taydo.observations import api, retention_api, runtime

HERE = Path(__file__).parent


@hookimpl
def taydo_domains() -> list[Domain]:
    return [
        Domain(
            name="observations",
            requires=("catalog",),
            routers=(api.router, retention_api.router),
            migrations=HERE / "migrations",
            start=runtime.start,
            stop=runtime.stop,
        )
    ]
