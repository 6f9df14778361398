"""Open311 GeoReport v2 at ``/open311/v2`` (http://wiki.open311.org/GeoReport_v2/), JSON and
XML, with the spec's error format (a list of ``{code, description}``).

Paths: ``services.{fmt}``, ``services/{code}.{fmt}``, ``requests.{fmt}`` (GET and POST),
``requests/{id}.{fmt}`` (a list of one, as the spec says) and ``request/{id}.{fmt}`` (one
object, as the official swagger says), ``tokens/{token}.{fmt}``. Parameters are read from the
query and, for POST, from the form body too (the swagger puts them in the query, the spec in
the body). ``jurisdiction_id`` is optional (this server answers for one); a different one is a
404. POST with a registered app's ``api_key`` is unlimited; without one, each client address
may post ``citizen_public_posts_per_minute`` times a minute (429 beyond).

These routes are left out of the IOC's own OpenAPI: their contract is the official swagger,
which tests/citizen/test_open311_schema.py fuzzes against this server.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from taydo.citizen import photos
from taydo.citizen.runtime import PostingParts, publish
from taydo.citizen.service import (
    NewReport,
    agency_list,
    get_by_token,
    get_service,
    list_services,
    open311_requests,
)
from taydo.core.access import Principal, client_address, public
from taydo.core.deps import AppSettings, Db
from taydo.core.errors import Invalid, NotFound, TaydoError
from taydo.core.inputs import parse_moment

__all__ = ["request_item", "router"]

router = APIRouter(prefix="/open311/v2", tags=["open311"], include_in_schema=False)
# Open311 clients are anonymous or identified by ``api_key``: the caller is never looked up.
PUBLIC = public(credentials=False)
MAX_SPAN_DAYS = 90


class Open311Error(TaydoError):
    pass


class _TooMany(TaydoError):
    status_code = 429


def _fmt(response_format: str) -> str:
    fmt = response_format.lower()
    if fmt not in ("json", "xml"):
        raise Invalid("định dạng là json hoặc xml / the format is json or xml")
    return fmt


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_value(child, key, item)
    elif isinstance(value, list):
        singular = {"attributes": "attribute", "values": "value"}.get(name, "item")
        for item in value:
            _xml_value(child, singular, item)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def _answer(fmt: str, body: Any, root: str, item: str, status: int = 200) -> Response:
    if fmt == "json":
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")
    top = ET.Element(root)
    for entry in body if isinstance(body, list) else [body]:
        element = ET.SubElement(top, item) if item else top
        for key, value in entry.items():
            _xml_value(element, key, value)
    data = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return Response(data, status_code=status, media_type="text/xml; charset=utf-8")


def _error(fmt: str, status: int, description: str) -> Response:
    errors = [{"code": status, "description": description}]
    return _answer(fmt, errors, "errors", "error", status)


def _failing(fmt: str, exc: TaydoError) -> Response:
    status = exc.status_code if exc.status_code != 422 else 400  # the spec knows 400, not 422
    return _error(fmt, status, exc.message)


def _check_jurisdiction(params: Any, settings: Any) -> None:
    given = params.get("jurisdiction_id")
    if given and given != settings.citizen_jurisdiction_id:
        raise NotFound(f"không có jurisdiction_id / jurisdiction_id {given!r} not found")


def _english(request: Request) -> bool:
    return request.headers.get("accept-language", "").lower().startswith("en")


def _services_body(services: list[dict[str, Any]], english: bool) -> list[dict[str, Any]]:
    return [
        {
            "service_code": s["code"],
            "service_name": (s["name_en"] or s["name"]) if english else s["name"],
            "description": s["description"],
            "metadata": bool(s["attributes"]),
            "type": "realtime",
            "keywords": s["keywords"],
            "group": s["group"],
        }
        for s in services
    ]


def _definition_body(service: dict[str, Any], english: bool) -> dict[str, Any]:
    attributes = []
    for a in sorted(service["attributes"], key=lambda a: (a["order"], a["code"])):
        entry: dict[str, Any] = {
            "variable": a["variable"],
            "code": a["code"],
            "datatype": a["datatype"],
            "required": a["required"],
            "datatype_description": a["datatype_description"],
            "order": a["order"],
            "description": (a["description_en"] or a["description"])
            if english
            else a["description"],
        }
        if a["values"]:
            entry["values"] = [
                {"key": v["key"], "name": (v["name_en"] or v["name"]) if english else v["name"]}
                for v in a["values"]
            ]
        attributes.append(entry)
    return {"service_code": service["code"], "attributes": attributes}


def request_item(
    report: dict[str, Any], agencies: dict[str, str], base_url: str, english: bool = False
) -> dict[str, Any]:
    """One report as an Open311 request (public fields only; absent values left out)."""
    item: dict[str, Any] = {
        "service_request_id": str(report["id"]),
        "status": report["open311_status"],
        "status_notes": report["status_notes"] or None,
        "service_name": report["service_name_en"] if english else report["service_name"],
        "service_code": report["service_code"],
        "description": report["description"] or None,
        "agency_responsible": agencies.get(report["agency_code"] or "", report["agency_code"]),
        "requested_datetime": report["requested_at"],
        "updated_datetime": report["updated_at"],
        "expected_datetime": report["due_at"],
        "address": report["address"] or None,
        "lat": report["lat"],
        "long": report["lon"],
        "media_url": f"{base_url}/citizen/photos/{report['id']}" if report["has_photo"] else None,
    }
    return {k: v for k, v in item.items() if v is not None}


def _agency_names(database: Any) -> dict[str, str]:
    return {a["code"]: a["name"] for a in agency_list(database)}


@router.get("/services.{response_format}")
async def services(
    request: Request,
    response_format: str,
    db: Db,
    settings: AppSettings,
    _p: Principal | None = PUBLIC,
) -> Response:
    fmt = "json" if response_format.lower() != "xml" else "xml"
    try:
        fmt = _fmt(response_format)
        _check_jurisdiction(request.query_params, settings)
        found = await asyncio.to_thread(list_services, db)
    except TaydoError as exc:
        return _failing(fmt, exc)
    return _answer(fmt, _services_body(found, _english(request)), "services", "service")


@router.get("/services/{service_code}.{response_format}")
async def service_definition(
    request: Request,
    service_code: str,
    response_format: str,
    db: Db,
    settings: AppSettings,
    _p: Principal | None = PUBLIC,
) -> Response:
    fmt = "json" if response_format.lower() != "xml" else "xml"
    try:
        fmt = _fmt(response_format)
        _check_jurisdiction(request.query_params, settings)
        found = await asyncio.to_thread(get_service, db, service_code)
    except TaydoError as exc:
        return _failing(fmt, exc)
    return _answer(fmt, _definition_body(found, _english(request)), "service_definition", "")


def _ids(raw: str) -> list[int]:
    out = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or len(part) > 18:
            raise Invalid(f"service_request_id không hợp lệ / invalid service_request_id {part!r}")
        out.append(int(part))
    return out


def _moment(params: Any, name: str) -> datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return parse_moment(raw)
    except (ValueError, TypeError, OverflowError) as exc:
        raise Invalid(f"{name}: {exc}") from None


def _statuses(raw: str) -> list[str]:
    found = [s.strip().lower() for s in raw.split(",") if s.strip()]
    for status in found:
        if status not in ("open", "closed"):
            raise Invalid(f"status là open hoặc closed / status is open or closed: {status!r}")
    return found


@router.get("/requests.{response_format}")
async def list_requests(
    request: Request,
    response_format: str,
    db: Db,
    settings: AppSettings,
    _p: Principal | None = PUBLIC,
) -> Response:
    fmt = "json" if response_format.lower() != "xml" else "xml"
    params = request.query_params
    try:
        fmt = _fmt(response_format)
        _check_jurisdiction(params, settings)
        ids = _ids(params["service_request_id"]) if params.get("service_request_id") else None
        start, end = _moment(params, "start_date"), _moment(params, "end_date")
        if start and end and (end - start).days > MAX_SPAN_DAYS:
            raise Invalid(
                f"khoảng thời gian tối đa {MAX_SPAN_DAYS} ngày / the span may not exceed "
                f"{MAX_SPAN_DAYS} days"
            )
        found = await asyncio.to_thread(
            open311_requests,
            db,
            ids=ids,
            service_code=params.get("service_code") or None,
            start=start,
            end=end,
            statuses=_statuses(params.get("status", "")),
        )
        names = await asyncio.to_thread(_agency_names, db)
    except TaydoError as exc:
        return _failing(fmt, exc)
    english = _english(request)
    body = [request_item(r, names, settings.public_base_url, english) for r in found]
    return _answer(fmt, body, "service_requests", "request")


async def _one(request: Request, raw_id: str, db: Any, settings: Any) -> dict[str, Any]:
    _check_jurisdiction(request.query_params, settings)
    ids = _ids(raw_id)
    if len(ids) != 1:
        raise NotFound(f"không có phản ánh / no request {raw_id!r}")
    found = await asyncio.to_thread(open311_requests, db, ids=ids)
    if not found:
        raise NotFound(f"không có phản ánh / no request {raw_id!r}")
    names = await asyncio.to_thread(_agency_names, db)
    return request_item(found[0], names, settings.public_base_url, _english(request))


@router.get("/requests/{service_request_id}.{response_format}")
async def get_request(
    request: Request,
    service_request_id: str,
    response_format: str,
    db: Db,
    settings: AppSettings,
    _p: Principal | None = PUBLIC,
) -> Response:
    """The spec's form: a list holding the one request."""
    fmt = "json" if response_format.lower() != "xml" else "xml"
    try:
        fmt = _fmt(response_format)
        item = await _one(request, service_request_id, db, settings)
    except TaydoError as exc:
        return _failing(fmt, exc)
    return _answer(fmt, [item], "service_requests", "request")


@router.get("/request/{service_request_id}.{response_format}")
async def get_request_object(
    request: Request,
    service_request_id: str,
    response_format: str,
    db: Db,
    settings: AppSettings,
    _p: Principal | None = PUBLIC,
) -> Response:
    """The official swagger's form: the request itself."""
    fmt = "json" if response_format.lower() != "xml" else "xml"
    try:
        fmt = _fmt(response_format)
        item = await _one(request, service_request_id, db, settings)
    except TaydoError as exc:
        return _failing(fmt, exc)
    return _answer(fmt, item, "request", "")


@router.get("/tokens/{token_id}.{response_format}")
async def token(
    request: Request,
    token_id: str,
    response_format: str,
    db: Db,
    settings: AppSettings,
    _p: Principal | None = PUBLIC,
) -> Response:
    fmt = "json" if response_format.lower() != "xml" else "xml"
    try:
        fmt = _fmt(response_format)
        _check_jurisdiction(request.query_params, settings)
        found = await asyncio.to_thread(get_by_token, db, token_id)
    except TaydoError as exc:
        return _failing(fmt, exc)
    body = {"service_request_id": str(found["id"]), "token": found["token"]}
    return _answer(fmt, body, "service_requests", "request")


def _attributes(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``attribute[CODE]=v`` (and ``attribute[CODE][]=v`` for lists) into {CODE: v | [v…]}."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if not key.startswith("attribute[") or not isinstance(value, str):
            continue
        code = key[len("attribute[") :].split("]", 1)[0]
        if not code:
            continue
        if key.endswith("[]") or code in out:
            existing = out.get(code)
            out[code] = [
                *(
                    existing
                    if isinstance(existing, list)
                    else [existing]
                    if existing is not None
                    else []
                ),
                value,
            ]
        else:
            out[code] = value
    return out


def _number(params: dict[str, Any], name: str) -> float | None:
    raw = params.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return float(str(raw))
    except ValueError:
        raise Invalid(f"{name}: cần một số / a number is needed") from None


def new_report_from(params: dict[str, Any], attribute_pairs: list[tuple[str, Any]]) -> NewReport:
    """The report a POST describes (Open311 parameter names)."""
    for key, value in attribute_pairs:
        # PostgreSQL refuses NUL in text: refused here, with a reason, before any query.
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise Invalid(f"{key[:40]}: ký tự không hợp lệ / invalid character (NUL)")
    name = " ".join(p for p in (params.get("first_name", ""), params.get("last_name", "")) if p)
    return NewReport(
        service_code=str(params.get("service_code") or ""),
        lat=_number(params, "lat"),
        lon=_number(params, "long"),
        description=str(params.get("description") or ""),
        address=str(params.get("address_string") or ""),
        attributes=_attributes(attribute_pairs),
        contact_name=name,
        contact_email=str(params.get("email") or ""),
        contact_phone=str(params.get("phone") or ""),
    )


async def read_photo(form: FormData, settings: Any) -> str | None:
    """Check, clean and store the ``media`` file of a form; its stored name, or None."""
    upload = form.get("media")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    limit = settings.citizen_photo_max_bytes
    data = await upload.read(limit + 1)
    jpeg = await asyncio.to_thread(photos.clean_photo, data, max_bytes=limit)
    return await asyncio.to_thread(photos.store, settings.citizen_photos_dir, jpeg)


@router.post("/requests.{response_format}")
async def post_request(
    request: Request,
    response_format: str,
    posting: PostingParts,
    _p: Principal | None = PUBLIC,
) -> Response:
    db, settings, parts = posting.db, posting.settings, posting.parts
    fmt = "json" if response_format.lower() != "xml" else "xml"
    stored: str | None = None
    try:
        fmt = _fmt(response_format)
        try:
            form = await request.form(max_files=1, max_fields=200)
        except StarletteHTTPException as exc:  # a malformed body: the spec's error shape
            raise Invalid(str(exc.detail)) from None
        pairs = [*request.query_params.multi_items(), *form.multi_items()]
        params = {k: v for k, v in pairs if isinstance(v, str)}
        _check_jurisdiction(params, settings)
        new = new_report_from(params, pairs)
        key = params.get("api_key")
        if key:
            new.api_key = key  # checked in the filing transaction (403 if unknown or revoked)
        elif not parts.limiter.allow(client_address(request) or "?"):
            raise _TooMany(
                "quá nhiều phản ánh từ địa chỉ này, xin thử lại sau ít phút / too many reports "
                "from this address, try again in a minute"
            )
        stored = await read_photo(form, settings)
        new.photo = stored
        report, event = await parts.writer.file(db, new, client_address(request))
    except TaydoError as exc:
        if stored is not None:
            photos.remove(settings.citizen_photos_dir, stored)
        return _failing(fmt, exc)
    except Exception:  # the report was not filed: its photo must not stay behind
        if stored is not None:
            photos.remove(settings.citizen_photos_dir, stored)
        raise
    await publish(request, event, "created")
    body = [
        {
            "service_request_id": str(report["id"]),
            "token": report["token"],
            "service_notice": f"Dự kiến xử lý trước / expected by {report['due_at']}",
        }
    ]
    return _answer(fmt, body, "service_requests", "request")
