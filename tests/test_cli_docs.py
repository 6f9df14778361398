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


def _leaves(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _leaves(sub, [*path, name])
    else:
        yield " ".join(path), command


def test_every_option_and_argument_says_what_it_is_for() -> None:
    undescribed = [
        f"{name} {param.name}"
        for name, command in _leaves(get_command(app), ["taydo"])
        for param in command.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert undescribed == [], f"give these a help text: {undescribed}"


def test_help_shows_no_value_type_after_a_flag_and_names_the_database() -> None:
    from typer.testing import CliRunner

    from taydo.cli import WITHOUT_DATABASE

    runner = CliRunner()
    for name, _command in _leaves(get_command(app), ["taydo"]):
        words = name.split()[1:]
        shown = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "250"})
        assert shown.exit_code == 0, shown.output
        assert "<bool>" not in shown.output, f"`{name} --help` shows a flag as taking a value"
        if " ".join(words) not in WITHOUT_DATABASE:
            assert "TAYDO_DATABASE_URL" in shown.output, f"`{name} --help` names no database"
