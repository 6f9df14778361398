"""Query Temporal Evolution of Entities via POST (ETSI GS CIM 009 v1.8 §5.7.4 with a Query
body, ``POST /temporal/entityOperations/query``): the answers of ``GET /temporal/entities``
with the same selection, the time window from the body's ``temporalQ``."""

from __future__ import annotations

from typing import Any

import pytest

from .test_api import ERR, LINK_WQ
from .test_temporal_api import BASE, at, create, history, temporal_entity

QUERY = "/ngsi-ld/v1/temporal/entityOperations/query"


@pytest.fixture
def auth(headers_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return headers_for("admin")


def _stations(client, auth) -> None:  # type: ignore[no-untyped-def]
    for local, base in (("TQ1", 1.0), ("TQ2", 5.0), ("TQ3", 9.0)):
        body = temporal_entity(f"urn:ngsi-ld:WaterQualityObserved:{local}",
                               **history([(at(h), base + h) for h in range(1, 5)]))  # fmt: skip
        made = create(client, auth, body)
        assert made.status_code == 201, made.text


def _post(client, auth, body: dict[str, Any], **params: Any) -> Any:  # type: ignore[no-untyped-def]
    return client.post(QUERY, json=body, params=params, headers={**auth, **LINK_WQ})


def test_post_answers_as_get(client, auth) -> None:  # type: ignore[no-untyped-def]
    _stations(client, auth)
    window = {"timerel": "between", "timeAt": at(2), "endTimeAt": at(4)}
    pairs = [
        ({"type": "WaterQualityObserved", **window},
         {"type": "Query", "entities": [{"type": "WaterQualityObserved"}], "temporalQ": window},
         {}),
        ({"type": "WaterQualityObserved", "q": "salinity>6", "attrs": "salinity"},
         {"type": "Query", "entities": [{"type": "WaterQualityObserved"}], "q": "salinity>6",
          "attrs": ["salinity"]},
         {"lastN": 2, "options": "temporalValues"}),
        ({"idPattern": "TQ[12]$", "timerel": "after", "timeAt": at(3)},
         {"type": "Query", "entities": [{"idPattern": "TQ[12]$", "type": "WaterQualityObserved"}],
          "temporalQ": {"timerel": "after", "timeAt": at(3)}},
         {"count": "true", "limit": 1}),
        ({"type": "WaterQualityObserved"},
         {"type": "Query", "entities": [{"type": "WaterQualityObserved"}]},
         {"aggrMethods": "max,sum", "aggrPeriodDuration": "PT1H"}),
    ]  # fmt: skip
    for get_params, body, shared in pairs:
        got = client.get(BASE, params={**get_params, **shared}, headers={**auth, **LINK_WQ})
        posted = _post(client, auth, body, **shared)
        assert got.status_code == 200, got.text
        assert (posted.status_code, posted.json()) == (200, got.json()), posted.text
        assert posted.headers.get("NGSILD-Results-Count") == got.headers.get("NGSILD-Results-Count")
    # the window is applied: only the instances between 02:00 and 04:00 (end excluded)
    answer = _post(client, auth, pairs[0][1]).json()
    first = next(e for e in answer if e["id"].endswith("TQ1"))
    assert [i["observedAt"] for i in first["salinity"]] == [at(2), at(3)]


def test_temporal_batch_query_errors(client, auth, headers_for) -> None:  # type: ignore[no-untyped-def]
    selector = {"type": "Query", "entities": [{"type": "WaterQualityObserved"}]}
    for bad, status, kind in (
        ({"entities": [{"type": "T"}]}, 400, "BadRequestData"),  # not a Query
        ({"type": "Query"}, 400, "BadRequestData"),  # nothing selects
        ({**selector, "temporalQ": {"timerel": "before"}}, 400, "BadRequestData"),  # no timeAt
        ({**selector, "temporalQ": {"timerel": "sometime", "timeAt": at(1)}}, 400,
         "BadRequestData"),
        ({**selector, "temporalQ": {"timerel": "between", "timeAt": at(2)}}, 400,
         "BadRequestData"),  # no endTimeAt
        ({**selector, "temporalQ": {"bogus": 1}}, 400, "BadRequestData"),
        ({**selector, "temporalQ": "after"}, 400, "BadRequestData"),
        ({**selector, "temporalQ": {"timeproperty": "modifiedAt", "timerel": "after",
                                    "timeAt": at(1)}}, 422, "OperationNotSupported"),
        ({**selector, "csf": "x"}, 422, "OperationNotSupported"),
        ({**selector, "pick": ["salinity"]}, 400, "BadRequestData"),
        ({**selector, "entities": [{"idPattern": "(a)\\1", "type": "T"}]}, 400,
         "BadRequestData"),
    ):  # fmt: skip
        refused = _post(client, auth, bad)
        assert (refused.status_code, refused.json()["type"]) == (status, ERR + kind), (
            bad, refused.text)  # fmt: skip
    not_json = client.post(
        QUERY, content=b"{", headers={**auth, "Content-Type": "application/json"}
    )
    assert (not_json.status_code, not_json.json()["type"]) == (400, ERR + "InvalidRequest")
    assert client.post(QUERY, json=selector).status_code == 401
