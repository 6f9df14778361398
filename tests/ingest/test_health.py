"""Data health per dataset: freshness, completeness over 24 h, validity, dataset.stale."""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from taydo.catalog.models import Agency, Dataset, Entity
from taydo.core.bus import MemoryBus, settle
from taydo.ingest import quarantine
from taydo.ingest.health import HealthWatcher, dataset_health, freshness
from taydo.observations.service import Point, write_points
from tests.ingest.conftest import make_series

NOW = 1_767_225_600_000  # a fixed "now" for the checks
MIN = 60_000


def _dataset(database, code: str = "muc-nuoc", interval_s: int = 60) -> int:  # type: ignore[no-untyped-def]
    ids = make_series(database, f"H-{code}")
    with database.session() as session:
        agency = session.query(Agency).filter_by(code="SNNMT").one()
        dataset = Dataset(
            code=code,
            name="Mực nước sông Hậu",
            agency_id=agency.id,
            pillar="government",
            sector="environment",
            description="",
            update_interval_s=interval_s,
            licence="",
        )
        session.add(dataset)
        session.flush()
        session.execute(
            update(Entity)
            .where(Entity.entity_id == f"urn:ngsi-ld:WaterObserved:H-{code}")
            .values(dataset_id=dataset.id)
        )
    return ids["height"]


def test_freshness_bands() -> None:
    assert freshness(60_000, 60) == "fresh"
    assert freshness(121_000, 60) == "late"
    assert freshness(301_000, 60) == "stale"
    assert freshness(None, 60) == "stale"


def test_health_of_a_dataset(database) -> None:  # type: ignore[no-untyped-def]
    series = _dataset(database)
    empty = dataset_health(database, "muc-nuoc", now_ms=NOW)
    assert empty["freshness"]["status"] == "stale" and empty["freshness"]["last_ts"] is None
    assert empty["completeness"]["expected_24h"] == 1440
    # 720 values, one every two minutes over the last day: half complete, last one 1 min ago
    write_points(database, [Point(series, NOW - MIN - i * 2 * MIN, 1.0) for i in range(720)])
    quarantine.put(database, "mqtt", "bad", {"topic": "x"}, agency_code="SNNMT")
    report = dataset_health(database, "muc-nuoc", now_ms=NOW)
    assert report["freshness"] == {
        "status": "fresh",
        "last_ts": "2025-12-31T23:59:00+00:00",
        "age_s": 60,
    }
    assert report["completeness"]["received_24h"] == 720
    assert report["completeness"]["ratio"] == 0.5
    assert report["validity"]["rejected_24h"] == 1
    assert report["validity"]["rejected_share"] == round(1 / 721, 4)
    assert (
        dataset_health(database, "muc-nuoc", now_ms=NOW + 3 * MIN)["freshness"]["status"] == "late"
    )


def test_stale_event_on_the_bus(database) -> None:  # type: ignore[no-untyped-def]
    series = _dataset(database)
    write_points(database, [Point(series, NOW, 2.0)])

    async def run() -> list:  # type: ignore[type-arg]
        bus = MemoryBus()
        heard: list = []  # type: ignore[type-arg]

        async def on_stale(event) -> None:  # type: ignore[no-untyped-def]
            heard.append(event.data)

        subscription = bus.subscribe("dataset.stale", on_stale)
        await bus.start()
        watcher = HealthWatcher(database, bus, 60)
        assert await watcher.check(NOW + MIN) == []  # baseline: fresh
        assert await watcher.check(NOW + 10 * MIN) == ["muc-nuoc"]  # turned stale
        assert await watcher.check(NOW + 20 * MIN) == []  # still stale: said once
        assert await settle(subscription, 10)  # every event published has been handled
        await bus.close()
        return heard

    heard = asyncio.run(run())
    assert len(heard) == 1
    assert heard[0]["dataset"] == "muc-nuoc" and heard[0]["agency"] == "SNNMT"
    assert heard[0]["age_s"] == 600


def test_health_api(client, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    _dataset(database)
    viewer = headers_for("viewer")
    one = client.get("/api/v1/datasets/muc-nuoc/health", headers=viewer)
    assert one.status_code == 200 and one.json()["freshness"]["status"] == "stale"
    assert client.get("/api/v1/datasets/nope/health", headers=viewer).status_code == 404
    listing = client.get("/api/v1/health/datasets", headers=viewer).json()
    assert [item["dataset"] for item in listing["items"]] == ["muc-nuoc"]
    assert client.get("/api/v1/health/datasets").status_code == 401


def test_a_dataset_no_series_belongs_to_is_not_stale(database) -> None:  # type: ignore[no-untyped-def]
    from taydo.core.access import Principal
    from taydo.ingest.datahealth import stale_count

    _dataset(database)  # one series, never fed: stale
    with database.session() as session:
        agency = session.query(Agency).filter_by(code="SNNMT").one()
        session.add(
            Dataset(
                code="thoi-tiet",
                name="Khí tượng",
                agency_id=agency.id,
                pillar="society",
                sector="environment",
                description="",
                update_interval_s=3600,
                licence="",
            )
        )
    report = dataset_health(database, "thoi-tiet", now_ms=NOW)
    assert report["freshness"]["status"] == "no-source" and report["series"] == 0
    assert report["completeness"]["ratio"] is None
    everyone = Principal(user_id=None, username="t", role="admin", agencies=frozenset())
    assert stale_count(database, everyone) == 1  # the fed-but-silent one only
