"""``taydo contexts``: the local store of JSON-LD @context documents used by NGSI-LD."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from taydo.core.settings import Settings
from taydo.ingest.ngsild.context import ContextStore

__all__ = ["app"]

app = typer.Typer(help="Kho ngữ cảnh JSON-LD / NGSI-LD @context store.", no_args_is_help=True)
console = Console()


def _store() -> ContextStore:
    return ContextStore(Settings().contexts_dir)


@app.command("add")
def add(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A JSON-LD context file.")
    ],
    url: Annotated[
        str,
        typer.Option("--url", help="The URL clients put in @context or the Link header."),
    ],
) -> None:
    """Thêm ngữ cảnh / Add a context document, matched by its URL."""
    try:
        target = _store().add(url, file.read_bytes())
    except (ValueError, orjson.JSONDecodeError) as exc:
        console.print(f"[red]Không thêm được / not added: {exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]Đã thêm / added[/green] {url} → {target}")


@app.command("list")
def list_() -> None:
    """Liệt kê ngữ cảnh / List the URLs the store answers for."""
    store = _store()
    for url in store.urls():
        console.print(url, highlight=False, soft_wrap=True)


@app.command("remove")
def remove(url: Annotated[str, typer.Argument(help="The URL to forget.")]) -> None:
    """Xóa ngữ cảnh / Remove a context document."""
    if not _store().remove(url):
        console.print(f"[red]Không có / not in the store: {url}[/red]")
        raise typer.Exit(1)
    console.print(f"[green]Đã xóa / removed[/green] {url}")
