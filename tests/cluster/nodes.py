"""Real ``taydo serve`` processes for the cluster tests: started with their own settings,
ready once they answer, stopped with SIGTERM (graceful) or SIGKILL (a crash)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass
class Node:
    name: str
    port: int
    env: dict[str, str]
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    def start(self, *args: str) -> Node:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "taydo.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--dev",
                    *args,
                ],
                env=self.env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, headers: dict[str, str], timeout: float = 90.0) -> Node:
        """Until the app answers (uvicorn accepts only once every domain has started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            try:
                if (
                    httpx.get(f"{self.url}/api/v1/alerts", headers=headers, timeout=2).status_code
                    == 200
                ):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready: {self.log.read_text()[-3000:]}")

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM; the exit status (the stop must end within ``timeout`` seconds)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def ensure_stopped(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def node_env(folder: Path, **settings: Any) -> dict[str, str]:
    """The environment of a ``taydo serve``: these TAYDO_ settings and no taydo.toml."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAYDO_")}
    env["TAYDO_CONFIG_FILE"] = str(folder / "no-such-taydo.toml")
    env["TAYDO_SECRET_KEY"] = "cluster-test-secret-key-0123456789abcdef"
    env["TAYDO_OBSERVATIONS_PACK_AFTER_HOURS"] = "0"
    env["TAYDO_CONNECTORS_ENABLED"] = "false"
    for key, value in settings.items():
        env[f"TAYDO_{key.upper()}"] = str(value)
    return env
