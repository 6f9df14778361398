"""Every shell block the docs mark as runnable is run, as a reader would run it.

The convention (CONTRIBUTING.md): an HTML comment on the line before a ```sh block —
``<!-- runnable -->``: runs with ``bash -e -o pipefail`` in an empty folder;
``<!-- runnable: demo -->``: runs in the folder of a running ``taydo demo``, which the test
starts on a free port (``127.0.0.1:8000`` in the block is replaced by it).
Either way ``taydo`` is on ``PATH``, no ``TAYDO_*`` variable is set, and ``curl`` fails on an
HTTP error (``--fail-with-body`` in the ``.curlrc`` of a throw-away ``HOME``), so an example
that answers 4xx/5xx fails the test instead of printing the error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serving import free_port
from tests.test_demo import _start, _stop, _wait_until_serving

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- runnable(?:: (?P<mode>[a-z]+))? -->$", re.M)  # on a line of its own
BLOCK = re.compile(
    r"^<!-- runnable(?:: (?P<mode>[a-z]+))? -->\n```(?:sh|bash)\n(?P<body>.*?)^```$", re.M | re.S
)
MODES = {"empty", "demo"}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    mode: str
    body: str

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def runnable_blocks() -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            mode = match["mode"] or "empty"
            found.append(Block(page.relative_to(ROOT).as_posix(), line, mode, match["body"]))
    return found


BLOCKS = runnable_blocks()


def test_every_marker_opens_a_shell_block_of_a_known_kind() -> None:
    markers = sum(len(MARKER.findall(page.read_text(encoding="utf-8"))) for page in PAGES)
    assert markers == len(BLOCKS), "a runnable marker must sit right above a ```sh block"
    assert {block.mode for block in BLOCKS} == MODES  # both kinds are in use, and no other
    assert len(BLOCKS) >= 3


def run(block: Block, folder: Path, home: Path, port: int | None = None) -> None:
    home.mkdir(exist_ok=True)
    (home / ".curlrc").write_text("fail-with-body\nshow-error\nsilent\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAYDO_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    body = block.body if port is None else block.body.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", body],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"{block.name} failed ({result.returncode}):\n{body}\n--- stdout\n{result.stdout}"
        f"\n--- stderr\n{result.stderr}"
    )


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mode == "empty"], ids=lambda b: b.name)
def test_a_runnable_block_runs_in_an_empty_folder(block: Block, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    run(block, folder, tmp_path / "home")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    process = _start(folder, port)
    try:
        _wait_until_serving(process, f"http://127.0.0.1:{port}")
        yield folder, port
    finally:
        output = _stop(process)
    assert "Traceback" not in output


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mode == "demo"], ids=lambda b: b.name)
def test_a_runnable_block_runs_against_the_demo(
    block: Block, demo: tuple[Path, int], tmp_path: Path
) -> None:
    folder, port = demo
    run(block, folder, tmp_path / "home", port)
