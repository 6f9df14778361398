"""Every console page, as addresses on the demo's data, and what a first visit of one weighs.

One list serves the every-page browser test (``tests/web/test_every_page_browser.py``: no error,
no sideways scroll, the page-weight budget) and the page-weight benchmark
(``benchmarks/page_weight.py``), so both visit the same pages and a new page is weighed the day
the test makes it listed.

``PAGES`` maps each page route (its path as declared) to the addresses visited for it;
``{name}`` is one of the demo's ids, filled in by whoever runs the visit (an alert of each rule
kind the demo raises, a station of each kind, the first incident, directive, report, KPI, a
citizen's status token, a quarantined input).

``find_ids`` and ``file_inputs`` fill in, over the running demo's HTTP API, the ids the
addresses need beyond the alerts (which whoever raises them knows): a station of each kind, the
first incident, directive, report and KPI, a citizen's report filed over Open311, a quarantined
input. ``post_rise`` raises the demo's water-level alarms (a fast rise at Cần Thơ, after the
demo's history). The every-page and words browser tests and the benchmark share them.

``Weigher`` counts what the browser received for one page through the Chrome DevTools Protocol
(a CDP session Playwright opens): the bytes on the wire (compressed where the server
compresses, headers included, as DevTools' "transferred") and the bytes of the bodies once
decoded. It imports nothing of Playwright, so the IOC does not need it installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "BUDGET_KB",
    "CAN_THO",
    "PAGES",
    "RISE",
    "Resource",
    "Weigher",
    "addresses",
    "file_inputs",
    "find_ids",
    "post_rise",
]

# The page-weight budget of issue 16: what a first visit (empty cache) may transfer.
BUDGET_KB = 400.0

CAN_THO = "urn:ngsi-ld:WaterObserved:can-tho"  # the pack's main water-level station

PAGES: dict[str, tuple[str, ...]] = {
    "/": ("/", "/?wall=1"),  # the overview, and the wall screen (a display, 1920×1080)
    "/login": ("/login",),
    "/display": ("/display",),
    "/alerts": ("/alerts", "/alerts?open=all", "/alerts?open=all&group=0"),
    "/alerts/{alert_id}": ("/alerts/{level_alert}", "/alerts/{rate_alert}", "/alerts/{ward_alert}"),
    "/areas": ("/areas",),
    "/entities/{entity_id}": (
        "/entities/" + CAN_THO,
        "/entities/{air}",
        "/entities/{salt}",
        "/entities/{traffic}",
        "/entities/{service}",
    ),
    "/data": ("/data",),
    "/data/upload": ("/data/upload",),
    "/data/quarantine/{entry_id}": ("/data/quarantine/{quarantined}",),
    "/incidents": ("/incidents",),
    "/incidents/new": ("/incidents/new",),
    "/incidents/{incident_id}": ("/incidents/{incident}",),
    "/directives": ("/directives",),
    "/directives/mine": ("/directives/mine",),
    "/directives/{directive_id}": ("/directives/{directive}",),
    "/citizen/report": ("/citizen/report",),
    "/citizen/r/{token}": ("/citizen/r/{citizen_token}",),
    "/citizen/reports": ("/citizen/reports",),
    "/citizen/reports/{report_id}": ("/citizen/reports/{report}",),
    "/kpi": ("/kpi", "/kpi?wall=1"),
    "/kpi/{code}": ("/kpi/{kpi}",),
    "/dti": ("/dti",),
    "/scorecards": ("/scorecards",),
    "/reports": ("/reports",),
    "/workforce": ("/workforce",),
    "/workforce/import": ("/workforce/import",),
    "/api/docs": ("/api/docs",),
}


def addresses(ids: dict[str, str]) -> list[tuple[str, str]]:
    """(route, address) of every page, the demo's ids filled in, in the list's order."""
    return [
        (route, pattern.format(**ids)) for route, patterns in PAGES.items() for pattern in patterns
    ]


# The station pages visited besides the Cần Thơ water level: (entity type, id name in PAGES).
STATION_KINDS = (
    ("AirQualityObserved", "air"),
    ("WaterQualityObserved", "salt"),
    ("TrafficFlowObserved", "traffic"),
    ("PublicServiceRecord", "service"),
)
# What the demo writes first (taydo.demo's incidents, directives, reports, KPIs): fixed ids.
FIRST = {"incident": "1", "directive": "1", "report": "1", "kpi": "muc-nuoc-tren-bd2"}


def _rows(found: Any) -> list[dict[str, Any]]:
    """A list answer's rows, paged (``{"items": [...]}``) or plain."""
    return list(found["items"] if isinstance(found, dict) else found)


RISE = (0.6, 0.7, 1.5, 2.1, 2.4)  # metres at CAN_THO: a fast rise past Báo động 3 (2.00 m)


def post_rise(api: httpx.Client, history_step_ms: int, now_ms: int) -> None:
    """Post ``RISE`` at ``CAN_THO``, a minute apart up to ``now_ms``, all after the history.

    The demo writes its history up to the last multiple of ``history_step_ms`` (its
    ``backfill_step_s``), and the rules engine ignores a point older than the last one it has
    seen of a series: a rise posted at fixed offsets from now raised nothing in the minutes
    after each history tick. The rise is squeezed between that tick and ``now_ms`` when they
    are closer than its five minutes (the rules that fire here hold for no duration).
    ``api`` as for ``find_ids``.
    """
    last_tick = now_ms - now_ms % history_step_ms
    start = max(now_ms - (len(RISE) - 1) * 60_000, last_tick + 1)
    spacing = max((now_ms - start) // (len(RISE) - 1), 1)
    body = [
        {"entity_id": CAN_THO, "metric": "height", "ts": start + i * spacing, "value": value}
        for i, value in enumerate(RISE)
    ]
    api.post("/api/v1/observations", json=body).raise_for_status()


def find_ids(api: httpx.Client, ids: dict[str, str]) -> dict[str, str]:
    """``ids`` with a station of each of ``STATION_KINDS`` and the ``FIRST`` records added.

    ``api`` is a client of the running app logged in with a token (the entities API is not
    public). Returns ``ids``, updated in place.
    """
    for kind, key in STATION_KINDS:
        rows = _rows(api.get("/api/v1/entities", params={"type": kind, "limit": 1}).json())
        if not rows:
            raise LookupError(f"không có trạm loại {kind} / no {kind} station in the demo")
        ids[key] = str(rows[0].get("entity_id") or rows[0]["id"])
    ids.update(FIRST)
    return ids


def file_inputs(api: httpx.Client, ids: dict[str, str], description: str) -> dict[str, str]:
    """``ids`` with ``citizen_token`` and ``quarantined`` added, after filing what they name.

    A citizen's report over Open311 (of a type without questions to answer: its status page's
    token) and an observation of a station the catalog does not know (a quarantined input).
    ``api`` as for ``find_ids``. Returns ``ids``, updated in place.
    """
    services = api.get("/open311/v2/services.json").json()
    plain = [s for s in services if not s.get("metadata")]
    if not plain:
        raise LookupError(
            "gói dữ liệu không có loại phản ánh nào không kèm câu hỏi"
            " / the pack has no citizen report type without questions"
        )
    answer = api.post(
        "/open311/v2/requests.json",
        data={
            "service_code": plain[0]["service_code"],
            "lat": "10.0355",
            "long": "105.7885",
            "description": description,
        },
    )
    answer.raise_for_status()
    ids["citizen_token"] = answer.json()[0]["token"]
    answer = api.post(
        "/api/v1/observations",
        json=[
            {
                "entity_id": "urn:ngsi-ld:WaterObserved:nowhere",
                "metric": "height",
                "ts": 1,
                "value": 1.0,
            }
        ],
    )
    rows = _rows(api.get("/api/v1/quarantine").json())
    if not rows:
        raise LookupError(
            f"không có dữ liệu cách ly / nothing quarantined: {answer.status_code} {answer.text}"
        )
    ids["quarantined"] = str(rows[0]["id"])
    return ids


@dataclass
class Resource:
    """One response of a page's visit."""

    url: str
    status: int = 0
    mime: str = ""
    encoding: str = ""  # Content-Encoding: gzip, br … ("" when sent as is)
    transferred: int = 0  # bytes on the wire, headers included
    body: int = 0  # bytes of the body once decoded
    finished: bool = False  # a stream still open when the visit ends is not


@dataclass
class Weigher:
    """Listens to a CDP session's Network events; ``start`` before a visit, ``stop`` after."""

    cdp: Any
    resources: dict[str, Resource] = field(default_factory=dict)
    on: bool = False

    def __post_init__(self) -> None:
        self.cdp.send("Network.enable")
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.dataReceived", self._data)
        self.cdp.on("Network.loadingFinished", self._finished)

    def start(self) -> None:
        self.resources = {}
        self.on = True

    def stop(self) -> list[Resource]:
        self.on = False
        return list(self.resources.values())

    def _response(self, event: dict[str, Any]) -> None:
        if not self.on:
            return
        response = event["response"]
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        self.resources[event["requestId"]] = Resource(
            url=response["url"],
            status=int(response.get("status") or 0),
            mime=str(response.get("mimeType") or ""),
            encoding=str(headers.get("content-encoding") or ""),
        )

    def _data(self, event: dict[str, Any]) -> None:
        found = self.resources.get(event["requestId"]) if self.on else None
        if found is not None:
            found.body += int(event.get("dataLength") or 0)

    def _finished(self, event: dict[str, Any]) -> None:
        found = self.resources.get(event["requestId"]) if self.on else None
        if found is not None:
            found.transferred = int(event.get("encodedDataLength") or 0)
            found.finished = True
