"""NGSI-LD batch upsert against the real server on SQLite (issue 4, Must hold).

Starts ``taydo serve`` on a fresh SQLite file with a context store holding one small
WaterQualityObserved-style context, then sends ``--entities`` entities (default 20,000) in
batches of ``--batch`` (default 1,000) to ``POST /ngsi-ld/v1/entityOperations/upsert`` over
one keep-alive connection (``--connections N`` for N concurrent clients), with the context in
a Link header. Each entity carries a name,
a location, a relationship and three numeric Properties observed at a time (salinity,
temperature, pH), so every entity is also three observations committed before the answer.

Two passes: the first creates every entity (and its three metrics), the second upserts the
same entities with new values at a later time (the steady state of a feed). Prints entities/s
for each, compared with the budget (≥ 5,000 entities/s) and a reference of Orion-LD ≈ 1,800
updates/s per broker CPU. That reference is carried over from DESIGN.md, which cites no source
for it; Orion-LD does not run on this machine, so it is not measured here either.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import orjson

from benchmarks.common import Server, fresh_database, machine
from taydo.ingest.ngsild.context import ContextStore

CONTEXT_URL = "https://contexts.taydo.example/water-quality.jsonld"
CONTEXT = {
    "@context": {
        "WaterQualityObserved": "https://smartdatamodels.org/dataModel.WaterQuality/WaterQualityObserved",
        "salinity": "https://smartdatamodels.org/dataModel.WaterQuality/salinity",
        "temperature": "https://smartdatamodels.org/temperature",
        "pH": "https://smartdatamodels.org/dataModel.WaterQuality/pH",
        "name": "https://smartdatamodels.org/name",
        "refDevice": "https://smartdatamodels.org/dataModel.WaterQuality/refDevice",
    }
}
BUDGET = 5_000
ORION_LD = 1_800  # DESIGN.md's reference figure: unsourced there, not measured here


def admin_token(database_url: str) -> str:
    from taydo.auth.service import create_user, issue_token

    database = fresh_database(database_url)
    try:
        user = create_user(database, "bench-ngsild", "admin")
        return issue_token(database, user.id, "bench")[1]
    finally:
        database.dispose()


def bodies(total: int, batch: int, hour: int) -> list[bytes]:
    when = f"2026-11-27T{hour:02d}:00:00Z"
    out = []
    for start in range(0, total, batch):
        items = []
        for n in range(start, min(total, start + batch)):
            items.append(
                {
                    "id": f"urn:ngsi-ld:WaterQualityObserved:CT{n:06d}",
                    "type": "WaterQualityObserved",
                    "name": {"type": "Property", "value": f"Trạm {n}"},
                    "location": {
                        "type": "GeoProperty",
                        "value": {
                            "type": "Point",
                            "coordinates": [105.5 + (n % 100) / 200, 9.8 + (n // 100 % 100) / 200],
                        },
                    },
                    "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:{n}"},
                    "salinity": {
                        "type": "Property",
                        "value": round(0.1 * (n % 60) + hour, 2),
                        "unitCode": "G42",
                        "observedAt": when,
                    },
                    "temperature": {
                        "type": "Property",
                        "value": 28.0 + (n % 7) / 2,
                        "unitCode": "CEL",
                        "observedAt": when,
                    },
                    "pH": {"type": "Property", "value": 7.0 + (n % 5) / 10, "observedAt": when},
                }
            )
        out.append(orjson.dumps(items))
    return out


def send(port: int, token: str, payloads: list[bytes], connections: int = 1) -> float:
    """Post every payload over ``connections`` keep-alive connections; seconds taken."""
    failures: list[BaseException] = []

    def worker(share: list[bytes]) -> None:
        try:
            _post(port, token, share)
        except BaseException as exc:  # reported after the threads end
            failures.append(exc)

    shares = [payloads[n::connections] for n in range(connections)]
    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed


def _post(port: int, token: str, payloads: list[bytes]) -> None:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Link": f'<{CONTEXT_URL}>; rel="http://www.w3.org/ns/json-ld#context"; '
        'type="application/ld+json"',
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    for body in payloads:
        connection.request("POST", "/ngsi-ld/v1/entityOperations/upsert", body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status not in (201, 204):
            raise RuntimeError(f"upsert answered {response.status}: {answer[:300]!r}")
    connection.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the server into ``output`` (raw folded stacks) until stopped."""
    spy = subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--nonblocking",
         "--rate", "200", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    return spy


def _stop(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait()


def check_stored(path: Path, total: int) -> None:
    """Fail loudly unless the file holds every entity sent and, per pass, its three observed
    values (salinity, temperature, pH at 01:00 and at 02:00), with the salinity values sent."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        entities = connection.execute(
            "SELECT count(*) FROM entities "
            "WHERE entity_id LIKE 'urn:ngsi-ld:WaterQualityObserved:CT%'"
        ).fetchone()[0]
        points = connection.execute("SELECT count(*) FROM observations").fetchone()[0]
        salinity = connection.execute(
            "SELECT coalesce(sum(value), 0) FROM observations WHERE series_id IN "
            "(SELECT id FROM metrics WHERE name = 'salinity')"
        ).fetchone()[0]
    finally:
        connection.close()
    sent = sum(round(0.1 * (n % 60) + hour, 2) for hour in (1, 2) for n in range(total))
    if entities != total or points != total * 3 * 2 or abs(salinity - sent) > 1e-6 * total:
        raise SystemExit(
            f"FAILED: stored {entities:,} entities and {points:,} values (salinity sum "
            f"{salinity:.2f}); sent {total:,} entities, {total * 6:,} values (sum {sent:.2f})"
        )


def run(
    total: int = 20_000, batch: int = 1_000, connections: int = 1, profile: Path | None = None
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="taydo-bench-ngsild-") as folder:
        root = Path(folder)
        url = f"sqlite:///{root / 'bench.db'}"
        token = admin_token(url)
        ContextStore(root / "contexts").add(CONTEXT_URL, orjson.dumps(CONTEXT))
        os.environ["TAYDO_CONTEXTS_DIR"] = str(root / "contexts")
        server = Server(url, root / "server.log")
        try:
            first = bodies(total, batch, hour=1)
            second = bodies(total, batch, hour=2)
            pid = server.process.pid
            spy = _spy(pid, Path(f"{profile}-create.txt")) if profile else None
            cpu0 = cpu_seconds(pid)
            created_s = send(server.port, token, first, connections)
            cpu1 = cpu_seconds(pid)
            _stop(spy)
            spy = _spy(pid, Path(f"{profile}-upsert.txt")) if profile else None
            cpu1b = cpu_seconds(pid)
            updated_s = send(server.port, token, second, connections)
            cpu2 = cpu_seconds(pid)
            _stop(spy)
        finally:
            server.stop()
        check_stored(root / "bench.db", total)
    return {
        "create_per_s": total / created_s,
        "upsert_per_s": total / updated_s,
        "create_per_cpu_s": total / max(cpu1 - cpu0, 1e-9),
        "upsert_per_cpu_s": total / max(cpu2 - cpu1b, 1e-9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=1, help="concurrent clients")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy profiles of the server: PROFILE-create.txt and PROFILE-upsert.txt",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    figures = run(args.entities, args.batch, args.connections, args.profile)
    print(
        f"NGSI-LD batch upsert, {args.entities} entities in batches of {args.batch} over "
        f"{args.connections} connection(s), 3 observed numeric properties each, SQLite, "
        "committed before the answer:"
    )
    for label, key in (("new entities", "create"), ("existing entities", "upsert")):
        rate, per_cpu = figures[f"{key}_per_s"], figures[f"{key}_per_cpu_s"]
        print(
            f"  {label:18s} {rate:8,.0f} entities/s ({3 * rate:,.0f} observations/s)"
            f"  budget ≥ {BUDGET:,}: {'met' if rate >= BUDGET else 'NOT met'}"
        )
        print(
            f"  {'':18s} {per_cpu:8,.0f} entities per server CPU-second"
            f"  (reference, not measured: Orion-LD ≈ {ORION_LD:,} updates/s per broker CPU "
            f"per DESIGN.md, unsourced: ×{per_cpu / ORION_LD:.1f})"
        )


if __name__ == "__main__":
    main()
