"""The streaming rules engine: per-series state, rules indexed by (metric, entity type).

``observe(points)`` costs O(rules that select each point's series): the rules matching a
series are worked out once and cached, then each point touches only their small states. The
engine holds no database connection: a ``CatalogView`` answers what it needs about a series
from memory, and the caller persists the ``Transition`` values it returns. Points older than
the last one seen for a (rule, series) are ignored for state, so a late or replayed point
cannot move an alert backwards.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from taydo.catalog.series import SeriesInfo
from taydo.rules.schemas import AbsenceRule, CompositeRule, RateRule, RuleDef, ThresholdRule

__all__ = [
    "KINDS",
    "CatalogView",
    "Engine",
    "RuleKind",
    "SeriesKind",
    "Transition",
    "attribute_metrics",
]

Action = Literal["fire", "change", "clear"]


@dataclass(frozen=True, slots=True)
class Transition:
    rule: str
    target: str  # entity id, "dataset:<code>" or "area:<code>"
    action: Action
    level: str | None
    severity: str
    value: float | None
    ts: int  # epoch ms of the observation (or of the check) that caused it
    series_id: int | None = None
    entity_id: str | None = None
    metric: str | None = None
    area_code: str | None = None
    agency_code: str | None = None
    risk_level: int | None = None


# (series ids, since ms) -> each series' points (ts, value) from then on, in time order.
RecentPoints = Callable[[list[int], int], dict[int, list[tuple[int, float]]]]
LatestPoints = Callable[[list[int]], list[tuple[int, int, float]]]


class CatalogView(Protocol):
    """What the engine needs to know about series; every method answers from memory."""

    def series(self, series_id: int) -> SeriesInfo | None: ...
    def attributes(self, entity_pk: int) -> dict[str, Any]: ...
    def dataset(self, dataset_id: int | None) -> tuple[str, int] | None: ...
    def all_series(self) -> Iterable[SeriesInfo]: ...


def _matches(rule: RuleDef, info: SeriesInfo) -> bool:
    target = rule.target
    return (
        (not target.entities or info.entity_id in target.entities)
        and (not target.types or info.entity_type in target.types)
        and (not target.areas or info.area_code in target.areas)
        and (not target.agencies or info.agency_code in target.agencies)
        and (not target.tags or any(tag in info.tags for tag in target.tags))
    )


def attribute_metrics(rules: Iterable[RuleDef]) -> frozenset[str]:
    """Metrics whose threshold levels read entity attributes: the only series for which the
    engine asks ``CatalogView.attributes``."""
    return frozenset(
        rule.metric
        for rule in rules
        if isinstance(rule, ThresholdRule) and any(level.attribute for level in rule.levels)
    )


def attribute_roots(rules: Iterable[RuleDef]) -> frozenset[str]:
    """Top-level entity attributes that threshold levels read (``alarm_levels`` of
    ``alarm_levels.1``): a change of any other attribute leaves every level as it was."""
    return frozenset(
        level.attribute.split(".", 1)[0]
        for rule in rules
        if isinstance(rule, ThresholdRule)
        for level in rule.levels
        if level.attribute
    )


def _reached(rule: ThresholdRule, level: int, levels: list[float | None], value: float) -> int:
    """The highest level ``value`` reaches (-1: none), given the level reached so far."""
    above = rule.direction == "above"
    reached = -1
    for index, limit in enumerate(levels):
        if limit is not None and (value >= limit if above else value <= limit):
            reached = index
    # Hysteresis: a level already reached holds until the value is beyond it by the margin.
    margin = rule.hysteresis
    for index in range(level, reached, -1):
        limit = levels[index] if index < len(levels) else None
        if limit is not None and (value > limit - margin if above else value < limit + margin):
            return index
    return reached


def _held(rule: ThresholdRule, state: _ThresholdState, reached: int, ts: int) -> bool:
    """Note that ``reached`` holds at ``ts``; True once it has held for the rule's ``for``."""
    if state.pending != reached:
        if state.pending < 0 or reached < state.pending:
            state.pending_since = ts
        state.pending = reached
    return ts - state.pending_since >= rule.for_s * 1000


def _attribute(attributes: dict[str, Any], path: str) -> float | None:
    node: Any = attributes
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    try:
        return float(node)
    except (TypeError, ValueError):
        return None


@dataclass(slots=True)
class _ThresholdState:
    level: int = -1  # index into the rule's levels; -1 = clear
    pending: int = -1
    pending_since: int = 0


@dataclass(slots=True, eq=False)
class _Plan:
    """What one series needs per point: its rules' checks with their states, and the quiet
    band in which no gated check can change while none is hot (the common case costs O(1)).

    A check is (its kind's evaluator, its entry); an entry is what the kind keeps per
    (rule, series), e.g. a threshold's rule, state and levels."""

    info: SeriesInfo
    entries: list[tuple[SeriesKind[Any, Any], Any]]  # every check, with its kind
    gated: list[tuple[Evaluator, Any]]  # checks idle inside the quiet band
    always: list[tuple[Evaluator, Any]]  # checks run on every point
    quiet_lo: float
    quiet_hi: float
    hot: int = 0  # gated checks currently active or pending
    last_ts: int = -(2**62)


@dataclass(slots=True)
class _RateState:
    window: deque[tuple[int, float]] = field(default_factory=deque)
    active: bool = False


class Engine:
    def __init__(self, catalog: CatalogView, rules: Sequence[RuleDef] = ()) -> None:
        self.catalog = catalog
        self._states: dict[tuple[str, int], Any] = {}  # (rule, series id) -> its kind's state
        self._plans: dict[int, _Plan] = {}
        self._series_ts: dict[int, int] = {}  # newest ts of series whose plan was dropped
        self._last_seen: dict[int, int] = {}  # series id -> arrival ms (for absence)
        self._absent: set[tuple[str, str]] = set()  # (rule, target) currently firing
        # composite bookkeeping: (rule, area) -> {target: ms it became active, or ms it cleared}
        self._member_active: dict[tuple[str, str], set[str]] = {}
        self._member_last: dict[tuple[str, str], int] = {}
        self._composite_active: dict[tuple[str, str], bool] = {}
        self.started_ms = 0
        # False in a cluster: composite rules are judged by the process holding the rules
        # timer, from every shard's member transitions (taydo.alerts.runtime), not here.
        self.composites_here = True
        self.set_rules(rules)

    # -- rules -------------------------------------------------------------------------
    def set_rules(self, rules: Sequence[RuleDef]) -> None:
        self.rules: dict[str, RuleDef] = {r.code: r for r in rules if r.enabled}
        self._index: dict[tuple[str, str | None], list[RuleDef]] = {}
        self._absence: list[AbsenceRule] = []
        self._composites_by_member: dict[str, list[CompositeRule]] = {}
        for rule in self.rules.values():
            KINDS[rule.kind].file(self, rule)
        # Most series measure something no rule watches: they skip the matching below.
        self._watched = frozenset(metric for metric, _key in self._index)
        self._matching: dict[int, list[RuleDef]] = {}
        self._drop_plans()

    def _file_by_series(self, rule: ThresholdRule | RateRule) -> None:
        """Index by the most selective part of the target, so a series only ever checks
        rules that could select it: entity ids, else tags, else types."""
        target = rule.target
        keys: list[str | None] = (
            [f"@{e}" for e in target.entities]
            or [f"#{t}" for t in target.tags]
            or list(target.types)
            or [None]
        )
        for key in keys:
            self._index.setdefault((rule.metric, key), []).append(rule)

    def _state(self, rule: RuleDef, series_id: int) -> Any:
        """The state a series kind keeps for (rule, series), made on first use."""
        key = (rule.code, series_id)
        state = self._states.get(key)
        if state is None:
            series = KINDS[rule.kind].series
            assert series is not None, f"{rule.kind} rules keep no per-series state"
            state = self._states[key] = series.new_state()
        return state

    def forget_series(self, series_ids: Iterable[int] | None = None) -> None:
        """The catalog changed: work out rule matches and entity-derived levels again, for
        the given series (an entity changed) or for all (unknown scope of change)."""
        if series_ids is None:
            self._matching.clear()
            self._drop_plans()
            return
        for series_id in series_ids:
            self._matching.pop(series_id, None)
            plan = self._plans.pop(series_id, None)
            if plan is not None:
                self._series_ts[series_id] = plan.last_ts

    def _drop_plans(self) -> None:
        for series_id, plan in getattr(self, "_plans", {}).items():
            self._series_ts[series_id] = plan.last_ts
        self._plans = {}

    def _plan(self, info: SeriesInfo) -> _Plan:
        plan = _Plan(info, [], [], [], float("-inf"), float("inf"))
        for rule in self.rules_for(info):
            series = KINDS[rule.kind].series
            if series is None:
                continue
            entry = series.start(self, rule, info)
            plan.entries.append((series, entry))
            quiet = series.quiet(entry)
            if quiet is None:
                plan.always.append((series.evaluate, entry))
                continue
            plan.quiet_lo, plan.quiet_hi = (
                max(plan.quiet_lo, quiet[0]),
                min(plan.quiet_hi, quiet[1]),
            )
            plan.hot += series.hot(entry)
            plan.gated.append((series.evaluate, entry))
        plan.last_ts = self._series_ts.pop(info.series_id, plan.last_ts)
        self._plans[info.series_id] = plan
        return plan

    def rules_for(self, info: SeriesInfo) -> list[RuleDef]:
        found = self._matching.get(info.series_id)
        if found is None and info.metric not in self._watched:
            found = self._matching[info.series_id] = []
        elif found is None:
            index = self._index
            metric = info.metric
            candidates = [
                *index.get((metric, f"@{info.entity_id}"), ()),
                *(rule for tag in info.tags for rule in index.get((metric, f"#{tag}"), ())),
                *index.get((metric, info.entity_type), ()),
                *index.get((metric, None), ()),
            ]
            unique = {id(rule): rule for rule in candidates}.values()
            found = [rule for rule in unique if _matches(rule, info)]
            self._matching[info.series_id] = found
        return found

    # -- restore after a restart ---------------------------------------------------------
    def restore(self, open_alerts: Iterable[dict[str, Any]]) -> None:
        """Seed state from persisted open alerts so a condition still true continues the same
        episode and a condition now clear resolves it."""
        self._drop_plans()
        for alert in open_alerts:
            rule = self.rules.get(alert["rule_code"])
            series_id: int | None = alert.get("series_id")
            if rule is None:
                continue
            KINDS[rule.kind].restore(self, rule, alert, series_id)
            if alert.get("area_code") and rule.code in self._composites_by_member:
                key = (rule.code, alert["area_code"])
                self._member_active.setdefault(key, set()).add(alert["target"])

    def resume_pending(
        self, recent: RecentPoints, now_ms: int, only: Callable[[SeriesInfo], bool] | None = None
    ) -> int:
        """After ``restore``: rebuild what the rules remember of a series' past from its
        recent points (``recent(series_ids, since_ms)``: points by series, in time order) —
        how long each ``for`` threshold has been pending, and the window of each rate rule —
        so that a restart neither starts a wait again nor forgets a rise under way. The
        newest point of each series is left for ``catch_up``, which judges it.
        Emits nothing; returns the points read."""
        memory: dict[int, float] = {}  # series id -> seconds of past its rules need
        for info in self.catalog.all_series():
            if only is not None and not only(info):
                continue  # another process judges it (a cluster's shard)
            longest = max((KINDS[r.kind].memory_s(r) for r in self.rules_for(info)), default=0.0)
            if longest:
                memory[info.series_id] = longest
        if not memory:
            return 0
        read = 0
        found = recent(sorted(memory), now_ms - int(max(memory.values()) * 1000))
        for series_id, points in found.items():
            known = self.catalog.series(series_id)
            if known is None or not points:
                continue
            self._resume(known, points[:-1])
            read += len(points)
        return read

    def _resume(self, info: SeriesInfo, points: list[tuple[int, float]]) -> None:
        """Replay past points into the series' states without judging them (no transition):
        how long a ``for`` threshold has been pending, the window of a rate rule."""
        plan = self._plans.get(info.series_id) or self._plan(info)
        if not points:
            return
        for series, entry in plan.entries:
            series.resume(entry, points)
        plan.hot = sum(series.hot(entry) for series, entry in plan.entries)
        plan.last_ts = max(plan.last_ts, points[-1][0])  # replayed points are not judged again

    def replay(
        self,
        recent: RecentPoints,
        marks: Callable[[list[int]], dict[int, int]],
        latest: LatestPoints,
        now_ms: int,
        horizon_ms: int,
        only: Callable[[SeriesInfo], bool] | None = None,
    ) -> list[Transition]:
        """After ``restore``, where a series may have been judged elsewhere until now (a
        cluster's hand-over): judge, in time order, every stored point of each watched series
        after its mark — ``marks(series_ids)``: the newest point time whose judgement changed
        one of its alerts, stored with that change — so no level passed meanwhile is skipped.

        Judging again a point that was judged after the mark changes nothing (it changed no
        alert then, from the state the open episodes restored), so a point is never judged
        twice to effect, and nothing depends on when the previous judge stopped. Bounded: only
        points stamped after ``now_ms - horizon_ms`` are judged (older ones were judged long
        ago, or are late data); the points before the first judged one, as far back as the
        rules remember, rebuild ``for`` waits and rate windows. A series with no point in
        that range has its newest stored value judged, as ``catch_up`` does."""
        infos = [
            info
            for info in self.catalog.all_series()
            if (only is None or only(info)) and self.rules_for(info)
        ]
        if not infos:
            return []
        marked = marks(sorted(info.series_id for info in infos))
        floor = now_ms - horizon_ms
        after: dict[int, int] = {}  # series id -> judge the points later than this
        since: dict[int, int] = {}  # series id -> read from here (the rules' memory too)
        by_memory: dict[int, list[int]] = {}  # one read per memory: a 1 h rate window
        for info in infos:  # does not make every other series read its hour
            series_id = info.series_id
            after[series_id] = max(marked.get(series_id, floor), floor)
            memory = max((KINDS[r.kind].memory_s(r) for r in self.rules_for(info)), default=0.0)
            since[series_id] = after[series_id] - int(memory * 1000)
            by_memory.setdefault(int(memory * 1000), []).append(series_id)
        found: dict[int, list[tuple[int, float]]] = {}
        for ids in by_memory.values():
            found.update(recent(sorted(ids), min(since[i] for i in ids)))
        judged: list[tuple[int, int, float]] = []
        quiet: list[int] = []
        for info in infos:
            series_id = info.series_id
            start = since[series_id]
            points = [p for p in found.get(series_id, ()) if p[0] >= start]
            if not points:
                quiet.append(series_id)
                continue
            limit = after[series_id]
            # the first point after the mark; none: the newest is judged again (rules or
            # levels may have changed since; from the restored state it changes nothing else)
            first = next((i for i, p in enumerate(points) if p[0] > limit), len(points) - 1)
            self._resume(info, points[:first])
            judged.extend((series_id, ts, value) for ts, value in points[first:])
        out = self._judge(judged, now_ms, arrived=False)
        if quiet:
            out += self._judge(sorted(latest(sorted(quiet))), now_ms, arrived=False)
        return out

    def catch_up(
        self, latest: LatestPoints, now_ms: int, only: Callable[[SeriesInfo], bool] | None = None
    ) -> list[Transition]:
        """At start, after ``restore`` and ``resume_pending``: judge the newest stored value
        of every series a threshold or rate rule watches (``latest(series_ids)``: (series,
        ts, value) each), so the alerts match the data at once. Values committed but never
        judged (a crash between the commit and the rules) raise or clear their alerts now
        instead of with the next reading, and so do levels or rules changed while the server
        was down. An old value is no sign of life: it never ends a silent-sensor alert."""
        watched = [
            info.series_id
            for info in self.catalog.all_series()
            if (only is None or only(info)) and self.rules_for(info)
        ]
        if not watched:
            return []
        return self._judge(sorted(latest(watched)), now_ms, arrived=False)

    def revert(self, transitions: Iterable[Transition]) -> None:
        """Forget the state behind transitions that could not be persisted, so the next
        observation (or check) evaluates them afresh and raises them again."""
        for t in transitions:
            if t.series_id is not None:
                self._states.pop((t.rule, t.series_id), None)
            self._absent.discard((t.rule, t.target))
            if t.area_code:
                self._composite_active.pop((t.rule, t.area_code), None)
        self._drop_plans()

    # -- the hot path -----------------------------------------------------------------------
    def observe(self, points: Iterable[tuple[int, int, float]], now_ms: int) -> list[Transition]:
        """Judge values that have just arrived (each one a sign of life of its series)."""
        return self._judge(points, now_ms, arrived=True)

    def seen(self, points: Iterable[tuple[int, int, float]], now_ms: int) -> list[Transition]:
        """Signs of life of series judged elsewhere (a cluster's other shards), for the
        absence rules this process's timer watches: arrival times, and silent-sensor alerts
        that end."""
        out: list[Transition] = []
        last_seen = self._last_seen
        for series_id, ts, _value in points:
            last_seen[series_id] = now_ms
            if self._absent:
                info = self.catalog.series(series_id)
                if info is not None:
                    self._absence_seen(info, ts, out)
        return out

    def composites_of(self, members: Iterable[Transition], now_ms: int) -> list[Transition]:
        """Composite transitions caused by member transitions judged elsewhere."""
        return self._composites(list(members), now_ms) if self._composites_by_member else []

    def is_member(self, rule_code: str) -> bool:
        """Whether a composite rule reads this rule's alerts."""
        return rule_code in self._composites_by_member

    def _judge(
        self, points: Iterable[tuple[int, int, float]], now_ms: int, *, arrived: bool
    ) -> list[Transition]:
        out: list[Transition] = []
        last_seen = self._last_seen
        plans = self._plans
        absent = self._absent if arrived else None
        for series_id, ts, value in points:
            if arrived:
                last_seen[series_id] = now_ms
            plan = plans.get(series_id)
            if plan is None:
                info = self.catalog.series(series_id)
                if info is None:
                    continue
                plan = self._plan(info)
            if absent:  # any value, even a late one, is a sign of life
                self._absence_seen(plan.info, ts, out)
            if ts <= plan.last_ts:
                continue  # a late or replayed point never moves state
            plan.last_ts = ts
            if plan.gated and (plan.hot or not plan.quiet_lo < value < plan.quiet_hi):
                for evaluate, entry in plan.gated:
                    evaluate(self, plan, entry, ts, value, out)
            for evaluate, entry in plan.always:
                evaluate(self, plan, entry, ts, value, out)
        if out and self._composites_by_member and self.composites_here:
            out.extend(self._composites(out, now_ms))
        return out

    def _levels(self, rule: ThresholdRule, info: SeriesInfo) -> list[float | None]:
        attributes: dict[str, Any] | None = None
        levels: list[float | None] = []
        for level in rule.levels:
            if level.value is not None:
                levels.append(level.value)
                continue
            if attributes is None:
                attributes = self.catalog.attributes(info.entity_pk)
            levels.append(_attribute(attributes, level.attribute or ""))
        return levels

    # -- absence --------------------------------------------------------------------------
    def _absence_target(self, rule: AbsenceRule, info: SeriesInfo) -> str | None:
        if rule.scope == "dataset":
            dataset = self.catalog.dataset(info.dataset_id)
            return f"dataset:{dataset[0]}" if dataset else None
        return info.entity_id

    def _absence_applies(self, rule: AbsenceRule, info: SeriesInfo) -> bool:
        return (rule.metric is None or rule.metric == info.metric) and _matches(rule, info)

    def _absence_seen(self, info: SeriesInfo, ts: int, out: list[Transition]) -> None:
        for rule in self._absence:
            if not self._absence_applies(rule, info):
                continue
            target = self._absence_target(rule, info)
            if target is not None and (rule.code, target) in self._absent:
                self._absent.discard((rule.code, target))
                out.append(self._absence_transition(rule, info, target, "clear", ts))

    def _absence_transition(
        self, rule: AbsenceRule, info: SeriesInfo, target: str, action: Action, ts: int
    ) -> Transition:
        dataset_scope = rule.scope == "dataset"
        return Transition(
            rule=rule.code,
            target=target,
            action=action,
            level="absent" if action == "fire" else None,
            severity=rule.severity,
            value=None,
            ts=ts,
            series_id=None if dataset_scope else info.series_id,
            entity_id=None if dataset_scope else info.entity_id,
            metric=rule.metric,
            area_code=None if dataset_scope else info.area_code,
            agency_code=info.agency_code,
        )

    def check(self, now_ms: int) -> list[Transition]:
        """The timer's work: each kind's ``tick`` in table order (absence rules fire, then
        composite windows expire, seeing what absence just fired)."""
        out: list[Transition] = []
        for kind in KINDS.values():
            if kind.tick is not None:
                kind.tick(self, now_ms, out)
        return out

    def _absence_tick(self, now_ms: int, out: list[Transition]) -> None:
        if self._absence:
            # newest arrival per (rule, target) among the series each rule selects
            latest: dict[tuple[str, str], tuple[int, float, SeriesInfo]] = {}
            for info in self.catalog.all_series():
                seen = self._last_seen.get(info.series_id, self.started_ms)
                for rule in self._absence:
                    if not self._absence_applies(rule, info):
                        continue
                    dataset = self.catalog.dataset(info.dataset_id)
                    interval = rule.interval_s or (dataset[1] if dataset else None)
                    target = self._absence_target(rule, info)
                    if not interval or target is None:
                        continue
                    key = (rule.code, target)
                    if key not in latest or seen > latest[key][0]:
                        latest[key] = (seen, interval * rule.factor * 1000, info)
            for (code, target), (seen, allowed, info) in latest.items():
                if (code, target) not in self._absent and now_ms - seen > allowed:
                    self._absent.add((code, target))
                    silent = self.rules[code]
                    assert isinstance(silent, AbsenceRule)
                    out.append(self._absence_transition(silent, info, target, "fire", now_ms))

    def _composite_tick(self, now_ms: int, out: list[Transition]) -> None:
        if self._composites_by_member:
            out.extend(self._composites(out, now_ms, expire=True))

    # -- composite ------------------------------------------------------------------------
    def _composites(
        self, transitions: list[Transition], now_ms: int, *, expire: bool = False
    ) -> list[Transition]:
        touched: set[tuple[str, str]] = set()
        for t in transitions:
            if not t.area_code or t.rule not in self._composites_by_member:
                continue
            key = (t.rule, t.area_code)
            active = self._member_active.setdefault(key, set())
            if t.action == "clear":
                active.discard(t.target)
                if not active:
                    self._member_last[key] = now_ms
            else:
                active.add(t.target)
            for composite in self._composites_by_member[t.rule]:
                touched.add((composite.code, t.area_code))
        if expire:
            for code, area in list(self._composite_active):
                touched.add((code, area))
        out: list[Transition] = []
        for code, area in touched:
            found = self.rules.get(code)
            if not isinstance(found, CompositeRule):
                continue
            composite = found
            window_ms = composite.window_s * 1000
            satisfied = [
                bool(self._member_active.get((member, area)))
                or now_ms - self._member_last.get((member, area), -(2**62)) <= window_ms
                for member in composite.rules
            ]
            holds = all(satisfied) if composite.mode == "all" else any(satisfied)
            key = (composite.code, area)
            if holds != self._composite_active.get(key, False):
                self._composite_active[key] = holds
                out.append(
                    Transition(
                        rule=composite.code,
                        target=f"area:{area}",
                        action="fire" if holds else "clear",
                        level=f"risk{composite.risk_level}" if holds else None,
                        severity=composite.severity,
                        value=float(composite.risk_level),
                        ts=now_ms,
                        area_code=area,
                        risk_level=composite.risk_level,
                    )
                )
        return out


# -- rule kinds ---------------------------------------------------------------------------
# Each kind of rule is one declaration in ``KINDS``: where ``set_rules`` files it, how an open
# alert of it is restored, what the timer does for it and, for kinds judged point by point,
# its per-series evaluator. The engine's generic code reads the table; adding a kind means
# adding a model to ``RuleDef`` and a row here (and a section in docs/alerting.md).

R = TypeVar("R", bound=RuleDef)
E = TypeVar("E")
# (engine, plan, entry, ts, value, out): judge one point; called on the hot path
Evaluator = Callable[["Engine", _Plan, Any, int, float, list[Transition]], None]


@dataclass(frozen=True, slots=True)
class SeriesKind(Generic[R, E]):
    """A kind judged point by point on the series it selects. ``E`` is its entry: what it
    keeps per (rule, series) in a plan, built by ``start`` when the plan is made."""

    new_state: Callable[[], Any]  # its per-(rule, series) state, kept across plans
    start: Callable[[Engine, R, SeriesInfo], E]
    evaluate: Callable[[Engine, _Plan, E, int, float, list[Transition]], None]
    # the value band in which the check can change nothing while not hot (None: never idle)
    quiet: Callable[[E], tuple[float, float] | None]
    hot: Callable[[E], bool]  # active or pending: outside the quiet band's promise
    # replay past points, judged already (never empty), into the state after a restart
    resume: Callable[[E, list[tuple[int, float]]], None]
    memory_s: Callable[[R], float]  # how far back it looks at a series


@dataclass(frozen=True, slots=True)
class RuleKind(Generic[R]):
    code: str
    model: type[R]
    file: Callable[[Engine, R], None]  # where ``set_rules`` keeps it
    # seed state from a persisted open alert (engine, rule, alert, its series id)
    restore: Callable[[Engine, R, dict[str, Any], int | None], None]
    series: SeriesKind[R, Any] | None = None
    tick: Callable[[Engine, int, list[Transition]], None] | None = None  # the timer's work

    def memory_s(self, rule: R) -> float:
        return self.series.memory_s(rule) if self.series else 0.0


# threshold ------------------------------------------------------------------------------
_ThresholdEntry = tuple[ThresholdRule, _ThresholdState, list[float | None]]


def _threshold_start(engine: Engine, rule: ThresholdRule, info: SeriesInfo) -> _ThresholdEntry:
    return rule, engine._state(rule, info.series_id), engine._levels(rule, info)


def _threshold_quiet(entry: _ThresholdEntry) -> tuple[float, float]:
    """Below the lowest known level (above the highest, watching a fall) nothing is reached."""
    rule, _state, levels = entry
    known = [limit for limit in levels if limit is not None]
    if not known:
        return float("-inf"), float("inf")
    if rule.direction == "above":
        return float("-inf"), min(known)
    return max(known), float("inf")


def _threshold_hot(entry: _ThresholdEntry) -> bool:
    state = entry[1]
    return state.level >= 0 or state.pending >= 0


def _threshold(
    engine: Engine,
    plan: _Plan,
    entry: _ThresholdEntry,
    ts: int,
    value: float,
    out: list[Transition],
) -> None:
    rule, state, levels = entry
    was_hot = state.level >= 0 or state.pending >= 0
    reached = _reached(rule, state.level, levels, value)
    info = plan.info
    if reached > state.level:
        if rule.for_s <= 0 or _held(rule, state, reached, ts):
            action: Action = "fire" if state.level < 0 else "change"
            state.level, state.pending = reached, -1
            out.append(_level_transition(rule, info, action, reached, value, ts))
    else:
        state.pending = -1
        if reached < state.level:
            state.level = reached
            action = "clear" if reached < 0 else "change"
            out.append(_level_transition(rule, info, action, reached, value, ts))
    plan.hot += (state.level >= 0 or state.pending >= 0) - was_hot


def _level_transition(
    rule: ThresholdRule, info: SeriesInfo, action: Action, index: int, value: float, ts: int
) -> Transition:
    level = rule.levels[index] if index >= 0 else None
    code, severity = (level.code, level.severity) if level else (None, rule.severity)
    return _series_transition(rule.code, info, action, code, severity, value, ts)


def _series_transition(
    rule: str,
    info: SeriesInfo,
    action: Action,
    level: str | None,
    severity: str,
    value: float,
    ts: int,
) -> Transition:
    """A transition of one series' episode, carrying where the series belongs."""
    return Transition(
        rule=rule,
        target=info.entity_id,
        action=action,
        level=level,
        severity=severity,
        value=value,
        ts=ts,
        series_id=info.series_id,
        entity_id=info.entity_id,
        metric=info.metric,
        area_code=info.area_code,
        agency_code=info.agency_code,
    )


def _threshold_resume(entry: _ThresholdEntry, points: list[tuple[int, float]]) -> None:
    """How long a ``for`` threshold has been pending, from past points (judged already)."""
    rule, state, levels = entry
    if rule.for_s <= 0:
        return
    for ts, value in points:
        reached = _reached(rule, state.level, levels, value)
        if reached > state.level:
            _held(rule, state, reached, ts)
        else:
            state.pending = -1


def _threshold_restore(
    engine: Engine, rule: ThresholdRule, alert: dict[str, Any], series_id: int | None
) -> None:
    codes = [level.code for level in rule.levels]
    if series_id is not None and alert.get("level") in codes:
        state: _ThresholdState = engine._state(rule, series_id)
        state.level = codes.index(alert["level"])


# rate -----------------------------------------------------------------------------------
_RateEntry = tuple[RateRule, _RateState]


def _rate_start(engine: Engine, rule: RateRule, info: SeriesInfo) -> _RateEntry:
    return rule, engine._state(rule, info.series_id)


def _rate(
    engine: Engine, plan: _Plan, entry: _RateEntry, ts: int, value: float, out: list[Transition]
) -> None:
    rule, state = entry
    window = state.window
    window.append((ts, value))
    horizon = ts - int(rule.window_s * 1000)
    while window and window[0][0] < horizon:
        window.popleft()
    if rule.change > 0:
        holds = value - min(v for _t, v in window) >= rule.change
    else:
        holds = value - max(v for _t, v in window) <= rule.change
    if holds != state.active:
        state.active = holds
        info = plan.info
        action: Action = "fire" if holds else "clear"
        level = "rate" if holds else None
        out.append(_series_transition(rule.code, info, action, level, rule.severity, value, ts))


def _rate_resume(entry: _RateEntry, points: list[tuple[int, float]]) -> None:
    """The rate window as it stood after these past points (judged already)."""
    rule, state = entry
    horizon = points[-1][0] - int(rule.window_s * 1000)
    state.window.extend(p for p in points if p[0] >= horizon)


def _rate_restore(
    engine: Engine, rule: RateRule, alert: dict[str, Any], series_id: int | None
) -> None:
    if series_id is not None:
        rate_state: _RateState = engine._state(rule, series_id)
        rate_state.active = True


# absence and composite --------------------------------------------------------------------
def _absence_restore(
    engine: Engine, rule: AbsenceRule, alert: dict[str, Any], series_id: int | None
) -> None:
    engine._absent.add((rule.code, alert["target"]))


def _composite_file(engine: Engine, rule: CompositeRule) -> None:
    for member in rule.rules:
        engine._composites_by_member.setdefault(member, []).append(rule)


def _composite_restore(
    engine: Engine, rule: CompositeRule, alert: dict[str, Any], series_id: int | None
) -> None:
    if alert.get("area_code"):
        engine._composite_active[(rule.code, alert["area_code"])] = True


KINDS: dict[str, RuleKind[Any]] = {
    kind.code: kind
    for kind in (
        RuleKind(
            "threshold",
            ThresholdRule,
            file=Engine._file_by_series,
            restore=_threshold_restore,
            series=SeriesKind(
                new_state=_ThresholdState,
                start=_threshold_start,
                evaluate=_threshold,
                quiet=_threshold_quiet,
                hot=_threshold_hot,
                resume=_threshold_resume,
                memory_s=lambda rule: rule.for_s,
            ),
        ),
        RuleKind(
            "rate",
            RateRule,
            file=Engine._file_by_series,
            restore=_rate_restore,
            series=SeriesKind(
                new_state=_RateState,
                start=_rate_start,
                evaluate=_rate,
                quiet=lambda entry: None,
                hot=lambda entry: False,
                resume=_rate_resume,
                memory_s=lambda rule: rule.window_s,
            ),
        ),
        RuleKind(
            "absence",
            AbsenceRule,
            file=lambda engine, rule: engine._absence.append(rule),
            restore=_absence_restore,
            tick=Engine._absence_tick,
        ),
        RuleKind(
            "composite",
            CompositeRule,
            file=_composite_file,
            restore=_composite_restore,
            tick=Engine._composite_tick,
        ),
    )
}
"""Every kind of rule, by its ``kind`` code, in the order the timer runs them."""
