"""``taydo rules``: list, validate and load alert rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.settings import Settings
from taydo.core.terminal import fail
from taydo.rules import service

__all__ = ["app"]

app = typer.Typer(help="Quy tắc cảnh báo / Alert rules.", no_args_is_help=True)
console = Console()


def _database() -> Database:
    return Database(Settings().database_url)


@app.command("list")
def list_rules() -> None:
    """Liệt kê quy tắc / List rules."""
    table = Table("code", "kind", "name", "enabled")
    for rule in service.list_rules(_database()):
        table.add_row(rule.code, rule.kind, rule.name, "yes" if rule.enabled else "no")
    console.print(table)


@app.command("validate")
def validate(
    path: Annotated[Path, typer.Argument(help="Rules YAML file.", exists=True, dir_okay=False)],
) -> None:
    """Kiểm tra tệp quy tắc / Validate a rules YAML file without saving it."""
    try:
        rules = service.parse_rules_yaml(path.read_text(encoding="utf-8"))
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]{len(rules)} quy tắc hợp lệ / valid rules[/green]")


@app.command("load")
def load(
    path: Annotated[Path, typer.Argument(help="Rules YAML file.", exists=True, dir_okay=False)],
    source: str = typer.Option("file", help="Source label"),
) -> None:
    """Nạp quy tắc từ tệp / Load (insert or update) rules from a YAML file."""
    try:
        rules = service.parse_rules_yaml(path.read_text(encoding="utf-8"))
        changed = service.save_rules(_database(), rules, source=source, actor="cli")
    except TaydoError as exc:
        fail(console, exc)
    console.print(f"[green]{changed} quy tắc đã lưu / rules saved[/green]")
