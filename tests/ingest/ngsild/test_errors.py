"""Refusals exactly as ETSI GS CIM 009 says: ProblemDetails with the spec's type, for every
address and method under /ngsi-ld/v1, for a Link header beside a JSON-LD body, an empty batch,
and a context nobody can fetch."""

from __future__ import annotations

import json

import pytest

from .conftest import LD

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"


def problem(answer, status: int, kind: str) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["type"] == ERR + kind and body["status"] == status
    assert body["title"] and body["detail"]
    assert "detail" in body and "error" not in body  # never the console's shape
    return body


@pytest.mark.parametrize(
    "path", ["/ngsi-ld/v1/khong-co", "/ngsi-ld/v1/entities/urn:x:1/khong/co", "/ngsi-ld/v1/"]
)
def test_an_unknown_address_is_resource_not_found(client, headers_for, path: str) -> None:  # type: ignore[no-untyped-def]
    problem(client.get(path, headers=headers_for("admin")), 404, "ResourceNotFound")
    problem(client.get(path), 404, "ResourceNotFound")  # the same without credentials


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/ngsi-ld/v1/entities", {"GET", "POST"}),
        ("POST", "/ngsi-ld/v1/entities/urn:ngsi-ld:T:1", {"GET", "DELETE"}),
        ("GET", "/ngsi-ld/v1/entityOperations/upsert", {"POST"}),
    ],
)
def test_a_method_the_address_does_not_take_is_405_with_allow(  # type: ignore[no-untyped-def]
    client, headers_for, method: str, path: str, allowed: set[str]
) -> None:
    answer = client.request(method, path, headers=headers_for("admin"), json={})
    problem(answer, 405, "OperationNotSupported")
    assert allowed <= {m.strip() for m in answer.headers["allow"].split(",")}


def test_a_link_header_beside_a_jsonld_body_is_bad_request_data(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    entity = {"id": "urn:ngsi-ld:T:1", "type": "T", "@context": [CORE]}
    answer = client.post(
        "/ngsi-ld/v1/entities",
        headers={**headers_for("admin"), **LD, "Link": f"<{CORE}>; {REL}"},
        content=json.dumps(entity),
    )
    problem(answer, 400, "BadRequestData")
    assert (
        client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:T:1", headers=headers_for("admin")).status_code
        == 404
    )


@pytest.mark.parametrize("operation", ["create", "upsert", "update", "delete"])
def test_an_empty_batch_is_bad_request_data(client, headers_for, operation: str) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(
        f"/ngsi-ld/v1/entityOperations/{operation}", headers=headers_for("admin"), json=[]
    )
    problem(answer, 400, "BadRequestData")


@pytest.mark.parametrize(
    "url",
    [
        "https://uri.etsi.org/ngsi-ld/v9.9/ngsi-ld-core-context-v9.9.jsonld",  # unknown version
        "http://[::1",  # malformed
        "not a url",
        "http://",
        "file:///etc/passwd",
        "http://127.0.0.1:9/context.jsonld",  # nobody there
    ],
)
def test_a_context_that_cannot_be_had_is_503_never_500(client, headers_for, url: str) -> None:  # type: ignore[no-untyped-def]
    linked = client.post(
        "/ngsi-ld/v1/entities",
        headers={**headers_for("admin"), "Link": f"<{url}>; {REL}"},
        json={"id": "urn:ngsi-ld:T:2", "type": "T"},
    )
    assert url[:20] in problem(linked, 503, "LdContextNotAvailable")["detail"]
    inline = client.post(
        "/ngsi-ld/v1/entities",
        headers={**headers_for("admin"), **LD},
        content=json.dumps({"id": "urn:ngsi-ld:T:2", "type": "T", "@context": url}),
    )
    problem(inline, 503, "LdContextNotAvailable")
