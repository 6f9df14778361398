"""`taydo demo` for real: a subprocess on a temporary folder and a free port.

It must serve, keep data flowing (latest values move), stop cleanly on Ctrl-C (SIGINT), and
reuse its data on the next start (no second backfill, no new accounts).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from taydo.auth.service import create_user, issue_token
from taydo.core.db import Database
from tests.serving import free_port

HISTORY = "Ghi dữ liệu lịch sử / writing history"
WATER_QUALITY = "https://raw.githubusercontent.com/smart-data-models/dataModel.WaterQuality/master/context.jsonld"
JSONLD_CONTEXT = "http://www.w3.org/ns/json-ld#context"


def _start(folder: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAYDO_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taydo.cli",
            "demo",
            "--port",
            str(port),
            "--interval",
            "1s",
            "--backfill",
            "1d",
            "--backfill-step",
            "30m",
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until_serving(process: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"demo exited early ({process.returncode}):\n{output}")
        try:
            if httpx.get(base + "/api/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail("demo did not serve within 180 s")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("demo did not stop within 60 s of Ctrl-C")
    return output


def _latest_stamp(base: str, headers: dict[str, str]) -> int:
    response = httpx.get(
        base + "/api/v1/latest", params={"type": "WaterObserved"}, headers=headers, timeout=10
    )
    response.raise_for_status()
    body = response.json()
    items = body if isinstance(body, list) else body.get("items", [])
    stamps = [item["ts"] for item in items if "ts" in item]
    assert stamps, body
    return max(int(s) if isinstance(s, int) else _ms(s) for s in stamps)


def _ms(text: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _nothing_looks_broken(base: str, headers: dict[str, str]) -> None:
    """What made a fresh demo look broken: routes to channels nobody created (every
    notification dead-lettered), datasets the simulator never feeds counted as stale, and the
    NGSI-LD examples answering 503 for want of the Smart Data Models contexts."""
    routes = httpx.get(base + "/api/v1/notify/routes", headers=headers, timeout=10)
    assert routes.status_code == 200 and routes.json(), routes.text
    assert all(route["missing_channels"] == [] for route in routes.json())
    health = httpx.get(base + "/api/v1/health/datasets", headers=headers, timeout=10).json()
    assert [h["dataset"] for h in health["items"] if h["freshness"]["status"] == "stale"] == []
    entity = httpx.get(
        base + "/ngsi-ld/v1/entities/urn:ngsi-ld:none:x",
        headers={**headers, "Link": f'<{WATER_QUALITY}>; rel="{JSONLD_CONTEXT}"'},
        timeout=10,
    )
    assert entity.status_code == 404, entity.text  # the context resolved: 503 if it had not


def test_demo_serves_live_data_stops_cleanly_and_reuses_its_data(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = _start(tmp_path, port)
    try:
        _wait_until_serving(first, base)
        database = Database(f"sqlite:///{tmp_path / 'taydo-demo.db'}")
        try:
            user = create_user(database, "test-reader", "viewer")
            _row, token = issue_token(database, user.id, "test")
            admin = create_user(database, "test-admin", "admin")
            _row, admin_token = issue_token(database, admin.id, "test")
        finally:
            database.dispose()
        headers = {"Authorization": f"Bearer {token}"}
        _nothing_looks_broken(base, {"Authorization": f"Bearer {admin_token}"})
        before = _latest_stamp(base, headers)
        deadline = time.monotonic() + 30
        while _latest_stamp(base, headers) <= before:
            assert time.monotonic() < deadline, "latest values did not move in 30 s"
            time.sleep(0.5)
    finally:
        output = _stop(first)
    assert first.returncode == 0, output
    assert "Traceback" not in output
    assert "dead-lettered" not in output and "no such channel" not in output
    assert HISTORY in output
    assert "admin" in output and "operator" in output  # accounts printed on creation
    assert "Đã dừng" in output

    second = _start(tmp_path, port)
    try:
        _wait_until_serving(second, base)
        assert _latest_stamp(base, headers) >= before  # the same data, the same token
    finally:
        again = _stop(second)
    assert second.returncode == 0, again
    assert "Traceback" not in again
    assert HISTORY not in again  # no second backfill
    assert "demo accounts exist from an earlier run" in again


def test_demo_says_when_the_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = _start(tmp_path, port)
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 2
    assert "in use" in output and "Traceback" not in output
