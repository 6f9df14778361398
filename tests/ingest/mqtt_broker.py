"""A real Mosquitto for the MQTT tests: ``TAYDO_TEST_MQTT_URL`` when set, else one started on
a free port (skipped, loudly, when the binary is missing; a binary that is there but does not
start is a failure, not a skip)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_server
from tests.serving import free_port

__all__ = ["broker_url"]


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("TAYDO_TEST_MQTT_URL")
    if given:
        yield given if "://" in given else f"mqtt://{given}"
        return
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        skip_server("Mosquitto", "no mosquitto binary and TAYDO_TEST_MQTT_URL is not set")
    port = free_port()
    folder = tmp_path_factory.mktemp("mosquitto")
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(
                        f"{binary} is installed but did not start on port {port} "
                        f"(exit status {process.poll()})"
                    )
                time.sleep(0.05)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
