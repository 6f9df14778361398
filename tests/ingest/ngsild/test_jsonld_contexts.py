"""/ngsi-ld/v1/jsonldContexts (ETSI GS CIM 009 §5.13) over the local context store: list,
serve, host, use, delete."""

from __future__ import annotations

import json

from .conftest import SDM_URL

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
WQ = SDM_URL.format(repo="dataModel.WaterQuality")
MINE = {
    "@context": {
        "mucNuoc": "https://cantho.gov.vn/ioc/terms#waterLevel",
        "Tram": "https://cantho.gov.vn/ioc/terms#Station",
    }
}


def test_contexts_are_listed_and_served_to_anyone(client) -> None:  # type: ignore[no-untyped-def]
    urls = client.get("/ngsi-ld/v1/jsonldContexts").json()
    assert WQ in urls and urls[0].startswith("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context")
    detailed = client.get("/ngsi-ld/v1/jsonldContexts", params={"details": "true"}).json()
    by_url = {e["URL"]: e for e in detailed}
    assert by_url[WQ]["kind"] == "Cached" and by_url[WQ]["localId"]
    served = client.get(f"/ngsi-ld/v1/jsonldContexts/{by_url[WQ]['localId']}")
    assert served.status_code == 200 and "@context" in served.json()
    core = client.get("/ngsi-ld/v1/jsonldContexts/core")
    assert core.status_code == 200 and "@context" in core.json()
    assert client.get("/ngsi-ld/v1/jsonldContexts", params={"kind": "Hosted"}).json() == []
    bad_kind = client.get("/ngsi-ld/v1/jsonldContexts", params={"kind": "Other"})
    assert bad_kind.status_code == 400 and bad_kind.json()["type"] == ERR + "BadRequestData"
    missing = client.get("/ngsi-ld/v1/jsonldContexts/khong-co")
    assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"


def test_a_hosted_context_is_used_then_deleted(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    refused = client.post("/ngsi-ld/v1/jsonldContexts", json=MINE, headers=headers_for("operator"))
    assert refused.status_code == 403
    hosted = client.post("/ngsi-ld/v1/jsonldContexts", json=MINE, headers=admin)
    assert hosted.status_code == 201, hosted.text
    location = hosted.headers["location"]
    assert location.startswith("/ngsi-ld/v1/jsonldContexts/")
    assert client.get(location).json() == MINE
    url = "http://testserver" + location
    listed = client.get("/ngsi-ld/v1/jsonldContexts", params={"kind": "Hosted"}).json()
    assert listed == [url]

    # a client names it in its Link header, even by another host name
    for host in ("http://testserver", "https://ioc.cantho.gov.vn"):
        link = {"Link": f"<{host}{location}>; {REL}"}
        entity = {
            "id": f"urn:ngsi-ld:Tram:{len(host)}",
            "type": "Tram",
            "mucNuoc": {"type": "Property", "value": 1.92},
        }
        created = client.post("/ngsi-ld/v1/entities", json=entity, headers={**admin, **link})
        assert created.status_code == 201, created.text
        plain = client.get(f"/ngsi-ld/v1/entities/{entity['id']}", headers=admin).json()
        assert plain["type"] == "https://cantho.gov.vn/ioc/terms#Station"

    assert client.delete(location, headers=headers_for("operator")).status_code == 403
    assert client.delete(location, headers=admin).status_code == 204
    assert client.get(location).status_code == 404
    gone = client.post(
        "/ngsi-ld/v1/entities",
        json={"id": "urn:ngsi-ld:Tram:9", "type": "Tram"},
        headers={**admin, "Link": f"<{url}>; {REL}"},
    )
    assert gone.status_code == 503 and gone.json()["type"] == ERR + "LdContextNotAvailable"
    core = client.delete("/ngsi-ld/v1/jsonldContexts/core", headers=admin)
    assert core.status_code == 400


def test_what_is_not_a_context_is_refused(client, headers_for) -> None:  # type: ignore[no-untyped-def]
    admin = headers_for("admin")
    for body in ([], {"no": "context"}, {"@context": 3}):
        answer = client.post(
            "/ngsi-ld/v1/jsonldContexts",
            content=json.dumps(body),
            headers={**admin, "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, (body, answer.text)
    unknown_import = {"@context": ["https://example.org/khong-co.jsonld"]}
    answer = client.post("/ngsi-ld/v1/jsonldContexts", json=unknown_import, headers=admin)
    assert answer.status_code == 503
