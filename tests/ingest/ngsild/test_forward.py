"""Reads forwarded to registered context sources: real HTTP servers in the test play the
sources; inclusive answers merge in, auxiliary ones only fill gaps, exclusive/redirect
registrations and ``local=true`` are not forwarded, a failing source gives a partial
answer with a warning, and the ``Via`` header stops a broker that registered itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from taydo.app import create_app
from tests.serving import free_port, serve_in_thread

from .conftest import LD, SDM_URL

WQ = SDM_URL.format(repo="dataModel.WaterQuality")
LINK_WQ = {
    "Link": f'<{WQ}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
}
KIND = "WaterQualityObserved"
F1 = "urn:ngsi-ld:WaterQualityObserved:F1"
F9 = "urn:ngsi-ld:WaterQualityObserved:F9"
T1, T2 = "2026-11-20T01:00:00Z", "2026-11-20T02:00:00Z"


def prop(value: Any, when: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "Property", "value": value}
    if when:
        out["observedAt"] = when
    return out


class Source:
    """A context source: answers GET /ngsi-ld/v1/entities[/{id}] from ``entities`` and
    records each request; ``status`` other than 200 plays a failing source, 0 one that never
    answers in time, -1 one that sends its answer a byte at a time (until ``hang`` is set)."""

    def __init__(self, entities: list[dict[str, Any]], status: int = 200) -> None:
        self.entities = {e["id"]: e for e in entities}
        self.status = status
        self.hang = threading.Event() if status <= 0 else None
        self.seen: list[dict[str, Any]] = []
        app = FastAPI()

        @app.get("/ngsi-ld/v1/entities/{entity_id}")
        def one(entity_id: str, request: Request) -> Any:
            return self._answer(request, [self.entities.get(entity_id)], single=True)

        @app.get("/ngsi-ld/v1/entities")
        def many(request: Request) -> Any:
            kinds = set((request.query_params.get("type") or "").split(","))
            chosen = [e for e in self.entities.values() if e["type"] in kinds]
            return self._answer(request, chosen, single=False)

        self.app = app

    def _answer(self, request: Request, found: list[Any], *, single: bool) -> Any:
        self.seen.append({"path": request.url.path, "params": dict(request.query_params),
                          "headers": dict(request.headers)})  # fmt: skip
        if self.status == -1:
            assert self.hang is not None
            hang = self.hang

            def drip() -> Iterator[bytes]:
                while not hang.wait(0.2):
                    yield b" "

            return StreamingResponse(drip(), media_type="application/json")
        if self.hang is not None:
            self.hang.wait(10)
        if self.status != 200:
            return JSONResponse({"type": "InternalError"}, status_code=self.status)
        attrs = request.query_params.get("attrs")
        wanted = set(attrs.split(",")) if attrs else None
        shown = [
            {k: v for k, v in e.items() if k in ("id", "type") or wanted is None or k in wanted}
            for e in found
            if e is not None
        ]
        if single:
            return shown[0] if shown else JSONResponse({}, status_code=404)
        return shown


@pytest.fixture
def serve() -> Iterator[Any]:
    with ExitStack() as stack:

        def start(source: Source) -> str:
            return stack.enter_context(serve_in_thread(source.app))

        yield start


def register(client, auth, endpoint: str, **more: Any) -> None:  # type: ignore[no-untyped-def]
    body = {
        "type": "ContextSourceRegistration",
        "information": [{"entities": [{"type": KIND}]}],
        "endpoint": endpoint,
        **more,
        "@context": [WQ],
    }
    made = client.post("/ngsi-ld/v1/csourceRegistrations", json=body, headers={**auth, **LD})
    assert made.status_code == 201, made.text


@pytest.fixture
def auth(client, headers_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers = headers_for("admin")
    local = {
        "id": F1, "type": KIND, "salinity": prop(2.0, T1), "name": prop("Trạm Ninh Kiều"),
        "@context": [WQ],
    }  # fmt: skip
    made = client.post("/ngsi-ld/v1/entities", json=local, headers={**headers, **LD})
    assert made.status_code == 201, made.text
    return headers


INCLUSIVE = [
    {"id": F1, "type": KIND, "salinity": prop(9.0, T2), "turbidity": prop(3.0)},
    {"id": F9, "type": KIND, "salinity": prop(0.5, T1)},
]
AUXILIARY = [{"id": F1, "type": KIND, "name": prop("aux"), "pH": prop(6.5), "turbidity": prop(99)}]


def values(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v["value"] for k, v in body.items() if isinstance(v, dict) and "value" in v}


def test_retrieve_merges_inclusive_then_auxiliary(client, auth, serve) -> None:  # type: ignore[no-untyped-def]
    inclusive, auxiliary, exclusive = Source(INCLUSIVE), Source(AUXILIARY), Source(INCLUSIVE)
    info = [{"key": "X-Ok", "value": "yes"}, {"key": "X-Area", "value": "Cần Thơ"},
            {"key": "X-Split", "value": "a\r\nX-Evil: 1"}]  # fmt: skip
    register(client, auth, serve(inclusive), contextSourceInfo=info)
    register(client, auth, serve(auxiliary) + "/", mode="auxiliary",
             information=[{"propertyNames": ["name", "pH", "turbidity"]}])  # fmt: skip
    register(client, auth, serve(exclusive), mode="exclusive")
    headers = {**auth, **LINK_WQ}
    got = client.get(f"/ngsi-ld/v1/entities/{F1}", headers=headers)
    assert got.status_code == 200, got.text
    assert "NGSILD-Warning" not in got.headers
    assert values(got.json()) == {
        "salinity": 9.0,  # the source's is newer
        "name": "Trạm Ninh Kiều",  # auxiliary never overrides
        "turbidity": 3.0,  # inclusive first
        "pH": 6.5,  # auxiliary fills the gap
    }
    assert got.json()["salinity"]["observedAt"] == T2
    asked = inclusive.seen[-1]
    assert asked["path"] == f"/ngsi-ld/v1/entities/{F1}"
    assert "taydo-" in asked["headers"]["via"] and WQ in asked["headers"]["link"]
    # contextSourceInfo goes out as headers, except what would not make a valid header
    assert asked["headers"]["x-ok"] == "yes"
    assert not {"x-area", "x-split", "x-evil"} & set(asked["headers"])
    assert auxiliary.seen[-1]["params"]["attrs"] == "name,pH,turbidity"
    assert exclusive.seen == []  # exclusive registrations are not forwarded to
    kv = client.get(f"/ngsi-ld/v1/entities/{F1}", headers=headers,
                    params={"options": "keyValues", "attrs": "pH,salinity"})  # fmt: skip
    assert kv.json() == {"id": F1, "type": KIND, "pH": 6.5, "salinity": 9.0}
    local = client.get(f"/ngsi-ld/v1/entities/{F1}", headers=headers, params={"local": "true"})
    assert values(local.json()) == {"salinity": 2.0, "name": "Trạm Ninh Kiều"}
    only_remote = client.get(f"/ngsi-ld/v1/entities/{F9}", headers=headers)
    assert only_remote.status_code == 200 and values(only_remote.json()) == {"salinity": 0.5}
    nobody = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:WaterQualityObserved:X", headers=headers)
    assert nobody.status_code == 404
    bad = client.get(f"/ngsi-ld/v1/entities/{F1}", headers=headers, params={"local": "maybe"})
    assert bad.status_code == 400


def test_query_merges_and_adds_what_only_sources_hold(client, auth, serve) -> None:  # type: ignore[no-untyped-def]
    inclusive, other = Source(INCLUSIVE), Source(INCLUSIVE)
    register(client, auth, serve(inclusive))
    register(client, auth, serve(other), information=[{"entities": [{"type": "Other"}]}])
    headers = {**auth, **LINK_WQ}
    got = client.get("/ngsi-ld/v1/entities", params={"type": KIND, "count": "true"},
                     headers=headers)  # fmt: skip
    assert got.status_code == 200, got.text
    body = {e["id"]: values(e) for e in got.json()}
    assert body == {
        F1: {"salinity": 9.0, "name": "Trạm Ninh Kiều", "turbidity": 3.0},
        F9: {"salinity": 0.5},
    }
    assert got.headers["NGSILD-Results-Count"] == "2"
    assert inclusive.seen[-1]["params"]["type"] == KIND
    assert other.seen == []  # its registration names another type
    one = client.get("/ngsi-ld/v1/entities", params={"type": KIND, "limit": 1}, headers=headers)
    assert [e["id"] for e in one.json()] == [F1]
    local = client.get("/ngsi-ld/v1/entities", params={"type": KIND, "local": "true"},
                       headers=headers)  # fmt: skip
    assert [e["id"] for e in local.json()] == [F1]


def test_a_failing_source_gives_a_partial_answer(client, auth, serve) -> None:  # type: ignore[no-untyped-def]
    good, broken, slow = Source(INCLUSIVE), Source(INCLUSIVE, 500), Source(INCLUSIVE, 0)
    drip = Source(INCLUSIVE, -1)
    register(client, auth, serve(good), id="urn:ngsi-ld:ContextSourceRegistration:good")
    register(client, auth, serve(broken), id="urn:ngsi-ld:ContextSourceRegistration:broken")
    register(client, auth, f"http://127.0.0.1:{free_port()}",
             id="urn:ngsi-ld:ContextSourceRegistration:down")  # fmt: skip
    register(client, auth, serve(slow), id="urn:ngsi-ld:ContextSourceRegistration:slow")
    register(client, auth, serve(drip), id="urn:ngsi-ld:ContextSourceRegistration:drip")
    try:
        got = client.get(f"/ngsi-ld/v1/entities/{F1}", headers={**auth, **LINK_WQ})
        assert got.status_code == 200, got.text
        assert values(got.json())["turbidity"] == 3.0  # the good one still counts
        warning = got.headers["NGSILD-Warning"]
        assert all(name in warning for name in ("broken", "down", "slow", "drip"))
        assert "good" not in warning
        listed = client.get("/ngsi-ld/v1/entities", params={"type": KIND},
                            headers={**auth, **LINK_WQ})  # fmt: skip
        assert listed.status_code == 200 and "NGSILD-Warning" in listed.headers
    finally:
        for source in (slow, drip):
            assert source.hang is not None
            source.hang.set()


def test_via_stops_a_broker_that_registered_itself(settings, database, headers_for) -> None:  # type: ignore[no-untyped-def]
    auth = headers_for("admin")
    served = serve_in_thread(create_app(settings, database=database))
    with served as base, httpx.Client(base_url=base, timeout=30) as http:
        made = http.post("/ngsi-ld/v1/entities", headers={**auth, **LD}, json={
            "id": F1, "type": KIND, "salinity": prop(2.0, T1), "@context": [WQ],
        })  # fmt: skip
        assert made.status_code == 201, made.text
        # The source's credentials: contextSourceInfo entries go out as headers.
        info = [{"key": "Authorization", "value": auth["Authorization"]}]
        register(http, auth, base, contextSourceInfo=info)
        got = http.get(f"/ngsi-ld/v1/entities/{F1}", headers={**auth, **LINK_WQ})
        assert got.status_code == 200, got.text
        assert "NGSILD-Warning" not in got.headers  # one hop, answered locally
        assert values(got.json()) == {"salinity": 2.0}
