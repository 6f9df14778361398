"""The streaming engine on an in-memory catalog view (the engine never touches a database)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taydo.catalog.series import SeriesInfo
from taydo.core.errors import Invalid
from taydo.rules.engine import Engine
from taydo.rules.service import parse_rule

MIN = 60_000


def info(series_id: int, entity: str, metric: str, type_: str, area: str = "31117") -> SeriesInfo:
    return SeriesInfo(
        series_id=series_id,
        entity_pk=series_id,
        entity_id=f"urn:ngsi-ld:{type_}:{entity}",
        entity_type=type_,
        metric=metric,
        unit="",
        agency_code="KTTV",
        area_code=area,
        dataset_id=1,
        min_valid=None,
        max_valid=None,
        tags=(),
    )


class View:
    def __init__(self, infos: list[SeriesInfo], attributes: dict[int, dict[str, Any]]) -> None:
        self.infos = {i.series_id: i for i in infos}
        self.attrs = attributes

    def series(self, series_id: int) -> SeriesInfo | None:
        return self.infos.get(series_id)

    def attributes(self, entity_pk: int) -> dict[str, Any]:
        return self.attrs.get(entity_pk, {})

    def dataset(self, dataset_id: int | None) -> tuple[str, int] | None:
        return ("water-level", 60) if dataset_id == 1 else None

    def all_series(self) -> Iterable[SeriesInfo]:
        return self.infos.values()


ALARM = {
    "code": "wl",
    "kind": "threshold",
    "name": "Mực nước",
    "metric": "height",
    "target": {"types": ["WaterObserved"]},
    "hysteresis": 0.05,
    "levels": [
        {"code": "bd1", "label": "Báo động 1", "attribute": "alarm_levels.1", "severity": "watch"},
        {"code": "bd2", "label": "Báo động 2", "attribute": "alarm_levels.2"},
        {"code": "bd3", "label": "Báo động 3", "attribute": "alarm_levels.3", "severity": "danger"},
    ],
}


def water_engine(*rules: dict[str, Any]) -> Engine:
    view = View(
        [
            info(1, "NinhKieu", "height", "WaterObserved"),
            info(2, "NK", "pm25", "AirQualityObserved"),
        ],
        {1: {"alarm_levels": {"1": 1.7, "2": 1.9, "3": 2.1}}},
    )
    return Engine(view, [parse_rule(r) for r in (rules or (ALARM,))])


def actions(transitions: list[Any]) -> list[tuple[str, str | None]]:
    return [(t.action, t.level) for t in transitions]


def test_levels_come_from_each_station_and_rise_and_fall_with_hysteresis() -> None:
    engine = water_engine()
    assert engine.observe([(1, 1 * MIN, 1.5)], 0) == []
    assert actions(engine.observe([(1, 2 * MIN, 1.95)], 0)) == [("fire", "bd2")]
    assert actions(engine.observe([(1, 3 * MIN, 2.2)], 0)) == [("change", "bd3")]
    assert engine.observe([(1, 4 * MIN, 2.07)], 0) == []  # within 5 cm of Báo động 3
    assert actions(engine.observe([(1, 5 * MIN, 2.0)], 0)) == [("change", "bd2")]
    assert actions(engine.observe([(1, 6 * MIN, 1.6)], 0)) == [("clear", None)]


def test_rules_only_touch_series_they_select() -> None:
    engine = water_engine()
    assert engine.observe([(2, MIN, 99.0)], 0) == []
    assert engine.rules_for(engine.catalog.series(2)) == []  # type: ignore[arg-type]


def test_late_points_do_not_move_state() -> None:
    engine = water_engine()
    engine.observe([(1, 10 * MIN, 2.2)], 0)
    assert engine.observe([(1, 5 * MIN, 1.0)], 0) == []  # older than what we have seen
    assert actions(engine.observe([(1, 11 * MIN, 1.0)], 0)) == [("clear", None)]


def test_for_duration_keeps_a_level_pending() -> None:
    engine = water_engine(dict(ALARM, **{"for": "10m"}))
    assert engine.observe([(1, 0, 2.0)], 0) == []
    assert engine.observe([(1, 5 * MIN, 2.0)], 0) == []
    assert actions(engine.observe([(1, 10 * MIN, 2.0)], 0)) == [("fire", "bd2")]
    assert engine.observe([(1, 11 * MIN, 1.0)], 0)[0].action == "clear"
    assert engine.observe([(1, 12 * MIN, 2.0)], 0) == []  # pending again from scratch


def test_a_restarted_engine_resumes_the_wait_from_recent_points() -> None:
    asked: list[tuple[list[int], int]] = []

    def recent(series_ids: list[int], since: int) -> dict[int, list[tuple[int, float]]]:
        asked.append((series_ids, since))
        # held, broken by a low value, then held again from minute 4
        return {1: [(1 * MIN, 2.0), (2 * MIN, 1.0), (4 * MIN, 2.0), (8 * MIN, 2.0)]}

    engine = water_engine(dict(ALARM, **{"for": "10m"}))
    assert engine.resume_pending(recent, 9 * MIN) == 4
    assert asked == [([1], -1 * MIN)]  # only series with a ``for`` rule, over that long
    assert engine.observe([(1, 2 * MIN, 2.0)], 0) == []  # replayed already: not judged again
    assert engine.catch_up(lambda ids: [(1, 8 * MIN, 2.0)], 9 * MIN) == []  # held 4 minutes
    assert engine.observe([(1, 8 * MIN, 2.0)], 0) == []  # judged by the catch-up
    assert engine.observe([(1, 13 * MIN, 2.0)], 0) == []  # 9 minutes since minute 4
    assert actions(engine.observe([(1, 14 * MIN, 2.0)], 0)) == [("fire", "bd2")]


def test_a_condition_that_held_long_enough_before_a_restart_fires_at_start() -> None:
    engine = water_engine(dict(ALARM, **{"for": "10m"}))
    points = [(m * MIN, 2.0) for m in range(12)]  # held 11 minutes, never judged
    engine.resume_pending(lambda ids, since: {1: points}, 12 * MIN)
    fired = engine.catch_up(lambda ids: [(1, 11 * MIN, 2.0)], 12 * MIN)
    assert actions(fired) == [("fire", "bd2")] and fired[0].ts == 11 * MIN


def test_resuming_without_for_or_rate_rules_reads_nothing() -> None:
    engine = water_engine(ALARM)
    assert engine.resume_pending(lambda ids, since: pytest.fail("read"), 0) == 0


def test_the_catch_up_judges_the_newest_stored_values() -> None:
    """Values committed but never judged (a crash between the commit and the rules): the
    alerts follow them at start, without waiting for the next reading."""
    engine = water_engine()
    asked: list[list[int]] = []

    def latest(series_ids: list[int]) -> list[tuple[int, int, float]]:
        asked.append(series_ids)
        return [(1, 5 * MIN, 2.2)]

    assert actions(engine.catch_up(latest, 6 * MIN)) == [("fire", "bd3")]
    assert asked == [[1]]  # only series some rule watches
    assert engine.observe([(1, 5 * MIN, 2.2)], 0) == []  # the same value again: judged once
    # An episode left open whose station has since dropped below every level ends at start.
    restarted = water_engine()
    restarted.restore(
        [{"rule_code": "wl", "target": "x", "level": "bd2", "series_id": 1, "area_code": None}]
    )
    assert actions(restarted.catch_up(lambda ids: [(1, 7 * MIN, 1.2)], 8 * MIN)) == [
        ("clear", None)
    ]
    # Neither a series with no stored value nor an engine without rules is a reason to read.
    assert water_engine().catch_up(lambda ids: [], 0) == []
    silent = water_engine({"code": "silent", "kind": "absence", "name": "Mất tín hiệu"})
    assert silent.catch_up(lambda ids: pytest.fail("read"), 0) == []


def test_an_old_stored_value_never_ends_a_silent_sensor_alert() -> None:
    absence = {"code": "silent", "kind": "absence", "name": "Mất tín hiệu", "factor": 3}
    engine = water_engine(ALARM, absence)
    engine.restore([{"rule_code": "silent", "target": "urn:ngsi-ld:WaterObserved:NinhKieu"}])
    assert engine.catch_up(lambda ids: [(1, 0, 1.0)], 10 * MIN) == []  # its last word, long ago
    assert actions(engine.observe([(1, 11 * MIN, 1.0)], 11 * MIN)) == [("clear", None)]


def test_a_rise_under_way_survives_a_restart() -> None:
    """The rate window is rebuilt from stored points: an open rise alert stays open while the
    rise still holds, and a rise that completes across the restart fires."""
    engine = water_engine(RATE)
    engine.restore([{"rule_code": "rise", "target": "x", "series_id": 1}])
    engine.resume_pending(lambda ids, since: {1: [(0, 1.0), (30 * MIN, 1.2)]}, 31 * MIN)
    assert engine.catch_up(lambda ids: [(1, 30 * MIN, 1.2)], 31 * MIN) == []  # still rising
    assert engine.observe([(1, 40 * MIN, 1.25)], 0) == []
    rising = water_engine(RATE)
    rising.resume_pending(lambda ids, since: {1: [(0, 1.0), (20 * MIN, 1.04)]}, 50 * MIN)
    assert rising.catch_up(lambda ids: [(1, 20 * MIN, 1.04)], 50 * MIN) == []
    assert actions(rising.observe([(1, 50 * MIN, 1.11)], 50 * MIN)) == [("fire", "rate")]


RATE = {
    "code": "rise",
    "kind": "rate",
    "name": "Lên nhanh",
    "metric": "height",
    "window": "1h",
    "change": 0.1,
}


def test_rate_fires_on_a_fast_rise_within_the_window() -> None:
    engine = water_engine(RATE)
    assert engine.observe([(1, 0, 1.00), (1, 30 * MIN, 1.05)], 0) == []
    assert actions(engine.observe([(1, 50 * MIN, 1.12)], 0)) == [("fire", "rate")]
    # two hours later the old low point has left the window
    assert actions(engine.observe([(1, 170 * MIN, 1.13)], 0)) == [("clear", None)]


def test_composite_raises_the_risk_level_when_both_members_hold_in_one_area() -> None:
    composite = {
        "code": "flood-risk",
        "kind": "composite",
        "name": "Rủi ro ngập",
        "rules": ["wl", "rise"],
        "window": "3h",
        "risk_level": 3,
    }
    engine = water_engine(ALARM, RATE, composite)
    out = engine.observe([(1, 0, 1.5), (1, 30 * MIN, 1.8)], 1000)
    assert ("fire", "risk3") in actions(out)
    fired = next(t for t in out if t.rule == "flood-risk")
    assert fired.target == "area:31117" and fired.risk_level == 3


def test_absence_fires_after_factor_times_interval_and_clears_on_data() -> None:
    absence = {"code": "silent", "kind": "absence", "name": "Mất tín hiệu", "factor": 3}
    engine = water_engine(absence)
    engine.started_ms = 0
    engine.observe([(1, 0, 1.0)], 0)
    assert [t for t in engine.check(150_000) if t.target.endswith("NinhKieu")] == []
    fired = [t for t in engine.check(181_000) if t.target.endswith("NinhKieu")]
    assert actions(fired) == [("fire", "absent")]
    assert engine.check(200_000) == []  # fires once per episode
    assert actions(engine.observe([(1, 5, 1.0)], 201_000)) == [("clear", None)]


def test_dataset_absence_needs_every_series_silent() -> None:
    absence = {"code": "ds", "kind": "absence", "name": "Ngừng", "scope": "dataset", "factor": 2}
    engine = water_engine(absence)
    engine.started_ms = 0
    engine.observe([(2, 0, 1.0)], 100_000)
    assert engine.check(130_000) == []  # series 2 spoke at 100 s: the dataset is alive
    assert [t.target for t in engine.check(230_000)] == ["dataset:water-level"]


def test_restore_continues_an_open_episode() -> None:
    engine = water_engine()
    engine.restore(
        [
            {
                "rule_code": "wl",
                "target": "urn:ngsi-ld:WaterObserved:NinhKieu",
                "level": "bd2",
                "series_id": 1,
                "area_code": "31117",
            }
        ]
    )
    assert engine.observe([(1, MIN, 1.95)], 0) == []  # still Báo động 2: same episode
    assert actions(engine.observe([(1, 2 * MIN, 1.0)], 0)) == [("clear", None)]


def test_bad_rules_are_refused_with_reasons() -> None:
    with pytest.raises(Invalid) as caught:
        parse_rule(
            {
                "code": "x",
                "kind": "threshold",
                "name": "X",
                "metric": "m",
                "levels": [
                    {"code": "a", "label": "A", "value": 5},
                    {"code": "b", "label": "B", "value": 1},
                ],
            }
        )
    assert "ordered" in str(caught.value.details)
    for bad in (
        {"code": "x", "kind": "eval", "name": "X"},
        {"code": "x", "kind": "rate", "name": "X", "metric": "m", "change": 0},
        {
            "code": "x",
            "kind": "threshold",
            "name": "X",
            "metric": "m",
            "levels": [{"code": "a", "label": "A", "value": 1, "severity": "apocalypse"}],
        },
        {"code": "bad code!", "kind": "absence", "name": "X"},
        {"code": "x", "kind": "absence", "name": "X", "interval": "soon"},
    ):
        with pytest.raises(Invalid):
            parse_rule(bad)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "code",
                "kind",
                "name",
                "metric",
                "levels",
                "for",
                "window",
                "change",
                "rules",
                "risk_level",
                "target",
            ]
        ),
        st.one_of(
            st.text(max_size=8), st.integers(), st.none(), st.lists(st.text(max_size=4), max_size=3)
        ),
    )
)
def test_rule_parser_never_crashes(data: dict[str, Any]) -> None:
    with contextlib.suppress(Invalid):
        parse_rule(data)


class AlwaysEvaluate(Engine):
    """Reference: no quiet-band shortcut, every rule sees every point."""

    def _plan(self, info):  # type: ignore[no-untyped-def]
        plan = super()._plan(info)
        plan.quiet_lo, plan.quiet_hi = float("inf"), float("-inf")
        return plan


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.floats(0, 3, allow_nan=False)), min_size=1, max_size=40
    )
)
def test_the_quiet_band_shortcut_never_changes_outcomes(steps: list[tuple[int, float]]) -> None:
    below = {
        "code": "low",
        "kind": "threshold",
        "name": "Thấp",
        "metric": "height",
        "direction": "below",
        "for": "2m",
        "levels": [
            {"code": "l1", "label": "L1", "value": 0.5},
            {"code": "l2", "label": "L2", "value": 0.2},
        ],
    }
    rules = [parse_rule(r) for r in (ALARM, below)]
    view = water_engine().catalog
    fast, slow = Engine(view, rules), AlwaysEvaluate(view, rules)
    ts = 0
    for gap, value in steps:
        ts += gap * 30_000  # gaps of 0 replay the same instant (ignored as late)
        assert fast.observe([(1, ts, value)], 0) == slow.observe([(1, ts, value)], 0)


# -- a cluster's hand-over: every stored point after the judged mark, in order ---------------


def test_a_handover_judges_every_point_after_the_mark_in_order_and_none_before() -> None:
    """The previous judge raised Báo động 2 at minute 3 (the mark) and judged minute 4
    without a change; minutes 5-7 were stored during the hand-over, judged by nobody."""
    stored = [(1 * MIN, 1.5), (2 * MIN, 1.8), (3 * MIN, 2.0), (4 * MIN, 1.95)]
    stored += [(5 * MIN, 2.2), (6 * MIN, 2.0), (7 * MIN, 1.8)]
    asked: list[tuple[list[int], int]] = []

    def recent(series_ids: list[int], since: int) -> dict[int, list[tuple[int, float]]]:
        asked.append((series_ids, since))
        return {1: [p for p in stored if p[0] >= since]}

    engine = water_engine()
    engine.restore(
        [{"rule_code": "wl", "target": "x", "level": "bd2", "series_id": 1, "area_code": None}]
    )
    out = engine.replay(
        recent, lambda ids: {1: 3 * MIN}, lambda ids: pytest.fail("read"), 8 * MIN, 60 * MIN
    )
    # BĐ3 and both steps down, each once; minute 2 (1.8) judged again would ease to BĐ1
    assert actions(out) == [("change", "bd3"), ("change", "bd2"), ("change", "bd1")]
    assert [t.ts for t in out] == [5 * MIN, 6 * MIN, 7 * MIN]
    assert asked == [([1], 3 * MIN)]  # from the mark: nothing before it is needed
    # The bus brings the same batches a moment later: judged already.
    assert engine.observe([(1, 6 * MIN, 2.0), (1, 7 * MIN, 1.8)], 8 * MIN) == []


def test_a_handover_without_a_mark_judges_only_the_recent_points() -> None:
    """No episode ever changed (no mark): the points of the last ``horizon`` are judged from
    the clear state; an older one nobody judged is late data and stays unjudged."""
    engine = water_engine()
    stored = {1: [(80 * MIN, 2.2), (95 * MIN, 1.95), (97 * MIN, 1.5)]}
    out = engine.replay(
        lambda ids, since: stored, lambda ids: {}, lambda ids: [], 100 * MIN, 10 * MIN
    )
    assert actions(out) == [("fire", "bd2"), ("clear", None)]
    # A series with no point in that range: its newest stored value is judged, as at a start.
    quiet = water_engine()
    out = quiet.replay(
        lambda ids, since: {}, lambda ids: {}, lambda ids: [(1, 5 * MIN, 2.2)], 100 * MIN, MIN
    )
    assert actions(out) == [("fire", "bd3")]
    # The newest point at or before the mark is judged again (rules may have changed since):
    # from the restored state it changes nothing.
    again = water_engine()
    again.restore(
        [{"rule_code": "wl", "target": "x", "level": "bd3", "series_id": 1, "area_code": None}]
    )
    points = {1: [(1 * MIN, 2.0), (2 * MIN, 2.2)]}
    out = again.replay(
        lambda ids, since: points, lambda ids: {1: 2 * MIN}, lambda ids: [], 3 * MIN, 60 * MIN
    )
    assert out == []


def test_a_handover_resumes_a_for_wait_before_judging() -> None:
    """A ``for`` wait under way when the shard moved: the points before the judged range
    rebuild it (as far back as the rule remembers), so it fires when it would have."""
    engine = water_engine(dict(ALARM, **{"for": "10m"}))
    stored = {1: [(m * MIN, 2.0) for m in range(8, 20)]}  # BĐ2 held since minute 8
    asked: list[int] = []

    def recent(series_ids: list[int], since: int) -> dict[int, list[tuple[int, float]]]:
        asked.append(since)
        return stored

    out = engine.replay(recent, lambda ids: {}, lambda ids: [], 20 * MIN, 5 * MIN)
    assert asked == [5 * MIN]  # the horizon (minute 15) less the 10 minutes of ``for``
    assert actions(out) == [("fire", "bd2")] and out[0].ts == 18 * MIN


def test_a_handover_rebuilds_a_rate_window() -> None:
    engine = water_engine(RATE)
    stored = {1: [(0, 1.0), (30 * MIN, 1.05), (50 * MIN, 1.12)]}
    out = engine.replay(
        lambda ids, since: stored, lambda ids: {1: 30 * MIN}, lambda ids: [], 51 * MIN, 5 * MIN
    )
    # judged: minute 50 only; minutes 0 and 30 (within the hour the rule remembers) rebuilt
    # the window it rises from
    assert actions(out) == [("fire", "rate")] and out[0].ts == 50 * MIN


def test_a_handover_of_no_watched_series_reads_nothing() -> None:
    engine = water_engine({"code": "silent", "kind": "absence", "name": "Mất tín hiệu"})
    fail = lambda *args: pytest.fail("read")  # noqa: E731
    assert engine.replay(fail, fail, fail, 0, MIN) == []
