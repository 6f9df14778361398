"""``taydo serve --workers N``: N processes on one port, sharing the work like a cluster of
separate machines; SIGTERM to the supervisor stops them all gracefully (issue 15)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.alerts.conftest import wait_for
from tests.cluster.conftest import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.cluster]


def test_two_workers_share_one_port_and_the_shards_then_stop_on_sigterm(
    cluster: Cluster,
) -> None:
    node = cluster.add("workers").start("--workers", "2")
    node.wait_ready(cluster.admin)
    log = node.log

    def shard_sets() -> dict[str, list[int]] | None:
        """The shards each worker holds now (the last set each one logged)."""
        held: dict[str, list[int]] = {}
        for member, shards in re.findall(
            r"lease: (\S+) holds shards \[([0-9, ]*)\]", log.read_text()
        ):
            held[member] = [int(s) for s in shards.split(",") if s.strip()]
        if len(held) == 2 and sorted(s for shards in held.values() for s in shards) == list(
            range(32)
        ):
            return held
        return None

    held = wait_for(shard_sets, timeout=30)
    assert all(len(shards) == 16 for shards in held.values())
    for _ in range(4):  # both workers answer on the one port
        assert httpx.get(f"{node.url}/api/v1/alerts", headers=cluster.admin).status_code == 200
    assert node.terminate(timeout=15) == 0
