"""``taydo user …``, ``taydo token …`` and ``taydo audit …``.

Passwords are typed at a hidden prompt or read from standard input (``--password-stdin``),
never passed as arguments (they would land in shell history and ``ps``). Tokens are printed
once, at creation.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table

from taydo.auth import displays, journal, service
from taydo.auth.tokens import token_active, token_expiry
from taydo.core.access import ROLES
from taydo.core.db import Database
from taydo.core.errors import TaydoError
from taydo.core.settings import Settings

__all__ = ["audit_app", "display_app", "token_app", "user_app"]

user_app = typer.Typer(help="Người dùng / User accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Mã truy cập API / API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="Nhật ký kiểm toán / Audit journal.", no_args_is_help=True)
display_app = typer.Typer(
    help="Màn hình hiển thị / Display screens (wall accounts).", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)

ROLE_HELP = "Role: " + ", ".join(ROLES)
AGENCY_OPTION = typer.Option(None, "--agency", "-a", help="Agency code (repeatable).")
AGENCY_KEEP_OPTION = typer.Option(
    None, "--agency", "-a", help="Agency code (repeatable); default: keep the current ones."
)
AGENCY_TOKEN_OPTION = typer.Option(
    None, "--agency", "-a", help="Agency code (repeatable); default: the account's."
)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (containers)
        return "cli"


@contextmanager
def _database() -> Iterator[Database]:
    database = Database(Settings().database_url)
    try:
        yield database
    except TaydoError as exc:
        errors.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        database.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(
        typer.prompt("Mật khẩu / Password", hide_input=True, confirmation_prompt=True, err=True)
    )


@user_app.command("add")
def user_add(
    username: str = typer.Argument(..., help="Login name of the new account."),
    role: str = typer.Option(..., "--role", "-r", help=ROLE_HELP),
    agency: list[str] | None = AGENCY_OPTION,
    full_name: str = typer.Option("", "--full-name", help="Họ tên / Full name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password."),
    no_password: bool = typer.Option(
        False, "--no-password", help="Machine account: tokens only, no console login."
    ),
) -> None:
    """Tạo người dùng / Add an account (password prompted, or from stdin)."""
    password = None if no_password else _read_password(password_stdin)
    with _database() as database:
        service.create_user(
            database,
            username,
            role,
            agencies=agency or [],
            full_name=full_name,
            password=password,
            actor=_actor(),
        )
    console.print(f"[green]Đã tạo / created {username} ({role})[/green]")


@user_app.command("list")
def user_list() -> None:
    """Danh sách người dùng / List accounts."""
    with _database() as database:
        users = service.list_users(database)
    table = Table("username", "role", "agencies", "full name", "state")
    for user in users:
        state = "disabled" if user.disabled else ("demo password" if user.demo_password else "")
        table.add_row(
            user.username, user.role, ",".join(user.agencies or []), user.full_name, state
        )
    console.print(table)


@user_app.command("disable")
def user_disable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Khóa tài khoản / Disable an account (ends its sessions; its tokens stop working)."""
    with _database() as database:
        service.set_disabled(database, username, True, actor=_actor())
    console.print(f"[green]Đã khóa / disabled {username}[/green]")


@user_app.command("enable")
def user_enable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Mở khóa tài khoản / Enable an account again."""
    with _database() as database:
        service.set_disabled(database, username, False, actor=_actor())
    console.print(f"[green]Đã mở khóa / enabled {username}[/green]")


@user_app.command("set-role")
def user_set_role(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Argument(..., help=ROLE_HELP),
    agency: list[str] | None = AGENCY_KEEP_OPTION,
) -> None:
    """Đổi vai trò / Change an account's role (its tokens are revoked)."""
    with _database() as database:
        service.set_role(database, username, role, agencies=agency or None, actor=_actor())
    console.print(f"[green]{username}: {role}[/green]")


@user_app.command("set-password")
def user_set_password(
    username: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password."),
) -> None:
    """Đặt mật khẩu / Set an account's password (ends its sessions)."""
    password = _read_password(password_stdin)
    with _database() as database:
        service.set_password(database, username, password, actor=_actor())
    console.print(f"[green]Đã đặt mật khẩu / password set for {username}[/green]")


@token_app.command("create")
def token_create(
    user: str = typer.Option(..., "--user", "-u", help="Account the token acts for."),
    name: str = typer.Option(..., "--name", "-n", help="What uses it (e.g. mqtt-gateway)."),
    role: str | None = typer.Option(None, "--role", "-r", help="Default: the account's role."),
    agency: list[str] | None = AGENCY_TOKEN_OPTION,
    expires_days: float | None = typer.Option(
        None, "--expires-days", min=0.001, help="Days until it stops working (default: never)."
    ),
) -> None:
    """Tạo mã truy cập / Create a token; it is printed once and never again."""
    with _database() as database:
        account = service.get_user(database, user)
        row, token = service.issue_token(
            database,
            account.id,
            name,
            role=role,
            agencies=agency or None,
            expires_at=token_expiry(expires_days),
            actor=_actor(),
        )
    errors.print(
        f"Mã #{row.id} ({row.role}). Lưu ngay, sẽ không hiện lại / "
        "store it now, it is not shown again:"
    )
    # Only the token on stdout, so `TOKEN=$(taydo token create …)` works.
    sys.stdout.write(token + "\n")


@token_app.command("list")
def token_list(
    user: str | None = typer.Option(None, "--user", "-u", help="Only this account's tokens."),
) -> None:
    """Danh sách mã truy cập / List tokens (prefix only, never the token)."""
    with _database() as database:
        rows = service.list_tokens(database, username=user)
    table = Table("id", "name", "prefix", "user", "role", "agencies", "expires", "state")
    for row, owner in rows:
        state = "active" if token_active(row) else ("revoked" if row.revoked_at else "expired")
        expires = row.expires_at.strftime("%Y-%m-%d %H:%M") if row.expires_at else "—"
        table.add_row(
            str(row.id),
            row.name,
            row.prefix + "…",
            owner,
            row.role,
            ",".join(row.agencies or []),
            expires,
            state,
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., help="Token id (the # that `taydo token list` shows)."),
) -> None:
    """Thu hồi mã truy cập / Revoke a token."""
    with _database() as database:
        service.revoke_token(database, token_id, actor=_actor())
    console.print(f"[green]Đã thu hồi / revoked token #{token_id}[/green]")


def _print_pairing(pairing: displays.Pairing, base_url: str) -> None:
    errors.print(
        f"Mở một lần trên màn hình trước {pairing.expires_at:%Y-%m-%d %H:%M} UTC / "
        "open once on the screen before then:"
    )
    # Only the link on stdout, so a script can hand it to the screen.
    sys.stdout.write(f"{base_url.rstrip('/')}/display?code={pairing.code}\n")


BASE_URL_OPTION = typer.Option(
    "", "--base-url", help="The console's address as the screen sees it (e.g. https://ioc.local)."
)


@display_app.command("add")
def display_add(
    name: str = typer.Argument(..., help="The screen's account name, e.g. wall-1."),
    label: str = typer.Option("", "--label", "-l", help="Where it hangs."),
    base_url: str = BASE_URL_OPTION,
) -> None:
    """Tạo màn hình / Create a display account; prints its one-time pairing link."""
    with _database() as database:
        pairing = displays.create_display(database, name, label=label, actor=_actor())
    _print_pairing(pairing, base_url)


@display_app.command("code")
def display_code(
    name: str = typer.Argument(..., help="The display's account name."),
    base_url: str = BASE_URL_OPTION,
) -> None:
    """Mã ghép nối mới / A new pairing link (a replaced screen); older unused ones lapse."""
    with _database() as database:
        pairing = displays.new_code(database, name, actor=_actor())
    _print_pairing(pairing, base_url)


@display_app.command("list")
def display_list() -> None:
    """Danh sách màn hình / List display screens and their pairing state."""
    with _database() as database:
        rows = displays.list_displays(database)
    table = Table("name", "label", "state", "paired screens", "last paired", "code until")
    for row in rows:
        table.add_row(
            row["username"],
            row["label"],
            "revoked" if row["revoked"] else "active",
            str(row["sessions"]),
            row["paired_at"].strftime("%Y-%m-%d %H:%M") if row["paired_at"] else "—",
            row["code_expires_at"].strftime("%Y-%m-%d %H:%M") if row["code_expires_at"] else "—",
        )
    console.print(table)


@display_app.command("revoke")
def display_revoke(name: str = typer.Argument(..., help="The display's account name.")) -> None:
    """Thu hồi màn hình / Revoke a display: its sessions end (its stream within a minute;
    at once when revoked through the API)."""
    with _database() as database:
        displays.revoke_display(database, name, actor=_actor())
    console.print(f"[green]Đã thu hồi / revoked display {name}[/green]")


@audit_app.command("verify")
def audit_verify() -> None:
    """Kiểm tra chuỗi băm / Walk the hash chain; exit 1 at the first broken link."""
    with _database() as database:
        result = journal.verify(database)
    if result.broken is not None:
        errors.print(f"[red]Chuỗi nhật ký bị phá vỡ / audit chain broken at {result.broken}[/red]")
        raise typer.Exit(1)
    console.print(
        f"[green]Nhật ký toàn vẹn / audit chain intact: {result.entries} entries, "
        f"head {result.head_hash}[/green]"
    )


@audit_app.command("head")
def audit_head() -> None:
    """In đầu chuỗi / Print the chain head, to keep outside the database as an anchor."""
    with _database() as database:
        entries, last_hash = journal.head(database)
    sys.stdout.write(f"{entries} {last_hash}\n")
