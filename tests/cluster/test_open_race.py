"""Two processes opening the same episode at once (issue 15: the loser logged an ERROR with a
``UniqueViolation uq_alerts_open_key`` traceback and dropped its whole batch). The insert runs
in a savepoint: the loser continues the winner's episode and keeps the rest of its batch."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select, text

from taydo.alerts.models import Alert
from taydo.alerts.service import apply_transitions
from taydo.core import clock
from taydo.core.db import Database
from taydo.rules.engine import Transition
from taydo.rules.service import parse_rule
from tests.alerts.conftest import ALARM_RULE, SALT, SALT_RULE, WATER, make_catalog, wait_for

pytestmark = pytest.mark.postgres


def fire(rule: str, target: str, series_id: int, level: str, severity: str) -> Transition:
    return Transition(
        rule=rule,
        target=target,
        action="fire",
        level=level,
        severity=severity,
        value=2.0,
        ts=clock.now_ms(),
        series_id=series_id,
        entity_id=target,
        metric="height",
        area_code="31117",
        agency_code="KTTV",
    )


def test_the_second_opener_continues_the_first_ones_episode(postgres_schema_url: str) -> None:
    from tests.conftest import _truncate_postgres

    database = Database(postgres_schema_url)
    _truncate_postgres(database)
    try:
        ids = make_catalog(database)
        rules = {r["code"]: parse_rule(r) for r in (ALARM_RULE, SALT_RULE)}
        water = fire("water-level-alarm", WATER, ids[WATER], "bd2", "warning")
        salt = fire("salinity-rice", SALT, ids[SALT], "danger-4ppt", "danger")
        # The first process has inserted the episode and not committed yet.
        first = database.engine.connect()
        first_tx = first.begin()
        pid = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
        first.execute(
            text(
                "INSERT INTO alerts (rule_code, rule_kind, target, open_key, state, severity, "
                "level, title, title_en, started_at, updated_at, public, silenced, note, "
                "escalation_step, revision) VALUES ('water-level-alarm', 'threshold', :t, :k, "
                "'firing', 'watch', 'bd1', 'x', 'x', now(), now(), false, false, '', 0, 1)"
            ),
            {"t": WATER, "k": f"water-level-alarm|{WATER}"},
        )
        changed: list[dict[str, Any]] = []
        second = threading.Thread(
            target=lambda: changed.extend(apply_transitions(database, [water, salt], rules))
        )
        second.start()

        def blocked_on_the_first() -> bool:
            with database.engine.connect() as probe:
                return bool(
                    probe.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE :pid = ANY(pg_blocking_pids(pid))"
                        ),
                        {"pid": pid},
                    ).scalar_one()
                )

        wait_for(blocked_on_the_first)
        first_tx.commit()
        first.close()
        second.join(timeout=30)
        with database.session() as session:
            water_alerts = session.scalars(
                select(Alert).where(Alert.rule_code == "water-level-alarm")
            ).all()
            assert len(water_alerts) == 1  # one episode …
            assert water_alerts[0].level == "bd2"  # … which the second process continued
        assert sorted(a["rule"] for a in changed) == ["salinity-rice", "water-level-alarm"]
    finally:
        database.dispose()
