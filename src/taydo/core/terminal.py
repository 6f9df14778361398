"""How a domain's command reports a refusal from its service: the message in red, the details
(if any) as JSON, and a non-zero status. One place, so every `taydo …` command answers alike."""

from __future__ import annotations

import json
from typing import NoReturn

import typer
from rich.console import Console

from taydo.core.errors import TaydoError

__all__ = ["fail"]


def fail(console: Console, error: TaydoError, exit_code: int = 1) -> NoReturn:
    console.print(f"[red]{error.message}[/red]")
    if error.details:
        console.print(json.dumps(error.details, ensure_ascii=False, indent=2))
    raise typer.Exit(exit_code)
