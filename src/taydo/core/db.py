"""Database engine, the shared table metadata, and sessions.

SQLite (WAL) is the embedded default; PostgreSQL is production. Both run the same code:
tables are declared once on ``Base.metadata`` and created by Alembic migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "BigIntPK",
    "Database",
    "DatabaseUnavailable",
    "UTCDateTime",
    "explain_database_error",
    "is_sqlite",
    "sqlite_pragmas",
]

# What every database message ends with: where the URL comes from and how a schema is made.
WHAT_TO_DO = "Check TAYDO_DATABASE_URL; `taydo db upgrade` creates or updates the schema."

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY, PostgreSQL wants BIGINT: one type for both.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that always hands back an aware UTC ``datetime``.

    SQLite has no time zone type: SQLAlchemy writes the wall-clock digits of the value it is
    given (dropping any offset) and reads them back naive, so a value read from SQLite could
    not be compared with ``clock.now()`` (a ``TypeError``, a 500) and one written in +07:00
    would be stored seven hours off. Every value is converted to UTC on the way in (a naive
    one is taken as UTC, as the code has always written UTC) and marked UTC on the way out,
    on both databases; comparisons in queries go through the same conversion.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            return value  # let the driver refuse it with its own message
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL sync is durable across process
    # crashes in WAL mode (a power cut may lose the last commits, never corrupt the file).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


class DatabaseUnavailable(Exception):
    """The configured database cannot be used; the message (one line) says why and what to do,
    and never shows the URL's password."""


def shown_url(url: str) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"


def sqlite_file(url: str) -> Path | None:
    """The file of a file-backed SQLite URL, or None (another database, or in memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a URI filename: SQLite's own rules apply
        return None
    return Path(parsed.database)


def explain_database_error(error: BaseException, url: str) -> str | None:
    """One line for a database error a user can fix (unreachable server, missing database or
    schema), or None for any other error, which keeps its traceback."""
    if isinstance(error, DatabaseUnavailable):
        return str(error)
    if not isinstance(error, DBAPIError):
        return None
    where = shown_url(url)
    detail = " ".join(str(error.orig).split()) if error.orig is not None else str(error)
    detail = detail.rstrip(".")
    if "no such table" in detail or getattr(error.orig, "sqlstate", None) == "42P01":
        return (
            f"Cơ sở dữ liệu chưa có lược đồ / the database {where} has no Tây Đô tables yet "
            f"({detail}). Run `taydo db upgrade` (on the database TAYDO_DATABASE_URL names)."
        )
    if error.statement is None:  # raised while connecting: the server, file or database
        end = "" if detail.endswith("?") else "."
        return f"Không kết nối được / cannot open the database {where}: {detail}{end} {WHAT_TO_DO}"
    return None


def _engine(url: str, kwargs: dict[str, Any]) -> Engine:
    try:
        return create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise DatabaseUnavailable(
            f"TAYDO_DATABASE_URL không hợp lệ / is not a database URL Tây Đô can use "
            f"({shown_url(url)}: {type(error).__name__} for {scheme!r}). Use "
            "postgresql+psycopg://USER@HOST:5432/NAME or sqlite:///./taydo.db, then "
            "`taydo db upgrade`."
        ) from None


def _refuse_missing_file(path: Path, url: str) -> Any:
    def check(*_args: Any) -> None:
        if not path.exists():
            raise DatabaseUnavailable(
                f"Không có tệp cơ sở dữ liệu / the SQLite file {path} does not exist "
                f"({shown_url(url)}, from the folder {Path.cwd()}). Set TAYDO_DATABASE_URL to "
                "your database, or create one here with `taydo db upgrade`."
            )

    return check


class Database:
    """The engine and a session factory for one database URL.

    A missing SQLite file is never created here: reading a database that does not exist is
    a mistake to report (a wrong TAYDO_DATABASE_URL or working folder), not a reason to leave
    an empty file behind. ``taydo db upgrade`` (``taydo.core.migrate.upgrade``) creates it.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = _engine(url, kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", sqlite_pragmas)
            path = sqlite_file(url)
            if path is not None:
                event.listen(self.engine, "do_connect", _refuse_missing_file(path, url))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
