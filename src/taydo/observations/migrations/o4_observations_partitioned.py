"""observations: packed hours and rollups partitioned by time on PostgreSQL

Revision ID: o4_observations_partitioned
Revises: o3_observations_packed
Create Date: 2026-12-03

PostgreSQL only (SQLite keeps single tables): ``observations_packed`` and
``observations_hourly`` become range-partitioned by UTC month, ``observations_daily`` by UTC
year, like the raw table, so that retention drops whole partitions
(``taydo.observations.partitions``). Each table is renamed, re-created partitioned, filled
from the old one and the old one dropped, in the migration's one transaction: it holds an
exclusive lock on the three tables while it copies them (stop the IOC processes, or accept
that their rollup flushes and compactions wait; see docs/deployment.md). Partitions are
created for every month holding rows, and for the current and next month, so processes still
running the previous release (which create raw partitions only) keep writing until then.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op

from taydo.observations.partitions import DAILY, HOURLY, PACKED, Scheme

revision: str = "o4_observations_partitioned"
down_revision: str | Sequence[str] | None = "o3_observations_packed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLLUP = (
    "series_id BIGINT NOT NULL, bucket BIGINT NOT NULL, count INTEGER NOT NULL,"
    " sum FLOAT NOT NULL, min FLOAT NOT NULL, max FLOAT NOT NULL,"
    " last_ts BIGINT NOT NULL, last_value FLOAT NOT NULL"
)
COLUMNS = {
    PACKED: "series_id BIGINT NOT NULL, hour BIGINT NOT NULL, count INTEGER NOT NULL,"
    " ts BYTEA NOT NULL, vals BYTEA NOT NULL, qualities BYTEA",
    HOURLY: _ROLLUP,
    DAILY: _ROLLUP,
}
_MONTH_MS = 31 * 86_400_000


def _create(scheme: Scheme, partitioned: bool) -> None:
    key = f"CONSTRAINT pk_{scheme.table} PRIMARY KEY (series_id, {scheme.column})"
    tail = f" PARTITION BY RANGE ({scheme.column})" if partitioned else ""
    op.execute(f"CREATE TABLE {scheme.table} ({COLUMNS[scheme]}, {key}){tail}")


def _set_aside(scheme: Scheme) -> str:
    old = f"{scheme.table}_old"
    op.execute(f"ALTER TABLE {scheme.table} RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{scheme.table} TO pk_{old}")
    return old


def _partitions_for(scheme: Scheme, source: str) -> None:
    bind = op.get_bind()
    low, high = bind.exec_driver_sql(
        f"SELECT min({scheme.column}), max({scheme.column}) FROM {source}"  # noqa: S608 — our table names
    ).one()
    now = int(datetime.now(UTC).timestamp() * 1000)
    stamps = [now, now + _MONTH_MS]
    if low is not None:
        moment = int(low)
        while moment <= int(high):
            stamps.append(moment)
            moment = scheme.bounds(moment)[2]
        stamps.append(int(high))
    for name, start, end in sorted({scheme.bounds(ms) for ms in stamps}):
        op.execute(
            f'CREATE TABLE "{name}" PARTITION OF {scheme.table} FOR VALUES FROM ({start}) TO ({end})'
        )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for scheme in COLUMNS:
        old = _set_aside(scheme)
        _create(scheme, partitioned=True)
        _partitions_for(scheme, old)
        op.execute(f"INSERT INTO {scheme.table} SELECT * FROM {old}")  # noqa: S608 — our table names
        op.execute(f"DROP TABLE {old}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for scheme in COLUMNS:
        old = _set_aside(scheme)
        _create(scheme, partitioned=False)
        op.execute(f"INSERT INTO {scheme.table} SELECT * FROM {old}")  # noqa: S608 — our table names
        op.execute(f"DROP TABLE {old}")  # drops its partitions too
