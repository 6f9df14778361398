"""Overload: three times the sustainable ingest rate for 60 s (issue 18, item 9).

Starts ``taydo serve`` on a fresh SQLite file (200 entities × 3 metrics), then:

1. **cold**: the server's RSS after a few warm-up requests of every kind;
2. **sustainable rate**: a closed loop of 16 keep-alive connections posting batches of 1,000
   observations for ``--calibrate`` seconds; its requests/s is the sustainable rate R. Then
   **idle**: the RSS 5 s after, quiet, its caches as in normal service (the reference of
   the memory goals: an overload must not leave more behind than normal work does);
3. **overload**: an *open* loop offering 3 × R requests/s for ``--seconds`` (a ticket per
   request on a fixed schedule, served by up to ``--senders`` connections: a late server
   does not slow the offer down, as a city of sensors would not), while a prober logs in
   through the console's form (GET /login, POST /login) once a second and reads /healthz;
4. **after**: RSS each second for ``--recovery`` seconds.

It prints the shed rate (503 + Retry-After), p50/p99 of the accepted requests (from the
request's send to its answer), login and health p99 meanwhile, idle/peak/after RSS, and how
long memory took to come back within 20 % of idle. It fails loudly when a request gets
anything but 200 or 503, when a 503 lacks Retry-After, when a login fails, or when the rows
stored differ from the points the 200 answers accepted.

Goals (DESIGN.md): accepted p99 ≤ 2 s, login p99 ≤ 1 s, peak RSS ≤ 2 × idle + the
configured byte budgets, back within 20 % of idle within 60 s. The admission limits are per
process.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import queue
import re
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import (
    JSON_HELP,
    Server,
    fresh_database,
    machine,
    make_catalog,
    operator_token,
    write_figures,
)
from taydo.core.settings import Settings

BATCH = 1_000
START_MS = 1_790_000_000_000  # 2026-09-21: any fixed minute grid does
PASSWORD = "Mật-khẩu-đủ-dài-cho-đo-tải-42"


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """Resident memory (``VmRSS``; ``RssAnon``: the heap alone, without mapped files)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field}")


class Bodies:
    """Unique points for every request: point p is series p % S at minute p // S."""

    def __init__(self, series: list[tuple[str, str, int]]) -> None:
        self.prefixes = [
            f'{{"entity_id":"{entity}","metric":"{metric}","ts":'.encode()
            for entity, metric, _sid in series
        ]
        self.counter = itertools.count()
        self.lock = threading.Lock()

    def next(self) -> bytes:
        with self.lock:
            n = next(self.counter)
        size = len(self.prefixes)
        parts = []
        for p in range(n * BATCH, (n + 1) * BATCH):
            ts = START_MS + (p // size) * 60_000
            parts.append(self.prefixes[p % size] + b'%d,"value":%d.5}' % (ts, p % 97))
        return b"[" + b",".join(parts) + b"]"


@dataclass
class Tally:
    accepted_s: list[float] = field(default_factory=list)  # latency of the 200s
    shed_s: list[float] = field(default_factory=list)  # latency of the 503s
    points: int = 0  # accepted by the 200s
    errors: list[str] = field(default_factory=list)
    resets: int = 0  # connections the server closed (reconnected)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _post(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> tuple:
    conn.request("POST", "/api/v1/observations", body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.getheader("retry-after"), response.read()


def send_one(port: int, bodies: Bodies, headers: dict[str, str], tally: Tally, state: dict) -> None:
    conn = state.get("conn") or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    state["conn"] = conn
    body = bodies.next()
    began = time.perf_counter()
    try:
        status, retry_after, data = _post(conn, body, headers)
    except (ConnectionError, http.client.HTTPException, OSError):
        conn.close()
        state["conn"] = None
        with tally.lock:
            tally.resets += 1
        return
    took = time.perf_counter() - began
    with tally.lock:
        if status == 200:
            tally.accepted_s.append(took)
            tally.points += int(re.search(rb'"accepted":(\d+)', data).group(1))  # type: ignore[union-attr]
        elif status == 503 and retry_after:
            tally.shed_s.append(took)
        else:
            tally.errors.append(f"{status} retry-after={retry_after} {data[:200]!r}")


def closed_loop(
    port: int, bodies: Bodies, headers: dict, seconds: float, tally: Tally, connections: int
) -> float:
    stop = time.perf_counter() + seconds

    def worker() -> None:
        state: dict = {}
        while time.perf_counter() < stop:
            send_one(port, bodies, headers, tally, state)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(tally.accepted_s) / (time.perf_counter() - began)


def open_loop(
    port: int, bodies: Bodies, headers: dict, rate: float, seconds: float, senders: int
) -> tuple[Tally, float]:
    """Offer ``rate`` requests/s for ``seconds``; returns the tally and the rate offered."""
    tally = Tally()
    tickets: queue.Queue[float | None] = queue.Queue()

    def sender() -> None:
        state: dict = {}
        while tickets.get() is not None:
            send_one(port, bodies, headers, tally, state)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    issued = 0
    while (now := time.perf_counter()) < began + seconds:
        due = int((now - began) * rate)
        for _ in range(due - issued):
            tickets.put(now)
        issued = due
        time.sleep(0.002)
    offered_window = time.perf_counter() - began
    for _ in threads:
        tickets.put(None)
    for thread in threads:
        thread.join()
    return tally, issued / offered_window


@dataclass
class Probes:
    login_s: list[float] = field(default_factory=list)  # POST /login: the password check
    form_s: list[float] = field(default_factory=list)  # GET /login: the form
    health_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def probe(base: str, stop: threading.Event, probes: Probes, rounds: int | None = None) -> None:
    """A person logging in through the form once a second, and a health probe."""
    import httpx

    for _ in itertools.repeat(None) if rounds is None else range(rounds):
        if stop.is_set():
            break
        with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
            began = time.perf_counter()
            health = client.get("/healthz")
            probes.health_s.append(time.perf_counter() - began)
            if health.status_code != 200:
                probes.failures.append(f"healthz {health.status_code}")
            began = time.perf_counter()
            form = client.get("/login")
            probes.form_s.append(time.perf_counter() - began)
            found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            if form.status_code != 200 or found is None:
                probes.failures.append(f"login form {form.status_code}")
                continue
            began = time.perf_counter()
            answer = client.post(
                "/login",
                data={
                    "username": "bench-login",
                    "password": PASSWORD,
                    "next": "/",
                    "csrf_token": found.group(1),
                },
            )
            probes.login_s.append(time.perf_counter() - began)
            if answer.status_code != 303:
                probes.failures.append(f"login {answer.status_code}")
        stop.wait(1.0)


def p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calibrate", type=float, default=20.0)
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--recovery", type=float, default=60.0)
    parser.add_argument("--senders", type=int, default=128)
    parser.add_argument(
        "--connections",
        type=int,
        default=16,
        help="closed-loop connections that find the sustainable rate (enough to fill the "
        "writer's group commits; 4 found half of what the server holds)",
    )
    parser.add_argument("--json", type=Path, help=JSON_HELP)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="taydo-bench-overload-"))
    url = f"sqlite:///{work / 'overload.db'}"
    database = fresh_database(url)
    series = make_catalog(database)
    token = operator_token(database)
    from taydo.auth.service import create_user

    create_user(database, "bench-login", "operator", password=PASSWORD)
    database.dispose()
    limits = Settings(_env_file=None)  # type: ignore[call-arg]
    budget = (
        limits.admission_ingest_bytes
        + limits.admission_query_bytes
        + limits.admission_console_bytes
        + limits.admission_login_bytes
    )
    print(f"machine: {machine()}")
    print(
        f"admission limits (per process): ingest {limits.admission_ingest_requests} requests / "
        f"{mib(limits.admission_ingest_bytes)}, login {limits.admission_login_requests}; "
        f"byte budgets in all {mib(budget)}"
    )
    server = Server(url, work / "server.log")
    pid = server.process.pid
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = Bodies(series)
    try:
        # 1. idle, after every kind of request has run once
        warm = Tally()
        closed_loop(server.port, bodies, headers, 2.0, warm, 4)
        probes = Probes()
        probe(server.url, threading.Event(), probes, rounds=1)  # one login + health
        time.sleep(5)
        cold = rss_bytes(pid)
        # 2. sustainable rate
        calibration = Tally()
        rate = closed_loop(
            server.port, bodies, headers, args.calibrate, calibration, args.connections
        )
        print(
            f"sustainable rate (closed loop, {args.connections} connections, "
            f"{args.calibrate:.0f} s): "
            f"{rate:,.1f} requests/s = {rate * BATCH:,.0f} obs/s; "
            f"p99 {p(calibration.accepted_s, 0.99) * 1000:,.0f} ms"
        )
        # Idle: quiet again after serving its sustainable rate (its caches as in service:
        # SQLite's page cache of each connection, the series index, the alert state).
        time.sleep(5)
        idle = rss_bytes(pid)
        anon_idle = rss_bytes(pid, "RssAnon")
        # 3. overload
        peak = rss_bytes(pid)
        stop = threading.Event()
        probes = Probes()

        def watch() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, rss_bytes(pid))
                stop.wait(0.2)

        watchers = [
            threading.Thread(target=watch, daemon=True),
            threading.Thread(target=probe, args=(server.url, stop, probes), daemon=True),
        ]
        for thread in watchers:
            thread.start()
        tally, offered = open_loop(
            server.port, bodies, headers, args.factor * rate, args.seconds, args.senders
        )
        stop.set()
        for thread in watchers:
            thread.join()
        ended = time.perf_counter()
        # 4. after
        after: list[tuple[float, int]] = []
        while (elapsed := time.perf_counter() - ended) < args.recovery:
            after.append((elapsed, rss_bytes(pid)))
            anon_after = rss_bytes(pid, "RssAnon")
            time.sleep(1.0)
        back = next((t for t, rss in after if rss <= idle * 1.2), None)
    finally:
        server.stop()

    stored = sqlite3.connect(work / "overload.db")
    ids = ",".join(str(sid) for _e, _m, sid in series)
    rows = stored.execute(
        f"SELECT count(*) FROM observations WHERE series_id IN ({ids})"
    ).fetchone()[0]
    stored.close()
    sent_ok = warm.points + calibration.points + tally.points
    answered = len(tally.accepted_s) + len(tally.shed_s)
    shed_rate = len(tally.shed_s) / max(answered, 1)
    print(
        f"overload: offered {offered:,.1f} requests/s ({offered / rate:.2f} × R) for "
        f"{args.seconds:.0f} s by up to {args.senders} connections; {answered:,} answered: "
        f"{len(tally.accepted_s):,} accepted ({len(tally.accepted_s) / args.seconds:,.1f}/s = "
        f"{tally.points / args.seconds:,.0f} obs/s), {len(tally.shed_s):,} shed with 503 + "
        f"Retry-After (shed rate {shed_rate:.1%}); {tally.resets} connections reset"
    )
    print(
        f"  accepted requests: p50 {p(tally.accepted_s, 0.5) * 1000:,.0f} ms, "
        f"p99 {p(tally.accepted_s, 0.99) * 1000:,.0f} ms (goal ≤ 2,000 ms); "
        f"503 answers: p99 {p(tally.shed_s, 0.99) * 1000:,.1f} ms"
    )
    print(
        f"  meanwhile: {len(probes.login_s)} console logins, POST /login "
        f"p50 {p(probes.login_s, 0.5) * 1000:,.0f} ms, "
        f"p99 {p(probes.login_s, 0.99) * 1000:,.0f} ms (goal ≤ 1,000 ms); "
        f"GET /login p99 {p(probes.form_s, 0.99) * 1000:,.0f} ms; "
        f"/healthz p99 {p(probes.health_s, 0.99) * 1000:,.0f} ms"
    )
    limit = 2 * idle + budget
    print(
        f"memory (RSS): cold {mib(cold)}, idle {mib(idle)}, peak {mib(peak)} "
        f"(goal ≤ 2 × idle + budgets = "
        f"{mib(limit)}), {args.recovery:.0f} s after {mib(after[-1][1])}; "
        + (
            f"within 20 % of idle after {back:.0f} s"
            if back is not None
            else f"not back within 20 % of idle ({mib(idle * 1.2)}) in {args.recovery:.0f} s"
        )
    )
    print(f"  of which the heap (RssAnon): idle {mib(anon_idle)}, after {mib(anon_after)}")
    print(f"stored rows {rows:,}; points accepted by 200 answers {sent_ok:,}")
    problems = []
    if tally.errors or calibration.errors or warm.errors:
        problems.append(f"unexpected answers: {(tally.errors + calibration.errors)[:3]}")
    if probes.failures:
        problems.append(f"probe failures: {probes.failures[:3]}")
    if rows != sent_ok:
        problems.append(f"stored {rows} rows, the 200 answers accepted {sent_ok}")
    figures = {
        "sustainable rate": (rate * BATCH, "obs/s", "higher"),
        "shed rate": (shed_rate * 100, "%", "lower"),
        "accepted p99": (p(tally.accepted_s, 0.99) * 1000, "ms", "lower"),
        "login p99": (p(probes.login_s, 0.99) * 1000, "ms", "lower"),
        "peak RSS": (peak / 2**20, "MiB", "lower"),
        "RSS after": (after[-1][1] / 2**20, "MiB", "lower"),
    }
    write_figures(args.json, "overload", figures)
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))
    return {name: value for name, (value, _u, _b) in figures.items()}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
