"""Group commit and a crash: a real ``taydo serve`` killed with SIGKILL while clients post
Open311 reports. Every report acknowledged (200 with an id) before the kill is in the
database afterwards, with its token: an answer is only sent after its batch committed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from taydo.citizen.models import CitizenReport
from taydo.citizen.service import create_key
from taydo.core.db import Database
from taydo.core.migrate import upgrade
from tests.citizen.conftest import IN_NINH_KIEU, prepare_citizen
from tests.serving import free_port


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/open311/v2/services.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not start: {log.read_text()[-3000:]}")


def test_a_killed_server_keeps_every_report_it_acknowledged(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'taydo.db'}")
    upgrade(database)
    prepare_citizen(database)
    _record, key = create_key(database, "crash test", actor="tests")
    database.dispose()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TAYDO_DATABASE_URL": f"sqlite:///{tmp_path / 'taydo.db'}",
        "TAYDO_CITIZEN_PHOTOS_DIR": str(tmp_path / "photos"),
    }
    log = tmp_path / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "taydo.cli", "serve", "--port", str(port), "--dev"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    acknowledged: dict[str, str] = {}  # id → token
    failed: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    answer = http.post(
                        f"{url}/open311/v2/requests.json",
                        data={
                            "api_key": key,
                            "service_code": "o-ga",
                            "lat": IN_NINH_KIEU[0],
                            "long": IN_NINH_KIEU[1],
                            "description": f"client {n}",
                        },
                    )
                except httpx.HTTPError:
                    return  # the server is gone: this post was never acknowledged
                with lock:
                    if answer.status_code == 200:
                        item = answer.json()[0]
                        acknowledged[item["service_request_id"]] = item["token"]
                    else:
                        failed.append(answer.text)

    try:
        _ready(url, process, log)
        clients = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.kill()  # SIGKILL: no shutdown, no flush, in the middle of the posts
        process.wait(timeout=30)
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    assert failed == []
    assert len(acknowledged) >= 60
    database = Database(f"sqlite:///{tmp_path / 'taydo.db'}")
    try:
        with database.session() as session:
            stored = dict(
                session.execute(select(CitizenReport.id, CitizenReport.token)).tuples().all()
            )
    finally:
        database.dispose()
    missing = {i: t for i, t in acknowledged.items() if stored.get(int(i)) != t}
    assert missing == {}, f"{len(missing)} acknowledged reports lost"
