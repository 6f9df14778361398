"""The NGSI-LD Temporal API routes (ETSI GS CIM 009 §5.6.11–5.6.16 and §5.7.3–5.7.4):
temporal writes, and the temporal reads with aggregation, ``lastN``, ``temporalValues`` and
pagination. Included before ``api.router``; the logic lives in ``temporal``,
``temporal_write`` and ``temporal_aggregate``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from taydo.catalog import service as catalog
from taydo.catalog.events import announce_changes
from taydo.catalog.schemas import MetricIn
from taydo.catalog.series import SeriesIndex, SeriesInfo
from taydo.core.access import Principal, requires
from taydo.core.bounds import MAX_OFFSET
from taydo.core.deps import AppRuntime, Db
from taydo.core.runtime import Runtime, runtime_of
from taydo.ingest.counts import GatewayCounts
from taydo.ingest.ngsild import history, read, temporal
from taydo.ingest.ngsild import temporal_write as tw
from taydo.ingest.ngsild.api import EntityQuery
from taydo.ingest.ngsild.entity import (
    ParsedEntity,
    check_entity_id,
    now_utc,
    observed_ms,
    parse_attributes,
    parse_entity,
    translate,
)
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.handlers import (
    get_context,
    names_of,
    options_of,
    read_body,
    resolver,
    write,
)
from taydo.ingest.ngsild.http import NgsiRoute, request_context, respond
from taydo.ingest.ngsild.ops import query_body
from taydo.ingest.ngsild.service import Operation
from taydo.ingest.ngsild.temporal_aggregate import parse_aggregation
from taydo.observations.corrections import delete_points, set_values
from taydo.observations.service import ObservationWriter

__all__ = ["router"]

router = APIRouter(prefix="/ngsi-ld/v1", tags=["ngsi-ld"], route_class=NgsiRoute)
READ = requires("catalog:read")
WRITE = requires("catalog:write")


# -- writes -------------------------------------------------------------------------------


def _current_state(
    body: tw.TemporalBody, names: set[str] | None, context_value: Any
) -> dict[str, Any]:
    """The entity fragment for the current state: the newest instance of each attribute
    (only of ``names`` when given)."""
    fragment: dict[str, Any] = {"id": body.entity_id}
    if body.type is not None:
        fragment["type"] = body.type
    for key, item in body.newest.items():
        if names is None or key in names:
            items = item if isinstance(item, list) else [item]
            shown = [{k: v for k, v in i.items() if k != "instanceId"} for i in items]
            fragment[key] = shown[0] if len(shown) == 1 else shown
    if context_value is not None:
        fragment["@context"] = context_value
    return fragment


async def _write_state(
    request: Request,
    principal: Principal,
    fragment: dict[str, Any],
    context: Any,
    mode: str,
) -> bool:
    """Write the current-state fragment; True when it created the entity."""
    if mode == "create":
        parsed = parse_entity({k: v for k, v in fragment.items() if k != "@context"}, context)
    else:
        kind = fragment.get("type")
        attrs = parse_attributes(fragment, context, context)
        parsed = ParsedEntity(
            str(fragment["id"]), kind if isinstance(kind, str) else "", attrs, context.value
        )
    # The instances' history is stored by the caller (``_store_texts``), all of them.
    operation = Operation(parsed.entity_id, parsed, context, keep_history=False)
    outcome = await write(request, principal, [operation], mode)
    if outcome.errors:
        raise outcome.errors[0][1]
    return bool(outcome.created)


def _series_for(
    runtime: Runtime, principal: Principal, entity: read.Stored, body: tw.TemporalBody,
    context: Any,
) -> tuple[dict[str, SeriesInfo], bool]:  # fmt: skip
    """The series of each attribute with instances (metric created when missing)."""
    index = runtime.get(SeriesIndex)
    out: dict[str, SeriesInfo] = {}
    created = False
    units = {i.name: i.unit for i in body.instances}
    for name in sorted({i.name for i in body.instances}):
        metric = translate(name, context, entity.context)
        info = index.get(entity.entity_id, metric)
        if info is None:
            try:
                catalog.put_metric(
                    runtime.db, entity.entity_id, MetricIn(name=metric, unit=units[name][:32]),
                    principal,
                )  # fmt: skip
            except ValueError as error:  # the catalog refuses the name
                raise NgsiError(
                    "BadRequestData", f"attribute {name[:80]!r} cannot keep a history: {error}"
                ) from error
            created = True
            info = index.refresh(entity.entity_id, metric)
            if info is None:
                raise NgsiError("ResourceNotFound", f"no entity {entity.entity_id[:255]}")
        out[name] = info
    return out, created


async def _store_history(
    request: Request, principal: Principal, entity_id: str, body: tw.TemporalBody, context: Any
) -> int:
    """Commit every numeric instance through the observation writer (newest of each series
    first, see ``judge_order``); values outside the metric's range go to the quarantine.
    The other instances go to the attribute history."""
    if not body.instances and not body.texts:
        return 0
    runtime = runtime_of(request.app)
    entity = await run_in_threadpool(
        read.retrieve, runtime.db, resolver(runtime), principal, entity_id
    )
    if not principal.may_write_agency(entity.agency_code):
        raise NgsiError("ResourceNotFound", f"no entity {entity_id[:255]}")
    texts = 0
    if body.texts:
        now = int(now_utc().timestamp() * 1000)
        rows = tw.text_rows(entity_id, body.texts, context, entity.context, now)
        texts = await run_in_threadpool(tw.store_texts, runtime.db, rows)
    if not body.instances:
        return texts
    series, created = await run_in_threadpool(
        _series_for, runtime, principal, entity, body, context
    )
    if created:
        await announce_changes(runtime, [entity_id])
    points, rejected = tw.valid_points(body.instances, series, entity.agency_code, entity_id)
    await temporal.store_points(runtime, tw.judge_order(points))
    if rejected:
        await run_in_threadpool(tw.quarantine, runtime.db, rejected)
        counts = runtime.find(GatewayCounts)
        if counts is not None:
            counts.add("ngsi-ld", accepted=0, duplicates=0, rejected=len(rejected))
    return len(points) + texts


@router.post("/temporal/entities", status_code=201)
async def create_temporal(request: Request, principal: Principal = WRITE) -> Response:
    """Create or Update Temporal Representation of an Entity (§5.6.11): 201 when the entity
    is new, 204 when instances were added to an existing one."""
    body, is_jsonld = await read_body(request)
    runtime = runtime_of(request.app)
    context = request_context(
        resolver(runtime), request, body if isinstance(body, dict) else {}, is_jsonld
    )
    parsed = tw.parse_temporal(body, context, fragment=False)
    entity_id = check_entity_id(parsed.entity_id)
    context_value = body.get("@context") if is_jsonld else None
    try:
        existing = await run_in_threadpool(
            read.retrieve, runtime.db, resolver(runtime), principal, entity_id
        )
    except NgsiError as error:
        if error.kind != "ResourceNotFound":
            raise
        existing = None
    created = False
    if existing is None:
        fragment = _current_state(parsed, None, context_value)
        created = await _write_state(request, principal, fragment, context, "create")
    else:
        await _append_missing(request, principal, existing, parsed, context, context_value)
    stored = await _store_history(request, principal, entity_id, parsed, context)
    await run_in_threadpool(
        tw.record, runtime.db, principal, "create" if created else "update", entity_id,
        {"instances": len(parsed.instances) + len(parsed.texts), "stored": stored},
    )  # fmt: skip
    if created:
        location = f"/ngsi-ld/v1/temporal/entities/{quote(entity_id, safe=':/')}"
        return Response(status_code=201, headers={"Location": location})
    return Response(status_code=204)


async def _append_missing(
    request: Request, principal: Principal, entity: read.Stored, body: tw.TemporalBody,
    context: Any, context_value: Any,
) -> None:  # fmt: skip
    """Attributes the entity lacks (or holds without a history) are added with their newest
    instance; the current value of an attribute that already has a history is left as it is."""
    runtime = runtime_of(request.app)
    index = runtime.get(SeriesIndex)

    def lacking() -> set[str]:  # the index may read the database on a miss: off the loop
        return {
            key
            for key in body.newest
            if index.get(entity.entity_id, translate(_term(key, context), context, entity.context))
            is None
        }

    missing = await run_in_threadpool(lacking)
    if missing:
        fragment = _current_state(body, missing, context_value)
        fragment.pop("type", None)
        await _write_state(request, principal, fragment, context, "update")
    elif not principal.may_write_agency(entity.agency_code):
        raise NgsiError("ResourceNotFound", f"no entity {entity.entity_id[:255]}")


def _term(key: str, context: Any) -> str:
    return translate(key, context, context)


@router.post("/temporal/entities/{entity_id}/attrs", status_code=204)
async def add_temporal_attrs(
    request: Request, entity_id: str, principal: Principal = WRITE
) -> Response:
    """Add Attributes to Temporal Representation of an Entity (§5.6.12)."""
    check_entity_id(entity_id)
    body, is_jsonld = await read_body(request)
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected a JSON object of attribute instances")
    if "id" in body and body["id"] != entity_id:
        raise NgsiError("BadRequestData", "the body's id differs from the URL's")
    runtime = runtime_of(request.app)
    context = request_context(resolver(runtime), request, body, is_jsonld)
    parsed = tw.parse_temporal({**body, "id": entity_id}, context, fragment=True)
    parsed.entity_id = entity_id
    existing = await run_in_threadpool(
        read.retrieve, runtime.db, resolver(runtime), principal, entity_id
    )
    context_value = body.get("@context") if is_jsonld else None
    await _append_missing(request, principal, existing, parsed, context, context_value)
    stored = await _store_history(request, principal, entity_id, parsed, context)
    await run_in_threadpool(
        tw.record, runtime.db, principal, "append", entity_id,
        {"instances": len(parsed.instances) + len(parsed.texts), "stored": stored},
    )  # fmt: skip
    return Response(status_code=204)


async def _writable_entity(request: Request, principal: Principal, entity_id: str) -> read.Stored:
    check_entity_id(entity_id)
    runtime = runtime_of(request.app)
    entity: read.Stored = await run_in_threadpool(
        read.retrieve, runtime.db, resolver(runtime), principal, entity_id
    )
    if not principal.may_write_agency(entity.agency_code):
        raise NgsiError("ResourceNotFound", f"no entity {entity_id[:255]}")
    return entity


async def _attr_series(
    request: Request, entity: read.Stored, attr: str
) -> tuple[int, float | None, float | None, str]:
    """(series id, min_valid, max_valid, metric) of an attribute's history; 404 without one."""
    info, metric = await _attr_info(request, entity, attr)
    if info is None:
        raise NgsiError(
            "ResourceNotFound",
            f"no attribute {attr[:80]} with a history in {entity.entity_id[:200]}",
        )
    return info.series_id, info.min_valid, info.max_valid, metric


async def _attr_info(
    request: Request, entity: read.Stored, attr: str
) -> tuple[SeriesInfo | None, str]:
    """The series of an attribute's numeric history (None without one), and its stored name."""
    runtime = runtime_of(request.app)
    context = await get_context(request)
    metric = translate(attr, context, entity.context)
    info = await run_in_threadpool(runtime.get(SeriesIndex).get, entity.entity_id, metric)
    return info, metric


def _delete_history(
    runtime: Runtime, entity_id: str, name: str, dataset: str | None, row_id: int | None = None
) -> int:
    with runtime.db.engine.begin() as connection:
        return history.delete_rows(connection, entity_id, name=name, dataset=dataset, row_id=row_id)


async def _settle(runtime: Runtime) -> None:
    """Points answered before a correction are in the store; their rollups are applied by
    the correction itself (``corrections``)."""
    writer = runtime.find(ObservationWriter)
    if writer is not None:
        await writer.sync()


@router.delete("/temporal/entities/{entity_id}", status_code=204)
async def delete_temporal(
    request: Request, entity_id: str, principal: Principal = WRITE
) -> Response:
    """Delete Temporal Representation of an Entity (§5.6.16): every stored instance of its
    attributes. The entity (its current state) stays: ``DELETE /entities/{id}`` removes it."""
    await _writable_entity(request, principal, entity_id)
    runtime = runtime_of(request.app)
    await _settle(runtime)

    def run() -> int:
        with runtime.db.engine.connect() as connection:
            series = catalog.series_of_entity(connection, entity_id)
        deleted = sum(len(delete_points(runtime.db, s[0]).deleted) for s in series)
        with runtime.db.engine.begin() as connection:
            return deleted + history.delete_rows(connection, entity_id)

    deleted = await run_in_threadpool(run)
    await run_in_threadpool(
        tw.record, runtime.db, principal, "delete", entity_id, {"deleted": deleted}
    )
    return Response(status_code=204)


@router.delete("/temporal/entities/{entity_id}/attrs/{attr}", status_code=204)
async def delete_temporal_attr(
    request: Request,
    entity_id: str,
    attr: str,
    principal: Principal = WRITE,
    deleteAll: bool = False,
    datasetId: str | None = None,
) -> Response:
    """Delete Attribute from Temporal Representation (§5.6.13): the attribute's instances
    (``deleteAll=true``: of every datasetId; ``datasetId``: of that one only — numbers keep
    a history without datasetId only); 404 when none was stored."""
    entity = await _writable_entity(request, principal, entity_id)
    info, metric = await _attr_info(request, entity, attr)
    runtime = runtime_of(request.app)
    dataset = None if deleteAll else (datasetId or "")
    deleted = await run_in_threadpool(_delete_history, runtime, entity_id, metric, dataset)
    if info is not None and (deleteAll or datasetId is None):
        await _settle(runtime)
        done = await run_in_threadpool(delete_points, runtime.db, info.series_id)
        deleted += len(done.deleted)
        found = True
    else:
        found = deleted > 0
    if not found:
        what = f" with datasetId {datasetId[:120]}" if datasetId is not None else ""
        raise NgsiError(
            "ResourceNotFound",
            f"no instances of {attr[:80]}{what} in {entity_id[:200]}",
        )
    await run_in_threadpool(
        tw.record, runtime.db, principal, "delete_attr", entity_id,
        {"attribute": metric, "deleted": deleted},
    )  # fmt: skip
    return Response(status_code=204)


@router.patch("/temporal/entities/{entity_id}/attrs/{attr}/{instance}", status_code=204)
async def modify_instance(
    request: Request, entity_id: str, attr: str, instance: str, principal: Principal = WRITE
) -> Response:
    """Modify Attribute instance (§5.6.14): its value (its ``observedAt`` is part of its
    identity here and cannot change)."""
    entity = await _writable_entity(request, principal, entity_id)
    body, _is_jsonld = await read_body(request)
    if not isinstance(body, dict):
        raise NgsiError("BadRequestData", "expected the attribute instance as a JSON object")
    row_id = history.parse_history_id(instance)
    if row_id is not None:
        await _modify_text(request, principal, entity, attr, instance, row_id, body)
        return Response(status_code=204)
    series_id, low, high, metric = await _attr_series(request, entity, attr)
    wanted_series, ts = tw.parse_instance_id(instance)
    if wanted_series != series_id:
        raise NgsiError("ResourceNotFound", f"no instance {instance[:120]} of {attr[:80]}")
    kind = body.get("type", "Property")
    value = body.get("value")
    if kind != "Property" or not isinstance(value, int | float) or isinstance(value, bool):
        raise NgsiError("BadRequestData", "an instance's value must be a number (a Property)")
    if value != value or value in (float("inf"), float("-inf")):
        raise NgsiError("BadRequestData", "value not finite")
    if "observedAt" in body and observed_ms(body["observedAt"], attr) != ts:
        raise NgsiError(
            "BadRequestData", "observedAt identifies the instance here and cannot change"
        )
    if (low is not None and value < low) or (high is not None and value > high):
        raise NgsiError(
            "BadRequestData", f"{metric}={value} ngoài khoảng / outside [{low}, {high}]"
        )
    runtime = runtime_of(request.app)
    await _settle(runtime)
    done = await run_in_threadpool(set_values, runtime.db, series_id, {ts: float(value)})
    if not done.updated:
        raise NgsiError("ResourceNotFound", f"no instance {instance[:120]} of {attr[:80]}")
    await run_in_threadpool(
        tw.record, runtime.db, principal, "modify_instance", entity_id,
        {"attribute": metric, "instanceId": instance, "value": value},
    )  # fmt: skip
    return Response(status_code=204)


@router.delete("/temporal/entities/{entity_id}/attrs/{attr}/{instance}", status_code=204)
async def delete_instance(
    request: Request, entity_id: str, attr: str, instance: str, principal: Principal = WRITE
) -> Response:
    """Delete Attribute instance (§5.6.15)."""
    entity = await _writable_entity(request, principal, entity_id)
    row_id = history.parse_history_id(instance)
    if row_id is not None:
        _info, name = await _attr_info(request, entity, attr)
        runtime = runtime_of(request.app)
        gone = await run_in_threadpool(_delete_history, runtime, entity_id, name, None, row_id)
        if not gone:
            raise NgsiError("ResourceNotFound", f"no instance {instance[:120]} of {attr[:80]}")
        await run_in_threadpool(
            tw.record, runtime.db, principal, "delete_instance", entity_id,
            {"attribute": name, "instanceId": instance},
        )  # fmt: skip
        return Response(status_code=204)
    series_id, _low, _high, metric = await _attr_series(request, entity, attr)
    wanted_series, ts = tw.parse_instance_id(instance)
    if wanted_series != series_id:
        raise NgsiError("ResourceNotFound", f"no instance {instance[:120]} of {attr[:80]}")
    runtime = runtime_of(request.app)
    await _settle(runtime)
    done = await run_in_threadpool(delete_points, runtime.db, series_id, stamps=[ts])
    if not done.deleted:
        raise NgsiError("ResourceNotFound", f"no instance {instance[:120]} of {attr[:80]}")
    await run_in_threadpool(
        tw.record, runtime.db, principal, "delete_instance", entity_id,
        {"attribute": metric, "instanceId": instance},
    )  # fmt: skip
    return Response(status_code=204)


async def _modify_text(
    request: Request, principal: Principal, entity: read.Stored, attr: str, instance: str,
    row_id: int, body: dict[str, Any],
) -> None:  # fmt: skip
    """Modify a non-numeric instance: the body replaces it, at the same time."""
    runtime = runtime_of(request.app)
    context = await get_context(request)
    _info, name = await _attr_info(request, entity, attr)

    def run() -> bool:
        with runtime.db.engine.begin() as connection:
            rows = [
                r for r in history.read_rows(connection, entity.entity_id, None, None, name=name)
                if r[0] == row_id
            ]  # fmt: skip
            if not rows:
                return False
            _id, _name, _dataset, ts, observed, _attr = rows[0]
            given = {k: v for k, v in body.items() if k not in ("datasetId", "instanceId")}
            given.setdefault("type", _attr.get("type", "Property"))
            if "observedAt" in given and (
                not observed or observed_ms(given["observedAt"], attr) != ts
            ):
                raise NgsiError(
                    "BadRequestData", "observedAt identifies the instance here and cannot change"
                )
            parsed = parse_attributes({attr: given}, context, entity.context)
            ((_key, new),) = parsed.items()
            if observed:
                new["observedAt"] = _attr.get("observedAt", new.get("observedAt"))
            return history.modify_row(connection, entity.entity_id, name, row_id, new)

    if not await run_in_threadpool(run):
        raise NgsiError("ResourceNotFound", f"no instance {instance[:120]} of {attr[:80]}")
    await run_in_threadpool(
        tw.record, runtime.db, principal, "modify_instance", entity.entity_id,
        {"attribute": name, "instanceId": instance},
    )  # fmt: skip


# -- reads ----------------------------------------------------------------------------------


def _answer(
    request: Request, body: Any, context: Any, page: temporal.Page, headers: dict[str, str] | None
) -> Response:
    extra = dict(headers or {})
    cut = page.headers()
    if cut:
        extra.update(cut)
    return respond(request, body, context, status=206 if cut else 200, headers=extra or None)


async def _query_answer(
    request: Request,
    runtime: AppRuntime,
    principal: Principal,
    query: EntityQuery,
    context: Any,
    window: Any,
    options: str | None,
    aggrMethods: str | None,
    aggrPeriodDuration: str | None,
    lastN: int | None,
) -> Response:
    """The temporal query's answer, by GET or POST: the selected entities' histories."""
    flags = options_of(options)
    aggregation = parse_aggregation(aggrMethods, aggrPeriodDuration, flags)
    if aggregation is not None:
        await _settle(runtime)
    names = query.names
    entities, total = await query.run(request, principal, context)
    page = temporal.Page(wanted=lastN)
    body = await run_in_threadpool(
        temporal.temporal_entities, runtime, entities, context, window,
        read.NameMatcher(context, names) if names else None, lastN,
        "temporalValues" in flags, aggregation, page,
    )  # fmt: skip
    return _answer(request, body, context, page, query.headers(total))


@router.get("/temporal/entities")
async def query_temporal_entities(
    request: Request,
    runtime: AppRuntime,
    principal: Principal = READ,
    query: EntityQuery = Depends(),  # noqa: B008
    timerel: str | None = None,
    timeAt: str | None = None,
    endTimeAt: str | None = None,
    lastN: int | None = Query(None, ge=1, le=MAX_OFFSET),
    options: str | None = None,
    aggrMethods: str | None = None,
    aggrPeriodDuration: str | None = None,
) -> Response:
    """Query Temporal Evolution of Entities (§5.7.4): the entities ``GET /entities`` would
    select with the same parameters, each as ``GET /temporal/entities/{id}`` answers it;
    ``count=true`` → ``NGSILD-Results-Count``; instances cut → 206 + ``Content-Range``."""
    context = await get_context(request)
    window = temporal.window(timerel, timeAt, endTimeAt)
    return await _query_answer(
        request, runtime, principal, query, context, window,
        options, aggrMethods, aggrPeriodDuration, lastN,
    )  # fmt: skip


@router.post("/temporal/entityOperations/query")
async def batch_query_temporal(
    request: Request,
    runtime: AppRuntime,
    principal: Principal = READ,
    limit: int = Query(20, ge=0, le=MAX_OFFSET),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    count: bool = False,
    lastN: int | None = Query(None, ge=1, le=MAX_OFFSET),
    options: str | None = None,
    aggrMethods: str | None = None,
    aggrPeriodDuration: str | None = None,
) -> Response:
    """Query Temporal Evolution of Entities via POST (§5.7.4 with a Query body, its
    ``temporalQ`` in place of ``timerel``/``timeAt``/``endTimeAt``): the same answers as
    ``GET /temporal/entities``."""
    body, is_jsonld = await read_body(request)
    context = request_context(resolver(runtime), request, body, is_jsonld)
    kw = query_body(body, temporal=True)
    when = kw.pop("temporalQ")
    for member in ("pick", "omit", "lang", "datasetId"):
        if kw.pop(member, None) is not None:
            raise NgsiError("BadRequestData", f"{member} does not apply to a temporal query")
    selectors = kw.pop("selectors", None)
    if selectors:
        kw["type"] = ",".join(sorted({t for s in selectors for t in s.types}))
    query = EntityQuery(**kw, limit=limit, offset=offset, count=count)
    query.selectors = selectors
    window = temporal.window(when.get("timerel"), when.get("timeAt"), when.get("endTimeAt"))
    return await _query_answer(
        request, runtime, principal, query, context, window,
        options, aggrMethods, aggrPeriodDuration, lastN,
    )  # fmt: skip


@router.get("/temporal/entities/{entity_id}")
async def temporal_entity(
    request: Request,
    db: Db,
    runtime: AppRuntime,
    entity_id: str,
    principal: Principal = READ,
    attrs: str | None = None,
    timerel: str | None = None,
    timeAt: str | None = None,
    endTimeAt: str | None = None,
    lastN: int | None = Query(None, ge=1, le=MAX_OFFSET),
    options: str | None = None,
    aggrMethods: str | None = None,
    aggrPeriodDuration: str | None = None,
) -> Response:
    """Retrieve Temporal Evolution of an Entity (§5.7.3)."""
    check_entity_id(entity_id)
    context = await get_context(request)
    entity = await run_in_threadpool(read.retrieve, db, resolver(runtime), principal, entity_id)
    window = temporal.window(timerel, timeAt, endTimeAt)
    flags = options_of(options)
    aggregation = parse_aggregation(aggrMethods, aggrPeriodDuration, flags)
    if aggregation is not None:
        await _settle(runtime)
    names = names_of(attrs)
    page = temporal.Page(wanted=lastN)
    body = await run_in_threadpool(
        temporal.temporal_entity, runtime, entity, context, window,
        read.NameMatcher(context, names) if names else None, lastN,
        "temporalValues" in flags, aggregation, page,
    )  # fmt: skip
    return _answer(request, body, context, page, None)
