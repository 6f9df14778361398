"""Context source registrations (``/csourceRegistrations``, ETSI GS CIM 009 §5.9) and the
subscriptions to them (``/csourceSubscriptions``, §5.11): created, retrieved, queried,
updated and deleted, validated as the spec says. The entity reads forward to the matching
registrations (``forward.py``); no notification is sent about registrations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from taydo.core.access import Principal, requires
from taydo.core.bounds import MAX_OFFSET
from taydo.core.db import Database
from taydo.core.runtime import runtime_of
from taydo.ingest.ngsild.entity import check_entity_id, parse_time
from taydo.ingest.ngsild.errors import NgsiError
from taydo.ingest.ngsild.handlers import get_context, read_body, resolver
from taydo.ingest.ngsild.http import NgsiRoute, request_context, respond
from taydo.ingest.ngsild.models import SourceResource
from taydo.ingest.ngsild.query import geometry_of, parse_q

__all__ = ["router", "validate_registration", "validate_subscription"]

router = APIRouter(tags=["ngsi-ld"], route_class=NgsiRoute)
READ = requires("catalog:read")
WRITE = requires("catalog:write")
TABLE = cast(Table, SourceResource.__table__)
MAX_LIMIT = 1000
MODES = ("inclusive", "exclusive", "redirect", "auxiliary")


def _bad(detail: str) -> NgsiError:
    return NgsiError("BadRequestData", detail)


def _uri(value: Any, what: str) -> str:
    try:
        return check_entity_id(value)
    except NgsiError as exc:
        raise _bad(f"{what} must be a URI") from exc


def _names(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _bad(f"{what} must be a non-empty array of names")
    if not all(isinstance(v, str) and 0 < len(v) <= 255 for v in value):
        raise _bad(f"{what} must hold names")
    return value


def _entity_infos(value: Any, what: str) -> None:
    """EntityInfo (§5.2.8): a type, and an id or idPattern at most."""
    if not isinstance(value, list) or not value:
        raise _bad(f"{what} must be a non-empty array")
    for info in value:
        if not isinstance(info, dict) or not isinstance(info.get("type"), str | list):
            raise _bad(f"each of {what} needs a type")
        if "id" in info and "idPattern" in info:
            raise _bad(f"{what}: give id or idPattern, not both")
        if "id" in info:
            _uri(info["id"], f"{what} id")
        if "idPattern" in info and not isinstance(info["idPattern"], str):
            raise _bad(f"{what}: idPattern must be a string")


def _time(value: Any, what: str) -> datetime:
    return parse_time(value, what)


def _interval(value: Any, what: str) -> None:
    """TimeInterval (§5.2.11): startAt, and endAt after it when given."""
    if not isinstance(value, dict) or "startAt" not in value:
        raise _bad(f"{what} needs startAt")
    start = _time(value["startAt"], f"{what} startAt")
    if "endAt" in value and _time(value["endAt"], f"{what} endAt") <= start:
        raise _bad(f"{what}: endAt must follow startAt")


def _common(body: Any, kind: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("expected a JSON object")
    if body.get("type") != kind:
        raise _bad(f'type must be "{kind}"')
    out = dict(body)
    out["id"] = _uri(body["id"], "id") if "id" in body else f"urn:ngsi-ld:{kind}:{uuid.uuid4()}"
    if "expiresAt" in body and _time(body["expiresAt"], "expiresAt") <= datetime.now(UTC):
        raise _bad("expiresAt must be in the future")
    for member in ("createdAt", "modifiedAt", "status", "timesSent", "lastNotification"):
        out.pop(member, None)  # system members: the broker's, not the client's
    return out


def validate_registration(body: Any) -> dict[str, Any]:
    """A ContextSourceRegistration (§5.2.9) as it will be stored."""
    out = _common(body, "ContextSourceRegistration")
    information = body.get("information")
    if not isinstance(information, list) or not information:
        raise _bad("information must be a non-empty array of RegistrationInfo")
    for info in information:
        if not isinstance(info, dict) or not (
            {"entities", "propertyNames", "relationshipNames"} & set(info)
        ):
            raise _bad("each RegistrationInfo needs entities, propertyNames or relationshipNames")
        if "entities" in info:
            _entity_infos(info["entities"], "information.entities")
        for member in ("propertyNames", "relationshipNames"):
            if member in info:
                _names(info[member], member)
    endpoint = body.get("endpoint")
    _uri(endpoint, "endpoint")
    for member in ("observationInterval", "managementInterval"):
        if member in body:
            _interval(body[member], member)
    for member in ("location", "observationSpace", "operationSpace"):
        if member in body:
            geometry_of(body[member])
    if "mode" in body and body["mode"] not in MODES:
        raise _bad(f"mode must be one of {', '.join(MODES)}")
    if "operations" in body:
        _names(body["operations"], "operations")
    if "refreshRate" in body and not isinstance(body["refreshRate"], str):
        raise _bad("refreshRate must be a duration text")
    if "contextSourceInfo" in body:
        infos = body["contextSourceInfo"]
        if not isinstance(infos, list) or not all(
            isinstance(i, dict)
            and isinstance(i.get("key"), str)
            and isinstance(i.get("value"), str)
            for i in infos
        ):
            raise _bad("contextSourceInfo must be an array of {key, value} texts")
    return out


def validate_subscription(body: Any) -> dict[str, Any]:
    """A subscription to context source registrations (§5.2.12) as it will be stored."""
    out = _common(body, "Subscription")
    if "entities" not in body and "watchedAttributes" not in body:
        raise _bad("a subscription needs entities or watchedAttributes")
    if "entities" in body:
        _entity_infos(body["entities"], "entities")
    if "watchedAttributes" in body:
        _names(body["watchedAttributes"], "watchedAttributes")
    if "timeInterval" in body and "watchedAttributes" in body:
        raise _bad("timeInterval and watchedAttributes exclude each other")
    if "q" in body:
        if not isinstance(body["q"], str):
            raise _bad("q must be a string")
        parse_q(body["q"])
    if "isActive" in body and not isinstance(body["isActive"], bool):
        raise _bad("isActive must be true or false")
    if "throttling" in body and (
        not isinstance(body["throttling"], int | float) or body["throttling"] < 0
    ):
        raise _bad("throttling must be a number of seconds ≥ 0")
    notification = body.get("notification")
    if not isinstance(notification, dict):
        raise _bad("a subscription needs notification")
    endpoint = notification.get("endpoint")
    if not isinstance(endpoint, dict):
        raise _bad("notification needs an endpoint")
    uri = _uri(endpoint.get("uri"), "notification.endpoint.uri")
    if not uri.startswith(("http://", "https://", "mqtt://", "mqtts://")):
        raise _bad("notification.endpoint.uri must be an http(s) or mqtt(s) URI")
    if notification.get("format", "normalized") not in ("normalized", "keyValues", "concise"):
        raise _bad("notification.format must be normalized, keyValues or concise")
    out["isActive"] = body.get("isActive", True)
    return out


class _Kind:
    def __init__(self, kind: str, path: str, validate: Callable[[Any], dict[str, Any]]) -> None:
        self.kind, self.path, self.validate = kind, path, validate


REGISTRATIONS = _Kind("registration", "/csourceRegistrations", validate_registration)
SUBSCRIPTIONS = _Kind("subscription", "/csourceSubscriptions", validate_subscription)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _shown(row: Any, kind: _Kind, sys_attrs: bool) -> dict[str, Any]:
    body = dict(row.body)
    if kind is SUBSCRIPTIONS:
        expires = body.get("expiresAt")
        expired = expires is not None and _time(expires, "expiresAt") <= _now()
        body["status"] = "expired" if expired else ("active" if body.get("isActive") else "paused")
    elif kind is REGISTRATIONS:
        body["status"] = "ok"
    if sys_attrs:
        body["createdAt"], body["modifiedAt"] = _iso(row.created_at), _iso(row.updated_at)
    return body


def _owner(principal: Principal) -> str | None:
    if principal.role == "agency_officer":
        if not principal.agencies:
            raise NgsiError("BadRequestData", "you belong to no agency", status=403)
        return sorted(principal.agencies)[0]
    return None


def _create(
    database: Database, kind: _Kind, body: dict[str, Any], context: Any, owner: str | None
) -> None:
    now = _now()
    try:
        with database.engine.begin() as connection:
            connection.execute(
                insert(TABLE).values(
                    kind=kind.kind,
                    resource_id=body["id"],
                    agency_code=owner,
                    body=body,
                    context=context,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError as exc:
        raise NgsiError("AlreadyExists", f"{body['id'][:255]} exists") from exc


def _row(database: Database, kind: _Kind, resource_id: str, principal: Principal) -> Any:
    with database.engine.connect() as connection:
        row = connection.execute(
            select(TABLE).where(TABLE.c.kind == kind.kind, TABLE.c.resource_id == resource_id)
        ).first()
    if row is None or not principal.may_see_agency(row.agency_code):
        raise NgsiError("ResourceNotFound", f"không có / no {kind.kind} {resource_id[:255]}")
    return row


def _rows(database: Database, kind: _Kind, principal: Principal) -> list[Any]:
    statement = select(TABLE).where(TABLE.c.kind == kind.kind).order_by(TABLE.c.id)
    if not principal.sees_everything:
        statement = statement.where(TABLE.c.agency_code.in_(sorted(principal.agencies)))
    with database.engine.connect() as connection:
        return list(connection.execute(statement))


def _types_of(body: dict[str, Any], member: str) -> set[str]:
    found: set[str] = set()
    infos = body.get(member) or []
    for info in infos if isinstance(infos, list) else []:
        for sub in info.get("entities", []) if member == "information" else [info]:
            kinds = sub.get("type")
            found.update(kinds if isinstance(kinds, list) else [kinds])
    return found


def _attrs_of(body: dict[str, Any]) -> set[str]:
    found: set[str] = set(body.get("watchedAttributes") or [])
    for info in body.get("information") or []:
        found.update(info.get("propertyNames") or [])
        found.update(info.get("relationshipNames") or [])
    return found


def _register(kind: _Kind) -> None:
    member = "information" if kind is REGISTRATIONS else "entities"

    @router.post(kind.path, status_code=201, name=f"create_{kind.kind}")
    async def create(request: Request, principal: Principal = WRITE) -> Response:
        body, is_jsonld = await read_body(request)
        contexts = resolver(runtime_of(request.app))
        context = request_context(contexts, request, body, is_jsonld)
        valid = kind.validate({k: v for k, v in body.items() if k != "@context"}
                              if isinstance(body, dict) else body)  # fmt: skip
        owner = _owner(principal)
        await run_in_threadpool(
            _create, runtime_of(request.app).db, kind, valid, context.value, owner
        )
        location = f"/ngsi-ld/v1{kind.path}/{quote(valid['id'], safe=':/')}"
        return Response(status_code=201, headers={"Location": location})

    @router.get(kind.path, name=f"query_{kind.kind}s")
    async def query(
        request: Request,
        principal: Principal = READ,
        type: str | None = None,
        id: str | None = None,
        attrs: str | None = None,
        limit: int = Query(20, ge=0, le=MAX_OFFSET),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        count: bool = False,
        options: str | None = None,
    ) -> Response:
        if limit > MAX_LIMIT:
            raise NgsiError("TooManyResults", f"limit must be ≤ {MAX_LIMIT}")
        context = await get_context(request)
        rows = await run_in_threadpool(_rows, runtime_of(request.app).db, kind, principal)
        types = {context.expand(t) for t in type.split(",")} if type else None
        ids = set(id.split(",")) if id else None
        names = {context.expand(a) for a in attrs.split(",")} if attrs else None
        chosen = []
        for row in rows:
            stored = resolver(runtime_of(request.app)).resolve(row.context) if row.context else (
                resolver(runtime_of(request.app)).core
            )  # fmt: skip
            if ids is not None and row.resource_id not in ids:
                continue
            if types is not None and not types & {
                stored.expand(t) for t in _types_of(row.body, member)
            }:
                continue
            if names is not None and not names & {stored.expand(a) for a in _attrs_of(row.body)}:
                continue
            chosen.append(row)
        sys_attrs = "sysAttrs" in (options or "")
        page = [_shown(r, kind, sys_attrs) for r in chosen[offset : offset + limit]]
        headers = {"NGSILD-Results-Count": str(len(chosen))} if count else None
        return respond(request, page, context, headers=headers)

    @router.get(kind.path + "/{resource_id:path}", name=f"retrieve_{kind.kind}")
    async def retrieve(
        request: Request, resource_id: str, principal: Principal = READ, options: str | None = None
    ) -> Response:
        _uri(resource_id, "id")
        context = await get_context(request)
        row = await run_in_threadpool(
            _row, runtime_of(request.app).db, kind, resource_id, principal
        )
        return respond(request, _shown(row, kind, "sysAttrs" in (options or "")), context)

    @router.patch(kind.path + "/{resource_id:path}", status_code=204, name=f"update_{kind.kind}")
    async def update_(request: Request, resource_id: str, principal: Principal = WRITE) -> Response:
        _uri(resource_id, "id")
        body, is_jsonld = await read_body(request)
        if not isinstance(body, dict) or not body:
            raise _bad("expected a non-empty JSON object of members to change")
        request_context(resolver(runtime_of(request.app)), request, body, is_jsonld)
        changes = {k: v for k, v in body.items() if k != "@context"}
        if changes.get("id", resource_id) != resource_id:
            raise _bad("the id cannot change")
        database = runtime_of(request.app).db
        row = await run_in_threadpool(_row, database, kind, resource_id, principal)
        if not principal.may_write_agency(row.agency_code):
            raise NgsiError("ResourceNotFound", f"no {kind.kind} {resource_id[:255]}")
        merged = {**row.body, **changes}
        merged = {k: v for k, v in merged.items() if v != "urn:ngsi-ld:null"}
        valid = kind.validate(merged)

        def store() -> None:
            with database.engine.begin() as connection:
                connection.execute(
                    update(TABLE).where(TABLE.c.id == row.id).values(body=valid, updated_at=_now())
                )

        await run_in_threadpool(store)
        return Response(status_code=204)

    @router.delete(kind.path + "/{resource_id:path}", status_code=204, name=f"delete_{kind.kind}")
    async def remove(request: Request, resource_id: str, principal: Principal = WRITE) -> Response:
        _uri(resource_id, "id")
        database = runtime_of(request.app).db
        row = await run_in_threadpool(_row, database, kind, resource_id, principal)
        if not principal.may_write_agency(row.agency_code):
            raise NgsiError("ResourceNotFound", f"no {kind.kind} {resource_id[:255]}")

        def drop() -> None:
            with database.engine.begin() as connection:
                connection.execute(delete(TABLE).where(TABLE.c.id == row.id))

        await run_in_threadpool(drop)
        return Response(status_code=204)


_register(REGISTRATIONS)
_register(SUBSCRIPTIONS)
