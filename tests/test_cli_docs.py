"""Every command of the `taydo` program is documented in docs/cli.md."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typer.main import get_command

from taydo.cli import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(command: Any, path: list[str]) -> Iterator[str]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _commands(sub, [*path, name])
    else:
        yield " ".join(path)


def test_every_command_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    commands = list(_commands(get_command(app), ["taydo"]))
    assert len(commands) > 20  # the walk really found the command tree
    missing = [name for name in commands if f"`{name}`" not in text]
    assert missing == [], f"document these commands in docs/cli.md: {missing}"
